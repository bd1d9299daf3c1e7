/** The store manifest: the single file that says which part files are visible. */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NoSpaceError, StoreError } from "../errors.js";
import { manifestShapeProblem } from "./manifest-shape.js";
import { processTag, temporaryName, trackTemporary } from "./temporaries.js";

/** Name of the manifest file inside a store directory. */
export const MANIFEST_NAME = "manifest.json";

/** Format marker written into every manifest. */
export const STORE_FORMAT = "geochunks-store";

/** The four tables of a store. */
export const STORE_TABLES = ["granules", "arrays", "chunks", "chunk_cells"] as const;
/** A table name of the store. */
export type StoreTable = (typeof STORE_TABLES)[number];

/**
 * Tables whose files parts.ts `readPartSet` reads: not `chunk_cells`, whose rows are the chunk rows'
 * `h3_cells` again, one a cell (as the index writes them), and are made from those.
 */
export const PART_READ_TABLES: readonly StoreTable[] = ["granules", "arrays", "chunks"];

/**
 * One indexing commit: part files holding the rows of some granules. `chunks` and `chunk_cells`
 * are split into hive-style partitions by product and month of the granule's start
 * (`chunks/product=ATL06/month=2023-08/part-<id>.parquet`).
 */
export interface PartSet {
  /** Unique id; part file names carry it. */
  id: string;
  /** Relative paths (from the store root) of this set's part files, by table. */
  files: Record<StoreTable, string[]>;
  /**
   * Granules whose rows are in this set. Listed in version 3 and 4 manifests, in staged sets and in
   * sets this process has just written; a version 5 manifest leaves the list to the set's `granules`
   * files (their `granule_id` column), read only by the writers that need it (granule-ids.ts).
   */
  granules?: string[];
  /** Version 5: how many granules the set holds (rows of its `granules` files). */
  granule_count?: number;
  /**
   * Version 5: the smallest and largest granule id of the set (code-unit order), so that a writer
   * dropping some granules skips sets that cannot hold them without reading their ids.
   */
  granule_range?: [string, string];
  /**
   * Products of those granules (their profiles' names), sorted, so that a store lists its products
   * without reading parts. Absent in part sets of version 3 manifests, whose `granules` map says it.
   */
  products?: string[];
  /**
   * Size, rows and SHA-256 of each file, by relative path. Readers check sizes (a `stat`) and row
   * counts (the Parquet footer); `geochunks verify` checks the checksums. Absent in part sets
   * written before they were recorded.
   */
  stats?: Record<string, PartFileStats>;
}

/** What the manifest records of one part file. */
export interface PartFileStats {
  /** File size, bytes. */
  bytes: number;
  /** Rows in the file. */
  rows: number;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
  /**
   * `chunks` files: bbox of the rows' bboxes, [xmin, ymin, xmax, ymax] degrees, so a selection
   * skips files away from its AOI without opening them. Absent in files written before it.
   */
  bbox?: [number, number, number, number];
  /** `chunks` files: earliest `time_start` and latest `time_end`, ns since the Unix epoch as decimal strings. */
  time?: [string, string];
}

/**
 * What a query must check before trusting a granule's byte offsets, and what `index` compares an
 * input with to skip it: the `granules` table's `url`, `size`, `etag`, `mtime` and `product`
 * columns, with the part set whose file holds the row (version 3 manifests also listed them all).
 */
export interface GranuleFingerprint {
  url: string;
  size: number;
  etag: string | null;
  mtime: number | null;
  /** The granule's product (its profile's name), so that a store lists its products without reading parts. */
  product: string;
  /** Id of the part set holding this granule's rows. */
  part: string;
}

/**
 * A part set written by a shard job, waiting for `commit`: `staged/<id>.json`, or
 * `staged/shard-<index>-of-<count>.json` when it records its shard (a retried task replaces it).
 */
export interface StagedPartSet {
  part: PartSet;
  fingerprints: Record<string, Omit<GranuleFingerprint, "part">>;
  /** The shard of a sharded run that staged it; absent for sets staged without one. */
  shard?: ShardStamp;
}

