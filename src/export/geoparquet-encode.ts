/**
 * A query result's plain columns streamed into a GeoParquet file by the TypeScript encoder
 * (geoparquet-encoder.ts), on whichever thread calls it: the calling thread (geoparquet-columns.ts) or
 * the writer thread (geoparquet-worker.ts).
 */
import type { ResultColumns } from "../result/columns.js";
import { openGeoParquetEncoder } from "./geoparquet-encoder.js";

/** Options of {@link encodeResultColumns}. */
export interface EncodeResultOptions {
  /** The `geo` metadata (JSON). */
  geo: string;
  /** Rows per row group. Default 65 536. */
  rowGroupSize?: number;
}

/**
 * Encodes `first` and the batches `next` gives (undefined: the end) into `out`, row group by row
 * group, then the footer; `out` is closed when done and aborted on a failure.
 * @returns the number of rows written.
 */
export async function encodeResultColumns(
  first: ResultColumns,
  next: () => Promise<ResultColumns | undefined>,
  opts: EncodeResultOptions,
  out: WritableStream<Uint8Array>,
): Promise<number> {
  const [{ loadZstd }, { resultFileMetadata }] = await Promise.all([
    import("../parquet/zstd.js"),
    import("./geoparquet-schema.js"),
  ]);
  const writer = out.getWriter();
  try {
    const encoder = openGeoParquetEncoder(first, {
      metadata: resultFileMetadata(first, opts.geo),
      rowGroupSize: opts.rowGroupSize,
      compress: await loadZstd(),
    });
    let rows = 0;
    for (let batch: ResultColumns | undefined = first; batch; batch = await next()) {
      rows += batch.lat.length;
      const piece = encoder.add(batch);
      if (piece) await writer.write(piece);
    }
    await writer.write(encoder.end());
    await writer.close();
    return rows;
  } catch (err) {
    await writer.abort(err).catch(() => {});
    throw err;
  }
}
