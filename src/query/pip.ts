import type { Aoi } from "./aoi.js";
import { lexicographicOrder } from "./point-order.js";

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

/** {@link edgeCrossing}: the edge does not cross the ray east of the point. */
const MISSES = 0;
/** {@link edgeCrossing}: the edge crosses the ray east of the point (flip inside/outside). */
const CROSSES = 1;
/** {@link edgeCrossing}: the point lies on the edge (inside, boundary included). */
const ON_EDGE = 2;

/**
 * One edge's part in the even-odd test of (px, py): whether it crosses the horizontal ray east of
 * the point (half-open in y, so a vertex on the line is counted once), or holds the point. Decides
 * with comparisons alone when the edge is wholly on one side, with the exact orientation otherwise.
 * Both end vertices count as on the edge, so an edge tested without its neighbour (the edge
 * index's bands) still finds a point on its end vertex.
 */
function edgeCrossing(x1: number, y1: number, x2: number, y2: number, px: number, py: number): number {
  if (y1 > py !== y2 > py) {
    if (x1 > px && x2 > px) return CROSSES;
    if (x1 < px && x2 < px) return MISSES;
    const s = orient2d(x1, y1, x2, y2, px, py);
    if (s === 0) return ON_EDGE;
    return s > 0 === y2 > y1 ? CROSSES : MISSES;
  }
  if (y1 === py) {
    if (y2 === py) return (x1 <= px && px <= x2) || (x2 <= px && px <= x1) ? ON_EDGE : MISSES;
    return x1 === px ? ON_EDGE : MISSES;
  }
  return y2 === py && x2 === px ? ON_EDGE : MISSES;
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
      const c = edgeCrossing(x1, y1, x2, y2, px, py);
      if (c === ON_EDGE) return true;
      if (c === CROSSES) inside = !inside;
      x1 = x2;
      y1 = y2;
    }
  }
  return inside;
}

/**
 * Rings with at least this many edges in all get an edge index; below it the plain loop over every
 * edge is as fast (the index costs a band lookup and an indirection per edge).
 */
export const EDGE_INDEX_MIN_EDGES = 64;

/**
 * A slab index over one polygon's edges: its latitude range cut into equal bands (about four
 * edges each, at most 65 536), with a segment tree over the bands.
 * - An edge with an end vertex in a band is listed in that band (`partial`): a point tests it as
 *   the plain loop does.
 * - The bands strictly between an edge's end bands are ones it crosses from bottom to top; it is
 *   stored at the O(log bands) tree nodes that cover exactly those bands (`spanning`). The edges
 *   crossing all the bands of a node do not cross each other (rings are validated simple and
 *   disjoint), so they are sorted west to east, and a point finds with a binary search (exact
 *   `orient2d`) how many lie east of it (each toggles the even-odd count) or whether it is on one.
 * A point costs its band's few partial edges plus a binary search per tree level, whatever the
 * shape: a star of long spikes or a comb of long teeth, where a horizontal line crosses thousands
 * of edges, costs about what a smooth ring does (bench/aoi-spiky.ts).
 */
interface EdgeIndex {
  ymin: number;
  /** Bands per degree of latitude. */
  scale: number;
  bands: number;
  /** Leaves of the segment tree: a power of two >= bands; node n's children are 2n and 2n + 1, band b is leaf size + b. */
  size: number;
  /** Start of band b's partial edges in `partial` (length bands + 1). */
  partialStart: Uint32Array;
  /** Partial edges as x1, y1, x2, y2, band by band. */
  partial: Float64Array;
  /** Start of node n's spanning edges in `spanning` (length 2 size + 1). */
  spanStart: Uint32Array;
  /** Spanning edges as x, y of the lower then the upper vertex, node by node, each node's west to east. */
  spanning: Float64Array;
}

/** Calls `fn(k)` for every edge k (offset of its first vertex) of every ring, with its end bands. */
function forEachEdge(
  rings: readonly Float64Array[],
  band: (y: number) => number,
  fn: (ring: Float64Array, k: number, a: number, b: number) => void,
): void {
  for (const ring of rings) {
    for (let k = 0; k + 3 < ring.length; k += 2) {
      const a = band(ring[k + 1]!);
      const b = band(ring[k + 3]!);
      fn(ring, k, Math.min(a, b), Math.max(a, b));
    }
  }
}

/** Calls `fn(node)` for the segment tree nodes that exactly cover bands [lo, hi] (inclusive). */
function coverNodes(size: number, lo: number, hi: number, fn: (node: number) => void): void {
  let l = lo + size;
  let r = hi + size + 1;
  while (l < r) {
    if (l & 1) fn(l++);
    if (r & 1) fn(--r);
    l >>= 1;
    r >>= 1;
  }
}

