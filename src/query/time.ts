/**
 * Product times to int64 nanoseconds without a BigInt per row: `round(value * 1e9)` and the scale's
 * whole-second shift are both integers held exactly by a double, and are added as two 32-bit halves
 * straight into the words of a BigInt64Array. Equal, bit for bit, to `TimeScale.toUnixNs`.
 */
import type { TimeScale } from "../products/index.js";

const TWO_32 = 2 ** 32;

/** Whether this host stores the low word of an int64 first (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** An int64 as (signed high word, unsigned low word) of an integer-valued double. */
function split(v: number): [number, number] {
  const hi = Math.floor(v / TWO_32);
  return [hi, v - hi * TWO_32];
}

/**
 * Converts `values[i]` to ns since the Unix epoch into `out[i]` for every i with `mask[i]` set, and
 * clears `mask[i]` for times outside [startNs, endNs). Returns the rows still set.
 */
export function unixNsInto(
  scale: TimeScale,
  values: Float64Array,
  mask: Uint8Array,
  out: BigInt64Array,
  range: { startNs?: bigint; endNs?: bigint },
): number {
  const shift = constantShift(scale, values, mask);
  if (shift === undefined || !LITTLE_ENDIAN) return bigIntPath(scale, values, mask, out, range);
  const [shiftHi, shiftLo] = split(shift);
  const words = new Int32Array(out.buffer, out.byteOffset, out.length * 2);
  const start = range.startNs === undefined ? undefined : words64(range.startNs);
  const end = range.endNs === undefined ? undefined : words64(range.endNs);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    // split() written out: no array a row, which a one-off command's code, run by V8's interpreter
    // and baseline compiler before (or without) optimisation, would allocate and collect.
    const ns = Math.round(values[i]! * 1e9);
    const hi0 = Math.floor(ns / TWO_32);
    let lo = ns - hi0 * TWO_32 + shiftLo;
    let hi = hi0 + shiftHi;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi += 1;
    }
    words[2 * i] = lo | 0;
    words[2 * i + 1] = hi;
    if ((start && before(hi, lo, start)) || (end && !before(hi, lo, end))) mask[i] = 0;
    else count++;
  }
  return count;
}

/** An int64 as (signed high word, unsigned low word). */
function words64(v: bigint): [number, number] {
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

/** Whether (hi, lo) is below the int64 `than`. */
function before(hi: number, lo: number, than: [number, number]): boolean {
  return hi < than[0] || (hi === than[0] && lo < than[1]);
}

/**
 * The scale's shift in ns (`toUnixNs(v) - round(v * 1e9)`) when it is the same for every masked value
 * (no leap second between the smallest and the largest); undefined otherwise.
 */
function constantShift(scale: TimeScale, values: Float64Array, mask: Uint8Array): number | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return 0;
  const shiftOf = (v: number) => scale.toUnixNs(v) - BigInt(Math.round(v * 1e9));
  const shift = shiftOf(lo);
  if (shift !== shiftOf(hi)) return undefined;
  const n = Number(shift);
  // The whole-second shift must be an integer a double holds exactly (it is: ~1.5e18 = s * 2^9 * 5^9).
  return BigInt(n) === shift ? n : undefined;
}

/** The plain per-row path, for a leap second inside the rows or an unusual host. */
function bigIntPath(
  scale: TimeScale,
  values: Float64Array,
  mask: Uint8Array,
  out: BigInt64Array,
  range: { startNs?: bigint; endNs?: bigint },
): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    const t = scale.toUnixNs(values[i]!);
    out[i] = t;
    if ((range.startNs !== undefined && t < range.startNs) || (range.endNs !== undefined && t >= range.endNs))
      mask[i] = 0;
    else count++;
  }
  return count;
}
