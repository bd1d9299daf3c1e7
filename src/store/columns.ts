/**
 * Arrow columns of the `chunks` table built straight from typed arrays. `vectorFromArray` walks
 * every value through Arrow's builders, about 115 us a chunk row with its refs and cells (measured
 * on 20 000 rows of 7 refs and 40 cells), longer than the Parquet write that follows; these
 * builders fill the buffers in one pass.
 */
import {
  Binary,
  type Data,
  type DataType,
  Float64,
  Int32,
  Int64,
  type List,
  makeData,
  type Struct,
  Uint32,
  Uint64,
  Utf8,
} from "apache-arrow";

const encoder = new TextEncoder();

/** A validity bitmap of `valid` (undefined when every value is valid). */
function validity(length: number, valid: (i: number) => boolean): { nullBitmap?: Uint8Array } {
  let bitmap: Uint8Array | undefined;
  for (let i = 0; i < length; i++) {
    if (valid(i)) continue;
    if (!bitmap) bitmap = new Uint8Array(Math.ceil(length / 8)).fill(0xff);
    bitmap[i >> 3]! &= ~(1 << (i & 7));
  }
  return bitmap ? { nullBitmap: bitmap } : {};
}

/** Offsets and concatenated bytes of strings or byte arrays. */
function packed(values: readonly (string | Uint8Array)[]): { valueOffsets: Int32Array; data: Uint8Array } {
  const parts = values.map((v) => (typeof v === "string" ? encoder.encode(v) : v));
  const valueOffsets = new Int32Array(parts.length + 1);
  for (const [i, p] of parts.entries()) valueOffsets[i + 1] = valueOffsets[i]! + p.length;
  const data = new Uint8Array(valueOffsets[parts.length]!);
  for (const [i, p] of parts.entries()) data.set(p, valueOffsets[i]!);
  return { valueOffsets, data };
}

/** Strings as Utf8 data (no nulls). */
export function utf8Data(values: readonly string[]): Data<Utf8> {
  return makeData({ type: new Utf8(), length: values.length, ...packed(values) });
}

/** Byte arrays as Binary data (no nulls). */
export function binaryData(values: readonly Uint8Array[]): Data<Binary> {
  return makeData({ type: new Binary(), length: values.length, ...packed(values) });
}

/** Values (or null) in a typed array of their type, with their validity bitmap. */
function filled<A extends { [i: number]: number | bigint }>(
  values: readonly (number | bigint | null)[],
  array: A,
  convert: (v: number | bigint) => number | bigint,
): { length: number; data: A; nullBitmap?: Uint8Array } {
  for (const [i, v] of values.entries()) if (v !== null) array[i] = convert(v);
  return { length: values.length, data: array, ...validity(values.length, (i) => values[i] !== null) };
}

const toNumber = (v: number | bigint) => Number(v);
const toBigint = (v: number | bigint) => BigInt(v);

/** Numbers (or null) as Int32 data. */
export const int32Data = (values: readonly (number | null)[]): Data<Int32> =>
  makeData({ type: new Int32(), ...filled(values, new Int32Array(values.length), toNumber) });

/** Numbers as Uint32 data, null where null. */
export const uint32Data = (values: readonly (number | null)[]): Data<Uint32> =>
  makeData({ type: new Uint32(), ...filled(values, new Uint32Array(values.length), toNumber) });

/** Numbers as Float64 data, null where null. */
export const float64Data = (values: readonly (number | null)[]): Data<Float64> =>
  makeData({ type: new Float64(), ...filled(values, new Float64Array(values.length), toNumber) });

/** Integers as Int64 data, null where null. */
export const int64Data = (values: readonly (number | bigint | null)[]): Data<Int64> =>
  makeData({ type: new Int64(), ...filled(values, new BigInt64Array(values.length), toBigint) });

/** Integers as Uint64 data, null where null. */
export const uint64Data = (values: readonly (number | bigint | null)[]): Data<Uint64> =>
  makeData({ type: new Uint64(), ...filled(values, new BigUint64Array(values.length), toBigint) });

/**
 * A list column from each row's items and the child data built from all items in order; `valid`
 * marks the rows that hold a list (the others are null and should have no items).
 */
export function listData<T extends List>(
  type: T,
  lists: readonly { length: number }[],
  child: Data<T["valueType"]>,
  valid?: readonly boolean[],
): Data<T> {
  const valueOffsets = new Int32Array(lists.length + 1);
  for (const [i, l] of lists.entries()) valueOffsets[i + 1] = valueOffsets[i]! + l.length;
  const nulls = valid ? validity(lists.length, (i) => valid[i]!) : {};
  return makeData({ type, length: lists.length, valueOffsets, child, ...nulls });
}

/** A struct column (no nulls) from its children's data. */
export function structData<T extends Struct>(type: T, length: number, children: Data<DataType>[]): Data<T> {
  return makeData({ type, length, children });
}
