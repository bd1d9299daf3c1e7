import type { Aoi } from "./aoi.js";

/*
 * Point-in-polygon kernel: even-odd ray casting over interleaved Float64Array rings, with the
 * boundary (edges and vertices of every ring, holes included) counted as inside. Edges are
 * straight lines in lon/lat degrees (planar, as in the brute-force oracle), not great circles.
 * AOIs across the antimeridian or round a pole reach here already cut at +-180 and closed along
 * latitude +-90 (see `parseAoi`), so the test stays planar; a point on +-180 is inside when a part
 * touching it holds it. Boundary detection is exact: the orientation test falls back to exact
 * integer arithmetic whenever the floating-point result is too close to zero to trust its sign.
 *
 * Measured (Node 20, 2-core VM, warm, 1e6 random points): the 5-vertex Greenland AOI takes
 * 24-34 ms with points spread over a box 4x its bbox (25% inside) and 35-58 ms with every point
 * inside its bbox; a 64-vertex star takes 360-380 ms, against 290-350 ms for a plain
 * floating-point ray cast without exact boundaries and about 410 ms for turf's
 * booleanPointInPolygon on the same machine.
 */

/** Unit roundoff of IEEE 754 binary64. */
const EPSILON = 2 ** -53;
/** Relative error bound of the floating-point orientation determinant (Shewchuk 1997, bound A). */
const ORIENT_ERROR_BOUND = (3 + 16 * EPSILON) * EPSILON;
/** Absolute slack for products that underflow into subnormals (their absolute error is <= 2^-1075). */
const ORIENT_UNDERFLOW_SLACK = 2 ** -1060;

/**
 * Orientation of the triangle (a, b, c): positive when c lies left of the directed line a -> b
 * (counter-clockwise), negative when right, exactly 0 when the three points are collinear.
 * Only the sign is meaningful; it is always exact.
 */
export function orient2d(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const left = (ax - cx) * (by - cy);
  const right = (ay - cy) * (bx - cx);
  const det = left - right;
  const bound = ORIENT_ERROR_BOUND * (Math.abs(left) + Math.abs(right)) + ORIENT_UNDERFLOW_SLACK;
  if (det > bound || -det > bound) return det;
  return orient2dExact(ax, ay, bx, by, cx, cy);
}

const exponentView = new DataView(new ArrayBuffer(8));

/** Splits a finite double into an integer mantissa and a power-of-two exponent: v = m * 2^e. */
function splitDouble(v: number): { m: bigint; e: number } {
  exponentView.setFloat64(0, v, true);
  const hi = exponentView.getUint32(4, true);
  const lo = exponentView.getUint32(0, true);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = biased === 0 ? -1074 : biased - 1075;
  return { m: hi >>> 31 ? -mantissa : mantissa, e };
}

/** Exact sign (-1, 0, 1) of the orientation determinant, computed on scaled BigInt integers. */
function orient2dExact(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const parts = [ax, ay, bx, by, cx, cy].map(splitDouble);
  let minE = Number.POSITIVE_INFINITY;
  for (const p of parts) if (p.m !== 0n && p.e < minE) minE = p.e;
  if (minE === Number.POSITIVE_INFINITY) return 0;
  const [iax, iay, ibx, iby, icx, icy] = parts.map((p) => p.m << BigInt(p.e - minE)) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const det = (iax - icx) * (iby - icy) - (iay - icy) * (ibx - icx);
  return det > 0n ? 1 : det < 0n ? -1 : 0;
}

/**
 * Even-odd test of one polygon (all its rings together). Returns true when (px, py) is inside or
 * on any ring's boundary.
 */
function pointInRings(rings: readonly Float64Array[], px: number, py: number): boolean {
  let inside = false;
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r]!;
    let x1 = ring[0]!;
    let y1 = ring[1]!;
    for (let k = 2; k < ring.length; k += 2) {
      const x2 = ring[k]!;
      const y2 = ring[k + 1]!;
      if (y1 > py !== y2 > py) {
        // The edge straddles the horizontal line through p (half-open in y, so a vertex on the
        // line is counted once). Decide with comparisons alone when the edge is wholly on one side.
        if (x1 > px && x2 > px) {
          inside = !inside;
        } else if (x1 >= px || x2 >= px) {
          const s = orient2d(x1, y1, x2, y2, px, py);
          if (s === 0) return true;
          if (s > 0 === y2 > y1) inside = !inside;
        }
      } else if (y1 === py) {
        if (y2 === py) {
          if ((x1 <= px && px <= x2) || (x2 <= px && px <= x1)) return true;
        } else if (x1 === px) {
          return true;
        }
      }
      x1 = x2;
      y1 = y2;
    }
  }
  return inside;
}

/**
 * Whether the point (lon, lat), in degrees, is inside the AOI: even-odd rule per polygon (outer
 * ring minus holes, edges straight in lon/lat), inside a MultiPolygon when inside any of its
 * polygons, and points on any ring's edge or vertex (holes included) count as inside. NaN
 * coordinates are outside.
 */
export function pointInAoi(aoi: Aoi, lon: number, lat: number): boolean {
  const [xmin, ymin, xmax, ymax] = aoi.bbox;
  if (!(lon >= xmin && lon <= xmax && lat >= ymin && lat <= ymax)) return false;
  for (const polygon of aoi.polygons) {
    const b = polygon.bbox;
    if (lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3] && pointInRings(polygon.rings, lon, lat)) {
      return true;
    }
  }
  return false;
}

/**
 * Marks the points inside the AOI, with the same rule as {@link pointInAoi}: `out[i]` is 1 when
 * (`lon[i]`, `lat[i]`) is inside or on the boundary, else 0. Each polygon's bbox is checked before
 * its rings.
 *
 * @param lon longitudes in degrees
 * @param lat latitudes in degrees, same length as `lon`
 * @param out where to write; allocated with `lon.length` when absent
 * @returns `out`
 * @throws RangeError when `lat` or `out` does not have the length of `lon`
 */
export function pointsInAoi(aoi: Aoi, lon: Float64Array, lat: Float64Array, out?: Uint8Array): Uint8Array {
  const n = lon.length;
  if (lat.length !== n) throw new RangeError(`lat has ${lat.length} values but lon has ${n}`);
  const result = out ?? new Uint8Array(n);
  if (result.length !== n) throw new RangeError(`out has ${result.length} values but lon has ${n}`);
  const polygons = aoi.polygons;
  const np = polygons.length;
  const boxes = new Float64Array(np * 4);
  for (let p = 0; p < np; p++) boxes.set(polygons[p]!.bbox, p * 4);
  const [xmin, ymin, xmax, ymax] = aoi.bbox;
  for (let i = 0; i < n; i++) {
    const x = lon[i]!;
    const y = lat[i]!;
    let hit = 0;
    // Written as negated conjunctions so that NaN coordinates fall outside.
    if (x >= xmin && x <= xmax && y >= ymin && y <= ymax) {
      for (let p = 0; p < np; p++) {
        const o = p * 4;
        if (x >= boxes[o]! && y >= boxes[o + 1]! && x <= boxes[o + 2]! && y <= boxes[o + 3]!) {
          if (pointInRings(polygons[p]!.rings, x, y)) {
            hit = 1;
            break;
          }
        }
      }
    }
    result[i] = hit;
  }
  return result;
}
