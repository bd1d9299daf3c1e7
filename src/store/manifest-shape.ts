/**
 * The shape of a parsed manifest, checked before any code trusts it: a manifest edited by hand,
 * truncated to a still-valid JSON value or written by another tool must give one error naming
 * what is wrong, never a TypeError deep in a reader, and no path in it may point outside the
 * store (compaction removes the files a manifest lists).
 */

/** Tables whose part files a manifest lists; each path starts with its table's folder. */
const TABLES = ["granules", "arrays", "chunks", "chunk_cells"] as const;

/**
 * What is wrong with a parsed manifest's shape (the first problem, e.g. `parts[2].files.chunks[0]
 * "../x" is not a part path inside the store`), or undefined when it has the fields and types of
 * {@link Manifest} (format and version are checked by the caller).
 */
export function manifestShapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `it holds ${describe(value)}, not a JSON object`;
  if (
    !Number.isInteger(value.h3_resolution) ||
    (value.h3_resolution as number) < 0 ||
    (value.h3_resolution as number) > 15
  )
    return `h3_resolution ${describe(value.h3_resolution)} is not an integer 0..15`;
  if (value.generation !== undefined && !Number.isInteger(value.generation))
    return `generation ${describe(value.generation)} is not an integer`;
  if (!Array.isArray(value.parts)) return `parts is ${describe(value.parts)}, not an array`;
  for (const [k, part] of value.parts.entries()) {
    const problem = partProblem(part, value.version);
    if (problem) return `parts[${k}]${problem}`;
  }
  // Version 3 lists every granule's fingerprint; versions 4 and 5 leave them to the granules table.
  if (value.version === 3 || value.granules !== undefined) {
    const problem = fingerprintsProblem(value.granules);
    if (problem) return problem;
  }
  if (value.retired === undefined) return undefined;
  if (!Array.isArray(value.retired)) return `retired is ${describe(value.retired)}, not an array`;
  for (const [k, r] of value.retired.entries()) {
    if (!isObject(r) || typeof r.id !== "string" || typeof r.retired !== "string")
      return `retired[${k}] is not a retired part set (id, files, retired)`;
    const problem = pathsProblem(r.files, undefined);
    if (problem) return `retired[${k}].files${problem}`;
  }
  return undefined;
}

/** What is wrong with a version 3 manifest's map of granule fingerprints, or undefined. */
function fingerprintsProblem(granules: unknown): string | undefined {
  if (!isObject(granules)) return `granules is ${describe(granules)}, not an object`;
  for (const [id, g] of Object.entries(granules)) {
    if (!isObject(g) || typeof g.url !== "string" || typeof g.size !== "number" || typeof g.part !== "string")
      return `granules[${JSON.stringify(id)}] is not a granule fingerprint (url, size, part)`;
  }
  return undefined;
}

/**
 * What is wrong with one part set, as a suffix of `parts[k]`, or undefined. Versions 3 and 4 list
 * its granule ids; version 5 records their count and id range (the `granules` files list them).
 */
function partProblem(part: unknown, version: unknown): string | undefined {
  if (!isObject(part)) return ` is ${describe(part)}, not a part set`;
  if (typeof part.id !== "string") return `.id is ${describe(part.id)}, not a string`;
  if (version === 3 || version === 4 || part.granules !== undefined) {
    if (!Array.isArray(part.granules) || !part.granules.every((g) => typeof g === "string"))
      return ".granules is not an array of granule ids";
  } else {
    const problem = granuleSummaryProblem(part);
    if (problem) return problem;
  }
  if (
    part.products !== undefined &&
    !(Array.isArray(part.products) && part.products.every((p) => typeof p === "string"))
  )
    return ".products is not an array of product names";
  if (!isObject(part.files)) return `.files is ${describe(part.files)}, not an object`;
  for (const table of TABLES) {
    const problem = pathsProblem(part.files[table], table);
    if (problem) return `.files.${table}${problem}`;
  }
  if (part.stats === undefined) return undefined;
  if (!isObject(part.stats)) return `.stats is ${describe(part.stats)}, not an object`;
  for (const [path, s] of Object.entries(part.stats)) {
    if (!isObject(s) || typeof s.bytes !== "number" || typeof s.rows !== "number")
      return `.stats[${JSON.stringify(path)}] is not a file's stats (bytes, rows, sha256)`;
  }
  return undefined;
}

/** What is wrong with a version 5 part set's `granule_count` and `granule_range`, or undefined. */
function granuleSummaryProblem(part: Record<string, unknown>): string | undefined {
  const count = part.granule_count;
  if (!Number.isInteger(count) || (count as number) < 0)
    return `.granule_count ${describe(count)} is not a count of granules`;
  const range = part.granule_range;
  if (range === undefined && count === 0) return undefined;
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    typeof range[0] !== "string" ||
    typeof range[1] !== "string" ||
    range[0] > range[1]
  )
    return `.granule_range ${describe(range)} is not a [first, last] pair of granule ids`;
  return undefined;
}

/**
 * What is wrong with a list of part paths (relative, inside the store, under `table`'s folder when
 * given; any table's otherwise), as a suffix, or undefined.
 */
function pathsProblem(paths: unknown, table: string | undefined): string | undefined {
  if (!Array.isArray(paths)) return ` is ${describe(paths)}, not an array of paths`;
  for (const [k, path] of paths.entries()) {
    if (!isPartPath(path, table)) return `[${k}] ${describe(path)} is not a part path inside the store`;
  }
  return undefined;
}

function isPartPath(path: unknown, table: string | undefined): boolean {
  if (typeof path !== "string" || path.includes("\\") || path.includes("\0")) return false;
  const segments = path.split("/");
  const top = segments[0]!;
  if (table === undefined ? !(TABLES as readonly string[]).includes(top) : top !== table) return false;
  return segments.length > 1 && segments.every((s) => s !== "" && s !== "." && s !== "..");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short description of a JSON value for messages: its text, cut at 40 characters. */
function describe(v: unknown): string {
  const text = v === undefined ? "missing" : JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
