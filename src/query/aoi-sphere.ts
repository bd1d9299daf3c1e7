/**
 * AOI rings on the globe: reading a ring across the antimeridian or round a pole, and cutting it
 * into planar lon/lat parts within [-180, 180] that the even-odd kernel can test.
 *
 * A ring is first "unwrapped": every edge runs the shorter way round in longitude (an edge of
 * exactly 180 degrees runs the way it is written), so a ring written with a jump from 179 to -179
 * and the same ring written from 179 to 181 are one ring. Its longitudes then either return to the
 * start (winding 0) or have gone once round the Earth's axis (winding +-1, a ring round a pole).
 * Cutting works on the cylinder: each ring is walked edge by edge, its pieces ("chains") are shifted
 * into [-180, 180], and the chain ends on the two cut meridians are joined in order of latitude,
 * which by the even-odd rule is exactly where the region meets the cut. A ring round a pole adds one
 * chain along latitude +-90. The region is unchanged everywhere; points on the cut meridians belong
 * to every part whose closure holds them.
 */
import { orient2d } from "./pip.js";

/** A ring read on the globe. */
export interface UnwrappedRing {
  /** Positions as given, closed: [lon0, lat0, lon1, lat1, ...], degrees. */
  given: Float64Array;
  /** Whole turns (360 degrees) added to each position's longitude so that no edge spans more than 180. */
  turns: Int32Array;
  /** Times the ring goes round the Earth's axis eastwards (negative: westwards): 0 for ordinary rings. */
  winding: number;
}

/**
 * Reads a closed ring (last position equal to the first, or one turn of longitude from it) with
 * every edge the shorter way round in longitude (exactly 180 degrees: the way it is written; from
 * -180 to 180: zero length, the same meridian).
 */
export function unwrapRing(given: Float64Array): UnwrappedRing {
  const n = given.length / 2;
  const turns = new Int32Array(n);
  for (let k = 1; k < n; k++) {
    const prev = given[2 * k - 2]! + 360 * turns[k - 1]!;
    const d = given[2 * k]! + 360 * turns[k - 1]! - prev;
    turns[k] = turns[k - 1]! + (Math.abs(d) > 180 ? -Math.round(d / 360) : 0);
  }
  // A ring written with continuing longitudes may end one turn from where it starts (0 ... 360).
  const x0 = given[0]! + 360 * turns[0]!;
  const xn = given[2 * n - 2]! + 360 * turns[n - 1]!;
  return { given, turns, winding: Math.round((xn - x0) / 360) };
}

/** The unwrapped positions (longitude plus its turns), interleaved; for validation and extents. */
export function unwrappedPositions(ring: UnwrappedRing): Float64Array {
  const out = Float64Array.from(ring.given);
  for (let k = 0; k < ring.turns.length; k++) out[2 * k] = ring.given[2 * k]! + 360 * ring.turns[k]!;
  return out;
}

/** Whether the unwrapped ring is the ring as written, inside [-180, 180]. */
export function isPlanar(ring: UnwrappedRing): boolean {
  if (ring.winding !== 0) return false;
  for (let k = 0; k < ring.turns.length; k++) {
    if (ring.turns[k] !== 0 || Math.abs(ring.given[2 * k]!) > 180) return false;
  }
  return true;
}

/** A ring to cut: read on the globe, with the pole its winding closes through (+1 north, -1 south). */
export interface RingOnGlobe {
  ring: UnwrappedRing;
  /** Required when `ring.winding` is not 0. */
  pole?: 1 | -1;
}

interface Chain {
  /** Interleaved lon/lat in [-180, 180]; open chains start and end on a cut meridian. */
  pts: number[];
}

/** Vertex i of the ring walked past its end (indices beyond the last wrap round with the winding). */
function vertexAt(r: UnwrappedRing, i: number) {
  const n = r.turns.length - 1;
  const j = i % n;
  const lon = r.given[2 * j]!;
  const turn = r.turns[j]! + r.winding * Math.floor(i / n);
  return { lon, lat: r.given[2 * j + 1]!, turn, x: lon + 360 * turn, onCut: Math.abs(lon) === 180 };
}

type Vertex = ReturnType<typeof vertexAt>;

/** Strip index of a vertex off the cut meridians: strip k spans [-180 + 360k, 180 + 360k]. */
const stripOf = (v: Vertex) => v.turn + (v.lon > 180 ? 1 : v.lon < -180 ? -1 : 0);
/** Index j of the cut meridian 180 + 360j a vertex lies on (when `onCut`). */
const cutOf = (v: Vertex) => v.turn + (v.lon === 180 ? 0 : -1);
/** Longitude of a vertex in strip k's frame; exact for the cases that occur (Sterbenz). */
const frameLon = (v: Vertex, k: number) => (v.turn === k ? v.lon : v.lon + 360 * (v.turn - k));

/** Latitude where the edge a-b meets the meridian at unwrapped longitude x, the same for both directions. */
function crossingLat(a: Vertex, b: Vertex, x: number): number {
  const [p, q] = a.x < b.x ? [a, b] : [b, a];
  return p.lat + ((q.lat - p.lat) * (x - p.x)) / (q.x - p.x);
}

