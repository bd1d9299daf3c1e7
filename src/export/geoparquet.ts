/** GeoParquet results: record batches in, one GeoParquet 1.1 file out, written atomically. */
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Writable } from "node:stream";
import { DataType, type RecordBatch, Schema, Table } from "apache-arrow";
import type { BboxArray } from "../store/geo.js";
import { geoMetadata } from "../store/geo.js";
import { batchesToParquetStream, tableToParquet } from "../store/parquet.js";
import { writeAtomically } from "./atomic.js";

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
}

/**
 * Columns dictionary-encoded by default: the result's string columns (Arrow dictionaries of Utf8
 * in a query result, or plain Utf8), which repeat one value per chunk row (granule, product, beam,
 * track ids).
 */
function stringColumns(schema: Schema): string[] {
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
function columnMetadata(schema: Schema): Record<string, string> {
  const columns: Record<string, Record<string, string>> = {};
  for (const field of schema.fields) {
    if (field.metadata.size > 0) columns[field.name] = Object.fromEntries(field.metadata);
  }
  return Object.keys(columns).length === 0 ? {} : { [COLUMN_METADATA_KEY]: JSON.stringify(columns) };
}

/**
 * Streams record batches into a GeoParquet 1.1 file at `path`. The parent folder is created; the
 * file is written under a temporary name and renamed when complete, so a failure leaves no
 * partial output.
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
  const geo = geoMetadata({
    column: opts.geometryColumn,
    geometryTypes: opts.geometryTypes ?? ["Point"],
    bbox: opts.bbox,
  });
  return writeAtomically(path, async (tmp) => {
    let rows = 0;
    const iterator = batches[Symbol.asyncIterator]();
    const first = await iterator.next();
    const schema = first.done ? (opts.emptySchema ?? new Schema([])) : first.value.schema;
    const writeOpts = {
      metadata: { geo, ...columnMetadata(schema) },
      rowGroupSize: opts.rowGroupSize,
      dictionaryColumns: opts.dictionaryColumns ?? stringColumns(schema),
    };
    if (first.done) {
      const empty = new Table(schema);
      await writeFile(tmp, tableToParquet(empty, writeOpts), { flag: "wx" });
      return rows;
    }
    async function* counted(): AsyncGenerator<RecordBatch> {
      let next: IteratorResult<RecordBatch> = first;
      while (!next.done) {
        rows += next.value.numRows;
        yield next.value;
        next = await iterator.next();
      }
    }
    const stream = await batchesToParquetStream(counted(), writeOpts);
    await stream.pipeTo(Writable.toWeb(createWriteStream(tmp, { flags: "wx" })));
    return rows;
  });
}
