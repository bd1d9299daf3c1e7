/** Hilbert curve keys of lon/lat points, to sort rows so that neighbours on Earth share row groups. */

/** Bits per axis of {@link hilbertKey}: 2^16 steps of 0.0055 degrees in longitude. */
export const HILBERT_BITS = 16;

/** Position of (lon, lat) degrees along a Hilbert curve over the whole lon/lat plane. */
export function hilbertKey(lon: number, lat: number): number {
  const n = 2 ** HILBERT_BITS;
  let x = Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n)));
  let y = Math.min(n - 1, Math.max(0, Math.floor(((lat + 90) / 180) * n)));
  let d = 0;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (x & s) > 0 ? 1 : 0;
    const ry = (y & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    // Rotate the quadrant so the curve stays continuous.
    if (ry === 0) {
      if (rx === 1) {
        x = n - 1 - x;
        y = n - 1 - y;
      }
      const t = x;
      x = y;
      y = t;
    }
  }
  return d;
}