/** Cuts one ring into chains in the [-180, 180] frame, or one closed ring when it never leaves its strip. */
function ringChains(r: UnwrappedRing): { chains: Chain[]; closed?: number[] } {
  const n = r.turns.length - 1;
  let s = 0;
  while (s < n && vertexAt(r, s).onCut) s++;
  if (s === n) throw new RangeError("every position of the ring lies on the antimeridian");
  const first = vertexAt(r, s);
  let k = stripOf(first);
  const chains: Chain[] = [];
  let cur: number[] = [frameLon(first, k), first.lat];
  for (let i = s; i < s + n; i++) {
    const p = vertexAt(r, i);
    const q = vertexAt(r, i + 1);
    const startStrip = p.onCut ? (q.x > p.x ? cutOf(p) + 1 : q.x < p.x ? cutOf(p) : k) : stripOf(p);
    if (startStrip !== k) {
      // The ring leaves its strip exactly at a vertex on the antimeridian.
      chains.push({ pts: cur });
      k = startStrip;
      cur = [frameLon(p, k), p.lat];
    }
    const endStrip = q.onCut ? (p.x < q.x ? cutOf(q) : p.x > q.x ? cutOf(q) + 1 : k) : stripOf(q);
    while (k !== endStrip) {
      const east = endStrip > k;
      const y = crossingLat(p, q, 180 + 360 * (east ? k : k - 1));
      cur.push(east ? 180 : -180, y);
      chains.push({ pts: cur });
      k += east ? 1 : -1;
      cur = [east ? -180 : 180, y];
    }
    cur.push(frameLon(q, k), q.lat);
  }
  if (chains.length === 0) return { chains, closed: cur };
  // The walk started off the antimeridian, so its last chain continues into its first.
  chains[0]!.pts = cur.concat(chains[0]!.pts.slice(2));
  return { chains };
}

/**
 * Cuts the rings of one polygon (even-odd over all of them) at the antimeridian, closing rings
 * round a pole through it, and returns planar polygons within [-180, 180]: ring 0 the outer ring
 * (counter-clockwise), the others its holes (clockwise).
 * @throws RangeError when a ring lies wholly on the antimeridian or the cut is inconsistent.
 */
export function cutPolygon(rings: readonly RingOnGlobe[]): Float64Array[][] {
  const chains: Chain[] = [];
  const closed: number[][] = [];
  for (const { ring, pole } of rings) {
    const cut = ringChains(ring);
    if (cut.closed) closed.push(cut.closed);
    chains.push(...cut.chains);
    if (ring.winding !== 0) chains.push({ pts: [180, 90 * (pole ?? 1), -180, 90 * (pole ?? 1)] });
  }
  const out = closed
    .concat(joinChains(chains))
    .map(cleanRing)
    .filter((r) => r !== undefined);
  return groupRings(out);
}

/** Joins chain ends along each cut meridian in pairs by latitude and traces the closed rings. */
function joinChains(chains: Chain[]): number[][] {
  const partner = new Int32Array(chains.length * 2);
  for (const meridian of [-180, 180]) {
    const ends: { id: number; lat: number }[] = [];
    chains.forEach(({ pts }, c) => {
      if (pts[0] === meridian) ends.push({ id: 2 * c, lat: pts[1]! });
      if (pts[pts.length - 2] === meridian) ends.push({ id: 2 * c + 1, lat: pts[pts.length - 1]! });
    });
    if (ends.length % 2 !== 0) throw new RangeError(`odd number of crossings of meridian ${meridian}`);
    ends.sort((a, b) => a.lat - b.lat || a.id - b.id);
    for (let e = 0; e < ends.length; e += 2) {
      partner[ends[e]!.id] = ends[e + 1]!.id;
      partner[ends[e + 1]!.id] = ends[e]!.id;
    }
  }
  const seen = new Uint8Array(chains.length);
  const rings: number[][] = [];
  for (let c0 = 0; c0 < chains.length; c0++) {
    if (seen[c0]) continue;
    const ring: number[] = [];
    let c = c0;
    let forward = true;
    for (;;) {
      seen[c] = 1;
      const pts = chains[c]!.pts;
      if (forward) ring.push(...pts);
      else for (let k = pts.length - 2; k >= 0; k -= 2) ring.push(pts[k]!, pts[k + 1]!);
      const next: number = partner[forward ? 2 * c + 1 : 2 * c]!;
      if (next === 2 * c0) break;
      c = next >> 1;
      forward = (next & 1) === 0;
      if (seen[c]) throw new RangeError("chains at the antimeridian do not close");
    }
    rings.push(ring);
  }
  return rings;
}

/**
 * Drops repeated positions and spikes (an edge running straight back along the previous one, as
 * joins along a meridian can leave), closes the ring; undefined when fewer than 3 positions remain.
 */
