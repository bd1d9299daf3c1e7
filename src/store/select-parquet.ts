/**
 * Chunk selection in TypeScript over the part files' Parquet statistics: the same candidates as the
 * DuckDB selection (select.ts), reading only footers, the row groups whose statistics can match, and
 * the granule and array rows of the selected granules. Serves local and remote stores alike.
 */
import type { ColumnChunk, Compressors, FileMetaData, OffsetIndex, RowGroup } from "hyparquet";
import { isGeochunksError, StoreError } from "../errors.js";
import type { ReadOptions } from "../source/index.js";
import { groupStatistics } from "./footer.js";
import type { BboxArray } from "./geo.js";
import type { PartFileStats } from "./manifest.js";
import { type DictionaryCache, decodeRows } from "./pages.js";
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
import { storedFrameContent } from "./zstd.js";

type Plain = Record<string, unknown>;
type Stat = { min: unknown; max: unknown };

/** Columns of `chunks` tested before a row is taken. */
const CHUNK_TEST_COLUMNS = ["beam", "beam_kind", "time_start", "time_end", "bbox"];
/** Columns of a selected chunk row (the DuckDB selection's list: no `h3_cells`). */
const CHUNK_COLUMNS = [
  "chunk_id",
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
/** Columns of a candidate read after the test: the rest of {@link CHUNK_COLUMNS}. */
const CHUNK_HEAVY_COLUMNS = CHUNK_COLUMNS.filter((c) => !CHUNK_TEST_COLUMNS.includes(c));
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

/** Column chunks of a row group by their dotted paths, made once per row group. */
const columnsByPath = new WeakMap<RowGroup, Map<string, ColumnChunk>>();

/** Statistics of a column chunk by its dotted path (`bbox.xmin`), when written. */
function statOf(group: RowGroup, path: string): Stat | undefined {
  // Read from the footer's bytes, without decoding the group's column chunks (footer.ts).
  const read = groupStatistics(group, path);
  if (read !== undefined) return read ?? undefined;
  let byPath = columnsByPath.get(group);
  if (!byPath) {
    byPath = new Map(group.columns.map((col) => [col.meta_data?.path_in_schema.join(".") ?? "", col]));
    columnsByPath.set(group, byPath);
  }
  const s = byPath.get(path)?.meta_data?.statistics;
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
async function compressorsFor(groups: readonly RowGroup[]): Promise<Compressors> {
  const codecs = new Set(groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
  const others = [...codecs].filter((c) => c !== undefined && c !== "ZSTD" && !BUILT_IN_CODECS.has(c));
  if (others.length > 0) return (await import("hyparquet-compressors")).compressors;
  if (!codecs.has("ZSTD")) return {};
  zstdOnly ??= zstdCompressors();
  return zstdOnly;
}

/** The ZSTD decompressor of {@link compressorsFor}, made once per process. */
let zstdOnly: Promise<Compressors> | undefined;

async function zstdCompressors(): Promise<Compressors> {
  const { decompress } = await import("fzstd");
  // Frames of raw blocks (most of the store's small pages) are their own bytes (zstd.ts).
  // No output buffer: fzstd 0.1 compares the buffer it is given with a number (`w == 1`), which
  // turns the whole buffer into a string, twice per frame; without one it allocates the frame's
  // recorded content size itself. 3-4 times less CPU on the store's pages, and most of the garbage
  // collection of a selection.
  return { ZSTD: (input) => storedFrameContent(input) ?? decompress(input) };
}

/** Dictionaries of the column chunks read, decoded once (pages.ts); they go with their footers. */
const dictionaries: DictionaryCache = new WeakMap();

/**
 * Values of whole row groups decoded, by the columns read (their names joined): the test columns of
 * `chunks` and the key columns of `granules` and `arrays` are read whole on every query. Kept only
 * for a part file the reader keeps between queries (`PartFile.kept`, local-reader.ts, whose bounds
 * are theirs), with its footer: such a file's groups are decoded once.
 * Callers never change the arrays (rows made of them copy the values, rows.ts).
 */
const wholeGroups = new WeakMap<RowGroup, Map<string, Map<string, unknown[]>>>();

/** Offset indexes of the column chunks of kept part files, decoded once; they go with their footers. */
const offsetIndexes = new WeakMap<ColumnChunk, OffsetIndex["page_locations"]>();

/** Rows [start, end) of a row group, counted from its first row. */
type Run = readonly [number, number];

/** A row group of a part file to read: all its rows, or only some runs of them. */
interface GroupRead {
  part: PartFile;
  group: number;
  /** Runs of rows to read, in order and apart; the whole group when absent. */
  runs?: readonly Run[];
}

/** Rows read of a row group, with the position of each in its group. */
interface GroupRows {
  part: PartFile;
  group: number;
  /** The rows as objects, made on first use from {@link GroupRows.columns}. */
  readonly rows: Plain[];
  /** `at[i]`: the row number of row `i` in its group. */
  at: number[];
  /** Values of each column read, `values[i]` of row `i` (a key test needs no row objects). */
  columns: ReadonlyMap<string, readonly unknown[]>;
}

/** {@link GroupRows} over columns, whose row objects are made only when asked for. */
function makeGroupRows(
  part: PartFile,
  group: number,
  at: number[],
  columns: ReadonlyMap<string, readonly unknown[]>,
): GroupRows {
  let rows: Plain[] | undefined;
  return {
    part,
    group,
    at,
    columns,
    get rows() {
      if (!rows) {
        const named = [...columns];
        rows = at.map((_, i) => {
          const row: Plain = {};
          for (const [name, values] of named) row[name] = values[i];
          return row;
        });
      }
      return rows;
    },
  };
}

/** The rows of `read` that `test` accepts, tested in their columns through one reused object. */
function rowsWhere(read: GroupRows, test: (row: Plain) => boolean): GroupRows {
  const columns = [...read.columns];
  const view: Plain = {};
  const keep: number[] = [];
  for (let i = 0; i < read.at.length; i++) {
    for (const [name, values] of columns) view[name] = values[i];
    if (test(view)) keep.push(i);
  }
  return makeGroupRows(
    read.part,
    read.group,
    keep.map((i) => read.at[i]!),
    new Map(columns.map(([name, values]) => [name, keep.map((i) => values[i])])),
  );
}

/**
 * Rows closer than this are read as one run: their pages are mostly the same ones (a `chunks`
 * file's footprint pages hold about 32 rows, parts.ts `CHUNKS_PAGES`), and each run is one more
 * pass of the reader over every column.
 */
const RUN_GAP = 16;

/** The runs of sorted row numbers, joined across gaps of up to {@link RUN_GAP} rows. */
function runsOf(rows: readonly number[]): Run[] {
  const runs: [number, number][] = [];
  for (const r of rows) {
    const last = runs[runs.length - 1];
    if (last && r - last[1] <= RUN_GAP) last[1] = r + 1;
    else runs.push([r, r + 1]);
  }
  return runs;
}

/** Byte range of a column chunk's offset index (its pages' offsets and first rows), when written. */
function offsetIndexRange(c: ColumnChunk): [number, number] | undefined {
  if (c.offset_index_offset === undefined || !c.offset_index_length) return undefined;
  const start = Number(c.offset_index_offset);
  return [start, start + c.offset_index_length];
}

/**
 * Byte ranges the reader takes of a column chunk to decode rows `run` with its offset index (the
 * dictionary page, then the data pages from the first holding a row of the run to the last): the
 * ranges hyparquet's paged read asks for, so that they are fetched beforehand in one round.
 */
function pageRanges(c: ColumnChunk, pages: OffsetIndex["page_locations"], groupRows: number, [a, b]: Run) {
  const m = c.meta_data!;
  const [chunkStart, chunkEnd] = chunkRange(c);
  let start = chunkStart;
  let end = chunkEnd;
  let skipped = -1;
  for (const [i, page] of pages.entries()) {
    const first = Number(page.first_row_index);
    const next = i + 1 < pages.length ? Number(pages[i + 1]!.first_row_index) : groupRows;
    if (skipped < 0 && next > a) {
      start = Number(page.offset);
      skipped = first;
    }
    if (first < b) end = Number(page.offset) + page.compressed_page_size;
  }
  const hasDictionary = Boolean(m.dictionary_page_offset) || m.data_page_offset < pages[0]!.offset;
  if (hasDictionary && skipped > 0)
    return [[chunkStart, Number(pages[0]!.offset)] as [number, number], [start, end] as [number, number]];
  return [[hasDictionary ? chunkStart : start, end] as [number, number]];
}

/** Columns of a group read together over the same spans of rows (one decoding pass per span). */
interface Pass {
  columns: string[];
  /** Rows [start, end) decoded: runs joined where a column chunk's page holds rows of both. */
  spans: Run[];
}

/**
 * The decoding passes of a read: each top-level column's runs joined wherever one of its pages
 * holds rows of two runs (a page decoded once, not once per run: `refs`, `h3_cells` and the
 * dictionary-encoded `arrays` columns are one page per group), columns with the same joined spans
 * read in one pass. Columns without an offset index are one span over all the runs.
 */
function passesOf(
  columns: readonly ColumnChunk[],
  pagesOf: (c: ColumnChunk) => OffsetIndex["page_locations"] | undefined,
  runs: readonly Run[],
): Pass[] {
  const spansOf = new Map<string, Run[]>();
  const leaves = new Map<string, ColumnChunk[]>();
  for (const c of columns) {
    const name = c.meta_data!.path_in_schema[0]!;
    leaves.set(name, [...(leaves.get(name) ?? []), c]);
  }
  for (const [name, chunks] of leaves) {
    // Per run, the first and last page index holding its rows, for every leaf of the column.
    const pageSpans = chunks.map((c) => {
      const pages = pagesOf(c);
      if (!pages) return undefined;
      // The last page whose first row is <= row, by bisection (a group's pages are in row order).
      const pageOf = (row: number) => {
        let lo = 0;
        let hi = pages.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (Number(pages[mid]!.first_row_index) <= row) lo = mid;
          else hi = mid - 1;
        }
        return lo;
      };
      return runs.map(([a, b]) => [pageOf(a), pageOf(b - 1)] as const);
    });
    const spans: [number, number][] = [];
    for (const [k, [a, b]] of runs.entries()) {
      const last = spans[spans.length - 1];
      if (last && pageSpans.some((p) => p === undefined || p[k]![0] <= p[k - 1]![1])) last[1] = b;
      else spans.push([a, b]);
    }
    spansOf.set(name, spans);
  }
  const passes = new Map<string, Pass>();
  for (const [name, spans] of spansOf) {
    const key = spans.map((r) => r.join("-")).join(",");
    const pass = passes.get(key) ?? { columns: [], spans };
    pass.columns.push(name);
    passes.set(key, pass);
  }
  return [...passes.values()];
}

/**
 * Rows `at` of a read's row group decoded by hyparquet, a pass of columns and a span of rows at a
 * time, for columns the page reader (pages.ts) does not handle.
 */
async function readWithHyparquet(
  { part, group }: GroupRead,
  at: readonly number[],
  passes: readonly Pass[],
  present: ReadonlySet<string>,
  compressors: Compressors,
): Promise<Map<string, unknown[]>> {
  // The whole package, loaded only for a part the page reader leaves to it.
  const { parquetRead } = await import("hyparquet");
  const start = groupStarts(part.metadata)[group]!;
  // Row of the group -> its index in `at` (-1: in a span but not in a run).
  const first = at[0] ?? 0;
  const slot = new Int32Array(at.length === 0 ? 0 : at[at.length - 1]! - first + 1).fill(-1);
  for (const [i, r] of at.entries()) slot[r - first] = i;
  const values = new Map<string, unknown[]>();
  for (const pass of passes) {
    const passColumns = pass.columns.filter((c) => present.has(c));
    if (passColumns.length === 0) continue;
    for (const c of passColumns) values.set(c, new Array(at.length));
    for (const [a, b] of pass.spans) {
      // Column data as decoded (a page may start before the span or end after it).
      await parquetRead({
        file: part.buffer,
        metadata: part.metadata,
        columns: passColumns,
        rowStart: start + a,
        rowEnd: start + b,
        useOffsetIndex: true,
        compressors,
        parsers: PARSERS,
        onChunk: ({ columnName, columnData, rowStart }) => {
          const into = values.get(columnName)!;
          const base = rowStart - start;
          const to = Math.min(base + columnData.length, b);
          for (let r = Math.max(base, a); r < to; r++) {
            const k = slot[r - first] ?? -1;
            if (k >= 0) into[k] = columnData[r - base];
          }
        },
      });
    }
  }
  return values;
}

/**
 * Reads `columns` of the given row groups, each whole or only its runs of rows. The bytes are
 * prefetched per file in coalesced reads: for whole groups the column chunks; for runs first the
 * column chunks' offset indexes, then only the pages holding the runs' rows (files written with one
 * page per column chunk, as before parts.ts `CHUNKS_PAGES`, read the whole chunk that way too).
 * Then the rows are decoded, a span of rows and a pass of columns at a time ({@link passesOf}),
 * and only the rows of the runs are returned.
 */
async function readGroups(
  dir: string,
  reads: readonly GroupRead[],
  columns: readonly string[],
  opts?: ReadOptions,
): Promise<GroupRows[]> {
  const { readOffsetIndex } = await import("./hyparquet-footer.js");
  const compressors = await compressorsFor(reads.map((r) => r.part.metadata.row_groups[r.group]!));
  const wanted = new Set(columns);
  const columnsOf = ({ part, group }: GroupRead) =>
    part.metadata.row_groups[group]!.columns.filter((c) => wanted.has(c.meta_data!.path_in_schema[0]!));
  const paged = (r: GroupRead) => r.runs !== undefined;
  const prefetchAll = async (rangesOf: (r: GroupRead) => [number, number][]) => {
    const byPart = new Map<PartFile, [number, number][]>();
    for (const r of reads) byPart.set(r.part, [...(byPart.get(r.part) ?? []), ...rangesOf(r)]);
    await Promise.all([...byPart].map(([part, ranges]) => part.buffer.prefetch(ranges, opts)));
  };
  // Whole groups: their column chunks. Runs: the offset indexes (or the chunks, without one).
  // Whole groups decoded by an earlier query need no bytes.
  const decodedBefore = (r: GroupRead) =>
    !paged(r) && wholeGroups.get(r.part.metadata.row_groups[r.group]!)?.has(columns.join(",")) === true;
  await prefetchAll((r) =>
    decodedBefore(r)
      ? []
      : columnsOf(r).flatMap((c) =>
          !paged(r) ? [chunkRange(c)] : offsetIndexes.has(c) ? [] : [offsetIndexRange(c) ?? chunkRange(c)],
        ),
  );
  const pagesOf = async (part: PartFile, c: ColumnChunk) => {
    const known = offsetIndexes.get(c);
    if (known) return known;
    const range = offsetIndexRange(c)!;
    const view = new DataView(await part.buffer.slice(range[0], range[1]));
    const pages = readOffsetIndex({ view, offset: 0 }).page_locations;
    if (part.kept) offsetIndexes.set(c, pages);
    return pages;
  };
  const passesOfRead = new Map<GroupRead, Pass[]>();
  const pageRangesOf = new Map<GroupRead, [number, number][]>();
  const pagesOfRead = new Map<GroupRead, Map<ColumnChunk, OffsetIndex["page_locations"]>>();
  for (const r of reads) {
    const groupRows = Number(r.part.metadata.row_groups[r.group]!.num_rows);
    if (!paged(r)) {
      passesOfRead.set(r, [{ columns: [...columns], spans: [[0, groupRows]] }]);
      continue;
    }
    const chunks = columnsOf(r);
    const pages = new Map<ColumnChunk, OffsetIndex["page_locations"]>();
    for (const c of chunks) if (offsetIndexRange(c)) pages.set(c, await pagesOf(r.part, c));
    const passes = passesOf(chunks, (c) => pages.get(c), r.runs!);
    const ranges: [number, number][] = [];
    for (const pass of passes)
      for (const c of chunks) {
        const p = pages.get(c);
        if (!p || !pass.columns.includes(c.meta_data!.path_in_schema[0]!)) continue;
        for (const span of pass.spans) ranges.push(...pageRanges(c, p, groupRows, span));
      }
    passesOfRead.set(r, passes);
    pageRangesOf.set(r, ranges);
    pagesOfRead.set(r, pages);
  }
  await prefetchAll((r) => pageRangesOf.get(r) ?? []);
  return Promise.all(
    reads.map(async (read) => {
      const { part, group, runs } = read;
      const groupRows = Number(part.metadata.row_groups[group]!.num_rows);
      // Optional columns an older part does not have are left out (they read as undefined).
      const present = new Set(part.metadata.schema.map((e) => e.name));
      const wantedRuns = runs ?? [[0, groupRows] as Run];
      const at: number[] = [];
      for (const [a, b] of wantedRuns) for (let r = a; r < b; r++) at.push(r);
      const rowGroup = part.metadata.row_groups[group]!;
      const key = runs === undefined ? columns.join(",") : undefined;
      let values = key === undefined ? undefined : wholeGroups.get(rowGroup)?.get(key);
      if (values) return makeGroupRows(part, group, at, values);
      try {
        // The store's own shapes decoded page by page (pages.ts); hyparquet for any other.
        const pages = pagesOfRead.get(read);
        values =
          decodeRows(
            part.metadata,
            group,
            columns.filter((c) => present.has(c)),
            at,
            (c) => pages?.get(c),
            part.buffer.view.bind(part.buffer),
            compressors,
            dictionaries,
          ) ?? (await readWithHyparquet(read, at, passesOfRead.get(read)!, present, compressors));
      } catch (err) {
        // Bytes changed inside a page (size and footer intact) surface as a decoder's own words.
        if (isGeochunksError(err) || opts?.signal?.aborted) throw err;
        throw new StoreError(
          dir,
          `${part.name}: part file is damaged: row group ${group} cannot be read (${firstLine(err)}); run geochunks verify --store ${dir}`,
          { cause: err },
        );
      }
      // Columns in the order asked for, so rows made from them list their fields in that order.
      const decoded = values;
      const ordered = new Map(
        columns.flatMap((c) => (decoded.has(c) ? [[c, decoded.get(c)!] as const] : [])),
      );
      if (key && part.kept) {
        const kept = wholeGroups.get(rowGroup) ?? new Map<string, Map<string, unknown[]>>();
        kept.set(key, ordered);
        wholeGroups.set(rowGroup, kept);
      }
      return makeGroupRows(part, group, at, ordered);
    }),
  );
}

/**
 * Reads `columns` of the rows of `groups` that `keep` accepts (only the pages holding them) and adds
 * them to those rows, in place.
 */
async function addColumns(
  dir: string,
  groups: readonly GroupRows[],
  columns: readonly string[],
  keep: (row: Plain) => boolean,
  opts?: ReadOptions,
): Promise<void> {
  const reads = groups.map(({ part, group, rows, at }) => ({
    part,
    group,
    runs: runsOf(at.filter((_, i) => keep(rows[i]!))),
  }));
  const read = await readGroups(dir, reads, columns, opts);
  for (const [k, { rows, at }] of read.entries()) {
    const into = groups[k]!;
    const index = new Map(into.at.map((row, i) => [row, i]));
    // Runs join rows across small gaps: rows of a gap that `groups` does not hold are dropped.
    for (const [i, row] of rows.entries()) {
      const k = index.get(at[i]!);
      if (k !== undefined) Object.assign(into.rows[k]!, row);
    }
  }
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

/**
 * Rows of `parts` whose `granule_id` is in `ids` (and, with `paths`, whose `path` is one of them):
 * the ids (and paths) of only the row groups whose id range holds one, then the other columns of
 * only the runs of rows holding them (the files are sorted by granule id, so a granule's rows are
 * one run, read from its pages: parts.ts `GRANULES_PAGES`).
 */
async function rowsOfGranules(
  dir: string,
  parts: readonly PartFile[],
  ids: readonly string[],
  columns: readonly string[],
  opts?: ReadOptions,
  paths?: ReadonlySet<string>,
): Promise<Plain[]> {
  const sorted = [...ids].sort();
  const reads = groupsWhere(parts, (g) => {
    const s = statOf(g, "granule_id");
    return !s || sorted.some((id) => lessEq(s.min, id) && lessEq(id, s.max));
  });
  const wanted = new Set(ids);
  const keep = (r: Plain) =>
    wanted.has(r.granule_id as string) && (paths === undefined || paths.has(r.path as string));
  const keys = paths === undefined ? ["granule_id"] : ["granule_id", "path"];
  // The keys are tested in their columns: no object per row of the groups scanned.
  const holding = (await readGroups(dir, reads, keys, opts)).flatMap(({ part, group, columns, at }) => {
    const idOf = columns.get("granule_id") as readonly string[];
    const pathOf = columns.get("path") as readonly string[] | undefined;
    const runs = runsOf(
      at.filter((_, i) => wanted.has(idOf[i]!) && (paths === undefined || paths.has(pathOf![i]!))),
    );
    return runs.length > 0 ? [{ part, group, runs }] : [];
  });
  return (await readGroups(dir, holding, columns, opts)).flatMap(({ rows }) => rows.filter(keep));
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
  // Only the rows passing the test become objects: the others cannot be candidates.
  const near = tested.flatMap((t) => {
    const passing = rowsWhere(t, spatialTest);
    return passing.at.length > 0 ? [passing] : [];
  });
  const { method, cover } = await selectionPlan(sel, manifest.h3_resolution, {
    bboxRows: async () => near.reduce((n, t) => n + t.at.length, 0),
  });
  const coverCells = cover?.cells.length;
  const { rowTest } = chunkTest(sel, cover);
  // The cells of only the rows passing the bbox test (the others cannot be candidates), then the
  // other columns of only the candidates, each added to the rows read first.
  if (cover) await addColumns(reader.dir, near, ["h3_cells"], spatialTest, opts);
  // Rows are told apart as objects: `chunk_id` is read with the other columns of the candidates.
  const candidates = new Set(near.flatMap((t) => t.rows.filter(rowTest)));
  const isCandidate = (r: Plain) => candidates.has(r);
  const hits = near.filter((t) => t.rows.some(isCandidate));
  await addColumns(reader.dir, hits, CHUNK_HEAVY_COLUMNS, isCandidate, opts);
  const chunks: Plain[] = [];
  const setOfFile = new Map(manifest.parts.flatMap((p) => p.files.chunks.map((f) => [f, p.id] as const)));
  const partOfGranule = new Map<string, string | undefined>();
  // Rows come without their cells, as from the DuckDB selection (the plan does not need them).
  for (const { part, rows } of hits)
    for (const r of rows) {
      if (!isCandidate(r)) continue;
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
    rowsOfGranules(
      reader.dir,
      opened.slice(granulePaths.length),
      ids,
      ARRAY_COLUMNS,
      opts,
      sel.arrayPaths && new Set(sel.arrayPaths),
    ),
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
