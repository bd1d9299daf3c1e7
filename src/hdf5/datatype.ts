import { UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { cString, readUint8, readUint32LE } from "./cursor.js";

const CLASS_NAMES = [
  "fixed-point",
  "float",
  "time",
  "string",
  "bitfield",
  "opaque",
  "compound",
  "reference",
  "enum",
  "vlen",
  "array",
] as const;

/** A decoded datatype message, enough to decode values of the classes this reader supports. */
export interface Datatype {
  /** Class number (0 fixed-point, 1 float, 3 string, 6 compound, 7 reference, 9 vlen, ...). */
  typeClass: number;
  /** Size of one element, bytes. */
  size: number;
  /** numpy-style dtype, or `other:<class>` when numpy has no spelling for it here. */
  dtype: string;
  littleEndian: boolean;
  signed: boolean;
  /** String padding: 0 null-terminated, 1 null-padded, 2 space-padded. */
  stringPad: number;
  /** Compound members (name, byte offset, type). */
  members?: { name: string; offset: number; type: Datatype }[];
  /** Base type of vlen, array and enum types. */
  base?: Datatype;
  /** For vlen: true when it is a variable-length string. */
  vlenString?: boolean;
}

/**
 * Parses a datatype message body. Unknown classes are not an error: they are described as `other:<class>`.
 * @throws InvalidHdf5Error when the body is truncated.
 */
export function parseDatatype(view: DataView, offset: number): Datatype {
  return parseType({ view, offset });
}

function parseType(c: Cursor): Datatype {
  const classAndVersion = readUint8(c);
  const typeClass = classAndVersion & 0x0f;
  const version = classAndVersion >> 4;
  const bits = readUint8(c) | (readUint8(c) << 8) | (readUint8(c) << 16);
  const size = readUint32LE(c);
  const t: Datatype = {
    typeClass,
    size,
    dtype: `other:${CLASS_NAMES[typeClass] ?? `class${typeClass}`}`,
    littleEndian: (bits & 1) === 0,
    signed: false,
    stringPad: bits & 0x0f,
  };
  if (typeClass === 0) return fixedPoint(c, t, bits);
  if (typeClass === 1) return float(c, t, bits);
  if (typeClass === 3) return { ...t, dtype: `|S${size}` };
  if (typeClass === 6) return { ...t, members: compoundMembers(c, bits & 0xffff, version, size) };
  if (typeClass === 9) return { ...t, vlenString: (bits & 0x0f) === 1, base: parseType(c) };
  if (typeClass === 8) return enumType(c, t, bits & 0xffff, version);
  if (typeClass === 10) return arrayType(c, t, version);
  skipProperties(c, typeClass, bits);
  return t;
}

function fixedPoint(c: Cursor, t: Datatype, bits: number): Datatype {
  c.offset += 4; // bit offset, precision
  const signed = (bits & 0x08) !== 0;
  return { ...t, signed, dtype: `${orderChar(t)}${signed ? "i" : "u"}${t.size}` };
}

function float(c: Cursor, t: Datatype, bits: number): Datatype {
  c.offset += 12; // bit offset, precision, exponent/mantissa layout, bias
  if (bits & 0x40) {
    throw new UnsupportedHdf5Error("datatype", `VAX-ordered ${t.size}-byte floats are not supported`);
  }
  return { ...t, signed: true, dtype: `${orderChar(t)}f${t.size}` };
}

function orderChar(t: Datatype): string {
  return t.size === 1 ? "|" : t.littleEndian ? "<" : ">";
}

/** Compound members; names are NUL-terminated (padded to 8 bytes before version 3). */
function compoundMembers(c: Cursor, count: number, version: number, size: number) {
  const members: NonNullable<Datatype["members"]> = [];
  const offsetBytes = size < 256 ? 1 : size < 65536 ? 2 : size < 16777216 ? 3 : 4;
  for (let i = 0; i < count; i++) {
    const name = readName(c, version < 3);
    let offset: number;
    if (version >= 3) {
      offset = 0;
      for (let k = 0; k < offsetBytes; k++) offset |= readUint8(c) << (8 * k);
    } else {
      offset = readUint32LE(c);
    }
    if (version === 1) c.offset += 1 + 3 + 4 + 4 + 16; // dimensionality, reserved, permutation, reserved, dims
    members.push({ name, offset, type: parseType(c) });
  }
  return members;
}

function enumType(c: Cursor, t: Datatype, count: number, version: number): Datatype {
  const base = parseType(c);
  for (let i = 0; i < count; i++) readName(c, version < 3);
  c.offset += count * base.size;
  return { ...t, base, signed: base.signed, littleEndian: base.littleEndian };
}

function readName(c: Cursor, padded: boolean): string {
  const bytes = new Uint8Array(c.view.buffer, c.view.byteOffset + c.offset, c.view.byteLength - c.offset);
  const end = bytes.indexOf(0);
  const length = end < 0 ? bytes.length : end + 1;
  c.offset += padded ? Math.ceil(length / 8) * 8 : length;
  return cString(bytes.subarray(0, length));
}

function arrayType(c: Cursor, t: Datatype, version: number): Datatype {
  const rank = readUint8(c);
  c.offset += version < 3 ? 3 + rank * 8 : rank * 4; // reserved, sizes (and permutation before v3)
  return { ...t, base: parseType(c) };
}

/** Skips the properties of classes decoded only as `other:<class>`, so compound parsing stays aligned. */
function skipProperties(c: Cursor, typeClass: number, bits: number): void {
  if (typeClass === 2)
    c.offset += 2; // time: bit precision
  else if (typeClass === 4)
    c.offset += 4; // bitfield: bit offset, precision
  else if (typeClass === 5) c.offset += bits & 0xff; // opaque: padded ASCII tag
}
