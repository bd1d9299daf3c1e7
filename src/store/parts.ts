/** Part files: writing a batch of rows as one part set, and reading a part set's rows back. */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { NoSpaceError } from "../errors.js";
import { encodeTable, type TableOptions } from "../parquet/table.js";
import { loadedZstd, loadZstd } from "../parquet/zstd.js";
import { type Bbox, type BboxArray, EMPTY_BBOX, geoMetadata, unionBbox } from "./geo.js";
import { HILBERT_BITS, hilbertKey } from "./hilbert.js";
import { newPartId, type PartFileStats, type PartSet, type StoreTable } from "./manifest.js";
import type { ParquetWriteOptions } from "./parquet-wasm.js";
import {
  ARRAYS_COLUMNS,
  ARROW_SCHEMAS,
  CELLS_COLUMNS,
  CHUNKS_COLUMNS,
  GRANULES_COLUMNS,
} from "./part-tables.js";
import { partitionKey } from "./partition.js";
import { arrayRows, chunkRows, granuleRows } from "./rows.js";
import type { ArrayRow, ChunkCellRow, ChunkRow, GranuleRow } from "./schema.js";
import { temporaryName, trackTemporary } from "./temporaries.js";

/** Rows of some granules, written and committed together. */
export interface StoreBatch {
  granules: GranuleRow[];
  arrays: ArrayRow[];
  chunks: ChunkRow[];
  chunkCells: ChunkCellRow[];
}

/**
 * Rows per row group of `chunks` parts. Chunk rows are about 1 KB compressed (7-63 refs each); a
 * remote query reads the test columns of each row group whose statistics meet its AOI, so groups
 * are kept small: on a 40-granule store (7 MB) a small AOI over HTTP read 73% of the store with 2048
 * rows and 65 536 cell rows per group, 24% with 512 and 16 384 (test/e2e/remote-store.test.ts), when
 * every column of such a group was read; the footprints are now read by page ({@link CHUNKS_PAGES}).
 * Footers grow with the group count (about 3 KB a group, parsed whole by every selection that opens
 * the file): on the archive-sized bench store (bench/store-scale.ts), groups of 2048 rows cut the
 * footers fourfold but were no faster on four cycles of it (measured at load average 13).
 */
export const CHUNKS_ROW_GROUP_SIZE = 512;

/**
 * Rows per row group of `granules` parts, which are sorted by `granule_id` and carry statistics on
 * it only: a query reads the groups holding its selected granules, so at the archive's scale (a
 * part set of 19 418 granules per cycle, bench/store-scale.ts) one group, not the whole part.
 */
export const GRANULES_ROW_GROUP_SIZE = 1024;

/**
 * Rows per row group of `arrays` parts (sorted by `granule_id`, statistics on it and `path` only):
 * 42-240 rows per granule, so a selected granule costs a group of about 20-100 granules' arrays
 * rather than the part's (815 000 rows per cycle at the archive's scale).
 */
export const ARRAYS_ROW_GROUP_SIZE = 4096;

/**
 * Top-level columns of `chunks` no selection tests, written without min/max statistics: every
 * column's statistics sit in every row group's entry of the footer, which each selection opening
 * the file parses whole (about 3 KB a group). Without these the footer is 12% smaller (106 560 to
 * 93 314 bytes for a 35-group file of the bench store). The nested columns (`refs`, `h3_cells`,
 * `ref_checksums`) keep theirs: the Parquet writer names a column for this by its top-level name
 * only. The tests read `bbox`, `time_start`, `time_end`, `beam` and `beam_kind`.
 */
export const CHUNKS_UNTESTED_COLUMNS = [
  "chunk_id",
  "granule_id",
  "row_start",
  "row_count",
  "parent_start",
  "parent_count",
  "footprint_error",
];

/**
 * Data pages of `chunks` parts: `geometry` (about 1 KB a row, 85% of a file's bytes) without a
 * dictionary (every footprint is distinct) in pages of about 32 rows, so a selection decodes the
 * footprints of its candidates' pages rather than of their whole row groups (the offset index
 * lists each page's first row; select-parquet.ts). The other columns are small and keep one page
 * a group. Costs about 7% more bytes per `chunks` file than one dictionary page per group
 * (bench/results/store-scale-2026-12-06-d.md).
 */
