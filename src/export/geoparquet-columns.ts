/**
 * GeoParquet from a query's plain result columns (result/columns.ts), encoded by the TypeScript
 * encoder (geoparquet-encoder.ts) on a writer thread (geoparquet-worker.ts; the calling thread sends
 * each batch's typed arrays, transferred, and loads no apache-arrow) or on the calling thread, the
 * same bytes either way. A result with list columns, which that encoder does not write, goes through
 * Arrow batches and parquet-wasm as before: the file is then byte for byte the one
 * {@link writeGeoParquet} writes from the record batches of the same result.
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { ResultColumns } from "../result/columns.js";
import { type BboxArray, geoMetadata } from "../store/geo.js";
import { writeAtomically } from "./atomic.js";
import { isEncodable } from "./geoparquet-encoder.js";
import { type BatchMessage, startWriterThread } from "./geoparquet-thread.js";
import { type ByteSink, byteStream } from "./sink.js";

/** Options for {@link writeGeoParquetColumns}. */
export interface WriteGeoParquetColumnsOptions {
  /** A bbox containing every point (a query's AOI bbox), the `geo` bbox. */
  bbox?: BboxArray;
  /** Rows per row group. Default 65 536. */
  rowGroupSize?: number;
  /**
   * The schema of an empty result, asked for only when there are no batches: that file is written on
   * the calling thread from the schema (it loads apache-arrow).
   */
  emptySchema: () => Promise<Schema>;
  /**
   * Encode on a writer thread (true, the default) or on the calling thread (false: the TypeScript
   * encoder's CPU, ~0.2 us a row, on the query's thread, and no thread to start).
   */
  thread?: boolean;
}

/**
 * Streams a result's columns into a GeoParquet 1.1 file at `path` (written atomically, as
 * {@link writeGeoParquet} does) or into `sink`, encoded on a writer thread.
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder cannot be created or the file cannot be written.
 */
export async function writeGeoParquetColumns(
  columns: AsyncIterable<ResultColumns>,
  target: string | ByteSink,
  opts: WriteGeoParquetColumnsOptions,
): Promise<number> {
  const iterator = columns[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) {
    const empty = (async function* () {})();
    const geoparquet = await import("./geoparquet.js");
    const write = { bbox: opts.bbox, emptySchema: await opts.emptySchema(), rowGroupSize: opts.rowGroupSize };
    return typeof target === "string"
      ? geoparquet.writeGeoParquet(empty, target, write)
      : geoparquet.writeGeoParquetToSink(empty, target, write);
  }
  const geo = geoMetadata({ geometryTypes: ["Point"], bbox: opts.bbox });
  if (opts.thread === false) return writeHere(first.value, iterator, target, { ...opts, geo });
  const start = {
    opts: {},
    columns: { geo, ...(opts.rowGroupSize === undefined ? {} : { rowGroupSize: opts.rowGroupSize }) },
  };
  const encode = async (to: string | ByteSink) => {
    const thread = startWriterThread();
    try {
      return await thread.write(to, start, first, iterator, columnsMessage);
    } finally {
      await thread.close();
    }
  };
  return typeof target === "string" ? writeAtomically(target, encode) : encode(target);
}

/**
 * A batch's columns as the writer thread's message, every buffer transferred once (a view that does
 * not span its buffer is copied out first: the rest of the buffer is not the batch's to give away).
 */
function columnsMessage(c: ResultColumns): BatchMessage {
  const transfer = new Set<ArrayBuffer>();
  const own = <T extends ArrayBufferView>(view: T): T => {
    const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
    const owned = whole ? view : ((view as unknown as { slice(): T }).slice() as T);
    transfer.add(owned.buffer as ArrayBuffer);
    return owned;
  };
  const columns = c.columns.map((column) => {
    if (!("values" in column)) return column;
    return {
      ...column,
      values: own(column.values),
      valid: column.valid && own(column.valid),
      rowValid: column.rowValid && own(column.rowValid),
    };
  });
  const message = { columns: { lat: own(c.lat), lon: own(c.lon), time: own(c.time), columns } };
  return { message, transfer: [...transfer], rows: c.lat.length };
}

/** Encodes the columns on this thread, into the file `target` (atomically) or the sink `target`. */
async function writeHere(
  first: ResultColumns,
  iterator: AsyncIterator<ResultColumns>,
  target: string | ByteSink,
  opts: WriteGeoParquetColumnsOptions & { geo: string },
): Promise<number> {
  if (!isEncodable(first)) return writeBatchesHere(first, iterator, target, opts);
  const { encodeResultColumns } = await import("./geoparquet-encode.js");
  const next = async () => {
    const step = await iterator.next();
    return step.done ? undefined : step.value;
  };
  const encode = async (to: string | ByteSink) => {
    const out = byteStream(to);
    try {
      return await encodeResultColumns(first, next, { geo: opts.geo, rowGroupSize: opts.rowGroupSize }, out);
    } catch (err) {
      await iterator.return?.();
      throw err;
    }
  };
  return typeof target === "string" ? writeAtomically(target, encode) : encode(target);
}

/** A result with list columns: its Arrow batches through the record batch writer, on this thread. */
async function writeBatchesHere(
  first: ResultColumns,
  iterator: AsyncIterator<ResultColumns>,
  target: string | ByteSink,
  opts: WriteGeoParquetColumnsOptions,
): Promise<number> {
  const [{ resultBatch }, geoparquet] = await Promise.all([
    import("../result/arrow.js"),
    import("./geoparquet.js"),
  ]);
  async function* batches(): AsyncGenerator<RecordBatch> {
    yield resultBatch(first);
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield resultBatch(next.value);
  }
  const write = { bbox: opts.bbox, rowGroupSize: opts.rowGroupSize, thread: false };
  return typeof target === "string"
    ? geoparquet.writeGeoParquet(batches(), target, write)
    : geoparquet.writeGeoParquetToSink(batches(), target, write);
}