/** A staged set's shard: which one of how many, and the input list all shards of the run split. */
export interface ShardStamp {
  /** 0-based shard index. */
  index: number;
  /** Number of shards of the run. */
  count: number;
  /** Inputs in the run's list (without repeats). */
  inputs: number;
  /** SHA-256 (hex) of the sorted input list, one input a line. */
  inputs_sha256: string;
}

/**
 * Version of the store format this code writes. 5: part sets record their granules' count and id
 * range instead of listing every granule id (the `granules` files hold them); 4: the manifest no longer lists every granule's
 * fingerprint (the `granules` table holds them; `products` per part set instead); 3: product-generic
 * granule columns (`orbit`, `track`, `cycle`, `region`, `attrs`), chunk `beam_kind`, partitions by
 * product and month, and every granule's fingerprint in the manifest. Part files are the same in both.
 */
export const STORE_VERSION = 5;

/**
 * Manifest versions this code reads: 3 and 4 are read as they are (their granule lists, and a
 * version 3 manifest's fingerprints, serve until the next commit or compact, which writes version
 * 5), so stores written before keep opening.
 */
export const READABLE_STORE_VERSIONS: readonly number[] = [3, 4, 5];

/**
 * Part files taken out of the manifest by a commit, kept for a grace period so readers of an
 * older manifest still find them (see {@link DEFAULT_RETIRED_GRACE_MS}).
 */
export interface RetiredPart {
  id: string;
  /** Relative paths of its files. */
  files: string[];
  /** ISO 8601 time of the commit that retired it. */
  retired: string;
}

/** Contents of `manifest.json`. */
export interface Manifest {
  format: typeof STORE_FORMAT;
  /** {@link STORE_VERSION} when written by this code; 3 in a store written before, until its next commit. */
  version: number;
  /** H3 resolution of `h3_cells` and `chunk_cells`. */
  h3_resolution: number;
  /** ISO 8601 time of the last commit. */
  updated: string;
  parts: PartSet[];
  /**
   * Version 3 only: every granule's fingerprint. Versions 4 and 5 leave them in the `granules` table,
   * read by writers only when they need them (fingerprints.ts); at the archive's 500 000 granules
   * this map was 143 MB that every query parsed.
   */
  granules?: Record<string, GranuleFingerprint>;
  /** Commits so far: each manifest swap adds one. Absent in stores written before it was kept. */
  generation?: number;
  /** Parts no longer visible, waiting out their grace period before removal. */
  retired?: RetiredPart[];
}

/** A new, empty manifest. */
export function emptyManifest(h3Resolution: number): Manifest {
  return {
    format: STORE_FORMAT,
    version: STORE_VERSION,
    h3_resolution: h3Resolution,
    updated: new Date().toISOString(),
    parts: [],
  };
}

/**
 * `m` as this code publishes it (version {@link STORE_VERSION}): without the version 3 fingerprint
 * map, each part set naming its products (taken from that map for part sets written before) and
 * recording its granules' count and id range instead of listing them ({@link publishedPart}).
 */
export function currentManifest(m: Manifest): Manifest {
  const { granules: legacy, ...rest } = m;
  const parts = m.parts.map((p) =>
    publishedPart(p.products !== undefined ? p : { ...p, products: partProducts(p, legacy) }),
  );
  return { ...rest, version: STORE_VERSION, parts };
}

/**
 * A part set as a version 5 manifest records it: its granule list (where it has one) replaced by
 * the list's count and id range. A new object; `p` is not changed.
 */
export function publishedPart(p: PartSet): PartSet {
  if (p.granules === undefined) return p;
  const { granules, ...rest } = p;
  const out: PartSet = { ...rest, granule_count: granules.length };
  delete out.granule_range;
  if (granules.length > 0) out.granule_range = idRange(granules);
  return out;
}

/** Smallest and largest of some (at least one) granule ids, in code-unit order. */
export function idRange(ids: readonly string[]): [string, string] {
  let lo = ids[0]!;
  let hi = lo;
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  return [lo, hi];
}

/** How many granules a part set holds: its list's length (versions 3 and 4) or its recorded count. */
export function partGranuleCount(p: Readonly<PartSet>): number {
  return p.granules?.length ?? p.granule_count ?? 0;
}

/**
 * The granule list of a part set that must carry one (a staged set, a set just written).
 * @throws Error when it has none: a programming error, not bad input.
 */
