import { orient2d } from "./pip.js";
import { lexicographicOrder } from "./point-order.js";
import { Treap } from "./treap.js";

/**
 * Pair tests the search for the first meeting pair in west-end order may make once the sweep has
 * found that some pair meets: enough for any ring whose edges overlap little in longitude (a
 * 1 000 000-vertex coastline needs a few million; 10^7 take about a second), and a bound on the
 * quadratic cost of that search on a ring of long spikes, whose message then names the pair the
 * sweep found.
 */
export const ORDERED_SEARCH_BUDGET = 10_000_000;

/** Options of {@link findSelfIntersection}. */
export interface SelfIntersectionOptions {
  /** Whether the last edge is followed by the first (a ring), rather than an open path. Default true. */
  closed?: boolean;
}

/**
 * Finds two edges of a closed ring (or, with `closed: false`, an open path) of interleaved
 * [x0, y0, x1, y1, ...] positions that meet anywhere except at the vertex two consecutive edges
 * share: a crossing, a vertex touching another edge or vertex, a collinear overlap, or a spike
 * folding back along the previous edge. Zero-length edges (repeated positions) are skipped, so the
 * edges on either side of a repeat are consecutive. Exact (`orient2d`).
 *
 * Returns the position indices starting the two edges (lower first), or undefined when the ring
 * is simple. Whether any pair meets is decided by a Shamos-Hoey sweep in O(n log n). The pair named
 * is the one the earlier quadratic search named (edges sorted by west end, the first edge meeting
 * a later one and its first partner), found within {@link ORDERED_SEARCH_BUDGET} pair tests, else
 * the pair the sweep found.
 */
export function findSelfIntersection(
  ring: Float64Array,
  opts: SelfIntersectionOptions = {},
): [number, number] | undefined {
  const edges = ringEdges(ring, opts.closed ?? true);
  if (edges.count < 3) return undefined;
  const witness = findFoldBack(edges) ?? sweepForMeeting(edges);
  if (witness === undefined) return undefined;
  const first = firstMeetingInWestOrder(edges, ORDERED_SEARCH_BUDGET) ?? witness;
  return [edges.starts[first[0]]!, edges.starts[first[1]]!];
}

/**
 * Whether some pair of edges meets, by the sweep alone, with the pair it found as edge numbers
 * (indices among the non-zero-length edges, lower first). For tests comparing the sweep with the
 * ordered search; {@link findSelfIntersection} is the entry point.
 */
export function findMeetingEdges(
  ring: Float64Array,
  opts: SelfIntersectionOptions = {},
): [number, number] | undefined {
  const edges = ringEdges(ring, opts.closed ?? true);
  if (edges.count < 3) return undefined;
  const found = findFoldBack(edges) ?? sweepForMeeting(edges);
  return found === undefined ? undefined : [edges.starts[found[0]]!, edges.starts[found[1]]!];
}

/** The non-zero-length edges of a ring or path, each with its west-to-east (lexicographic) ends. */
interface RingEdges {
  ring: Float64Array;
  closed: boolean;
  count: number;
  /** Position index starting each edge. */
  starts: Int32Array;
  /** Lexicographically smaller end (x, then y) of each edge, then the larger. */
  lx: Float64Array;
  ly: Float64Array;
  rx: Float64Array;
  ry: Float64Array;
}

function ringEdges(ring: Float64Array, closed: boolean): RingEdges {
  const n = ring.length / 2 - 1;
  const starts = new Int32Array(Math.max(n, 0));
  let count = 0;
  for (let k = 0; k < n; k++) {
    if (ring[2 * k] !== ring[2 * k + 2] || ring[2 * k + 1] !== ring[2 * k + 3]) starts[count++] = k;
  }
  const edges: RingEdges = {
    ring,
    closed,
    count,
    starts: starts.subarray(0, count),
    lx: new Float64Array(count),
    ly: new Float64Array(count),
    rx: new Float64Array(count),
    ry: new Float64Array(count),
  };
  for (let e = 0; e < count; e++) {
    const a = 2 * starts[e]!;
    const [ax, ay, bx, by] = [ring[a]!, ring[a + 1]!, ring[a + 2]!, ring[a + 3]!];
    const forward = ax < bx || (ax === bx && ay < by);
    edges.lx[e] = forward ? ax : bx;
    edges.ly[e] = forward ? ay : by;
    edges.rx[e] = forward ? bx : ax;
    edges.ry[e] = forward ? by : ay;
  }
  return edges;
}

