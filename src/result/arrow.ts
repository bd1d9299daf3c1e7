/**
 * The query result schema (DESIGN §4) as Arrow record batches. The query builds plain columns
 * (result-columns.ts) and loads this module, and apache-arrow with it, only when it makes its first
 * batch: after its first requests have left.
 */
import {
  Binary,
  type Data,
  type DataType,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from "apache-arrow";
import type { NumericArray } from "../hdf5/types.js";
import type { ColumnType } from "../products/index.js";
import { arrayOfType, GEOMETRY_COLUMN, type ResultColumnData, type ResultColumns } from "./columns.js";

export {
  arrayOfType,
  castArray,
  GEOMETRY_COLUMN,
  type ResultColumnData,
  type ResultColumns,
} from "./columns.js";

/** Arrow type of a numeric array. */
export function arrowTypeOf(values: NumericArray): DataType {
  if (values instanceof Float64Array) return new Float64();
  if (values instanceof Float32Array) return new Float32();
  if (values instanceof Int8Array) return new Int8();
  if (values instanceof Int16Array) return new Int16();
  if (values instanceof Int32Array) return new Int32();
  if (values instanceof Uint8Array) return new Uint8();
  if (values instanceof Uint16Array) return new Uint16();
  if (values instanceof Uint32Array) return new Uint32();
  if (values instanceof BigInt64Array) return new Int64();
  return new Uint64();
}

/** Packs a 0/1 byte mask into an Arrow validity bitmap. */
function bitmapOf(valid: Uint8Array): Uint8Array {
  const bits = new Uint8Array((valid.length + 7) >> 3);
  for (let i = 0; i < valid.length; i++) if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/**
 * Dictionary id of each repeated string column, by name: every batch of a result declares the same
 * field type, so the batches make one Arrow table and one IPC stream (a new dictionary per batch).
 */
const DICTIONARY_IDS = new Map<string, number>();

/** The dictionary id of the repeated string column `name`, the same in every batch. */
function dictionaryId(name: string): number {
  let id = DICTIONARY_IDS.get(name);
  if (id === undefined) {
    id = DICTIONARY_IDS.size;
    DICTIONARY_IDS.set(name, id);
  }
  return id;
}

/**
 * `value` on n rows as a dictionary column: a one-entry Utf8 dictionary and n Int16 indices of 0
 * (2 bytes a row instead of the string's bytes and a 4-byte offset), all null when `value` is null.
 * Written to Parquet with dictionary encoding (export/geoparquet.ts), read back as the strings.
 */
function repeatedString(name: string, value: string | null, n: number): Data {
  const dictionary = makeVector(makeStrings(value ?? ""));
  const type = new Dictionary(new Utf8(), new Int16(), dictionaryId(name));
  const nulls = value === null ? { nullBitmap: new Uint8Array((n + 7) >> 3), nullCount: n } : {};
  return makeData({ type, length: n, data: new Int16Array(n), dictionary, ...nulls });
}

/** A one-row Utf8 column holding `value`. */
function makeStrings(value: string) {
  const data = new TextEncoder().encode(value);
  return makeData({ type: new Utf8(), length: 1, valueOffsets: Int32Array.of(0, data.length), data });
}

/** WKB Points of (lon, lat) pairs, as one Arrow Binary column. */
function wkbPoints(lon: Float64Array, lat: Float64Array) {
  const n = lon.length;
  const data = new Uint8Array(n * 21);
  const view = new DataView(data.buffer);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const at = i * 21;
    data[at] = 1;
    view.setUint32(at + 1, 1, true);
    view.setFloat64(at + 5, lon[i]!, true);
    view.setFloat64(at + 13, lat[i]!, true);
    offsets[i + 1] = at + 21;
  }
  return makeData({ type: new Binary(), length: n, valueOffsets: offsets, data });
}

/** A column repeating `value` n times (all null when `value` is null). */
function constantData(name: string, type: ColumnType, value: string | number | null, n: number): Data {
  if (type === "utf8") return repeatedString(name, value === null ? null : String(value), n);
  const values = arrayOfType(type, n);
  if (value !== null)
    values.fill(
      (values instanceof BigInt64Array || values instanceof BigUint64Array
        ? BigInt(value)
        : Number(value)) as never,
    );
  const arrow = arrowTypeOf(values);
  if (value !== null) return makeData({ type: arrow, length: n, data: values } as never);
  return makeData({
    type: arrow,
    length: n,
    data: values,
    nullBitmap: new Uint8Array((n + 7) >> 3),
    nullCount: n,
  } as never);
}

/** Arrow type of a column type. */
export function arrowType(type: ColumnType): DataType {
  return type === "utf8" ? new Utf8() : arrowTypeOf(arrayOfType(type, 0));
}

type ValuesColumn = Extract<ResultColumnData, { values: NumericArray }>;

/** Count of zeros in a 0/1 mask. */
function zeros(valid: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < valid.length; i++) if (!valid[i]) n++;
  return n;
}

/** The Arrow data of a one-value-a-row column. */
function valuesData(column: ValuesColumn, n: number): { type: DataType; data: Data } {
  const type = arrowTypeOf(column.values);
  const nullBitmap = column.valid ? bitmapOf(column.valid) : undefined;
  const nullCount = column.valid ? zeros(column.valid) : 0;
  return { type, data: makeData({ type, length: n, data: column.values, nullBitmap, nullCount } as never) };
}

/** The Arrow data of a list column: `width` elements a row, nullable elements and rows. */
function listData(column: ValuesColumn, n: number): { type: DataType; data: Data } {
  const width = column.width!;
  const child = valuesData({ name: "item", values: column.values, valid: column.valid }, n * width);
  const type = new List(new Field("item", child.type, true));
  const valueOffsets = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) valueOffsets[i] = i * width;
  const nullBitmap = column.rowValid ? bitmapOf(column.rowValid) : undefined;
  const nullCount = column.rowValid ? zeros(column.rowValid) : 0;
  const data = makeData({ type, length: n, valueOffsets, child: child.data, nullBitmap, nullCount } as never);
  return { type, data };
}

/** Builds one record batch of the result schema: lat, lon, time, the given columns in order, geometry. */
export function resultBatch(c: ResultColumns): RecordBatch {
  const n = c.lat.length;
  const fields: Field[] = [];
  const children: Data[] = [];
  const add = (name: string, type: DataType, data: Data, nullable = false) => {
    fields.push(new Field(name, type, nullable));
    children.push(data);
  };
  add("lat", new Float64(), makeData({ type: new Float64(), length: n, data: c.lat }));
  add("lon", new Float64(), makeData({ type: new Float64(), length: n, data: c.lon }));
  const ts = new Timestamp(TimeUnit.NANOSECOND, "UTC");
  add("time", ts, makeData({ type: ts, length: n, data: c.time }));
  for (const column of c.columns) {
    if ("values" in column) {
      const { type, data } = column.width === undefined ? valuesData(column, n) : listData(column, n);
      const metadata = column.metadata ? new Map(Object.entries(column.metadata)) : undefined;
      fields.push(new Field(column.name, type, true, metadata));
      children.push(data);
    } else {
      const data = constantData(column.name, column.type, column.value, n);
      add(column.name, data.type as DataType, data, column.nullable ?? column.value === null);
    }
  }
  add(GEOMETRY_COLUMN, new Binary(), wkbPoints(c.lon, c.lat));
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length: n, children, nullCount: 0 });
  return new RecordBatch(schema, struct);
}
