/**
 * The kept rows of a column, copied as bytes: runs of consecutive kept rows (the usual case: the points
 * inside an AOI are consecutive along the track) in one `set` each, short runs byte by byte. One loop
 * for every element type, over Uint8Array views: no element is read as a number, so nothing is boxed
 * (a float or 64-bit element read through a loop that sees several array types becomes a heap object
 * each) and the bits are copied as they are. Pure.
 */
import type { NumericArray } from "../hdf5/types.js";

/** Runs of at most this many bytes are copied byte by byte rather than through a subarray and `set`. */
const BYTEWISE_MAX = 64;

/**
 * `values` at the rows `kept` (increasing row indices), `width` elements a row, as a new array of the
 * same type.
 */
export function gather<T extends NumericArray>(values: T, kept: Int32Array, width = 1): T {
  const n = kept.length;
  const out = new (values.constructor as new (length: number) => T)(n * width);
  const rowBytes = values.BYTES_PER_ELEMENT * width;
  const from = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const to = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  let j = 0;
  while (j < n) {
    const start = kept[j]!;
    let k = j + 1;
    while (k < n && kept[k] === start + (k - j)) k++;
    const src = start * rowBytes;
    const dst = j * rowBytes;
    const bytes = (k - j) * rowBytes;
    if (bytes <= BYTEWISE_MAX) for (let b = 0; b < bytes; b++) to[dst + b] = from[src + b]!;
    else to.set(from.subarray(src, src + bytes), dst);
    j = k;
  }
  return out;
}
