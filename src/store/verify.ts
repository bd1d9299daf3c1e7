/**
 * `geochunks verify`: an fsck of a store. Every part file the manifest lists is checked against
 * what the manifest records of it (size, SHA-256, row count), against the table's schema, and
 * every chunk row against the granules it belongs to.
 */
import { createHash } from "node:crypto";
import type { Table } from "apache-arrow";
import { arraysTable, chunkCellsTable, chunksTable, granulesTable } from "./arrow-tables.js";
import { idRange, type Manifest, type PartSet, STORE_TABLES, type StoreTable } from "./manifest.js";
import { parquetToTable, tableToParquet } from "./parquet.js";
import { firstLine, type Store } from "./store.js";

/** One thing wrong with a store. */
export interface StoreProblem {
  /** The file concerned (absolute path), or the manifest. */
  file: string;
  /** What is wrong, one line. */
  problem: string;
  /** The part set holding the file, when it is a part file. */
  part?: string;
  table?: StoreTable;
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  /** Part files checked. */
  files: number;
  /** Granules the part sets hold (each once). */
  granules: number;
  problems: StoreProblem[];
  /** Granule ids of each part set (by id): its list where known, else those its readable files hold. */
  granuleIds: Map<string, string[]>;
}

const EMPTY: Record<StoreTable, () => Table> = {
  granules: () => granulesTable([]),
  arrays: () => arraysTable([]),
  chunks: () => chunksTable([]),
  chunk_cells: () => chunkCellsTable([]),
};

/** Columns added after the first stores: parts written before them lack them and stay valid. */
const OPTIONAL_COLUMNS = ["hierarchy", "ref_checksums"];

/** Column names and types of a table as written and read back: what every part file must have. */
function expectedColumns(table: StoreTable): string[] {
  return columnsOf(parquetToTable(tableToParquet(EMPTY[table]())));
}

function columnsOf(t: Table): string[] {
  return t.schema.fields.map((f) => `${f.name} ${String(f.type)}`);
}

