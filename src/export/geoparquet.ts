/**
 * GeoParquet results: record batches in, one GeoParquet 1.1 file out, written atomically. With
 * `thread: true` the Parquet encoding runs on a writer thread (geoparquet-worker.ts), fed the
 * batches as Arrow IPC. A query result is written from its plain columns instead, by the TypeScript
 * encoder (geoparquet-columns.ts, geoparquet-encoder.ts).
 */
import { writeFile } from "node:fs/promises";
import { type RecordBatch, Schema, Table, tableToIPC } from "apache-arrow";
import type { ResultColumns } from "../result/columns.js";
import type { BboxArray } from "../store/geo.js";
import { geoMetadata } from "../store/geo.js";
import type { ParquetWriteOptions } from "../store/parquet.js";
import { writeAtomically } from "./atomic.js";
import { writeGeoParquetColumns } from "./geoparquet-columns.js";
import { writeOptionsOf } from "./geoparquet-schema.js";
import { startWriterThread, type WriterThread } from "./geoparquet-thread.js";
import { type ByteSink, byteStream } from "./sink.js";
import { hasIdleWriterThread } from "./writer-threads.js";

export { COLUMN_METADATA_KEY } from "./geoparquet-schema.js";

/** Options for {@link writeGeoParquet}. */
export interface WriteGeoParquetOptions {
  /** WKB geometry column. Default "geometry". */
  geometryColumn?: string;
  /** GeoParquet geometry types of that column. Default ["Point"]. */
  geometryTypes?: string[];
  /**
   * A bbox containing every geometry, written as the `geo` bbox before the rows are known (the
   * file streams); for a query result, the AOI's bbox.
   */
  bbox?: BboxArray;
  /** Schema to write when there are no batches at all (a valid empty file). */
  emptySchema?: Schema;
  /** Rows per row group. Default 65 536. */
  rowGroupSize?: number;
  /** Columns to dictionary-encode (others plain). Default: the result's repeated string columns. */
  dictionaryColumns?: string[];
  /**
   * Encode on a writer thread, beside the query (true), or on the calling thread (false). Default:
   * the idle thread a previous write left or a command started ahead (writer-threads.ts) when there
   * is one, from the first batch, else a new thread once the result
   * reaches {@link THREAD_MIN_ROWS} rows (a smaller result is written here, with no thread started).
   * The thread takes the encoding off the main thread (~0.2 s of CPU per 90 000 rows, about half
   * the main thread's CPU on a large query) for its start-up (a new isolate, parquet-wasm compiled
   * again) and more peak RSS on large results (docs/design/query.md). A query result (with
   * `columns()`) is written by the TypeScript encoder instead (geoparquet-columns.ts), ~0.5 us a row:
   * on the idle writer thread when there is one or `thread: true`, else on the calling thread.
   */
  thread?: boolean;
}

/** The writer settings of a result and its first batch (the schema comes from it). */
async function beginParquet(
  batches: AsyncIterable<RecordBatch>,
  opts: WriteGeoParquetOptions,
): Promise<{
  iterator: AsyncIterator<RecordBatch>;
  first: IteratorResult<RecordBatch>;
  write: ParquetWriteOptions;
}> {
  const geo = geoMetadata({
    column: opts.geometryColumn,
    geometryTypes: opts.geometryTypes ?? ["Point"],
    bbox: opts.bbox,
  });
  const iterator = batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  const schema = first.done ? (opts.emptySchema ?? new Schema([])) : first.value.schema;
  const write = writeOptionsOf(schema, geo, opts);
  return { iterator, first, write };
}

/** The file of a result with no rows: its schema and no row group. */
async function emptyParquet(opts: WriteGeoParquetOptions, write: ParquetWriteOptions): Promise<Uint8Array> {
  const { tableToParquet } = await import("../store/parquet.js");
  return tableToParquet(new Table(opts.emptySchema ?? new Schema([])), write);
}

/**
 * Streams record batches into a GeoParquet 1.1 file at `path`. The parent folder is created; the
 * file is written under a temporary name and renamed when complete, so a failure leaves no
 * partial output. A query result (`store.query(...)`) going to a writer thread is read as plain
 * columns rather than record batches (the file is the same; see `asColumns`).
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder cannot be created or the file cannot be written.
 * @example
 * const rows = await writeGeoParquet(store.query({ aoi }), "out.parquet", { bbox: aoi.bbox });
 */
export async function writeGeoParquet(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: WriteGeoParquetOptions = {},
): Promise<number> {
  const result = asColumns(batches, opts);
  if (result) return writeGeoParquetColumns(result.columns(), path, columnsOptions(result, opts));
  return writeAtomically(path, (tmp) => encodeTo(batches, opts, tmp));
}

/** A query result (api.ts `QueryResult`): its rows also come as plain columns, with its schema. */
interface ColumnsResult {
  columns(): AsyncIterable<ResultColumns>;
  schema(): Promise<Schema>;
}

/**
 * `batches` as a query result whose plain columns are encoded instead of its record batches (as the
 * query command writes them, export/geoparquet-columns.ts: no Arrow batches built, the same file),
 * when the options ask for nothing that path does not do.
 */
function asColumns(
  batches: AsyncIterable<RecordBatch>,
  opts: WriteGeoParquetOptions,
): ColumnsResult | undefined {
  const result = batches as Partial<ColumnsResult>;
  if (typeof result.columns !== "function" || typeof result.schema !== "function") return undefined;
  const custom = opts.geometryColumn ?? opts.geometryTypes ?? opts.dictionaryColumns;
  return custom === undefined ? (result as ColumnsResult) : undefined;
}