export const CHUNKS_PAGES: ParquetWriteOptions = {
  plainColumns: ["geometry"],
  noStatisticsColumns: ["geometry", ...CHUNKS_UNTESTED_COLUMNS],
  pageBytes: 32 * 1024,
  pageCheckRows: 32,
};

/**
 * Data pages of `granules` parts: no dictionaries and pages of about 8 KB (32 rows between checks),
 * so the rows of a few selected granules are read from a few pages of each column, not from the
 * whole row group. The files are a small share of the store (about 0.2%). Smaller pages (2 KB)
 * made DuckDB's selection, which scans these files, about 0.5 s slower on the bench store
 * (bench/results/store-scale-2026-12-06-d.md) for no gain of the TypeScript one.
 */
export const GRANULES_PAGES: ParquetWriteOptions = {
  dictionaryColumns: [],
  pageBytes: 8192,
  pageCheckRows: 32,
};

/**
 * Data pages of `arrays` parts: dictionaries for the repeated strings (whose index pages stay
 * small), pages of about 16 KB (64 rows between checks), so the `shape` and `chunk_shape` lists of a
 * selected granule are decoded in a page rather than in the whole row group.
 */
export const ARRAYS_PAGES: ParquetWriteOptions = {
  dictionaryColumns: ["granule_id", "path", "dtype", "filters", "fill_value", "attrs"],
  pageBytes: 16 * 1024,
  pageCheckRows: 64,
};

/** Rows per row group of `chunk_cells` parts (16 bytes a row before compression; see {@link CHUNKS_ROW_GROUP_SIZE}). */
export const CELLS_ROW_GROUP_SIZE = 16_384;

const toArray = (b: Bbox): BboxArray => [b.xmin, b.ymin, b.xmax, b.ymax];
const centre = (b: Bbox) => hilbertKey((b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2);

/**
 * Writes `bytes` to `file` (relative to `dir`) under a temporary name, then renames it. The file
 * stays tracked as a temporary of this process (removed on SIGINT/SIGTERM) until the returned
 * function is called at commit. Folders it creates are listed in `created`.
 * @throws NoSpaceError naming the file and its size when the device is full; nothing is left.
 */
async function writeOne(
  dir: string,
  file: string,
  bytes: Uint8Array,
  created: CreatedFolders[],
): Promise<() => void> {
  const target = join(dir, file);
  const made = await mkdir(dirname(target), { recursive: true });
  if (made !== undefined) created.push({ top: made, leaf: dirname(target) });
  const tmp = temporaryName(target, randomBytes(4).toString("hex"));
  const untrackTmp = trackTemporary(tmp);
  const untrack = trackTemporary(target);
  try {
    await writeFile(tmp, bytes).catch(async (err: NodeJS.ErrnoException) => {
      // A failed writer may have just removed the (then empty) folder it had created: make it again.
      if (err.code !== "ENOENT") throw err;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(tmp, bytes);
    });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    untrack();
    if ((err as NodeJS.ErrnoException).code === "ENOSPC")
      throw new NoSpaceError(target, bytes.length, { cause: err });
    throw err;
  } finally {
    untrackTmp();
  }
  return untrack;
}

/** A folder chain a writer created: `top` is the first folder mkdir made, `leaf` the deepest. */
export interface CreatedFolders {
  top: string;
  leaf: string;
}

/** Removes folders a writer created, deepest first, as long as they are empty again. */
export async function removeCreatedFolders(created: readonly CreatedFolders[]): Promise<void> {
  for (const { top, leaf } of created) {
    for (let d = leaf; ; d = dirname(d)) {
      if (
        !(await rmdir(d).then(
          () => true,
          () => false,
        ))
      )
        break;
      if (d === top || dirname(d) === d) break;
    }
  }
}

/** A written part set, with the function that stops tracking its files as temporaries. */
export interface WrittenPartSet extends PartSet {
  /** Stops tracking the files as temporaries of this process: call just before the manifest lists them. */
  settle(): void;
  /** Folders created to hold its files (removed again if the set is discarded). */
  readonly folders: readonly CreatedFolders[];
}

/** Rows sorted by granule id, each granule's rows in their order (a stable sort). */
const byGranule = <T extends { granule_id: string }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => (a.granule_id < b.granule_id ? -1 : a.granule_id > b.granule_id ? 1 : 0));