/** Whether edges e and f (edge numbers) follow each other along the ring, sharing a vertex. */
function consecutive(edges: RingEdges, e: number, f: number): boolean {
  const [lo, hi] = e < f ? [e, f] : [f, e];
  return hi - lo === 1 || (edges.closed && lo === 0 && hi === edges.count - 1);
}

/** The first pair of consecutive edges that overlap along more than their shared vertex. */
function findFoldBack(edges: RingEdges): [number, number] | undefined {
  const { ring, starts, count } = edges;
  for (let e = 0; e + 1 < count; e++) {
    if (foldsBack(ring, starts[e]!, starts[e + 1]!, false)) return [e, e + 1];
  }
  if (edges.closed && foldsBack(ring, starts[0]!, starts[count - 1]!, true)) return [0, count - 1];
  return undefined;
}

/**
 * Shamos-Hoey: a pair of non-consecutive edges that meet, or undefined when none do, given that no
 * consecutive edges fold back (so consecutive edges meet only at their shared vertex). The sweep
 * visits edge ends in (x, y) order, a line tilted infinitesimally so that it meets a vertical edge
 * at one point; the status holds the edges the line crosses, bottom to top. Until the sweep reaches
 * the first (in that order) point where two non-consecutive edges meet, those edges are disjoint
 * and stay in order, and that point is caught: at a vertex, as an edge holding it in its interior
 * or as ends of non-consecutive edges meeting there; elsewhere, two crossing edges are neighbours
 * in the status just before it, tested when they became neighbours.
 */
function sweepForMeeting(edges: RingEdges): [number, number] | undefined {
  const { count, lx, ly, rx, ry } = edges;
  // Event 2e is edge e's west (lexicographically smaller) end, 2e + 1 its east end.
  const evx = new Float64Array(2 * count);
  const evy = new Float64Array(2 * count);
  for (let e = 0; e < count; e++) {
    [evx[2 * e], evy[2 * e], evx[2 * e + 1], evy[2 * e + 1]] = [lx[e]!, ly[e]!, rx[e]!, ry[e]!];
  }
  const events = lexicographicOrder(evx, evy);
  const ex = (ev: number) => evx[ev]!;
  const ey = (ev: number) => evy[ev]!;
  const status = new Treap(count);
  let root = -1;
  // The event point q, shared with the predicates below so that they are made once.
  let qx = 0;
  let qy = 0;
  // An edge ending at q is through it; saying so directly spares the exact orientation's slow path.
  const side = (t: number) =>
    rx[t] === qx && ry[t] === qy ? 0 : orient2d(lx[t]!, ly[t]!, rx[t]!, ry[t]!, qx, qy);
  const isBelow = (t: number) => side(t) > 0;
  const isThrough = (t: number) => side(t) === 0;
  const byAngle = (a: number, b: number) =>
    -Math.sign(orient2d(qx, qy, rx[a]!, ry[a]!, rx[b]!, ry[b]!)) || a - b;
  const at: number[] = [];
  const starting: number[] = [];
  for (let i = 0; i < events.length; ) {
    qx = ex(events[i]!);
    qy = ey(events[i]!);
    let j = i + 1;
    while (j < events.length && ex(events[j]!) === qx && ey(events[j]!) === qy) j++;
    at.length = 0;
    starting.length = 0;
    let ending = 0;
    for (let k = i; k < j; k++) {
      const e = events[k]! >> 1;
      at.push(e);
      if (events[k]! & 1) ending++;
      else starting.push(e);
    }
    const touching = nonConsecutivePair(edges, at);
    if (touching) return touching;
    // q's place in the status: edges below it, edges through it (which must end there), edges above.
    status.split(root, isBelow);
    const below = status.splitBefore;
    status.split(status.splitAfter, isThrough);
    const through = status.toArray(status.splitBefore);
    const above = status.splitAfter;
    for (const t of through) {
      if (rx[t] === qx && ry[t] === qy) continue;
      // q lies inside edge t; an edge ending at q and consecutive with t would fold back along it.
      const other = at.find((e) => !consecutive(edges, e, t));
      if (other !== undefined) return t < other ? [t, other] : [other, t];
    }
    // Every edge ending at q is in the status and passes through q, unless the order was lost.
    if (through.length !== ending) return firstMeetingInWestOrder(edges, Infinity);
    if (starting.length > 1) starting.sort(byAngle);
    const lower = status.last(below);
    const upper = status.first(above);
    const meeting =
      starting.length === 0
        ? neighboursMeeting(edges, lower, upper)
        : (neighboursMeeting(edges, lower, starting[0]!) ??
          neighboursMeeting(edges, starting[starting.length - 1]!, upper));
    if (meeting) return meeting;
    let middle = -1;
    for (const e of starting) middle = status.merge(middle, status.single(e));
    root = status.merge(status.merge(below, middle), above);
    i = j;
  }
  return undefined;
}

