/**
 * The Parquet writer settings a GeoParquet result takes from its schema: the `geo` metadata, the
 * columns' own metadata and the dictionary-encoded columns. Shared by the calling thread's writer
 * (geoparquet.ts) and the writer thread (geoparquet-worker.ts), which builds the schema itself when it
 * is sent plain columns, so both write the same file.
 */
import { DataType, type Schema, Table, tableToIPC } from "apache-arrow";
import { resultBatch } from "../result/arrow.js";
import type { ResultColumns } from "../result/columns.js";
import type { ParquetWriteOptions } from "../store/parquet-wasm.js";
import { RESULT_PAGE_BYTES } from "./geoparquet-layouts.js";

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

export { RESULT_PAGE_BYTES } from "./geoparquet-layouts.js";

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

/** A batch's columns with no rows: its schema's, cheaply. */
function noRows(c: ResultColumns): ResultColumns {
  return {
    lat: c.lat.subarray(0, 0),
    lon: c.lon.subarray(0, 0),
    time: c.time.subarray(0, 0),
    columns: c.columns.map((column) =>
      "values" in column
        ? {
            ...column,
            values: column.values.subarray(0, 0),
            valid: column.valid?.subarray(0, 0),
            rowValid: column.rowValid?.subarray(0, 0),
          }
        : column,
    ),
  };
}

/**
 * The file key-value metadata of a result whose first batch is `first`, as the Arrow path writes it:
 * `geo`, the columns' own metadata, and `ARROW:schema` (the batch's Arrow schema as an IPC schema
 * message, its continuation marker and length first, base64), from which Arrow readers take the
 * result's types back (dictionary strings, the UTC timestamp).
 */
export function resultFileMetadata(first: ResultColumns, geo: string): Record<string, string> {
  const schema = resultBatch(noRows(first)).schema;
  const ipc = tableToIPC(new Table(schema), "stream");
  const length = new DataView(ipc.buffer, ipc.byteOffset).getInt32(4, true);
  const message = Buffer.from(ipc.buffer, ipc.byteOffset, 8 + length).toString("base64");
  return { geo, ...columnMetadata(schema), "ARROW:schema": message };
}