/** Groups items by a key, keeping first-seen key order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

export { partitionKey } from "./partition.js";

/**
 * The partition of a granule's chunk rows: its product, then the UTC month of its start
 * (`product=ATL06/month=2023-08`). Every product has both, unlike ICESat-2's cycle; a month keeps
 * time queries pruning whole directories and daily appends landing in the newest one.
 */
export function partitionOf(granule: GranuleRow): string {
  const ms = Number(granule.time_start / 1_000_000n);
  const month = Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 7) : "0000-00";
  return `${partitionKey("product", granule.product)}/${partitionKey("month", month)}`;
}

/**
 * Deepest level of the Hilbert tiles a partition's chunk rows are split into files by: 4^3 = 64
 * tiles of 45 x 22.5 degrees. Each file's bbox and time range go into the manifest
 * ({@link chunkFileSummary}), so a selection opens only the files near its AOI; at the archive's
 * scale (bench/store-scale.ts) an AOI meets 2-4 of the 64 tiles' files of a partition.
 */
export const CHUNKS_TILE_LEVEL = 3;

/**
 * Floor of a partition's chunk rows per occupied Hilbert tile: a part set's partition is split at
 * the deepest level (0 to {@link CHUNKS_TILE_LEVEL}, {@link chunkTileLevel}) whose occupied tiles
 * hold at least this many rows on average, so its files have at least a few row groups
 * ({@link CHUNKS_ROW_GROUP_SIZE}); level 0 is one file. A daily ATL06 append (about 18 000 rows)
 * becomes 4 files of level 1, a cycle's month (about 500 000 rows) 64 of level 3. Chosen by
 * bench/daily-tiles.ts on 30 daily appends: against the old 64 files a day, 13x less manifest and
 * files, the same candidates, 1.5-21% fewer bytes read; a floor of 1024 (16 files a day) read 8-11%
 * fewer bytes over HTTP for 3.4x the manifest, which every query reads whole.
 */
export const CHUNKS_TILE_MIN_ROWS = 4096;

/** Hilbert tile (0..4^level-1) of a chunk row, by its bbox centre. */
export function chunkTile(b: Bbox, level = CHUNKS_TILE_LEVEL): number {
  return Math.floor(centre(b) / 4 ** (HILBERT_BITS - level));
}

/**
 * The tile level a partition's rows are split at, from their Hilbert keys in ascending order: the
 * deepest level up to {@link CHUNKS_TILE_LEVEL} whose occupied tiles hold at least `minRows` rows
 * on average (0, one file, when even the whole partition holds fewer).
 */
export function chunkTileLevel(sortedKeys: ArrayLike<number>, minRows = CHUNKS_TILE_MIN_ROWS): number {
  const n = sortedKeys.length;
  if (n === 0) return 0;
  let level = 0;
  for (let l = 1; l <= CHUNKS_TILE_LEVEL; l++) {
    const shift = 4 ** (HILBERT_BITS - l);
    let occupied = 0;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const tile = Math.floor(sortedKeys[i]! / shift);
      if (tile !== last) occupied++;
      last = tile;
    }
    if (n < minRows * occupied) break;
    level = l;
  }
  return level;
}

/**
 * A partition's chunk rows sorted along the Hilbert curve and cut into the files they are written
 * as: one file (tile undefined) at level 0, else one per occupied tile of the level
 * {@link chunkTileLevel} picks for `minRows` (default {@link CHUNKS_TILE_MIN_ROWS}).
 */
export function chunkTiles(
  rows: readonly ChunkRow[],
  minRows = CHUNKS_TILE_MIN_ROWS,
): { tile?: number; rows: ChunkRow[] }[] {
  const keyed = rows.map((row) => ({ row, key: centre(row.bbox) })).sort((a, b) => a.key - b.key);
  const sorted = keyed.map((k) => k.row);
  const level = chunkTileLevel(
    keyed.map((k) => k.key),
    minRows,
  );
  if (level === 0) return [{ rows: sorted }];
  const shift = 4 ** (HILBERT_BITS - level);
  const out: { tile: number; rows: ChunkRow[] }[] = [];
  for (const [i, row] of sorted.entries()) {
    const tile = Math.floor(keyed[i]!.key / shift);
    if (out.at(-1)?.tile !== tile) out.push({ tile, rows: [] });
    out.at(-1)!.rows.push(row);
  }
  return out;
}