/** Checks one part file; returns its table when readable, with the problems found. */
async function checkPartFile(
  store: Store,
  part: PartSet,
  table: StoreTable,
  rel: string,
  problems: StoreProblem[],
): Promise<Table | undefined> {
  const file = store.locate(rel);
  const say = (problem: string) => problems.push({ file, problem, part: part.id, table });
  let bytes: Uint8Array;
  try {
    bytes = await store.readPart(rel);
  } catch (err) {
    say(`missing or unreadable part file (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
    return undefined;
  }
  const want = part.stats?.[rel];
  if (want) {
    if (bytes.length !== want.bytes) say(`${bytes.length} bytes, the manifest records ${want.bytes}`);
    const sum = createHash("sha256").update(bytes).digest("hex");
    if (sum !== want.sha256)
      say(`SHA-256 ${sum.slice(0, 16)}... differs from the manifest's ${want.sha256.slice(0, 16)}...`);
  }
  let t: Table;
  try {
    t = parquetToTable(bytes);
  } catch (err) {
    say(`not readable Parquet (${firstLine(err)})`);
    return undefined;
  }
  if (want && t.numRows !== want.rows) say(`${t.numRows} rows, the manifest records ${want.rows}`);
  const columns = columnsOf(t);
  const expected = expectedColumns(table).filter(
    (c) => columns.includes(c) || !OPTIONAL_COLUMNS.some((name) => c.startsWith(`${name} `)),
  );
  if (columns.join(",") !== expected.join(",")) {
    const missing = expected.filter((c) => !columns.includes(c));
    const extra = columns.filter((c) => !expected.includes(c));
    say(
      `schema is not the ${table} table's: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`,
    );
    return undefined;
  }
  return t;
}

const ids = (t: Table | undefined): string[] => {
  const col = t?.getChild("granule_id");
  return col ? Array.from(col, (v) => String(v)) : [];
};

/**
 * Checks every part file of the store's manifest (or of `manifest`, a version of it): present, size,
 * SHA-256 and rows as recorded, readable Parquet with its table's schema; that every row's granule
 * belongs to its part set and to no other; and that every granule of a set has its row: the set's
 * list where it is known (a version 3 or 4 manifest lists it), else its recorded count and id range
 * (version 5) against its `granules` files. Reads every file whole, from the store itself (a local
 * folder or S3).
 */
export async function verifyStore(
  store: Store,
  manifest: Readonly<Manifest> = store.manifest,
): Promise<VerifyReport> {
  const problems: StoreProblem[] = [];
  let files = 0;
  const owner = new Map<string, string>();
  const granuleIds = new Map<string, string[]>();
  for (const part of manifest.parts) {
    const listed = store.knownGranuleIds(part);
    const seen = new Set<string>();
    // Every granule id of the set's readable files, for a repair dropping a broken set.
    const found = new Set<string>();
    let own = listed ? new Set(listed) : undefined;
    for (const table of STORE_TABLES) {
      for (const rel of part.files[table]) {
        files++;
        const t = await checkPartFile(store, part, table, rel, problems);
        if (!t || table === "chunk_cells") continue;
        for (const id of ids(t)) found.add(id);
        if (table === "granules") for (const id of ids(t)) seen.add(id);
        if (table === "granules" || !own) continue;
        const stray = [...new Set(ids(t).filter((id) => !own!.has(id)))];
        if (stray.length > 0) {
          problems.push({
            file: store.locate(rel),
            problem: `holds rows of granules that are not this part set's: ${stray.slice(0, 3).join(", ")}${stray.length > 3 ? ", ..." : ""}`,
            part: part.id,
            table,
          });
        }
      }
      // Checked against the granules files when they are intact; a broken one is named already.
      if (table === "granules" && !problems.some((p) => p.part === part.id && p.table === "granules")) {
        own ??= seen;
        problems.push(...granulesProblems(store, part, listed, seen, owner));
      }
    }
    granuleIds.set(part.id, [...(listed ?? found)]);
    for (const id of own ?? []) if (!owner.has(id)) owner.set(id, part.id);
  }
  return { files, granules: owner.size, problems, granuleIds };
}

/**
 * What is wrong with a part set's granules against the ids of its readable `granules` files (`seen`): with
 * its list, a listed granule without a row or a row of an unlisted one; without (version 5), a count
 * or id range that differs from the manifest's; and a granule another set (`owner`) holds too.
 */
function granulesProblems(
  store: Store,
  part: Readonly<PartSet>,
  listed: readonly string[] | undefined,
  seen: ReadonlySet<string>,
  owner: ReadonlyMap<string, string>,
): StoreProblem[] {
  const out: StoreProblem[] = [];
  const manifestFile = store.locate("manifest.json");
  const files = part.files.granules;
  const say = (problem: string) =>
    out.push({ file: store.locate(files[0] ?? "manifest.json"), problem, part: part.id, table: "granules" });
  if (listed) {
    const own = new Set(listed);
    const stray = [...seen].filter((id) => !own.has(id));
    if (stray.length > 0)
      say(
        `holds rows of granules that are not this part set's: ${stray.slice(0, 3).join(", ")}${stray.length > 3 ? ", ..." : ""}`,
      );
    for (const id of listed)
      if (!seen.has(id))
        out.push({ file: manifestFile, problem: `granule ${id} has no row in part set ${part.id}` });
  } else {
    const want = part.granule_count ?? 0;
    if (seen.size !== want) say(`holds ${seen.size} granules, the manifest records ${want}`);
    else if (want > 0) {
      const [lo, hi] = idRange([...seen]);
      const range = part.granule_range;
      if (!range || range[0] !== lo || range[1] !== hi)
        say(`holds granules ${lo} .. ${hi}, the manifest records ${range ? range.join(" .. ") : "none"}`);
    }
  }
  const shared = [...seen].filter((id) => owner.has(id) && owner.get(id) !== part.id);
  if (shared.length > 0)
    say(
      `holds rows of granules that part set ${owner.get(shared[0]!)} holds too: ${shared.slice(0, 3).join(", ")}${shared.length > 3 ? ", ..." : ""}`,
    );
  return out;
}
