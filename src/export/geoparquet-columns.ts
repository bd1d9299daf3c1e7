/**
 * GeoParquet from a query's plain result columns (result/columns.ts), encoded on a writer thread
 * (geoparquet-worker.ts) that builds the Arrow record batches itself: the calling thread sends each
 * batch's typed arrays, transferred, and loads no apache-arrow. The file is byte for byte the one
 * {@link writeGeoParquet} writes from the record batches of the same result.
 */
import type { Schema } from "apache-arrow";
import type { ResultColumns } from "../result/columns.js";
import { type BboxArray, geoMetadata } from "../store/geo.js";
import { writeAtomically } from "./atomic.js";
import { type BatchMessage, startWriterThread } from "./geoparquet-thread.js";
import type { ByteSink } from "./sink.js";

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
