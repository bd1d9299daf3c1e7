/** Per-chunk geography from flat coordinate arrays: bbox, footprint line, H3 cells. */
import type { Bbox } from "../store/geo.js";
import { validLonLat } from "../store/h3.js";
import { wkbLineString, wkbMultiLineString } from "../store/wkb.js";

/** Most vertices kept in a chunk's footprint line; 10 000 segments (200 km) keep a vertex every ~3 km. */
export const FOOTPRINT_MAX_VERTICES = 64;

export { trackCells as h3CellsOf, validLonLat } from "../store/h3.js";

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
 * Footprint of points [start, end) as WKB: a LineString through at most
 * {@link FOOTPRINT_MAX_VERTICES} of them, split into a MultiLineString where the track crosses the
 * antimeridian (a longitude jump over 180 degrees).
 */
export function footprintOf(lon: Float64Array, lat: Float64Array, start: number, end: number): Uint8Array {
  const stride = Math.max(1, Math.ceil((end - start) / (FOOTPRINT_MAX_VERTICES - 1)));
  const parts: number[][] = [[]];
  let prev = Number.NaN;
  for (let i = start; i < end; i += stride) {
    addVertex(i);
  }
  if ((end - 1 - start) % stride !== 0) addVertex(end - 1);
  const lines = parts.filter((p) => p.length >= 4);
  if (lines.length === 0) {
    const single = parts.find((p) => p.length === 2) ?? [0, 0];
    return wkbLineString([...single, ...single]);
  }
  return lines.length === 1 ? wkbLineString(lines[0]!) : wkbMultiLineString(lines);

  function addVertex(i: number) {
    const x = lon[i]!;
    const y = lat[i]!;
    if (!validLonLat(x, y)) return;
    if (Math.abs(x - prev) > 180) parts.push([]);
    parts[parts.length - 1]!.push(x, y);
    prev = x;
  }
}
