/**
 * How the GeoParquet encoder (geoparquet-encoder.ts) stores each numeric column type, as the reference
 * writer (arrow-rs, through parquet-wasm) does: physical type, annotations, statistics order.
 */
import type { NumericArray } from "../hdf5/types.js";
import { PARQUET } from "../parquet/pages.js";
import type { Order, PlainArray } from "../parquet/plain.js";
import type { ColumnType } from "../products/index.js";

/**
 * Largest data page of a result file, bytes before compression (parquet-wasm's default is 1 MiB). A
 * page is compressed when it closes, so with 1 MiB pages a result of up to about a hundred thousand
 * rows had every page of its row group compressed after its last batch had arrived, on the query's
 * critical path (zstd is about half of the encoding's CPU); 128 KiB pages are compressed while the
 * batches arrive. The same encoding CPU and a file as large (45 340 rows: 59.6 / 57.6 ms, 1 585 466
 * / 1 574 779 bytes; docs/design/query.md).
 */
export const RESULT_PAGE_BYTES = 128 * 1024;

/** How one numeric column type is stored: physical type, annotations, statistics order. */
export interface NumericLayout {
  physical: number;
  width: 4 | 8;
  order: Order;
  /** ConvertedType and IntType of an annotated integer. */
  int?: { converted: number; bits: number; signed: boolean };
  /** The batch's values as the physical type's array (a view, or a widened copy). */
  plain(values: NumericArray): PlainArray;
  view(buffer: ArrayBuffer): PlainArray;
}

export const i32 = (b: ArrayBuffer) => new Int32Array(b);
const i64 = (b: ArrayBuffer) => new BigInt64Array(b);
const widen = (v: NumericArray) => Int32Array.from(v as Int8Array);
const asInt32 = (v: NumericArray) => new Int32Array(v.buffer, v.byteOffset, v.length);
const asInt64 = (v: NumericArray) => new BigInt64Array(v.buffer, v.byteOffset, v.length);
const same = (v: NumericArray) => v as PlainArray;

/** The layouts of the reference writer (arrow-rs): small integers widened to INT32 with their width noted. */
export const LAYOUTS: Record<Exclude<ColumnType, "utf8">, NumericLayout> = {
  float64: {
    physical: PARQUET.DOUBLE,
    width: 8,
    order: "float",
    plain: same,
    view: (b) => new Float64Array(b),
  },
  float32: {
    physical: PARQUET.FLOAT,
    width: 4,
    order: "float",
    plain: same,
    view: (b) => new Float32Array(b),
  },
  int8: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 15, bits: 8, signed: true },
    plain: widen,
    view: i32,
  },
  int16: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 16, bits: 16, signed: true },
    plain: widen,
    view: i32,
  },
  int32: { physical: PARQUET.INT32, width: 4, order: "signed", plain: same, view: i32 },
  int64: { physical: PARQUET.INT64, width: 8, order: "signed", plain: same, view: i64 },
  uint8: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 11, bits: 8, signed: false },
    plain: widen,
    view: i32,
  },
  uint16: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 12, bits: 16, signed: false },
    plain: widen,
    view: i32,
  },
  uint32: {
    physical: PARQUET.INT32,
    width: 4,
    order: "unsigned",
    int: { converted: 13, bits: 32, signed: false },
    plain: asInt32,
    view: i32,
  },
  uint64: {
    physical: PARQUET.INT64,
    width: 8,
    order: "unsigned",
    int: { converted: 14, bits: 64, signed: false },
    plain: asInt64,
    view: i64,
  },
};

/** The column type of a typed array. */
export function columnTypeOf(values: NumericArray): Exclude<ColumnType, "utf8"> {
  for (const [type, Ctor] of [
    ["float64", Float64Array],
    ["float32", Float32Array],
    ["int8", Int8Array],
    ["int16", Int16Array],
    ["int32", Int32Array],
    ["int64", BigInt64Array],
    ["uint8", Uint8Array],
    ["uint16", Uint16Array],
    ["uint32", Uint32Array],
  ] as const)
    if (values instanceof Ctor) return type;
  return "uint64";
}
