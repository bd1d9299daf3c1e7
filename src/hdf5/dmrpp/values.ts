/** DMR++ values: DAP4 atomic types, attribute values and fill values, as the HDF5 reader gives them. */
import type { Datatype } from "../datatype.js";
import type { AttrValue, DatasetInfo } from "../types.js";
import type { XmlElement } from "./xml.js";

/** DAP4 atomic types -> numpy-style kind and size (the byte order comes from `dmrpp:chunks`). */
export const ATOMIC: Record<string, { kind: "i" | "u" | "f"; size: number }> = {
  Byte: { kind: "u", size: 1 },
  Char: { kind: "u", size: 1 },
  UInt8: { kind: "u", size: 1 },
  Int8: { kind: "i", size: 1 },
  Int16: { kind: "i", size: 2 },
  UInt16: { kind: "u", size: 2 },
  Int32: { kind: "i", size: 4 },
  UInt32: { kind: "u", size: 4 },
  Int64: { kind: "i", size: 8 },
  UInt64: { kind: "u", size: 8 },
  Float32: { kind: "f", size: 4 },
  Float64: { kind: "f", size: 8 },
};

/**
 * DAP attribute types that carry no HDF5 attribute value: containers (builder metadata) and `null`
 * (an attribute the builder could not represent, such as a `DIMENSION_LIST` of references).
 */
const SKIPPED_ATTRIBUTE_TYPES = new Set(["Container", "null"]);

/** Attributes of a group or variable, except those of {@link SKIPPED_ATTRIBUTE_TYPES}. */
export function attributesOf(e: XmlElement): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of e.children) {
    const name = a.attrs.name;
    if (a.local !== "Attribute" || name === undefined) continue;
    const type = a.attrs.type;
    if (SKIPPED_ATTRIBUTE_TYPES.has(type ?? "")) continue;
    const values: AttrValue[] = [];
    for (const c of a.children) {
      if (c.local === "Value") values.push(attributeValue(c.attrs.value ?? c.text, type ?? "String"));
    }
    // DAP4 does not tell a scalar from a one-element array: one value is taken as a scalar.
    out[name] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

function attributeValue(text: string, type: string): AttrValue {
  const atomic = ATOMIC[type];
  if (!atomic) return text;
  if (atomic.kind === "f") {
    const x = floatOf(text);
    return atomic.size === 4 ? Math.fround(x) : x;
  }
  return integerValue(text.trim(), atomic.size);
}

const UTF8 = new TextEncoder();

/** The fill value as the reader reports it, and as the element's bytes. */
export function fillOf(
  text: string,
  type: Datatype,
): { value: DatasetInfo["fillValue"]; bytes: Uint8Array } | undefined {
  const bytes = new Uint8Array(type.size);
  const view = new DataView(bytes.buffer);
  const le = type.littleEndian;
  if (type.typeClass === 3) {
    const s = text === "unsupported-string" ? "" : text;
    bytes.set(UTF8.encode(s).subarray(0, type.size));
    return { value: s, bytes };
  }
  if (type.typeClass === 1) {
    const x = floatOf(text);
    if (type.size === 4) view.setFloat32(0, x, le);
    else view.setFloat64(0, x, le);
    return { value: type.size === 4 ? Math.fround(x) : x, bytes };
  }
  if (type.typeClass !== 0) return undefined;
  const value = integerValue(text.trim(), type.size);
  const big = BigInt(value);
  if (type.size === 8) view.setBigUint64(0, BigInt.asUintN(64, big), le);
  else if (type.size === 4) view.setUint32(0, Number(BigInt.asUintN(32, big)), le);
  else if (type.size === 2) view.setUint16(0, Number(BigInt.asUintN(16, big)), le);
  else view.setUint8(0, Number(BigInt.asUintN(8, big)));
  return { value, bytes };
}

/** Decimal text of a float, including the spellings builders write for non-finite values. */
function floatOf(text: string): number {
  // A number written plainly (a digit first, or a minus sign and a digit) needs no other reading.
  const first = text.charCodeAt(0) === 0x2d ? 1 : 0;
  if (isDigit(text.charCodeAt(first))) return Number(text);
  const t = text.trim().toLowerCase();
  if (/^[+-]?nan/.test(t)) return Number.NaN;
  if (/^[+-]?inf/.test(t)) return t.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return Number(t);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** An integer as the reader gives it: a number, or a bigint for 64-bit values beyond 2^53. */
function integerValue(text: string, size: number): number | bigint {
  if (size < 8) return Number(text);
  const big = BigInt(text);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/** Name without its namespace prefix (`dmrpp:chunks` -> `chunks`). */
export function local(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}
