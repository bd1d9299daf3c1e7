import { UnsupportedHdf5Error } from "../errors.js";
import type { NumericArray } from "./types.js";

/** A parsed numpy-style dtype string. */
export interface ParsedDtype {
  order: "<" | ">" | "|";
  kind: "f" | "i" | "u" | "S" | "V";
  size: number;
}

/**
 * Parses a numpy-style dtype (`<f8`, `>i4`, `|u1`, `|S27`, `|V16` for raw bytes).
 * @throws UnsupportedHdf5Error for `other:<class>` and anything else this reader cannot decode.
 */
export function parseDtype(dtype: string): ParsedDtype {
  const m = /^([<>|])([fiuSV])(\d+)$/.exec(dtype);
  if (!m) throw new UnsupportedHdf5Error("datatype", `datatype ${dtype} cannot be decoded`);
  return { order: m[1] as ParsedDtype["order"], kind: m[2] as ParsedDtype["kind"], size: Number(m[3]) };
}

/**
 * Size of one element of a numpy-style dtype, bytes.
 * @throws UnsupportedHdf5Error for `other:<class>` dtypes.
 */
export function itemSize(dtype: string): number {
  return parseDtype(dtype).size;
}

type ArrayMaker = new (buffer: ArrayBuffer, byteOffset: number, length: number) => NumericArray;

const MAKERS: Record<string, ArrayMaker> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

/**
 * Views raw element bytes as a typed array of `dtype`, in host (little-endian) order. Copies only when the
 * bytes are big-endian or misaligned; trailing bytes beyond whole elements are ignored.
 * @throws UnsupportedHdf5Error for strings and types without a typed array (e.g. `<f2`).
 */
export function toTypedArray(raw: Uint8Array, dtype: string): NumericArray {
  const { order, kind, size } = parseDtype(dtype);
  const Maker = MAKERS[`${kind}${size}`];
  if (!Maker) throw new UnsupportedHdf5Error("datatype", `datatype ${dtype} has no typed array`);
  const count = Math.floor(raw.length / size);
  let bytes = raw;
  if (order === ">" && size > 1) bytes = swapBytes(raw.subarray(0, count * size), size);
  else if (raw.byteOffset % size !== 0) bytes = raw.slice(0, count * size);
  return new Maker(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
}

/** Returns a copy of `bytes` with each `size`-byte element reversed. */
export function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let k = 0; k < size; k++) out[i + k] = bytes[i + size - 1 - k]!;
  }
  return out;
}
