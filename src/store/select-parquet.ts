/**
 * Chunk selection in TypeScript over the part files' Parquet statistics: the same candidates as the
 * DuckDB selection (select.ts), reading only footers, the row groups whose statistics can match, and
 * the granule and array rows of the selected granules. Serves local and remote stores alike.
 */
import type { ColumnChunk, Compressors, FileMetaData, RowGroup } from "hyparquet";
import { isGeochunksError, StoreError } from "../errors.js";
import type { ReadOptions } from "../source/index.js";
import type { BboxArray } from "./geo.js";
import type { PartFileStats } from "./manifest.js";
import { PARSERS, type PartFile, partPaths, recordedStats, type StoreReader } from "./reader.js";
import { arrayFromPlain, chunkFromPlain, granuleFromPlain } from "./rows.js";
import {
  type ChunkSelection,
  microsecondWindow,
  type SelectedIndex,
  type SelectionCover,
  selectionPlan,
  toMicros,
} from "./selection.js";

type Plain = Record<string, unknown>;
type Stat = { min: unknown; max: unknown };

/** Columns of `chunks` tested before a row is taken. */
const CHUNK_TEST_COLUMNS = ["chunk_id", "beam", "beam_kind", "time_start", "time_end", "bbox"];
/** Columns of a selected chunk row (the DuckDB selection's list: no `h3_cells`). */
const CHUNK_COLUMNS = [
  ...CHUNK_TEST_COLUMNS,
  "granule_id",
  "row_start",
  "row_count",
  "parent_start",
  "parent_count",
  "geometry",
  "footprint_error",
  "refs",
  // Optional: parts written before chunk checksums were recorded lack it (see readGroups).
  "ref_checksums",
];
/** Columns of a selected granule row: not its `geometry` nor its large `hierarchy`. */
const GRANULE_COLUMNS = [
  "granule_id",
  "url",
  "size",
  "etag",
  "mtime",
  "product",
  "release",
  "orbit",
  "track",
  "cycle",
  "region",
  "attrs",
  "time_start",
  "time_end",
  "bbox",
];
const ARRAY_COLUMNS = [
  "granule_id",
  "path",
  "dtype",
  "shape",
  "chunk_shape",
  "filters",
  "fill_value",
  "attrs",
];

/** Statistics of a column chunk by its dotted path (`bbox.xmin`), when written. */
function statOf(group: RowGroup, path: string): Stat | undefined {
  const c = group.columns.find((col) => col.meta_data?.path_in_schema.join(".") === path);
  const s = c?.meta_data?.statistics;
  const min = s?.min_value ?? s?.min;
  const max = s?.max_value ?? s?.max;
  return min === undefined || max === undefined ? undefined : { min, max };
}

const lessEq = (a: unknown, b: unknown) => (a as number | bigint | string) <= (b as number | bigint | string);

/** Byte range [start, end) of a column chunk. */
function chunkRange(c: ColumnChunk): [number, number] {
  const m = c.meta_data!;
  const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
  return [start, start + Number(m.total_compressed_size)];
}

/** First row of each row group. */
function groupStarts(metadata: FileMetaData): number[] {
  const starts: number[] = [];
  let row = 0;
  for (const g of metadata.row_groups) {
    starts.push(row);
    row += Number(g.num_rows);
  }
  return starts;
}

/** The first line of an error's message. */
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

/** Codecs hyparquet decodes without help. */
const BUILT_IN_CODECS = new Set(["UNCOMPRESSED", "SNAPPY"]);

/**
 * Decompressors for the codecs of these files: fzstd alone for the ZSTD the store writes, and the
 * whole hyparquet-compressors set (brotli's tables, gzip, lz4, a snappy WebAssembly module) only for
 * a part that uses another codec. Loading the whole set cost a few percent of a query's CPU before
 * its first request (bench/startup.ts).
 */
async function compressorsFor(files: readonly FileMetaData[]): Promise<Compressors> {
  const codecs = new Set(
    files.flatMap((m) => m.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec))),
  );
  const others = [...codecs].filter((c) => c !== undefined && c !== "ZSTD" && !BUILT_IN_CODECS.has(c));
  if (others.length > 0) return (await import("hyparquet-compressors")).compressors;
  if (!codecs.has("ZSTD")) return {};
  const { decompress } = await import("fzstd");
  return { ZSTD: (input, length) => decompress(input, new Uint8Array(length)) };
}