/** The columns path's options from {@link WriteGeoParquetOptions}. */
function columnsOptions(result: ColumnsResult, opts: WriteGeoParquetOptions) {
  const schema = opts.emptySchema;
  return {
    bbox: opts.bbox,
    rowGroupSize: opts.rowGroupSize,
    emptySchema: () => (schema ? Promise.resolve(schema) : result.schema()),
    // A writer thread when asked for or idle; otherwise this thread, where the TypeScript encoder
    // costs less than a new thread's start-up.
    thread: opts.thread ?? hasIdleWriterThread(),
  };
}

/**
 * Encodes `batches` into the file `target` (created, not replaced) or a byte sink, where
 * {@link chooseThread} says.
 * @returns the number of rows written.
 */
async function encodeTo(
  batches: AsyncIterable<RecordBatch>,
  opts: WriteGeoParquetOptions,
  target: string | ByteSink,
): Promise<number> {
  const chosen = { thread: undefined as WriterThread | undefined };
  try {
    const source = await chooseThread(batches, opts, chosen);
    const { iterator, first, write } = await beginParquet(source, opts);
    if (first.done) {
      const empty = await emptyParquet(opts, write);
      if (typeof target === "string") await writeFile(target, empty, { flag: "wx" });
      else await target.write(empty);
      return 0;
    }
    if (chosen.thread) return await chosen.thread.write(target, { opts: write }, first, iterator, ipcMessage);
    return await encodeHere(first, iterator, write, byteStream(target));
  } finally {
    await chosen.thread?.close();
  }
}

/**
 * Decides where a file is encoded, as `opts.thread` says (see {@link WriteGeoParquetOptions}),
 * setting `chosen.thread` when on a writer thread, and returns the batches to encode (those held
 * while deciding, then the rest).
 */
async function chooseThread(
  batches: AsyncIterable<RecordBatch>,
  opts: WriteGeoParquetOptions,
  chosen: { thread: WriterThread | undefined },
): Promise<AsyncIterable<RecordBatch>> {
  // Started first, so the thread loads its modules while the query makes its first requests.
  if (opts.thread === true || (opts.thread === undefined && hasIdleWriterThread())) {
    chosen.thread = startWriterThread();
    return batches;
  }
  if (opts.thread === false) return batches;
  // Held until the result is known to be large enough to be worth a thread, then replayed.
  const pending = batches[Symbol.asyncIterator]();
  const held = await holdRows(pending, THREAD_MIN_ROWS);
  if (held.rows >= THREAD_MIN_ROWS) chosen.thread = startWriterThread();
  const replay = replayThen(held.batches, pending);
  return { [Symbol.asyncIterator]: () => replay };
}

/**
 * Streams record batches as a GeoParquet 1.1 file into `sink`, front to back (a Parquet file is
 * written sequentially: row groups, then the footer); the bytes are those {@link writeGeoParquet}
 * writes to a file with the same options. Encoded where a file would be (`opts.thread`, the same
 * default): on a writer thread, the thread hands each encoded piece back and waits until `sink`
 * has taken it, so memory stays bounded by the batches queued for the thread, one piece, and what
 * the sink buffers.
 * @returns the number of rows written.
 */
export async function writeGeoParquetToSink(
  batches: AsyncIterable<RecordBatch>,
  sink: ByteSink,
  opts: WriteGeoParquetOptions = {},
): Promise<number> {
  const result = asColumns(batches, opts);
  if (result) return writeGeoParquetColumns(result.columns(), sink, columnsOptions(result, opts));
  return encodeTo(batches, opts, sink);
}

/**
 * Rows a result reaches before the default write starts a writer thread: past it, encoding on the
 * main thread (~2-3 us a row) costs more of the query's critical path than the thread's start-up costs
 * the other core; below it (tests, small AOIs) no thread is started at all.
 */
export const THREAD_MIN_ROWS = 16_384;

/** Pulls batches until they hold `rows` rows or the result ends. */
async function holdRows(
  iterator: AsyncIterator<RecordBatch>,
  rows: number,
): Promise<{ batches: RecordBatch[]; rows: number }> {
  const held: RecordBatch[] = [];
  let n = 0;
  while (n < rows) {
    const next = await iterator.next();
    if (next.done) break;
    held.push(next.value);
    n += next.value.numRows;
  }
  return { batches: held, rows: n };
}

/** `held` first, then the rest of `iterator`. */
function replayThen(held: RecordBatch[], iterator: AsyncIterator<RecordBatch>): AsyncIterator<RecordBatch> {
  let i = 0;
  return {
    next: () => (i < held.length ? Promise.resolve({ done: false, value: held[i++]! }) : iterator.next()),
    return: async (value?: unknown) =>
      (await iterator.return?.(value)) ?? { done: true as const, value: undefined },
  };
}

/** Encodes the batches on this thread (the default) into `out`. */
async function encodeHere(
  first: IteratorResult<RecordBatch>,
  iterator: AsyncIterator<RecordBatch>,
  opts: ParquetWriteOptions,
  out: WritableStream<Uint8Array>,
): Promise<number> {
  let rows = 0;
  async function* counted(): AsyncGenerator<RecordBatch> {
    for (let next = first; !next.done; next = await iterator.next()) {
      rows += next.value.numRows;
      yield next.value;
    }
  }
  const { batchesToParquetStream } = await import("../store/parquet.js");
  const stream = await batchesToParquetStream(counted(), opts);
  await stream.pipeTo(out);
  return rows;
}

/** A record batch as the writer thread's message: an Arrow IPC stream, its buffer transferred. */
function ipcMessage(batch: RecordBatch) {
  const ipc = tableToIPC(new Table([batch]), "stream");
  // Transferred, not copied; a view into a larger buffer is copied out first.
  const owned = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc : ipc.slice();
  return { message: { ipc: owned }, transfer: [owned.buffer as ArrayBuffer], rows: batch.numRows };
}
