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

/** Runs [first, last] of valid points without an antimeridian jump or a gap between neighbours. */
function footprintRuns(lon: Float64Array, lat: Float64Array, start: number, end: number): [number, number][] {
  const runs: [number, number][] = [];
  let first = -1;
  let last = -1;
  for (let i = start; i < end; i++) {
    const x = lon[i]!;
    const y = lat[i]!;
    if (!validLonLat(x, y)) continue;
    const broken =
      last >= 0 &&
      (Math.abs(x - lon[last]!) > 180 || Math.hypot(x - lon[last]!, y - lat[last]!) > FOOTPRINT_GAP_DEGREES);
    if (first < 0 || broken) {
      if (first >= 0) runs.push([first, last]);
      first = i;
    }
    last = i;
  }
  if (first >= 0) runs.push([first, last]);
  return runs;
}

/** Footprint vertices: every `stride`-th point of each run plus its last point, per run. */
export function footprintVertices(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
): number[][] {
  const stride = Math.max(1, Math.ceil((end - start) / (FOOTPRINT_MAX_VERTICES - 1)));
  return footprintRuns(lon, lat, start, end).map(([first, last]) => {
    const out: number[] = [];
    for (let i = first; i <= last; i += stride) if (validLonLat(lon[i]!, lat[i]!)) out.push(i);
    if (out[out.length - 1] !== last) out.push(last);
    return out;
  });
}

/**
 * Footprint of points [start, end) as WKB: a LineString through some of them (about
 * {@link FOOTPRINT_MAX_VERTICES}), or a MultiLineString when the track crosses the antimeridian
 * or has holes wider than {@link FOOTPRINT_GAP_DEGREES}.
 */
export function footprintOf(lon: Float64Array, lat: Float64Array, start: number, end: number): Uint8Array {
  const lines = footprintVertices(lon, lat, start, end).map((run) => {
    const xy = run.flatMap((i) => [lon[i]!, lat[i]!]);
    return xy.length === 2 ? [...xy, ...xy] : xy;
  });
  if (lines.length === 0) return wkbLineString([0, 0, 0, 0]);
  return lines.length === 1 ? wkbLineString(lines[0]!) : wkbMultiLineString(lines);
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
  let worst = 0;
  for (const v of footprintVertices(lon, lat, start, end)) {
    for (let k = 0; k + 1 < v.length; k++) {
      const a = v[k]!;
      const b = v[k + 1]!;
      for (let i = a + 1; i < b; i++) {
        if (!validLonLat(lon[i]!, lat[i]!)) continue;
        const d = segmentDistance(lon[i]!, lat[i]!, lon[a]!, lat[a]!, lon[b]!, lat[b]!);
        if (d > worst) worst = d;
      }
    }
  }
  return worst;
}
