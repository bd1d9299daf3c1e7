import { InvalidHdf5Error } from "../errors.js";

function rot(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Bob Jenkins' lookup3 `hashlittle` over bytes, as the HDF5 library checksums its version-2 metadata
 * (superblock 2-3, OHDR/OCHK, B-tree v2, fractal heap, fixed and extensible array blocks).
 */
export function lookup3(bytes: Uint8Array, initval = 0): number {
  let length = bytes.length;
  let a = (0xdeadbeef + length + initval) | 0;
  let b = a;
  let c = a;
  let k = 0;
  const word = (i: number) =>
    bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
  while (length > 12) {
    a = (a + word(k)) | 0;
    b = (b + word(k + 4)) | 0;
    c = (c + word(k + 8)) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  const tail = [0, 0, 0];
  for (let i = 0; i < length; i++) tail[i >> 2]! += bytes[k + i]! << (8 * (i & 3));
  a = (a + tail[0]!) | 0;
  b = (b + tail[1]!) | 0;
  c = (c + tail[2]!) | 0;
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/**
 * Checks the lookup3 checksum stored (little-endian) in the 4 bytes after `bytes[0, end)`.
 * @throws InvalidHdf5Error naming the structure and its address on a mismatch or missing bytes.
 */
export function verifyChecksum(bytes: Uint8Array, end: number, what: string, address: number): void {
  if (end < 0 || end + 4 > bytes.length) {
    throw new InvalidHdf5Error(`${what} at address ${address} is too short for its checksum`, { address });
  }
  const stored =
    (bytes[end]! | (bytes[end + 1]! << 8) | (bytes[end + 2]! << 16) | (bytes[end + 3]! << 24)) >>> 0;
  const computed = lookup3(bytes.subarray(0, end));
  if (stored !== computed) {
    throw new InvalidHdf5Error(
      `${what} at address ${address} fails its checksum: stored ${stored}, computed ${computed}`,
      { address },
    );
  }
}