function buildEdgeIndex(rings: readonly Float64Array[], ymin: number, ymax: number): EdgeIndex {
  let total = 0;
  for (const ring of rings) total += ring.length / 2 - 1;
  const bands = Math.max(1, Math.min(1 << 16, Math.ceil(total / 4)));
  let size = 1;
  while (size < bands) size <<= 1;
  const span = ymax - ymin;
  const scale = span > 0 ? bands / span : 0;
  const band = (y: number) => Math.min(bands - 1, Math.max(0, Math.floor((y - ymin) * scale)));
  const partialCount = new Uint32Array(bands + 1);
  const spanCount = new Uint32Array(2 * size + 1);
  forEachEdge(rings, band, (_ring, _k, a, b) => {
    partialCount[a + 1]!++;
    if (b !== a) partialCount[b + 1]!++;
    if (b - a > 1) coverNodes(size, a + 1, b - 1, (node) => spanCount[node + 1]!++);
  });
  for (let i = 0; i < bands; i++) partialCount[i + 1]! += partialCount[i]!;
  for (let i = 0; i < 2 * size; i++) spanCount[i + 1]! += spanCount[i]!;
  const partial = new Float64Array(partialCount[bands]! * 4);
  const spanning = new Float64Array(spanCount[2 * size]! * 4);
  const partialFill = partialCount.slice(0, bands);
  const spanFill = spanCount.slice(0, 2 * size);
  forEachEdge(rings, band, (ring, k, a, b) => {
    const x1 = ring[k]!;
    const y1 = ring[k + 1]!;
    const x2 = ring[k + 2]!;
    const y2 = ring[k + 3]!;
    for (const at of b === a ? [a] : [a, b]) partial.set([x1, y1, x2, y2], partialFill[at]!++ * 4);
    if (b - a > 1) {
      const up = y2 > y1 ? [x1, y1, x2, y2] : [x2, y2, x1, y1];
      coverNodes(size, a + 1, b - 1, (node) => spanning.set(up, spanFill[node]!++ * 4));
    }
  });
  for (let node = 1; node < 2 * size; node++)
    sortWestToEast(spanning, spanCount, node, { size, ymin, scale });
  return { ymin, scale, bands, size, partialStart: partialCount, partial, spanStart: spanCount, spanning };
}

/** Sorts node `node`'s spanning edges by their longitude at the middle latitude of the node's bands. */
function sortWestToEast(
  spanning: Float64Array,
  spanStart: Uint32Array,
  node: number,
  tree: { size: number; ymin: number; scale: number },
): void {
  const from = spanStart[node]!;
  const to = spanStart[node + 1]!;
  if (to - from < 2) return;
  // The node covers bands [first, first + width): its depth tells the width.
  let width = 1;
  let first = node;
  while (first < tree.size) {
    first <<= 1;
    width <<= 1;
  }
  first -= tree.size;
  const y = tree.ymin + (first + width / 2) / tree.scale;
  const keys = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const o = i * 4;
    const [x1, y1, x2, y2] = [spanning[o]!, spanning[o + 1]!, spanning[o + 2]!, spanning[o + 3]!];
    keys[i - from] = x1 + ((x2 - x1) * (y - y1)) / (y2 - y1);
  }
  // A radix sort for the large nodes: a star's long spikes put hundreds of thousands of edges in one.
  const order = lexicographicOrder(keys, new Float64Array(to - from));
  const copy = spanning.slice(from * 4, to * 4);
  for (let i = 0; i < order.length; i++) {
    const [o, c] = [(from + i) * 4, order[i]! * 4];
    spanning[o] = copy[c]!;
    spanning[o + 1] = copy[c + 1]!;
    spanning[o + 2] = copy[c + 2]!;
    spanning[o + 3] = copy[c + 3]!;
  }
}

/** Even-odd test through the edge index, with the same rules as {@link pointInRings}. */
function pointInIndex(index: EdgeIndex, px: number, py: number): boolean {
  const b = Math.min(index.bands - 1, Math.max(0, Math.floor((py - index.ymin) * index.scale)));
  const e = index.partial;
  let inside = false;
  for (let o = index.partialStart[b]! * 4, end = index.partialStart[b + 1]! * 4; o < end; o += 4) {
    const x1 = e[o]!;
    const y1 = e[o + 1]!;
    const x2 = e[o + 2]!;
    const y2 = e[o + 3]!;
    const c = edgeCrossing(x1, y1, x2, y2, px, py);
    if (c === ON_EDGE) return true;
    if (c === CROSSES) inside = !inside;
  }
  for (let node = index.size + b; node >= 1; node >>= 1) {
    const east = eastOf(index, node, px, py);
    if (east < 0) return true;
    if (east & 1) inside = !inside;
  }
  return inside;
}

/**
 * How many of node `node`'s spanning edges (which all straddle the point's latitude) pass east of
 * the point, or -1 when the point is on one of them. Binary search over the west-to-east order:
 * the point is west of (left of, going up) every edge from some position on.
 */
function eastOf(index: EdgeIndex, node: number, px: number, py: number): number {
  const s = index.spanning;
  let lo = index.spanStart[node]!;
  const end = index.spanStart[node + 1]!;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const o = mid * 4;
    const side = orient2d(s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!, px, py);
    if (side === 0) return -1;
    if (side > 0) hi = mid;
    else lo = mid + 1;
  }
  return end - lo;
}

type AoiPolygon = Aoi["polygons"][number];

/**
 * Edge indexes of large polygons, built on first use. A memo of a pure function of the (immutable)
 * polygon, so the query engine, which tests each chunk's points separately, builds it once per AOI.
 */
const edgeIndexes = new WeakMap<AoiPolygon, EdgeIndex | null>();

function edgeIndexOf(polygon: AoiPolygon): EdgeIndex | null {
  let index = edgeIndexes.get(polygon);
  if (index === undefined) {
    let edges = 0;
    for (const ring of polygon.rings) edges += ring.length / 2 - 1;
    index =
      edges >= EDGE_INDEX_MIN_EDGES ? buildEdgeIndex(polygon.rings, polygon.bbox[1], polygon.bbox[3]) : null;
    edgeIndexes.set(polygon, index);
  }
  return index;
}

/** Even-odd test of one polygon, through its edge index when it has one. */
function pointInPolygon(polygon: AoiPolygon, px: number, py: number): boolean {
  const index = edgeIndexOf(polygon);
  return index ? pointInIndex(index, px, py) : pointInRings(polygon.rings, px, py);
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
    if (lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3] && pointInPolygon(polygon, lon, lat)) {
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
          if (pointInPolygon(polygons[p]!, x, y)) {
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
