/** Icechunk object ids: random bytes, named in paths by their Crockford base 32 spelling. */
import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Crockford base 32, uppercase, no padding; zero bits appended to a whole number of 5-bit digits. */
export function crockford(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += CROCKFORD[(value << (5 - bits)) & 31];
  return out;
}

/** Bytes of a Crockford base 32 id of `length` bytes. */
export function fromCrockford(text: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    value = (value << 5) | CROCKFORD.indexOf(c);
    bits += 5;
    if (bits >= 8 && at < length) {
      out[at++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** A new random 12-byte id (snapshots, manifests). */
export const newId12 = (): Uint8Array => new Uint8Array(randomBytes(12));

/** A new random 8-byte id (nodes). */
export const newId8 = (): Uint8Array => new Uint8Array(randomBytes(8));

/** The id every repository's first snapshot has ("Repository initialized"), spec section on snapshot files. */
export const INITIAL_SNAPSHOT_ID = Uint8Array.from([
  0x0b, 0x1c, 0xc8, 0xd6, 0x78, 0x75, 0x80, 0xf0, 0xe3, 0x3a, 0x65, 0x34,
]);

/** Byte-wise order of two ids. */
export function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
