/**
 * Bits of the radix sort's digit: 16 makes four passes per coordinate with 65 536 counters; 8-bit
 * digits, twice the passes over 256 counters, measured about as fast (2 000 000 points).
 */
const DIGIT_BITS = 16;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;
/** Below this many points a comparison sort is faster than clearing the radix counters 8 times. */
const RADIX_MIN_POINTS = 4096;

/**
 * The indices of points (xs[i], ys[i]) sorted by x, then y, then index: an LSD radix sort over
 * the coordinates' bits, stable, O(n) and about ten times faster than `sort` with a comparator on
 * a million points. -0 and 0 are the same value; the coordinates must not be NaN.
 */
export function lexicographicOrder(xs: Float64Array, ys: Float64Array): Uint32Array {
  let ids: Uint32Array = new Uint32Array(xs.length);
  for (let i = 0; i < ids.length; i++) ids[i] = i;
  if (ids.length < RADIX_MIN_POINTS) return ids.sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]! || a - b);
  // Least significant first: y decides only between equal x, and the index between equal points.
  for (const values of [ys, xs]) ids = radixSort(ids, sortableKeys(values, ids));
  return ids;
}

/** A 64-bit key per entry, in two 32-bit words. */
interface Keys {
  high: Uint32Array;
  low: Uint32Array;
}

/** `ids` reordered by their keys (keys[k] belongs to ids[k]), stably. */
function radixSort(ids: Uint32Array, keys: Keys): Uint32Array {
  const n = ids.length;
  // The keys travel with the ids, so every pass reads them in order rather than gathering them.
  let [id, high, low]: Uint32Array[] = [ids, keys.high, keys.low];
  let [spareId, spareHigh, spareLow]: Uint32Array[] = [
    new Uint32Array(n),
    new Uint32Array(n),
    new Uint32Array(n),
  ];
  const counts = new Uint32Array((1 << DIGIT_BITS) + 1);
  for (let pass = 0; pass < 64 / DIGIT_BITS; pass++) {
    const key = pass < 32 / DIGIT_BITS ? low : high;
    const shift = (pass * DIGIT_BITS) % 32;
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[((key[k]! >>> shift) & DIGIT_MASK) + 1]!++;
    if (counts.includes(n)) continue; // one digit value for every entry: the order stands
    for (let d = 1; d < counts.length; d++) counts[d]! += counts[d - 1]!;
    for (let k = 0; k < n; k++) {
      const at = counts[(key[k]! >>> shift) & DIGIT_MASK]!++;
      spareId[at] = id[k]!;
      spareHigh[at] = high[k]!;
      spareLow[at] = low[k]!;
    }
    [id, spareId, high, spareHigh, low, spareLow] = [spareId, id, spareHigh, high, spareLow, low];
  }
  return id;
}

/** The keys of values[ids[k]]: 64-bit unsigned integers whose order is the numbers' order. */
function sortableKeys(values: Float64Array, ids: Uint32Array): Keys {
  const keys = { high: new Uint32Array(ids.length), low: new Uint32Array(ids.length) };
  const view = new DataView(new ArrayBuffer(8));
  for (let k = 0; k < ids.length; k++) {
    // Adding 0 turns -0 into 0, so that both get one key.
    view.setFloat64(0, values[ids[k]!]! + 0, true);
    const hi = view.getUint32(4, true);
    const lo = view.getUint32(0, true);
    // Negative numbers: flip every bit (larger magnitude sorts first); others: set the sign bit.
    keys.high[k] = hi >>> 31 ? ~hi >>> 0 : (hi | 0x80000000) >>> 0;
    keys.low[k] = hi >>> 31 ? ~lo >>> 0 : lo;
  }
  return keys;
}
