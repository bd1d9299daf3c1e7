import { orient2d } from "../../src/query/pip.js";

// The ring self-intersection search geochunks used before the Shamos-Hoey sweep
// (src/query/aoi-simple.ts), kept unchanged as the reference the sweep is compared with: a sweep
// over edges sorted by their west end that pair-tests every edge overlapping in longitude, so it
// is quadratic on rings whose edges overlap in longitude (a star of long spikes).

/** Whether (px, py), known collinear with segment a-b, lies within its closed extent. */
function withinSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return Math.min(ax, bx) <= px && px <= Math.max(ax, bx) && Math.min(ay, by) <= py && py <= Math.max(ay, by);
}

/** Whether closed segments a-b and c-d share at least one point (exact). */
function segmentsMeet(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): boolean {
  const o1 = Math.sign(orient2d(ax, ay, bx, by, cx, cy));
  const o2 = Math.sign(orient2d(ax, ay, bx, by, dx, dy));
  const o3 = Math.sign(orient2d(cx, cy, dx, dy, ax, ay));
  const o4 = Math.sign(orient2d(cx, cy, dx, dy, bx, by));
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  return (
    (o1 === 0 && withinSegment(ax, ay, bx, by, cx, cy)) ||
    (o2 === 0 && withinSegment(ax, ay, bx, by, dx, dy)) ||
    (o3 === 0 && withinSegment(cx, cy, dx, dy, ax, ay)) ||
    (o4 === 0 && withinSegment(cx, cy, dx, dy, bx, by))
  );
}

/**
 * Finds two edges of a closed ring (or, with `closed: false`, an open path) that meet anywhere except at the vertex two consecutive edges
 * share (a crossing, a touch, a collinear overlap or a spike back along the previous edge).
 * Zero-length edges (repeated positions) are skipped. Returns the position indices starting the
 * two edges, or undefined. Sweeps edges sorted by west end, so it is near O(n log n) for
 * ordinary rings.
 */
export function findSelfIntersectionQuadratic(
  ring: Float64Array,
  opts: { closed: boolean } = { closed: true },
): [number, number] | undefined {
  const starts: number[] = [];
  const n = ring.length / 2 - 1;
  for (let k = 0; k < n; k++) {
    if (ring[2 * k] !== ring[2 * k + 2] || ring[2 * k + 1] !== ring[2 * k + 3]) starts.push(k);
  }
  const m = starts.length;
  if (m < 3) return undefined;
  const west = (e: number) => Math.min(ring[2 * starts[e]!]!, ring[2 * starts[e]! + 2]!);
  const order = Array.from({ length: m }, (_, e) => e).sort((a, b) => west(a) - west(b));
  for (let oi = 0; oi < m; oi++) {
    const e = order[oi]!;
    const a = 2 * starts[e]!;
    const [ax, ay, bx, by] = [ring[a]!, ring[a + 1]!, ring[a + 2]!, ring[a + 3]!];
    const east = Math.max(ax, bx);
    for (let oj = oi + 1; oj < m; oj++) {
      const f = order[oj]!;
      if (west(f) > east) break;
      const c = 2 * starts[f]!;
      const [cx, cy, dx, dy] = [ring[c]!, ring[c + 1]!, ring[c + 2]!, ring[c + 3]!];
      if (Math.max(cy, dy) < Math.min(ay, by) || Math.min(cy, dy) > Math.max(ay, by)) continue;
      const [lo, hi] = e < f ? [e, f] : [f, e];
      const wrapped = opts.closed && lo === 0 && hi === m - 1;
      if (hi - lo === 1 || wrapped) {
        // Consecutive edges share one vertex; they are invalid only when one folds back onto the other.
        if (foldsBack(ring, starts[lo]!, starts[hi]!, wrapped)) return [starts[lo]!, starts[hi]!];
        continue;
      }
      if (segmentsMeet(ax, ay, bx, by, cx, cy, dx, dy)) return [starts[lo]!, starts[hi]!];
    }
  }
  return undefined;
}

/** Whether two consecutive edges (sharing a vertex) overlap along more than that vertex. */
function foldsBack(ring: Float64Array, first: number, second: number, wrapped: boolean): boolean {
  // Edge p -> q followed by edge q -> r (when wrapped, the edge starting at `second` comes first).
  const [s1, s2] = wrapped ? [second, first] : [first, second];
  const px = ring[2 * s1]!;
  const py = ring[2 * s1 + 1]!;
  const qx = ring[2 * s2]!;
  const qy = ring[2 * s2 + 1]!;
  const rx = ring[2 * s2 + 2]!;
  const ry = ring[2 * s2 + 3]!;
  if (orient2d(px, py, qx, qy, rx, ry) !== 0) return false;
  // Collinear: they overlap when r turns back towards p, i.e. (r - q) points against (q - p).
  return (rx - qx) * (qx - px) + (ry - qy) * (qy - py) < 0;
}