/** A row group of a part file to read. */
interface GroupRead {
  part: PartFile;
  group: number;
}

/**
 * Reads `columns` of the given row groups: their column chunks are prefetched together per file
 * (coalesced), then decoded.
 */
async function readGroups(
  dir: string,
  reads: readonly GroupRead[],
  columns: readonly string[],
  opts?: ReadOptions,
) {
  const { parquetReadObjects } = await import("hyparquet");
  const compressors = await compressorsFor(reads.map((r) => r.part.metadata));
  const wanted = new Set(columns);
  const byPart = new Map<PartFile, number[]>();
  for (const r of reads) byPart.set(r.part, [...(byPart.get(r.part) ?? []), r.group]);
  await Promise.all(
    [...byPart].map(([part, groups]) =>
      part.buffer.prefetch(
        groups.flatMap((g) =>
          part.metadata.row_groups[g]!.columns.filter((c) => wanted.has(c.meta_data!.path_in_schema[0]!)).map(
            chunkRange,
          ),
        ),
        opts,
      ),
    ),
  );
  return Promise.all(
    reads.map(async ({ part, group }) => {
      const start = groupStarts(part.metadata)[group]!;
      // Optional columns an older part does not have are left out (they read as undefined).
      const present = new Set(part.metadata.schema.map((e) => e.name));
      let rows: Plain[];
      try {
        rows = (await parquetReadObjects({
          file: part.buffer,
          metadata: part.metadata,
          columns: columns.filter((c) => present.has(c)),
          rowStart: start,
          rowEnd: start + Number(part.metadata.row_groups[group]!.num_rows),
          compressors,
          parsers: PARSERS,
        })) as Plain[];
      } catch (err) {
        // Bytes changed inside a page (size and footer intact) surface as a decoder's own words.
        if (isGeochunksError(err) || opts?.signal?.aborted) throw err;
        throw new StoreError(
          dir,
          `${part.name}: part file is damaged: row group ${group} cannot be read (${firstLine(err)}); run geochunks verify --store ${dir}`,
          { cause: err },
        );
      }
      return { part, group, rows };
    }),
  );
}

/** Row groups of `parts` that `keep` accepts by their statistics. */
function groupsWhere(parts: readonly PartFile[], keep: (g: RowGroup) => boolean): GroupRead[] {
  return parts.flatMap((part) =>
    part.metadata.row_groups.flatMap((g, group) =>
      Number(g.num_rows) > 0 && keep(g) ? [{ part, group }] : [],
    ),
  );
}

/** Whether a row group's bbox statistics can meet the box. */
function groupMeetsBox(g: RowGroup, [xmin, ymin, xmax, ymax]: BboxArray): boolean {
  const x0 = statOf(g, "bbox.xmin");
  const x1 = statOf(g, "bbox.xmax");
  const y0 = statOf(g, "bbox.ymin");
  const y1 = statOf(g, "bbox.ymax");
  return (
    (!x0 || (x0.min as number) <= xmax) &&
    (!x1 || (x1.max as number) >= xmin) &&
    (!y0 || (y0.min as number) <= ymax) &&
    (!y1 || (y1.max as number) >= ymin)
  );
}

const rowMeetsBox = (b: { xmin: number; ymin: number; xmax: number; ymax: number }, box: BboxArray) =>
  b.xmin <= box[2] && b.xmax >= box[0] && b.ymin <= box[3] && b.ymax >= box[1];

/**
 * The row test of the chunk selection: the DuckDB WHERE clause of select.ts, row by row. The H3
 * test reads the row's own `h3_cells` rather than the `chunk_cells` table DuckDB joins: the table
 * is that list unrolled (the indexer writes both from the same cells, `repair` rebuilds it so), and
 * the list is in the row groups the bbox test reads anyway, while the table is the store's largest
 * (about 60 rows per chunk row; on the 5548-granule benchmark store, reading its groups near the
 * AOI took most of the selection's time and bytes).
 */
