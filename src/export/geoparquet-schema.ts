/**
 * The Parquet writer settings a GeoParquet result takes from its schema: the `geo` metadata, the
 * columns' own metadata and the dictionary-encoded columns. Shared by the calling thread's writer
 * (geoparquet.ts) and the writer thread (geoparquet-worker.ts), which builds the schema itself when it
 * is sent plain columns, so both write the same file.
 */
import { DataType, type Schema } from "apache-arrow";
import type { ParquetWriteOptions } from "../store/parquet-wasm.js";

/**
 * Columns dictionary-encoded by default: the result's string columns (Arrow dictionaries of Utf8
 * in a query result, or plain Utf8), which repeat one value per chunk row (granule, product, beam,
 * track ids).
 */
export function stringColumns(schema: Schema): string[] {
  const isString = (type: DataType) =>
    DataType.isUtf8(type) || (DataType.isDictionary(type) && DataType.isUtf8(type.dictionary));
  return schema.fields.filter((f) => isString(f.type)).map((f) => f.name);
}

/** File key of the columns' own metadata (which surface type a confidence column is for...). */
export const COLUMN_METADATA_KEY = "geochunks:columns";

/**
 * The Arrow field metadata of `schema`'s columns as one file key-value entry, a JSON object by
 * column name (`{"signal_conf_ph":{"surface_type":"land"}}`), readable by any Parquet reader
 * (DuckDB `parquet_kv_metadata`); none when no column has metadata.
 */
export function columnMetadata(schema: Schema): Record<string, string> {
  const columns: Record<string, Record<string, string>> = {};
  for (const field of schema.fields) {
    if (field.metadata.size > 0) columns[field.name] = Object.fromEntries(field.metadata);
  }
  return Object.keys(columns).length === 0 ? {} : { [COLUMN_METADATA_KEY]: JSON.stringify(columns) };
}

/**
 * Largest data page of a result file, bytes before compression (parquet-wasm's default is 1 MiB). A
 * page is compressed when it closes, so with 1 MiB pages a result of up to about a hundred thousand
 * rows had every page of its row group compressed after its last batch had arrived, on the query's
 * critical path (zstd is about half of the encoding's CPU); 128 KiB pages are compressed while the
 * batches arrive. The same encoding CPU and a file as large (45 340 rows: 59.6 / 57.6 ms, 1 585 466
 * / 1 574 779 bytes; docs/design/query.md).
 */
export const RESULT_PAGE_BYTES = 128 * 1024;

/**
 * The writer settings of a result of `schema`: `geo` (the GeoParquet metadata, JSON) then the
 * columns' metadata as file metadata, the dictionary-encoded columns (default: the string ones) and
 * {@link RESULT_PAGE_BYTES} pages.
 */
export function writeOptionsOf(
  schema: Schema,
  geo: string,
  opts: { rowGroupSize?: number; dictionaryColumns?: string[] },
): ParquetWriteOptions {
  return {
    metadata: { geo, ...columnMetadata(schema) },
    rowGroupSize: opts.rowGroupSize,
    dictionaryColumns: opts.dictionaryColumns ?? stringColumns(schema),
    pageBytes: RESULT_PAGE_BYTES,
  };
}