/**
 * Path of a `chunks` or `chunk_cells` file of a part set: `TABLE/PARTITION/part-<id>.parquet`, or
 * `part-<id>-t<tile>.parquet` for one tile of a split partition.
 */
export function chunkFileName(
  table: "chunks" | "chunk_cells",
  partition: string,
  id: string,
  tile?: number,
): string {
  return `${table}/${partition}/part-${id}${tile === undefined ? "" : `-t${tile}`}.parquet`;
}

/** What the manifest records of a `chunks` file's rows: their bbox and time range. */
export function chunkFileSummary(rows: readonly ChunkRow[]): Pick<PartFileStats, "bbox" | "time"> {
  if (rows.length === 0) return {};
  let start = rows[0]!.time_start;
  let end = rows[0]!.time_end;
  for (const r of rows) {
    if (r.time_start < start) start = r.time_start;
    if (r.time_end > end) end = r.time_end;
  }
  const b = rows.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  return { bbox: toArray(b), time: [String(start), String(end)] };
}

/**
 * Loads the page codec (zstd) the part files are written with: the encoding functions below need it
 * loaded in their thread ({@link writePartSet} loads it itself).
 */
export async function loadPartEncoding(): Promise<void> {
  await loadZstd();
}

/** The Parquet writer settings of a part file, from the store's page settings of its table. */
function tableOptions(
  pages: ParquetWriteOptions,
  opts: Omit<TableOptions, "compress" | "pageBytes" | "pageCheckRows" | "dictionary">,
  dictionary: (column: string) => boolean,
): TableOptions {
  const compress = loadedZstd();
  if (!compress) throw new Error("part files encoded before the page codec was loaded (loadPartEncoding)");
  return {
    ...opts,
    compress,
    dictionary,
    ...(pages.pageBytes === undefined ? {} : { pageBytes: pages.pageBytes }),
    ...(pages.pageCheckRows === undefined ? {} : { pageCheckRows: pages.pageCheckRows }),
  };
}

const among = (columns: readonly string[]) => (column: string) => columns.includes(column);

/**
 * A `granules` file's bytes: GeoParquet sorted by granule id, in row groups of
 * {@link GRANULES_ROW_GROUP_SIZE}, with statistics on `granule_id` only, no dictionaries.
 */
export function granulesParquet(granules: readonly GranuleRow[]): Uint8Array {
  const bbox = granules.reduce((acc, g) => unionBbox(acc, g.bbox), EMPTY_BBOX);
  const geo = geoMetadata({ geometryTypes: ["Polygon"], bbox: toArray(bbox), covering: "bbox" });
  const opts = tableOptions(
    GRANULES_PAGES,
    {
      rowGroupSize: GRANULES_ROW_GROUP_SIZE,
      statistics: among(["granule_id"]),
      metadata: { geo, "ARROW:schema": ARROW_SCHEMAS.granules },
    },
    among(GRANULES_PAGES.dictionaryColumns ?? []),
  );
  return encodeTable(byGranule(granules), GRANULES_COLUMNS, opts);
}

/**
 * An `arrays` file's bytes: sorted by granule id, in row groups of {@link ARRAYS_ROW_GROUP_SIZE},
 * with statistics on `granule_id` and `path` only.
 */
export function arraysParquet(arrays: readonly ArrayRow[]): Uint8Array {
  const opts = tableOptions(
    ARRAYS_PAGES,
    {
      rowGroupSize: ARRAYS_ROW_GROUP_SIZE,
      statistics: among(["granule_id", "path"]),
      metadata: { "ARROW:schema": ARROW_SCHEMAS.arrays },
    },
    among(ARRAYS_PAGES.dictionaryColumns ?? []),
  );
  return encodeTable(byGranule(arrays), ARRAYS_COLUMNS, opts);
}

/** A `chunks` file's bytes: GeoParquet with its bbox, in row groups of {@link CHUNKS_ROW_GROUP_SIZE}. */
export function chunksParquet(chunks: readonly ChunkRow[]): Uint8Array {
  const bbox = chunks.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  const geo = geoMetadata({
    geometryTypes: ["LineString", "MultiLineString"],
    bbox: toArray(bbox),
    covering: "bbox",
  });
  const opts = tableOptions(
    CHUNKS_PAGES,
    {
      rowGroupSize: CHUNKS_ROW_GROUP_SIZE,
      statistics: (c) => !(CHUNKS_PAGES.noStatisticsColumns ?? []).includes(c),
      metadata: { geo, "ARROW:schema": ARROW_SCHEMAS.chunks },
    },
    (c) => !(CHUNKS_PAGES.plainColumns ?? []).includes(c),
  );
  return encodeTable(chunks, CHUNKS_COLUMNS, opts);
}

