/** Refining candidate chunks with their footprint line: pure planar geometry in lon/lat degrees. */

import type { Aoi } from "./aoi.js";
import { edgeGridOf, someEdgeNear } from "./aoi-edges.js";
import { pointInAoi } from "./pip.js";

/** Parts of a WKB LineString or MultiLineString (little- or big-endian) as interleaved lon/lat. */
export function footprintParts(wkb: Uint8Array): Float64Array[] | undefined {
  if (wkb.length < 9) return undefined;
  const view = new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength);
  const line = (at: number): { xy: Float64Array; end: number } | undefined => {
    const le = view.getUint8(at) === 1;
    if (view.getUint32(at + 1, le) !== 2) return undefined;
    const n = view.getUint32(at + 5, le);
    if (at + 9 + n * 16 > wkb.length) return undefined;
    const xy = new Float64Array(n * 2);
    for (let i = 0; i < n * 2; i++) xy[i] = view.getFloat64(at + 9 + i * 8, le);
    return { xy, end: at + 9 + n * 16 };
  };
  const le = view.getUint8(0) === 1;
  const type = view.getUint32(1, le);
  if (type === 2) {
    const one = line(0);
    return one ? [one.xy] : undefined;
  }
  if (type !== 5) return undefined;
  const parts: Float64Array[] = [];
  let at = 9;
  for (let k = 0; k < view.getUint32(5, le); k++) {
    const next = line(at);
    if (!next) return undefined;
    parts.push(next.xy);
    at = next.end;
  }
  return parts;
}

function orient(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

function segmentsIntersect(a: number[], b: number[]): boolean {
  const [ax, ay, bx, by] = a as [number, number, number, number];
  const [cx, cy, dx, dy] = b as [number, number, number, number];
  const d1 = orient(cx, cy, dx, dy, ax, ay);
  const d2 = orient(cx, cy, dx, dy, bx, by);
  const d3 = orient(ax, ay, bx, by, cx, cy);
  const d4 = orient(ax, ay, bx, by, dx, dy);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

function pointSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Planar distance between two segments (0 when they cross). */
function segmentSegment(a: number[], b: number[]): number {
  if (segmentsIntersect(a, b)) return 0;
  const [ax, ay, bx, by] = a as [number, number, number, number];
  const [cx, cy, dx, dy] = b as [number, number, number, number];
  return Math.min(
    pointSegment(ax, ay, cx, cy, dx, dy),
    pointSegment(bx, by, cx, cy, dx, dy),
    pointSegment(cx, cy, ax, ay, bx, by),
    pointSegment(dx, dy, ax, ay, bx, by),
  );
}

/**
 * Whether some point within `tolerance` degrees of the footprint line can be inside the AOI: a
 * footprint vertex is inside, or a footprint segment comes within `tolerance` of an AOI edge.
 * Every point of the chunk lies within its recorded footprint error of the line, so `false`
 * proves the chunk holds no answer. Unknown footprints (empty, unparsable) return true.
 */
export function footprintNearAoi(wkb: Uint8Array, tolerance: number, aoi: Aoi): boolean {
  const parts = footprintParts(wkb);
  if (!parts || parts.length === 0 || !(tolerance >= 0)) return true;
  // A little slack for the rounding of the error itself.
  const reach = tolerance * (1 + 1e-9) + 1e-12;
  for (const xy of parts) {
    for (let i = 0; i < xy.length; i += 2) if (pointInAoi(aoi, xy[i]!, xy[i + 1]!)) return true;
    for (let i = 0; i + 3 < xy.length; i += 2) {
      const seg = [xy[i]!, xy[i + 1]!, xy[i + 2]!, xy[i + 3]!];
      for (const polygon of aoi.polygons) {
        const grid = edgeGridOf(polygon);
        if (grid) {
          const near = (x1: number, y1: number, x2: number, y2: number) =>
            segmentSegment(seg, [x1, y1, x2, y2]) <= reach;
          if (someEdgeNear(grid, [seg[0]!, seg[1]!], [seg[2]!, seg[3]!], reach, near)) return true;
          continue;
        }
        for (const ring of polygon.rings) {
          for (let k = 0; k + 3 < ring.length; k += 2) {
            const edge = [ring[k]!, ring[k + 1]!, ring[k + 2]!, ring[k + 3]!];
            if (segmentSegment(seg, edge) <= reach) return true;
          }
        }
      }
    }
  }
  return false;
}
