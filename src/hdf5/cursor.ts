import { InvalidHdf5Error } from "../errors.js";

/** A position in a byte view, advanced by the `readX` helpers below. */
export interface Cursor {
  view: DataView;
  offset: number;
}

/** Address value meaning "not allocated" (all bits set), as returned by {@link readAddress}. */
export const UNDEFINED_ADDRESS = -1;

/** Creates a cursor over `bytes` (which may be a view into a larger buffer). */
export function cursorOf(bytes: Uint8Array, offset = 0): Cursor {
  return { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset };
}

/** Throws InvalidHdf5Error unless `n` more bytes are available at the cursor. */
export function need(c: Cursor, n: number, what: string): void {
  if (n < 0 || c.offset + n > c.view.byteLength) {
    throw new InvalidHdf5Error(
      `${what} needs ${n} bytes at offset ${c.offset} but only ${c.view.byteLength - c.offset} remain`,
    );
  }
}

/** Reads one byte and advances. */
export function readUint8(c: Cursor): number {
  need(c, 1, "uint8");
  return c.view.getUint8(c.offset++);
}

/** Reads a little-endian uint16 and advances. */
export function readUint16LE(c: Cursor): number {
  need(c, 2, "uint16");
  const v = c.view.getUint16(c.offset, true);
  c.offset += 2;
  return v;
}

/** Reads a little-endian uint32 and advances. */
export function readUint32LE(c: Cursor): number {
  need(c, 4, "uint32");
  const v = c.view.getUint32(c.offset, true);
  c.offset += 4;
  return v;
}

/** Reads an unsigned little-endian integer of 1-8 bytes; throws if it exceeds 2^53-1. */
export function readUintLE(c: Cursor, size: number, what = "integer"): number {
  need(c, size, what);
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + c.view.getUint8(c.offset + i);
  c.offset += size;
  if (!Number.isSafeInteger(value)) {
    throw new InvalidHdf5Error(`${what} at offset ${c.offset - size} exceeds 2^53-1`);
  }
  return value;
}

/** Reads a file address of `size` bytes; all bits set gives {@link UNDEFINED_ADDRESS}. */
export function readAddress(c: Cursor, size: number): number {
  need(c, size, "address");
  let allOnes = true;
  for (let i = 0; i < size; i++) allOnes &&= c.view.getUint8(c.offset + i) === 0xff;
  if (allOnes) {
    c.offset += size;
    return UNDEFINED_ADDRESS;
  }
  return readUintLE(c, size, "address");
}

/** Reads `n` raw bytes as a view (no copy). */
export function readBytes(c: Cursor, n: number, what = "bytes"): Uint8Array {
  need(c, n, what);
  const out = new Uint8Array(c.view.buffer, c.view.byteOffset + c.offset, n);
  c.offset += n;
  return out;
}

/** Checks and skips a 4-byte ASCII signature such as `TREE`. */
export function expectSignature(c: Cursor, signature: string, address: number): void {
  need(c, signature.length, `${signature} signature`);
  const found = latin1(readBytes(c, signature.length));
  if (found !== signature) {
    throw new InvalidHdf5Error(
      `expected ${signature} signature at address ${address}, found ${JSON.stringify(found)}`,
      {
        address,
      },
    );
  }
}

/** Decodes bytes as Latin-1 (one char per byte), which is lossless for ASCII names. */
export function latin1(bytes: Uint8Array): string {
  if (bytes.length <= 16) {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(i + 4096, bytes.length)));
  }
  return s;
}

const utf8 = new TextDecoder("utf-8");

/** Decodes a string stored in `bytes`, stopping at the first NUL. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * `[make(0), ..., make(n - 1)]`, made in that order. A plain loop: the parsers build many short lists,
 * where `Array.from({ length: n }, ...)` costs about ten times as much.
 */
export function times<T>(n: number, make: (i: number) => T): T[] {
  // Lengths as Array.from takes them: negative or NaN -> 0, fractions cut, above 2^32 - 1 an error.
  const length = Math.max(0, Math.trunc(n) || 0);
  if (length > 2 ** 32 - 1) throw new RangeError("Invalid array length");
  const out: T[] = [];
  for (let i = 0; i < length; i++) out.push(make(i));
  return out;
}

/** Rounds `n` up to a multiple of `to`. */
export function padTo(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