/** Whether a code unit is an ASCII digit (1), lowercase letter (2) or uppercase letter (3); else 0. */
const alnumClass = (c: number) =>
  c >= 48 && c <= 57 ? 1 : c >= 97 && c <= 122 ? 2 : c >= 65 && c <= 90 ? 3 : 0;

/**
 * The sign of `a.localeCompare(b)`, without the call when the strings' first differing code units are
 * both digits, both lowercase or both uppercase ASCII letters (whose collation order is their code
 * order, and decides at the first level), or when one string is the other followed by ASCII letters
 * and digits only (the shorter first); else `localeCompare` itself. Chunk ids always fall in the first
 * cases: the first `localeCompare` of a process sets up ICU's collator, about 6 ms of CPU.
 */
export function localeOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i < n) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    const kind = alnumClass(x);
    if (kind !== 0 && kind === alnumClass(y)) return x - y;
    return a.localeCompare(b);
  }
  const longer = a.length > b.length ? a : b;
  for (let k = n; k < longer.length; k++)
    if (alnumClass(longer.charCodeAt(k)) === 0) return a.localeCompare(b);
  return a.length - b.length;
}

/**
 * The order of `n` rows sorted by unsigned 32-bit keys, the most significant first (ties kept in row
 * order): a least-significant-digit radix sort of bytes, a byte that all rows share skipped uncounted
 * (most of a cell's bytes are the same in a file: its mode and resolution, the digits below the
 * resolution).
 * Several times faster than a comparison sort of the same keys on a file's cells.
 */
export function radixOrder(keys: readonly Uint32Array[], n: number): Uint32Array {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let next = new Uint32Array(n);
  const counts = new Uint32Array(256);
  for (let k = keys.length - 1; k >= 0; k--) {
    const key = keys[k]!;
    // The bits that differ between rows: a byte without any is left out, uncounted.
    let any = 0;
    let all = 0xffffffff;
    for (let i = 0; i < n; i++) {
      any |= key[i]!;
      all &= key[i]!;
    }
    const varying = any ^ all;
    for (let shift = 0; shift < 32; shift += 8) {
      if (((varying >>> shift) & 0xff) === 0) continue;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(key[i]! >>> shift) & 0xff]!++;
      let sum = 0;
      for (let d = 0; d < 256; d++) {
        const c = counts[d]!;
        counts[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const j = order[i]!;
        next[counts[(key[j]! >>> shift) & 0xff]!++] = j;
      }
      [order, next] = [next, order];
    }
  }
  return order;
}

/** A `chunk_cells` file's bytes: the rows sorted by cell (then chunk id), in row groups of {@link CELLS_ROW_GROUP_SIZE}. */
export function chunkCellsParquet(cells: readonly ChunkCellRow[]): Uint8Array {
  // By cell, then by chunk id in localeCompare's order (the Arrow writer's), each id ranked once
  // rather than compared per pair: ICU's compare was most of this file's encoding (17 000 rows).
  const ids = [...new Set(cells.map((c) => c.chunk_id))].sort(localeOrder);
  const rank = new Map(ids.map((id, i) => [id, i]));
  const n = cells.length;
  // Each cell's key as two unsigned 32-bit words, compared without a BigInt per comparison (reading
  // a BigUint64Array's element makes one): most of the sort's CPU.
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = cells[i]!.h3_cell;
  const words = new Uint32Array(keys.buffer);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const ranks = new Uint32Array(n);
  // A chunk's cells come together: its rank is looked up once a run of its id.
  let lastId: string | undefined;
  let lastRank = 0;
  for (let i = 0; i < n; i++) {
    lo[i] = words[2 * i]!;
    hi[i] = words[2 * i + 1]!;
    const id = cells[i]!.chunk_id;
    if (id !== lastId) {
      lastId = id;
      lastRank = rank.get(id)!;
    }
    ranks[i] = lastRank;
  }
  const order = radixOrder([hi, lo, ranks], n);
  const sorted = new Array<ChunkCellRow>(n);
  for (let i = 0; i < n; i++) sorted[i] = cells[order[i]!]!;
  const opts = tableOptions(
    {},
    { rowGroupSize: CELLS_ROW_GROUP_SIZE, metadata: { "ARROW:schema": ARROW_SCHEMAS.chunk_cells } },
    () => true,
  );
  return encodeTable(sorted, CELLS_COLUMNS, opts);
}

