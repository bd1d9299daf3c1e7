/** Per-chunk geography from flat coordinate arrays: bbox, footprint line, H3 cells. */
import type { Bbox } from "../store/geo.js";
import { validLonLat } from "../store/h3.js";
import { wkbLineString, wkbMultiLineString } from "../store/wkb.js";

/** Most vertices kept in a chunk's footprint line; 10 000 segments (200 km) keep a vertex every ~3 km. */
export const FOOTPRINT_MAX_VERTICES = 64;

export { cellNeighbours, trackCells as h3CellsOf, validLonLat } from "../store/h3.js";

/** Bounding box of the valid points in [start, end); all-infinite when there are none. */
export function bboxOf(lon: Float64Array, lat: Float64Array, start: number, end: number): Bbox {
  let xmin = Number.POSITIVE_INFINITY;
  let ymin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymax = Number.NEGATIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const x = lon[i]!;
    const y = lat[i]!;
    if (!validLonLat(x, y)) continue;
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  return { xmin, ymin, xmax, ymax };
}

/**
 * A hole between consecutive points wider than this (degrees, about 1 km; segments are 20 m)
 * breaks the footprint line, so that a track with missing segments is not drawn across the gap.
 */
export const FOOTPRINT_GAP_DEGREES = 0.01;

/**
 * Whether the step between two valid points breaks the footprint line: an antimeridian jump, or a hole
 * wider than {@link FOOTPRINT_GAP_DEGREES}. `Math.hypot` is called only when the cheap bounds
 * (hypot <= |dx| + |dy|, hypot >= max(|dx|, |dy|)) leave the answer open, so the result is the same.
 */
function breaksRun(dx: number, dy: number): boolean {
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  if (ax > 180) return true;
  if (ax + ay <= FOOTPRINT_GAP_DEGREES) return false;
  if (ax > FOOTPRINT_GAP_DEGREES || ay > FOOTPRINT_GAP_DEGREES) return true;
  return Math.hypot(dx, dy) > FOOTPRINT_GAP_DEGREES;
}

/**
 * Runs [first, last] of valid points without an antimeridian jump or a gap between neighbours, and
 * the bounding box of the valid points ({@link bboxOf}'s, from the same walk) written into `box`.
 */
function footprintRuns(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
  box: Bbox,
): [number, number][] {
  const runs: [number, number][] = [];
  let first = -1;
  let last = -1;
  let xmin = Number.POSITIVE_INFINITY;
  let ymin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymax = Number.NEGATIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const x = lon[i]!;
    const y = lat[i]!;
    if (!validLonLat(x, y)) continue;
    if (x < xmin) xmin = x;
    if (x > xmax) xmax = x;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
    if (first < 0 || (last >= 0 && breaksRun(x - lon[last]!, y - lat[last]!))) {
      if (first >= 0) runs.push([first, last]);
      first = i;
    }
    last = i;
  }
  if (first >= 0) runs.push([first, last]);
  box.xmin = xmin;
  box.ymin = ymin;
  box.xmax = xmax;
  box.ymax = ymax;
  return runs;
}

/** Footprint vertices: every `stride`-th point of each run plus its last point, per run. */
export function footprintVertices(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
): number[][] {
  return verticesOfRuns(lon, lat, start, end, footprintRuns(lon, lat, start, end, emptyBox()));
}

function verticesOfRuns(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
  runs: readonly [number, number][],
): number[][] {
  const stride = Math.max(1, Math.ceil((end - start) / (FOOTPRINT_MAX_VERTICES - 1)));
  const out: number[][] = [];
  for (const run of runs) {
    const first = run[0];
    const last = run[1];
    const vertices: number[] = [];
    for (let i = first; i <= last; i += stride) if (validLonLat(lon[i]!, lat[i]!)) vertices.push(i);
    if (vertices[vertices.length - 1] !== last) vertices.push(last);
    out.push(vertices);
  }
  return out;
}

function emptyBox(): Bbox {
  return {
    xmin: Number.POSITIVE_INFINITY,
    ymin: Number.POSITIVE_INFINITY,
    xmax: Number.NEGATIVE_INFINITY,
    ymax: Number.NEGATIVE_INFINITY,
  };
}

/** A chunk's footprint line (WKB) and the largest distance of its points from it (degrees). */
export interface Footprint {
  geometry: Uint8Array;
  error: number;
}

/**
 * Footprint of points [start, end) and its error in one walk over the points: the geometry of
 * {@link footprintOf} and the distance of {@link footprintError}, from one set of vertices.
 */
export function footprintWithError(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
): Footprint {
  const runs = footprintVertices(lon, lat, start, end);
  return { geometry: footprintWkb(lon, lat, runs), error: largestOffset(lon, lat, runs) };
}

