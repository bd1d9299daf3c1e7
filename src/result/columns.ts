/**
 * A result batch's columns before they become Arrow data (result.ts): plain typed arrays and constants,
 * so the query's modules load no apache-arrow before their first request.
 */
import type { NumericArray } from "../hdf5/types.js";
import type { ColumnType } from "../products/index.js";

/** Values of one result column for one batch: per-row values, or one value repeated on every row. */
export type ResultColumnData =
  /**
   * Per-row values; `valid` (1 = valid) where fill values became nulls. With `width`, a list
   * column: `width` values a row, `valid` per element, `rowValid` (1 = valid) per row.
   * `metadata` becomes the Arrow field's metadata.
   */
  | {
      name: string;
      values: NumericArray;
      valid?: Uint8Array;
      width?: number;
      rowValid?: Uint8Array;
      metadata?: Record<string, string>;
    }
  /**
   * One value for every row (null: a column of nulls) of the given type; the field is nullable
   * when `nullable` is set (it must be wherever the value may be null, for every batch alike).
   */
  | { name: string; type: ColumnType; value: string | number | null; nullable?: boolean };

/** Columns of one batch of result rows, already filtered to the rows inside the AOI. */
export interface ResultColumns {
  lat: Float64Array;
  lon: Float64Array;
  /** Nanoseconds since the Unix epoch, UTC. */
  time: BigInt64Array;
  /** The columns between `time` and `geometry`, in order. */
  columns: ResultColumnData[];
}

/** Name of the result's geometry column. */
export const GEOMETRY_COLUMN = "geometry";

/** Typed array constructors of the numeric column types. */
const ARRAYS = {
  float64: Float64Array,
  float32: Float32Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
} as const;

/** An empty array of a numeric column type. */
export function arrayOfType(type: Exclude<ColumnType, "utf8">, n: number): NumericArray {
  return new ARRAYS[type](n);
}

/** `values` as an array of `type` (a copy when the types differ, e.g. float32 latitudes to float64). */
export function castArray(values: NumericArray, type: Exclude<ColumnType, "utf8">): NumericArray {
  const Ctor = ARRAYS[type];
  if (values instanceof Ctor) return values;
  const out = new Ctor(values.length);
  const wide = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    (out as unknown as (number | bigint)[])[i] = wide ? BigInt(v) : Number(v);
  }
  return out;
}