function chunkTest(sel: ChunkSelection, cover: SelectionCover | undefined) {
  const cells = new Set(cover?.cells ?? []);
  const inCover = (r: Plain) =>
    (r.h3_cells as ArrayLike<bigint> | null)
      ? Array.prototype.some.call(r.h3_cells, (c: bigint) => cells.has(BigInt(c)))
      : false;
  const near = cover ? sel.bboxes.filter((_, i) => cover.covered[i]) : [];
  const rest = cover ? sel.bboxes.filter((_, i) => !cover.covered[i]) : sel.bboxes;
  const { startUs, endUs } = microsecondWindow(sel);
  const beams = sel.beams ?? [];
  const kinds = beams.filter((b) => sel.beamKinds?.includes(b));
  const names = beams.filter((b) => !kinds.includes(b));
  const groupTest = (g: RowGroup) => {
    if (![...near, ...rest].some((box) => groupMeetsBox(g, box))) return false;
    const te = statOf(g, "time_end");
    const ts = statOf(g, "time_start");
    if (startUs !== undefined && te && toMicros(te.max as bigint) < startUs) return false;
    if (endUs !== undefined && ts && toMicros(ts.min as bigint) >= endUs) return false;
    return true;
  };
  const inWindow = (r: Plain) => {
    if (startUs !== undefined && toMicros(r.time_end as bigint) < startUs) return false;
    if (endUs !== undefined && toMicros(r.time_start as bigint) >= endUs) return false;
    if (beams.length > 0 && !names.includes(r.beam as string) && !kinds.includes(r.beam_kind as string))
      return false;
    return true;
  };
  const boxOf = (r: Plain) => r.bbox as { xmin: number; ymin: number; xmax: number; ymax: number };
  // The test without the cells: a row passing it may be a candidate (rows without cells read yet).
  const spatialTest = (r: Plain) => sel.bboxes.some((box) => rowMeetsBox(boxOf(r), box)) && inWindow(r);
  const rowTest = (r: Plain) => {
    const b = boxOf(r);
    const spatial =
      (near.some((box) => rowMeetsBox(b, box)) && inCover(r)) || rest.some((box) => rowMeetsBox(b, box));
    return spatial && inWindow(r);
  };
  return { groupTest, rowTest, spatialTest };
}

/** Rows of `parts` whose `granule_id` is in `ids`, reading only row groups whose id range holds one. */
async function rowsOfGranules(
  dir: string,
  parts: readonly PartFile[],
  ids: readonly string[],
  columns: readonly string[],
  opts?: ReadOptions,
): Promise<Plain[]> {
  const sorted = [...ids].sort();
  const reads = groupsWhere(parts, (g) => {
    const s = statOf(g, "granule_id");
    return !s || sorted.some((id) => lessEq(s.min, id) && lessEq(id, s.max));
  });
  const wanted = new Set(ids);
  return (await readGroups(dir, reads, columns, opts)).flatMap(({ rows }) =>
    rows.filter((r) => wanted.has(r.granule_id as string)),
  );
}

/**
 * Finds the candidate chunks of a query from the part files' statistics and rows, without DuckDB:
 * the same rows as `selectChunks` of select.ts (the bbox and H3 paths, time window, beams, product
 * partitions), then the rows of `granules` and `arrays` of the selected granules.
 * @throws StoreError naming a part file that is missing, resized, unreadable or holds other rows.
 */