/**
 * {@link bboxOf} and {@link footprintWithError} of points [start, end), the same values, the bbox
 * taken in the walk that finds the footprint's runs rather than in a walk of its own.
 */
export function chunkGeometry(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
): Footprint & { bbox: Bbox } {
  const bbox = emptyBox();
  const runs = verticesOfRuns(lon, lat, start, end, footprintRuns(lon, lat, start, end, bbox));
  return { bbox, geometry: footprintWkb(lon, lat, runs), error: largestOffset(lon, lat, runs) };
}

/** The footprint vertices as WKB: a LineString, a MultiLineString for several runs, a null line for none. */
function footprintWkb(lon: Float64Array, lat: Float64Array, runs: readonly number[][]): Uint8Array {
  const lines = runs.map((run) => {
    // A run of one point is drawn as a line of length zero (WKB lines need two positions).
    const xy = new Float64Array(Math.max(2, run.length) * 2);
    for (let k = 0; k < run.length; k++) {
      xy[2 * k] = lon[run[k]!]!;
      xy[2 * k + 1] = lat[run[k]!]!;
    }
    if (run.length === 1) xy.copyWithin(2, 0, 2);
    return xy;
  });
  if (lines.length === 0) return wkbLineString([0, 0, 0, 0]);
  return lines.length === 1 ? wkbLineString(lines[0]!) : wkbMultiLineString(lines);
}

/**
 * Smallest largest-offset (degrees, about 0.1 m) from which {@link largestOffset} skips points by their
 * distance from the segment's line: the distance it computes for a point is off from the exact one by
 * at most about 3e-13 degrees (coordinates up to 360 degrees apart, rounded to 2^-53), far under
 * {@link LINE_SKIP_MARGIN} of anything this large, so a point skipped could not have won.
 */
const LINE_SKIP_MIN = 1e-6;

/** Relative margin of the line test (its square): 1e-5 of 1e-6 degrees is 1e-11, above 3e-13. */
const LINE_SKIP_MARGIN = 2e-5;

/**
 * Largest distance from a valid point between two vertices to their segment. The square of a candidate
 * is compared first; `Math.hypot` runs only for points that may beat the largest so far, so the value
 * is the one {@link segmentDistance} gives.
 */
function largestOffset(lon: Float64Array, lat: Float64Array, runs: readonly number[][]): number {
  let worst = 0;
  let bound = 0;
  // Square of the distance from the segment's line under which a point within the segment's span
  // cannot beat the largest so far (0 until that is at least LINE_SKIP_MIN).
  let lineBound = 0;
  for (const v of runs) {
    for (let k = 0; k + 1 < v.length; k++) {
      const a = v[k]!;
      const b = v[k + 1]!;
      const ax = lon[a]!;
      const ay = lat[a]!;
      const dx = lon[b]! - ax;
      const dy = lat[b]! - ay;
      const len2 = dx * dx + dy * dy;
      for (let i = a + 1; i < b; i++) {
        const px = lon[i]!;
        const py = lat[i]!;
        if (!validLonLat(px, py)) continue;
        const qx = px - ax;
        const qy = py - ay;
        const dot = qx * dx + qy * dy;
        if (dot >= 0 && dot <= len2) {
          // Within the span the distance is the line's, |cross| / |d|: compared without a division.
          const cross = qx * dy - qy * dx;
          if (cross * cross < lineBound * len2) continue;
        }
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, dot / len2));
        const ex = px - (ax + t * dx);
        const ey = py - (ay + t * dy);
        // Below the bound (the square of the largest so far, less a margin far above rounding) it cannot win.
        if (ex * ex + ey * ey < bound) continue;
        const d = Math.hypot(ex, ey);
        if (d > worst) {
          worst = d;
          bound = d * d * (1 - 1e-9);
          if (d >= LINE_SKIP_MIN) lineBound = d * d * (1 - LINE_SKIP_MARGIN);
        }
      }
    }
  }
  return worst;
}

/**
 * Footprint of points [start, end) as WKB: a LineString through some of them (about
 * {@link FOOTPRINT_MAX_VERTICES}), or a MultiLineString when the track crosses the antimeridian
 * or has holes wider than {@link FOOTPRINT_GAP_DEGREES}.
 */
export function footprintOf(lon: Float64Array, lat: Float64Array, start: number, end: number): Uint8Array {
  return footprintWkb(lon, lat, footprintVertices(lon, lat, start, end));
}

/** Planar distance (degrees) from (px, py) to the segment (ax, ay)-(bx, by). */
export function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Largest planar distance (lon/lat degrees) from a valid point in [start, end) to the footprint
 * line: a query may skip the chunk when the footprint is farther than this from its AOI.
 */
export function footprintError(lon: Float64Array, lat: Float64Array, start: number, end: number): number {
  return largestOffset(lon, lat, footprintVertices(lon, lat, start, end));
}
