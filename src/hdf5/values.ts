import { times } from "./cursor.js";
import type { Datatype } from "./datatype.js";
import { decodeFloat16 } from "./dtype.js";
import type { AttrValue } from "./types.js";

const utf8 = new TextDecoder("utf-8");

/**
 * Decodes one element of `type` at byte `offset` of `view` into a plain value: numbers (64-bit integers
 * as number when safe, else bigint), strings for fixed-length strings, the address for object references,
 * objects for compounds, nested arrays for array types, unsigned integers for bitfields, byte lists for
 * opaque types; null for what cannot be decoded without more I/O (vlen, region references).
 */
export function decodeElement(view: DataView, offset: number, type: Datatype): AttrValue {
  if (offset + type.size > view.byteLength) return null;
  switch (type.typeClass) {
    case 0:
    case 4:
      return decodeInteger(view, offset, type.size, type.signed, type.littleEndian);
    case 1:
      return decodeFloat(view, offset, type.size, type.littleEndian);
    case 3:
      return decodeFixedString(
        new Uint8Array(view.buffer, view.byteOffset + offset, type.size),
        type.stringPad,
      );
    case 7:
      return type.size === 8 && (type.stringPad & 0x0f) === 0
        ? decodeInteger(view, offset, 8, false, true)
        : null;
    case 8:
      return type.base ? decodeElement(view, offset, type.base) : null;
    case 6:
      return decodeCompound(view, offset, type);
    case 10:
      return decodeArray(view, offset, type);
    case 5:
      return Array.from(new Uint8Array(view.buffer, view.byteOffset + offset, type.size));
    default:
      return null;
  }
}

/** Decodes `count` consecutive elements. */
export function decodeElements(bytes: Uint8Array, type: Datatype, count: number): AttrValue[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: AttrValue[] = [];
  for (let i = 0; i < count; i++) out.push(decodeElement(view, i * type.size, type));
  return out;
}

/** Strips the padding of a fixed-length string: at the first NUL (null-terminated/padded) or trailing spaces. */
export function decodeFixedString(bytes: Uint8Array, pad: number): string {
  const nul = bytes.indexOf(0);
  const text = utf8.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  return pad === 2 ? text.replace(/ +$/, "") : text;
}

function decodeInteger(
  view: DataView,
  offset: number,
  size: number,
  signed: boolean,
  le: boolean,
): number | bigint | null {
  if (size === 1) return signed ? view.getInt8(offset) : view.getUint8(offset);
  if (size === 2) return signed ? view.getInt16(offset, le) : view.getUint16(offset, le);
  if (size === 4) return signed ? view.getInt32(offset, le) : view.getUint32(offset, le);
  if (size === 8) {
    const big = signed ? view.getBigInt64(offset, le) : view.getBigUint64(offset, le);
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big;
  }
  return null;
}

function decodeFloat(view: DataView, offset: number, size: number, le: boolean): number | null {
  if (size === 2) return decodeFloat16(view.getUint16(offset, le));
  if (size === 4) return view.getFloat32(offset, le);
  if (size === 8) return view.getFloat64(offset, le);
  return null;
}

function decodeCompound(view: DataView, offset: number, type: Datatype): AttrValue {
  const out: { [field: string]: AttrValue } = {};
  for (const m of type.members ?? []) out[m.name] = decodeElement(view, offset + m.offset, m.type);
  return out;
}

function decodeArray(view: DataView, offset: number, type: Datatype): AttrValue {
  const base = type.base;
  if (!base || !type.dims) return null;
  const count = type.dims.reduce((a, b) => a * b, 1);
  const flat = times(count, (i) => decodeElement(view, offset + i * base.size, base));
  return shapeValues(flat, type.dims);
}

/** Nests a flat list into the shape given (row-major); scalars come back as the single value. */
export function shapeValues(values: AttrValue[], shape: number[]): AttrValue {
  if (shape.length === 0) return values[0] ?? null;
  if (shape.length === 1) return values;
  const [, ...inner] = shape;
  const step = inner.reduce((a, b) => a * b, 1);
  return times(shape[0]!, (i) => shapeValues(values.slice(i * step, (i + 1) * step), inner));
}
