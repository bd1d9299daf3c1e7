import { Buffer } from "node:buffer";
import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { cString, cursorOf, padTo, readBytes, readUint8, readUint16LE } from "./cursor.js";
import { elementCount, parseDataspace } from "./dataspace.js";
import type { Datatype } from "./datatype.js";
import { parseDatatype } from "./datatype.js";
import type { AttrValue } from "./types.js";
import { decodeElement, decodeElements, decodeFixedString, shapeValues } from "./values.js";

/** A decoded attribute. */
export interface Attribute {
  name: string;
  value: AttrValue;
  /** Set for variable-length types, whose values live in the global heap: descriptors, type and shape. */
  vlen?: { data: Uint8Array; count: number; shape: number[]; type: Datatype };
}

/** Attribute message flag bits: datatype / dataspace stored as shared messages. */
const SHARED_TYPE = 0x01;
const SHARED_SPACE = 0x02;

/**
 * Parses an attribute message (versions 1-3) and decodes its value: a scalar for scalar dataspaces, a
 * (nested) array for simple ones, null for null dataspaces and shared types. Variable-length values need the
 * global heap: their descriptors are returned in `vlen` for the caller to resolve.
 * @throws InvalidHdf5Error when truncated; UnsupportedHdf5Error for unknown versions.
 */
export function parseAttribute(view: DataView, offset: number, lengthSize: number): Attribute {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version < 1 || version > 3) {
    throw new UnsupportedHdf5Error("attribute", `attribute message version ${version} is not supported`);
  }
  const flags = readUint8(c); // reserved (zero) in version 1
  const nameSize = readUint16LE(c);
  const typeSize = readUint16LE(c);
  const spaceSize = readUint16LE(c);
  if (version === 3) c.offset += 1; // name character set
  const pad = (n: number) => (version === 1 ? padTo(n, 8) : n);
  const name = cString(readBytes(c, pad(nameSize), "attribute name"));
  const typeBytes = readBytes(c, pad(typeSize), "attribute datatype");
  const spaceBytes = readBytes(c, pad(spaceSize), "attribute dataspace");
  if (flags & (SHARED_TYPE | SHARED_SPACE)) return { name, value: null };
  const type = parseDatatype(cursorOf(typeBytes).view, 0);
  const space = parseDataspace(cursorOf(spaceBytes).view, 0, lengthSize);
  if (space.kind === "null") return { name, value: null };
  const count = elementCount(space);
  const available = Math.max(0, c.view.byteLength - c.offset);
  if (count * Math.max(type.size, 1) > available) {
    throw new InvalidHdf5Error(
      `attribute ${name} holds ${count} elements of ${type.size} bytes but its message has ${available} bytes left`,
    );
  }
  const data = readBytes(c, Math.min(count * type.size, available), "attribute data");
  if (type.typeClass === 9) return { name, value: null, vlen: { data, count, shape: space.shape, type } };
  // A scalar (most attributes: strings, fill values, numbers) decoded in place, without the list of
  // elements and the view over them that shapeValues would unwrap.
  if (space.shape.length === 0 && count === 1 && data.length === type.size) {
    if (type.typeClass === 3) return { name, value: decodeFixedString(data, type.stringPad) };
    return { name, value: decodeElement(c.view, c.offset - data.length, type) };
  }
  return { name, value: shapeValues(decodeElements(data, type, count), space.shape) };
}

/**
 * Attribute messages of at most this many bytes are kept by {@link parseAttributeMessage}: the
 * attributes of product datasets (units, long_name, description, coordinates...) are a few hundred
 * bytes, and most are the same message in every beam and every granule.
 */
const CACHED_MESSAGE_BYTES = 2048;

/** Attributes {@link parseAttributeMessage} keeps, all dropped when full (a granule has about 2 000). */
const CACHED_ATTRIBUTES = 8192;

/** Decoded attributes by their message's bytes (as Latin-1 text), for one length size. */
const parsed = new Map<string, { lengthSize: number; attribute: Attribute }>();

/**
 * {@link parseAttribute} of a whole attribute message body, the decoded attribute kept by the message's
 * bytes: a product's datasets repeat the same attribute messages in every beam and every granule, and
 * decoding each (datatype, dataspace, strings) was most of the CPU of reading a dataset's header. The
 * value depends on the bytes and the length size alone; attributes of variable-length types (whose
 * values live in the file's global heap) are never kept. Each call gets its own copy of the value.
 * @throws as {@link parseAttribute}.
 */
export function parseAttributeMessage(body: Uint8Array, lengthSize: number): Attribute {
  if (body.byteLength > CACHED_MESSAGE_BYTES) return parseAttribute(viewOf(body), 0, lengthSize);
  const key = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1");
  const hit = parsed.get(key);
  if (hit !== undefined && hit.lengthSize === lengthSize) {
    return { name: hit.attribute.name, value: copyValue(hit.attribute.value) };
  }
  const attribute = parseAttribute(viewOf(body), 0, lengthSize);
  if (attribute.vlen === undefined) {
    if (parsed.size >= CACHED_ATTRIBUTES) parsed.clear();
    parsed.set(key, { lengthSize, attribute: { name: attribute.name, value: copyValue(attribute.value) } });
  }
  return attribute;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A deep copy of a decoded value (primitives as they are), so that no caller shares the kept one. */
function copyValue(value: AttrValue): AttrValue {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(copyValue);
  const out: { [field: string]: AttrValue } = {};
  for (const field of Object.keys(value)) out[field] = copyValue(value[field]!);
  return out;
}