function cleanRing(pts: number[]): Float64Array | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  const n = pts.length / 2;
  for (let k = 0; k < n; k++) {
    const x = pts[2 * k]!;
    const y = pts[2 * k + 1]!;
    xs.push(x);
    ys.push(y);
    for (;;) {
      const m = xs.length;
      if (m >= 2 && xs[m - 1] === xs[m - 2] && ys[m - 1] === ys[m - 2]) {
        xs.pop();
        ys.pop();
        continue;
      }
      if (m >= 3 && isSpike(xs[m - 3]!, ys[m - 3]!, xs[m - 2]!, ys[m - 2]!, xs[m - 1]!, ys[m - 1]!)) {
        xs.splice(m - 2, 1);
        ys.splice(m - 2, 1);
        continue;
      }
      break;
    }
  }
  // The same at the seam where the ring closes.
  for (let changed = true; changed && xs.length >= 3; ) {
    changed = false;
    const m = xs.length;
    if (xs[0] === xs[m - 1] && ys[0] === ys[m - 1]) {
      xs.pop();
      ys.pop();
      changed = true;
    } else if (isSpike(xs[m - 2]!, ys[m - 2]!, xs[m - 1]!, ys[m - 1]!, xs[0]!, ys[0]!)) {
      xs.pop();
      ys.pop();
      changed = true;
    } else if (isSpike(xs[m - 1]!, ys[m - 1]!, xs[0]!, ys[0]!, xs[1]!, ys[1]!)) {
      xs.shift();
      ys.shift();
      changed = true;
    }
  }
  if (xs.length < 3 || ringArea(xs, ys) === 0) return undefined;
  const ring = new Float64Array(xs.length * 2 + 2);
  xs.forEach((x, k) => {
    ring[2 * k] = x;
    ring[2 * k + 1] = ys[k]!;
  });
  ring[2 * xs.length] = xs[0]!;
  ring[2 * xs.length + 1] = ys[0]!;
  return ring;
}

/** Whether p -> q -> r turns straight back (collinear, r back towards p). */
function isSpike(px: number, py: number, qx: number, qy: number, rx: number, ry: number): boolean {
  return orient2d(px, py, qx, qy, rx, ry) === 0 && (rx - qx) * (qx - px) + (ry - qy) * (qy - py) < 0;
}

/** Twice the signed area (shoelace) of an open ring of xs/ys: positive when counter-clockwise. */
function ringArea(xs: readonly number[], ys: readonly number[]): number {
  let a = 0;
  for (let k = 0, j = xs.length - 1; k < xs.length; j = k++) a += (xs[j]! - xs[k]!) * (ys[j]! + ys[k]!);
  return a;
}

function signedArea(ring: Float64Array): number {
  let a = 0;
  for (let k = 0; k + 2 < ring.length; k += 2) a += ring[k]! * ring[k + 3]! - ring[k + 2]! * ring[k + 1]!;
  return a;
}

function reversed(ring: Float64Array): Float64Array {
  const out = new Float64Array(ring.length);
  for (let k = 0; k < ring.length; k += 2) {
    out[ring.length - 2 - k] = ring[k]!;
    out[ring.length - 1 - k] = ring[k + 1]!;
  }
  return out;
}

/** -1 outside, 0 on the boundary, 1 inside a closed ring (even-odd, exact). */
export function ringLocation(ring: Float64Array, px: number, py: number): -1 | 0 | 1 {
  let inside = false;
  for (let k = 0; k + 2 < ring.length; k += 2) {
    const [x1, y1, x2, y2] = [ring[k]!, ring[k + 1]!, ring[k + 2]!, ring[k + 3]!];
    const o = orient2d(x1, y1, x2, y2, px, py);
    if (
      o === 0 &&
      Math.min(x1, x2) <= px &&
      px <= Math.max(x1, x2) &&
      Math.min(y1, y2) <= py &&
      py <= Math.max(y1, y2)
    ) {
      return 0;
    }
    if (y1 > py !== y2 > py && o > 0 === y2 > y1) inside = !inside;
  }
  return inside ? 1 : -1;
}

/** Whether ring a lies inside ring b, judged at a's first position off b's boundary. */
function liesInside(a: Float64Array, b: Float64Array): boolean {
  for (let k = 0; k + 2 < a.length; k += 2) {
    const where = ringLocation(b, a[k]!, a[k + 1]!);
    if (where !== 0) return where === 1;
  }
  return false;
}

/** Groups disjoint or nested rings into polygons: even nesting depth starts a polygon, odd is a hole of its parent. */
function groupRings(rings: Float64Array[]): Float64Array[][] {
  const contains = rings.map((a, i) => rings.map((b, j) => i !== j && liesInside(a, b)));
  const depth = contains.map((row) => row.filter(Boolean).length);
  const polygons = new Map<number, Float64Array[]>();
  rings.forEach((ring, i) => {
    if (depth[i]! % 2 === 0) polygons.set(i, [signedArea(ring) < 0 ? reversed(ring) : ring]);
  });
  rings.forEach((ring, i) => {
    if (depth[i]! % 2 === 0) return;
    const parent = contains[i]!.findIndex((inside, j) => inside && depth[j] === depth[i]! - 1);
    polygons.get(parent)?.push(signedArea(ring) > 0 ? reversed(ring) : ring);
  });
  return [...polygons.values()];
}
