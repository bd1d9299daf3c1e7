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
 * @throws UnsupportedHdf5Error for strings and types without a typed array of their own (`<f2`: see
 * {@link float16ToFloat32Array}, which converts instead of viewing).
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

/**
 * Decodes the 16 bits of an IEEE 754 half-precision float (1 sign, 5 exponent and 10 mantissa bits,
 * bias 15): subnormals, signed zeros and infinities exactly; every NaN as NaN.
 */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * Decodes raw IEEE half-float element bytes (`<f2`, `>f2`) into a new Float32Array, which holds every
 * half value exactly (JavaScript has no Float16Array before Node 24). Trailing bytes are ignored.
 */
export function float16ToFloat32Array(raw: Uint8Array, littleEndian: boolean): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(Math.floor(raw.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = decodeFloat16(view.getUint16(i * 2, littleEndian));
  return out;
}

/** Returns a copy of `bytes` with each `size`-byte element reversed. */
export function swapBytes(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let k = 0; k < size; k++) out[i + k] = bytes[i + size - 1 - k]!;
  }
  return out;
}