export async function selectChunksParquet(
  reader: StoreReader,
  sel: ChunkSelection,
  opts: ReadOptions = {},
): Promise<SelectedIndex> {
  const { manifest } = reader;
  if (manifest.parts.length === 0) return { granules: [], chunks: [], arrays: [], method: "bbox" };
  const scope = { product: sel.product };
  const chunkPaths = partPaths(manifest, "chunks", scope);
  if (chunkPaths.length === 0) {
    const { method, cover } = await selectionPlan(sel, manifest.h3_resolution);
    return { granules: [], chunks: [], arrays: [], method, coverCells: cover?.cells.length };
  }
  const chunkParts = await reader.openParts(
    chunkPaths.filter((path) => fileMayMatch(recordedStats(manifest, path), sel)),
    opts,
  );
  // Small columns first: the bbox, time and beam test (which needs no cover). Only row groups with a
  // row passing it read the rows' H3 cells, and only groups with a candidate read the large columns.
  const { groupTest, spatialTest } = chunkTest(sel, undefined);
  const tested = await readGroups(reader.dir, groupsWhere(chunkParts, groupTest), CHUNK_TEST_COLUMNS, opts);
  const near = tested.filter((t) => t.rows.some(spatialTest));
  const { method, cover } = await selectionPlan(sel, manifest.h3_resolution, {
    bboxRows: async () => near.reduce((n, t) => n + t.rows.filter(spatialTest).length, 0),
  });
  const coverCells = cover?.cells.length;
  const { rowTest } = chunkTest(sel, cover);
  const passed = cover ? await readGroups(reader.dir, near, [...CHUNK_TEST_COLUMNS, "h3_cells"], opts) : near;
  const candidates = new Set(passed.flatMap((t) => t.rows.filter(rowTest).map((r) => r.chunk_id as string)));
  const hits = passed.filter((t) => t.rows.some((r) => candidates.has(r.chunk_id as string)));
  const chunks: Plain[] = [];
  const setOfFile = new Map(manifest.parts.flatMap((p) => p.files.chunks.map((f) => [f, p.id] as const)));
  const partOfGranule = new Map<string, string | undefined>();
  // Rows come without their cells, as from the DuckDB selection (the plan does not need them).
  for (const { part, rows } of await readGroups(reader.dir, hits, CHUNK_COLUMNS, opts))
    for (const r of rows) {
      if (!candidates.has(r.chunk_id as string)) continue;
      chunks.push({ ...r, h3_cells: null });
      partOfGranule.set(r.granule_id as string, setOfFile.get(part.path));
    }
  const selected = chunks.map(chunkFromPlain);
  const ids = [...new Set(selected.map((c) => c.granule_id))];
  if (ids.length === 0) return { granules: [], chunks: selected, arrays: [], method, coverCells };
  // Only the part sets holding the selected granules are opened for their granule and array rows:
  // a granule's rows are all in one part set, the one whose chunks file held its chunk rows.
  const sets = new Set(partOfGranule.values());
  const holding = manifest.parts.filter((p) => sets.has(p.id));
  const granulePaths = holding.flatMap((p) => p.files.granules);
  const arrayPaths = holding.flatMap((p) => p.files.arrays);
  const opened = await reader.openParts([...granulePaths, ...arrayPaths], opts);
  const [granules, arrays] = await Promise.all([
    rowsOfGranules(reader.dir, opened.slice(0, granulePaths.length), ids, GRANULE_COLUMNS, opts),
    rowsOfGranules(reader.dir, opened.slice(granulePaths.length), ids, ARRAY_COLUMNS, opts),
  ]);
  return {
    granules: granules.map(granuleFromPlain),
    chunks: selected,
    arrays: arrays.map(arrayFromPlain),
    method,
    coverCells,
  };
}

/**
 * Whether a `chunks` file may hold a candidate, by the bbox and time range the manifest records of
 * it (files without them may).
 */
export function fileMayMatch(stats: PartFileStats | undefined, sel: ChunkSelection): boolean {
  if (stats?.bbox && !sel.bboxes.some((box) => boxesMeet(stats.bbox!, box))) return false;
  if (stats?.time) {
    const { startUs, endUs } = microsecondWindow(sel);
    if (startUs !== undefined && toMicros(BigInt(stats.time[1])) < startUs) return false;
    if (endUs !== undefined && toMicros(BigInt(stats.time[0])) >= endUs) return false;
  }
  return true;
}

const boxesMeet = (a: BboxArray, b: BboxArray) =>
  a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];

/**
 * The element type (HDF5 dtype) of a dataset at any of `paths` in any granule of the store, or
 * undefined when no granule has one (the TypeScript twin of select.ts's `variableType`).
 */
export async function variableTypeParquet(
  reader: StoreReader,
  paths: readonly string[],
  opts: ReadOptions = {},
): Promise<string | undefined> {
  if (reader.manifest.parts.length === 0 || paths.length === 0) return undefined;
  const parts = await reader.openParts(partPaths(reader.manifest, "arrays"), opts);
  const wanted = new Set(paths);
  const sorted = [...paths].sort();
  const reads = groupsWhere(parts, (g) => {
    const s = statOf(g, "path");
    return !s || sorted.some((p) => lessEq(s.min, p) && lessEq(p, s.max));
  });
  // One row group at a time: the first granule's arrays nearly always answer, and a large store's
  // arrays parts hold millions of rows.
  for (const read of reads) {
    const { rows } = (await readGroups(reader.dir, [read], ["path", "dtype"], opts))[0]!;
    const hit = rows.find((r) => wanted.has(r.path as string));
    if (hit) return String(hit.dtype);
  }
  return undefined;
}