/**
 * One part file encoded, before a part set's id names it: its table, the partition and Hilbert tile
 * of a `chunks` or `chunk_cells` file, its bytes, rows and sha256, and a `chunks` file's bbox and time
 * range ({@link chunkFileSummary}).
 */
export interface EncodedPartFile {
  table: StoreTable;
  partition?: string;
  tile?: number;
  bytes: Uint8Array;
  rows: number;
  sha256: string;
  summary?: Pick<PartFileStats, "bbox" | "time">;
}

/**
 * A batch's part files encoded ahead of the write (part-encoder.ts), with the tile floor they were
 * split by ({@link chunkTileLevel}): a writer splitting by another floor encodes the batch itself.
 */
export interface EncodedPartSet {
  tileMinRows: number | undefined;
  files: EncodedPartFile[];
}

/** The file's path in a part set of id `id`. */
export function encodedFileName(
  file: Pick<EncodedPartFile, "table" | "partition" | "tile">,
  id: string,
): string {
  if (file.table === "granules" || file.table === "arrays") return `${file.table}/part-${id}.parquet`;
  return chunkFileName(file.table, file.partition!, id, file.tile);
}

const encoded = (
  table: StoreTable,
  bytes: Uint8Array,
  rows: number,
  where: Pick<EncodedPartFile, "partition" | "tile"> = {},
): EncodedPartFile => ({
  table,
  ...where,
  bytes,
  rows,
  sha256: createHash("sha256").update(bytes).digest("hex"),
});

/** The `granules` file of a batch's granule rows. */
export function encodeGranulesFile(granules: readonly GranuleRow[]): EncodedPartFile {
  return encoded("granules", granulesParquet(granules), granules.length);
}

/** The `arrays` file of a batch's array rows. */
export function encodeArraysFile(arrays: readonly ArrayRow[]): EncodedPartFile {
  return encoded("arrays", arraysParquet(arrays), arrays.length);
}

/**
 * The `chunks` and `chunk_cells` files of one partition's chunk rows (in the batch's order), each
 * tile's cells taken from `cellsByChunk`: a `chunks` file, then its `chunk_cells` file, tile by tile.
 */
export function* encodePartitionFiles(
  partition: string,
  rows: readonly ChunkRow[],
  cellsByChunk: ReadonlyMap<string, readonly ChunkCellRow[]>,
  tileMinRows?: number,
): Generator<EncodedPartFile> {
  for (const { tile, rows: chunks } of chunkTiles(rows, tileMinRows)) {
    const chunkFile = encoded("chunks", chunksParquet(chunks), chunks.length, { partition, tile });
    yield { ...chunkFile, summary: chunkFileSummary(chunks) };
    const cells: ChunkCellRow[] = [];
    for (const c of chunks) {
      const list = cellsByChunk.get(c.chunk_id);
      if (list) for (const cell of list) cells.push(cell);
    }
    const cellBytes = chunkCellsParquet(cells);
    yield encoded("chunk_cells", cellBytes, cells.length, { partition, tile });
  }
}

/**
 * A batch's chunk rows by partition ({@link partitionOf} of their granule), partitions in the order
 * their first rows come, each partition's rows in the batch's order.
 */
export function chunksByPartition(batch: Pick<StoreBatch, "granules" | "chunks">): Map<string, ChunkRow[]> {
  const partOf = new Map(batch.granules.map((g) => [g.granule_id, partitionOf(g)]));
  return groupBy(batch.chunks, (c) => partOf.get(c.granule_id)!);
}

/** A batch's chunk cells by chunk id. */
export const cellsByChunkId = (cells: readonly ChunkCellRow[]): Map<string, ChunkCellRow[]> =>
  groupBy(cells, (c) => c.chunk_id);

/**
 * The part files of a batch, encoded one at a time as they are asked for: the `granules` file, the
 * `arrays` file, then each partition's files ({@link encodePartitionFiles}).
 */