/** The two edges (-1: none), which have just become neighbours in the status, as a pair if they meet. */
function neighboursMeeting(edges: RingEdges, a: number, b: number): [number, number] | undefined {
  if (a === -1 || b === -1 || consecutive(edges, a, b) || !edgesMeet(edges, a, b)) return undefined;
  return a < b ? [a, b] : [b, a];
}

/** Two edges among those with an end at one point that do not follow each other along the ring. */
function nonConsecutivePair(edges: RingEdges, at: readonly number[]): [number, number] | undefined {
  for (let a = 0; a < at.length; a++) {
    for (let b = a + 1; b < at.length; b++) {
      const [e, f] = [at[a]!, at[b]!];
      if (!consecutive(edges, e, f)) return e < f ? [e, f] : [f, e];
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

/** Whether (px, py), known collinear with segment a-b, lies within its closed extent. */
function withinSegment(ax: number, ay: number, bx: number, by: number, px: number, py: number): boolean {
  return Math.min(ax, bx) <= px && px <= Math.max(ax, bx) && Math.min(ay, by) <= py && py <= Math.max(ay, by);
}

/** Whether edges e and f, as closed segments, share at least one point (exact). */
function edgesMeet(edges: RingEdges, e: number, f: number): boolean {
  const { lx, ly, rx, ry } = edges;
  const [ax, ay, bx, by] = [lx[e]!, ly[e]!, rx[e]!, ry[e]!];
  const [cx, cy, dx, dy] = [lx[f]!, ly[f]!, rx[f]!, ry[f]!];
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
 * The search the sweep replaced, kept to name the same pair: edges sorted by west end, each tested
 * against the later ones overlapping it in x and y; the first pair that meets (a fold-back for
 * consecutive edges). Gives up (undefined) after `budget` pair tests.
 */
function firstMeetingInWestOrder(edges: RingEdges, budget: number): [number, number] | undefined {
  const { count, lx, ly, rx, ry } = edges;
  const order = Int32Array.from({ length: count }, (_, e) => e).sort((a, b) => lx[a]! - lx[b]! || a - b);
  let tests = 0;
  for (let oi = 0; oi < count; oi++) {
    const e = order[oi]!;
    const [south, north] = ly[e]! < ry[e]! ? [ly[e]!, ry[e]!] : [ry[e]!, ly[e]!];
    for (let oj = oi + 1; oj < count; oj++) {
      const f = order[oj]!;
      if (lx[f]! > rx[e]!) break;
      if (++tests > budget) return undefined;
      if (Math.max(ly[f]!, ry[f]!) < south || Math.min(ly[f]!, ry[f]!) > north) continue;
      const pair: [number, number] = e < f ? [e, f] : [f, e];
      if (consecutive(edges, e, f)) {
        const wrapped = pair[1] - pair[0] !== 1;
        if (foldsBack(edges.ring, edges.starts[pair[0]]!, edges.starts[pair[1]]!, wrapped)) return pair;
        continue;
      }
      if (edgesMeet(edges, e, f)) return pair;
    }
  }
  return undefined;
}
