import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { cString, readUint8, readUint32LE, times } from "./cursor.js";

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
  /** Dimensions of an array type's elements. */
  dims?: number[];
  /** For vlen: true when it is a variable-length string. */
  vlenString?: boolean;
}

/**
 * Parses a datatype message body. Unknown classes are not an error: they are described as `other:<class>`.
 * @throws InvalidHdf5Error when the body is truncated.
 */
export function parseDatatype(view: DataView, offset: number): Datatype {
  return parseType({ view, offset }, 0);
}

/** Deepest nesting of compound, array, enum and vlen types accepted; real files nest two or three. */
const MAX_TYPE_DEPTH = 32;

function parseType(c: Cursor, depth: number): Datatype {
  if (depth > MAX_TYPE_DEPTH) {
    throw new InvalidHdf5Error(`datatype nests deeper than ${MAX_TYPE_DEPTH} levels at offset ${c.offset}`);
  }
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
  if (typeClass === 6)
    return { ...t, members: compoundMembers(c, { count: bits & 0xffff, version, size }, depth) };
  if (typeClass === 9) return { ...t, vlenString: (bits & 0x0f) === 1, base: parseType(c, depth + 1) };
  if (typeClass === 8) return enumType(c, t, { count: bits & 0xffff, version }, depth);
  if (typeClass === 10) return arrayType(c, t, version, depth);
  if (typeClass === 4) {
    c.offset += 4; // bit offset, precision
    return { ...t, dtype: `${orderChar(t)}u${size}` };
  }
  if (typeClass === 5) {
    c.offset += bits & 0xff; // padded ASCII tag
    return { ...t, dtype: `|V${size}` };
  }
  if (typeClass === 2) c.offset += 2; // time: bit precision
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
function compoundMembers(c: Cursor, shape: { count: number; version: number; size: number }, depth: number) {
  const { count, version, size } = shape;
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
    const type = parseType(c, depth + 1);
    if (offset + type.size > size) {
      throw new InvalidHdf5Error(
        `compound member ${name} at byte ${offset} (${type.size} bytes) overruns its ${size}-byte type`,
      );
    }
    members.push({ name, offset, type });
  }
  return members;
}

function enumType(
  c: Cursor,
  t: Datatype,
  shape: { count: number; version: number },
  depth: number,
): Datatype {
  const { count, version } = shape;
  const base = parseType(c, depth + 1);
  for (let i = 0; i < count; i++) readName(c, version < 3);
  c.offset += count * base.size;
  const dtype = base.typeClass === 0 ? base.dtype : t.dtype;
  return { ...t, dtype, base, signed: base.signed, littleEndian: base.littleEndian };
}

function readName(c: Cursor, padded: boolean): string {
  const bytes = new Uint8Array(c.view.buffer, c.view.byteOffset + c.offset, c.view.byteLength - c.offset);
  const end = bytes.indexOf(0);
  const length = end < 0 ? bytes.length : end + 1;
  c.offset += padded ? Math.ceil(length / 8) * 8 : length;
  return cString(bytes.subarray(0, length));
}

function arrayType(c: Cursor, t: Datatype, version: number, depth: number): Datatype {
  const rank = readUint8(c);
  if (version < 3) c.offset += 3; // reserved
  const dims = times(rank, () => readUint32LE(c));
  if (version < 3) c.offset += rank * 4; // permutation indices
  const base = parseType(c, depth + 1);
  const count = dims.reduce((a, b) => a * b, 1);
  if (base.size * count !== t.size) {
    throw new InvalidHdf5Error(
      `array datatype of ${t.size} bytes has dimensions [${dims}] of ${base.size}-byte elements`,
    );
  }
  return { ...t, base, dims };
}