export function* encodePartFiles(batch: StoreBatch, tileMinRows?: number): Generator<EncodedPartFile> {
  yield encodeGranulesFile(batch.granules);
  yield encodeArraysFile(batch.arrays);
  const cells = cellsByChunkId(batch.chunkCells);
  for (const [partition, rows] of chunksByPartition(batch))
    yield* encodePartitionFiles(partition, rows, cells, tileMinRows);
}

/**
 * Writes a batch as a new part set: one `granules` and one `arrays` file, and `chunks` and
 * `chunk_cells` files per product and month partition ({@link partitionOf}), chunks sorted along
 * a Hilbert curve and, in large partitions, split by Hilbert tile ({@link chunkTiles}); each
 * `chunks` file's bbox and time range are recorded with its stats. Each file is written
 * under a temporary name and renamed; nothing is visible until a manifest lists the set. With
 * `encoded` (the batch's files encoded ahead, e.g. on another thread while the rows were computed),
 * those bytes are written instead of encoding the batch here.
 */
export async function writePartSet(
  dir: string,
  batch: StoreBatch,
  opts: { tileMinRows?: number; encoded?: Iterable<EncodedPartFile> } = {},
): Promise<WrittenPartSet> {
  await loadPartEncoding();
  const id = newPartId();
  const files: Record<StoreTable, string[]> = { granules: [], arrays: [], chunks: [], chunk_cells: [] };
  const untrack: (() => void)[] = [];
  const created: CreatedFolders[] = [];
  const stats: Record<string, PartFileStats> = {};
  try {
    for (const file of opts.encoded ?? encodePartFiles(batch, opts.tileMinRows)) {
      const name = encodedFileName(file, id);
      // Listed before the write, so that a failed set removes a file its failed write left.
      files[file.table].push(name);
      untrack.push(await writeOne(dir, name, file.bytes, created));
      stats[name] = { bytes: file.bytes.length, rows: file.rows, sha256: file.sha256, ...file.summary };
    }
  } catch (err) {
    // A failed set removes its own files: nothing of it stays in the store.
    const written = STORE_TABLES_LIST.flatMap((t) => files[t]);
    await Promise.all(written.map((f) => rm(join(dir, f), { force: true })));
    for (const u of untrack) u();
    await removeCreatedFolders(created);
    throw err;
  }
  const part: PartSet = {
    id,
    files,
    granules: batch.granules.map((g) => g.granule_id),
    products: [...new Set(batch.granules.map((g) => g.product))].sort(),
    stats,
  };
  const settle = () => {
    for (const u of untrack) u();
  };
  // Not enumerable: the manifest lists the part set as plain data.
  Object.defineProperty(part, "folders", { value: created });
  return Object.defineProperty(part, "settle", { value: settle }) as WrittenPartSet;
}

const STORE_TABLES_LIST: readonly StoreTable[] = ["granules", "arrays", "chunks", "chunk_cells"];

/**
 * Reads the rows of a part set, keeping only the granules `keep` accepts. The `chunk_cells` rows are
 * made from the kept chunk rows' `h3_cells` rather than read back a row at a time from the cells files
 * (35 M Arrow rows as objects for a month of daily appends: most of a compaction's time and memory),
 * so a set whose cells files are broken reads as well as any.
 */
export async function readPartSet(
  dir: string,
  part: PartSet,
  keep: (granuleId: string) => boolean,
): Promise<StoreBatch> {
  const { readParquetFile } = await import("./parquet.js");
  const read = async (t: StoreTable) => Promise.all(part.files[t].map((f) => readParquetFile(join(dir, f))));
  const chunks = (await read("chunks")).flatMap(chunkRows).filter((r) => keep(r.granule_id));
  return {
    granules: (await read("granules")).flatMap(granuleRows).filter((r) => keep(r.granule_id)),
    arrays: (await read("arrays")).flatMap(arrayRows).filter((r) => keep(r.granule_id)),
    chunks,
    chunkCells: chunks.flatMap((c) => c.h3_cells.map((h3_cell) => ({ h3_cell, chunk_id: c.chunk_id }))),
  };
}

/** Concatenates batches. */
export function mergeBatches(batches: readonly StoreBatch[]): StoreBatch {
  return {
    granules: batches.flatMap((b) => b.granules),
    arrays: batches.flatMap((b) => b.arrays),
    chunks: batches.flatMap((b) => b.chunks),
    chunkCells: batches.flatMap((b) => b.chunkCells),
  };
}