export function listedGranules(p: Readonly<PartSet>): string[] {
  if (p.granules === undefined) throw new Error(`part set ${p.id} does not list its granules`);
  return p.granules;
}

/** Products of one part set: recorded, or from a version 3 fingerprint map and its partition paths. */
function partProducts(p: PartSet, legacy: Manifest["granules"]): string[] {
  if (p.products) return p.products;
  const found = new Set<string>();
  for (const id of p.granules ?? []) {
    const product = legacy?.[id]?.product;
    if (product !== undefined) found.add(product);
  }
  for (const f of [...p.files.chunks, ...p.files.chunk_cells]) {
    const m = /\/product=([^/]+)\//.exec(f);
    if (m) found.add(decodeURIComponent(m[1]!));
  }
  return [...found].sort();
}

/** Products of the visible granules of `m`, sorted by name. */
export function manifestProducts(m: Readonly<Manifest>): string[] {
  return [...new Set(m.parts.flatMap((p) => partProducts(p, m.granules)))].sort();
}

/** Reads and checks a store's manifest; undefined when the directory has none. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_NAME), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StoreError(dir, `${dir}: cannot read ${MANIFEST_NAME}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseManifest(text, dir);
}

/**
 * Parses and checks a manifest's text; `dir` names the store in errors.
 * @throws StoreError when it is not JSON, not a geochunks manifest, of another format version, or
 *   damaged (a field missing or of the wrong type, a part path outside the store).
 */
export function parseManifest(text: string, dir: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new StoreError(dir, `${dir}: ${MANIFEST_NAME} is not valid JSON`, { cause: err });
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw new StoreError(dir, `${dir}: not a geochunks store (${MANIFEST_NAME} is not a JSON object)`);
  }
  if (manifest.format !== STORE_FORMAT) {
    throw new StoreError(dir, `${dir}: not a geochunks store (format ${String(manifest.format)})`);
  }
  const unsupported = versionProblem(manifest.version, dir);
  if (unsupported)
    throw new StoreError(dir, `${unsupported}; re-index the granules with this version into a new store`);
  const problem = manifestShapeProblem(manifest);
  if (problem) throw new StoreError(dir, `${dir}: ${MANIFEST_NAME} is damaged: ${problem}`);
  return manifest;
}

/** The message for a manifest version this code cannot read, or undefined. */
export function versionProblem(version: unknown, dir: string): string | undefined {
  if (READABLE_STORE_VERSIONS.includes(version as number)) return undefined;
  return (
    `${dir}: store format version ${String(version)} is not supported by this version of geochunks ` +
    `(it reads versions ${READABLE_STORE_VERSIONS.slice(0, -1).join(", ")} and ${READABLE_STORE_VERSIONS.at(-1)})`
  );
}

/** The bytes of a manifest as written (local file and S3 object alike). */
export function manifestText(manifest: Manifest): string {
  // One line: a version 3 manifest listed every granule's fingerprint (143 MB at the archive's
  // 500 000 granules, 179 MB indented) and version 4 every granule id (24 MB); version 5 lists
  // part sets and their files' summaries only.
  return `${JSON.stringify(manifest)}\n`;
}

/**
 * Replaces the manifest atomically: written to a temporary name, then renamed over the old one, so
 * readers see either the old or the new store, never a mix.
 */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const tmp = temporaryName(join(dir, `.${MANIFEST_NAME}`), randomBytes(4).toString("hex"));
  const text = manifestText(manifest);
  const untrack = trackTemporary(tmp);
  try {
    await writeFile(tmp, text);
    await rename(tmp, join(dir, MANIFEST_NAME));
  } catch (err) {
    await rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === "ENOSPC")
      throw new NoSpaceError(join(dir, MANIFEST_NAME), Buffer.byteLength(text), { cause: err });
    throw err;
  } finally {
    untrack();
  }
}

/**
 * A fresh part-set id: time-ordered, unique across processes, and naming its writer
 * (`<time>-gc<host>-<pid>-<hex>`), so a later writer can tell a dead writer's uncommitted parts
 * from a live one's.
 */
export function newPartId(): string {
  return `${Date.now().toString(36)}-${processTag()}-${randomBytes(3).toString("hex")}`;
}
