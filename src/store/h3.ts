/** H3 cells of the store: per-chunk cells along a track, and the cover of a query polygon. */

import {
  allInDisc,
  type CellDisc,
  type CellHexagon,
  type CellShape,
  hexagonOf,
  inHexagon,
  innerDisc,
} from "./cell-disc.js";
import {
  basePath,
  cellOf,
  type FaceHexagon,
  hexagonOnFace,
  hexagonsTouch,
  inCellHexagon,
  lastCell,
} from "./h3-grid.js";
import {
  areNeighborCells,
  cellToBoundary,
  cellToLatLng,
  getIcosahedronFaces,
  getResolution,
  gridDisk,
  gridPathCells,
  isPentagon,
  POLYGON_TO_CELLS_FLAGS,
  polygonToCellsExperimental,
} from "./h3-lib.js";

/** A cell as the store keeps it: the H3 index as an unsigned 64-bit integer. */
export const cellToBigint = (cell: string): bigint => BigInt(`0x${cell}`);

/** True for a usable coordinate pair (fill values and NaN are skipped everywhere). */
export function validLonLat(lon: number, lat: number): boolean {
  return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90;
}

/**
 * Points between two sampled points of {@link trackCells}. 20 m ATL06 segments, so a 320 m step:
 * far below the ~3 km edge of resolution-6 cells, so both samples in one cell means the nearly
 * straight track between them stays in that (convex) cell. Where the sampled cells differ, the step
 * is bisected down to the neighbouring points where the cell changes.
 */
export const TRACK_SAMPLE_STEP = 16;

/**
 * H3 cells of every valid point in [start, end) at `resolution`, plus the cells on the grid path
 * between consecutive points whose cells are not neighbours (gaps in the track), so the track
 * leaves no hole. Sorted ascending.
 *
 * The track is sampled every {@link TRACK_SAMPLE_STEP} points; a step whose ends share a cell is taken
 * to stay in it, and a step whose ends differ is halved until the points where the cell changes are
 * next to each other (a midpoint inside the hexagon of the cell of either end is that cell's, else it
 * is looked up). A step holding an invalid point is looked up point by point. A step of valid points
 * that ends in the current cell's hexagon (drawn in the gnomonic projection, where its edges are
 * straight), or whose points all lie in a disc inside the cell where no hexagon is drawn
 * (`cell-disc.ts`), stays in it without a lookup; a step that ends in the hexagon of a cell already
 * found next to the current one is in that cell, without a lookup. Hexagons, discs and the neighbours
 * found are kept across calls ({@link CELL_CACHE_SIZE} cells): pair beams 90 m apart and neighbouring
 * chunk rows cross the same cells.
 */
export function trackCells(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
  resolution: number,
): bigint[] {
  const walk = new TrackWalk(lon, lat, resolution);
  let i = start;
  // The previous call's last cell (at this resolution): chunk rows follow one another along a track.
  const near = lastTrackCell?.resolution === resolution ? lastTrackCell.entry : undefined;
  let here = start < end ? walk.cellOrNone(start, near) : undefined;
  if (here !== undefined) walk.record(here);
  while (i < end - 1) {
    const next = Math.min(end - 1, i + TRACK_SAMPLE_STEP);
    if (here !== undefined) {
      if (
        here.face !== undefined || here.hexagon !== undefined
          ? allValid(lon, lat, i + 1, next) && inside(here, lon[next]!, lat[next]!)
          : here.disc !== undefined && allInDisc(here.disc, lon, lat, i + 1, next)
      ) {
        i = next;
        continue;
      }
    }
    const there = walk.cellOrNone(next, here);
    if (here !== undefined && there !== undefined && allValid(lon, lat, i, next)) {
      walk.bisect(i, here, next, there);
    } else {
      for (let k = i + 1; k < next; k++) {
        const cell = walk.cellOrNone(k, undefined);
        if (cell !== undefined) walk.record(cell);
      }
      if (there !== undefined) walk.record(there);
    }
    i = next;
    here = there;
  }
  if (here !== undefined) lastTrackCell = { entry: here, resolution };
  return [...walk.cells].sort(compareBigints);
}

/** Ascending order of bigints (one function for every sort, not a closure per call). */
function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Cells whose shapes and neighbours {@link trackCells} keeps across calls, the oldest dropped first: a
 * full-size ATL06 granule crosses about 900 cells at resolution 6, so this holds the cells of the
 * granules read at a time (4 by default) several times over, in about 3 MB.
 */
export const CELL_CACHE_SIZE = 8192;

/** What a track walk keeps of a cell: its index, its hexagon or disc and the neighbours found. */
interface CellEntry {
  /** The index without its mode and resolution bits, exact as a number ({@link cellKey}). */
  readonly key: number;
  readonly big: bigint;
  /** The index as h3-js writes it, made when an h3-js call needs it. */
  text: string | undefined;
  /** The cell's hexagon on its icosahedron face, where the cell lies wholly inside one face. */
  face: FaceHexagon | undefined;
  /** Elsewhere, the hexagon drawn from h3-js's boundary, or the disc, or neither. */
  hexagon: CellHexagon | undefined;
  /** Where a hexagon is drawn: its six vertices as lat, lon pairs (degrees), as h3-js gives them. */
  vertices: Float64Array | undefined;
  disc: CellDisc | undefined;
  /** Cells found to be neighbours of this one (at most six). */
  readonly neighbours: number[];
}

const cellCache = new Map<number, CellEntry>();

/**
 * A cell's index as a number: its low 52 bits (base cell and digits). The resolution is the count of
 * digits before the first 7 (unused digits are 7, used ones never), so the key is the cell's.
 */
function cellKey(hi: number, lo: number): number {
  return (hi & 0xfffff) * 0x1_0000_0000 + lo;
}

/** The cell's index as h3-js writes it. */
function textOf(entry: CellEntry): string {
  if (entry.text === undefined) entry.text = entry.big.toString(16);
  return entry.text;
}

/** True when the point (valid) lies in the cell's hexagon, either kind. */
function inside(entry: CellEntry, lon: number, lat: number): boolean {
  if (entry.face !== undefined) return inCellHexagon(entry.face, lon, lat);
  return entry.hexagon !== undefined && inHexagon(entry.hexagon, lon, lat);
}

/**
 * The entry of the cell of valid point (lon, lat), found by {@link cellOf}; a new one gets the cell's
 * hexagon on its face where it lies wholly inside one face, else its shape from h3-js.
 */
function entryAt(lon: number, lat: number, resolution: number): CellEntry {
  cellOf(lat, lon, resolution);
  const key = cellKey(lastCell.hi, lastCell.lo);
  let entry = cellCache.get(key);
  if (entry === undefined) {
    if (cellCache.size >= CELL_CACHE_SIZE) cellCache.delete(cellCache.keys().next().value!);
    entry = {
      key,
      big: (BigInt(lastCell.hi) << 32n) | BigInt(lastCell.lo),
      text: undefined,
      face: hexagonOnFace(resolution),
      hexagon: undefined,
      vertices: undefined,
      disc: undefined,
      neighbours: [],
    };
    if (entry.face === undefined) shapeOf(entry, resolution);
    cellCache.set(key, entry);
  }
  return entry;
}

/** The cell of the last point of the last {@link trackCells} call (where the next chunk row starts). */
let lastTrackCell: { entry: CellEntry; resolution: number } | undefined;

/**
 * Draws the cell's hexagon, else the disc inside it (neither where none is used). A hexagon needs
 * two h3-js calls, not {@link cellShape}'s four: a cell of six vertices on one icosahedron face is
 * no pentagon (pentagons meet five faces), and the hexagon is drawn about the centre of its vertices
 * (any centre inside the cell draws its great-circle edges straight).
 */
function shapeOf(entry: CellEntry, resolution: number): void {
  const cell = textOf(entry);
  const boundary = cellToBoundary(cell);
  if (boundary.length === 6 && getIcosahedronFaces(cell).length === 1) {
    const vertices = new Float64Array(12);
    for (let k = 0; k < 6; k++) {
      vertices[2 * k] = boundary[k]![0]!;
      vertices[2 * k + 1] = boundary[k]![1]!;
    }
    const hexagon = hexagonAboutVertices(vertices);
    if (hexagon) {
      entry.hexagon = hexagon;
      entry.vertices = vertices;
      return;
    }
  }
  entry.disc = innerDisc(cellShape(cell, resolution));
}

/**
 * The hexagon {@link trackCells} draws from h3-js's boundary for a cell not wholly inside one face,
 * and its vertices as lat, lon pairs (degrees); undefined where it draws none (pentagons, cells of
 * several faces or with distortion vertices). Here for any cell, for tests.
 */
export function trackHexagon(cell: string): { hexagon: CellHexagon; vertices: Float64Array } | undefined {
  const big = cellToBigint(cell);
  const entry: CellEntry = {
    key: Number(big & 0xf_ffff_ffff_ffffn),
    big,
    text: cell,
    face: undefined,
    hexagon: undefined,
    vertices: undefined,
    disc: undefined,
    neighbours: [],
  };
  shapeOf(entry, getResolution(cell));
  return entry.hexagon && entry.vertices && { hexagon: entry.hexagon, vertices: entry.vertices };
}

/** The hexagon drawn about the point of the sphere above the mean of the vertices as unit vectors. */
function hexagonAboutVertices(vertices: Float64Array): CellHexagon | undefined {
  let x = 0;
  let y = 0;
  let z = 0;
  for (let k = 0; k < 12; k += 2) {
    const phi = (vertices[k]! * Math.PI) / 180;
    const lambda = (vertices[k + 1]! * Math.PI) / 180;
    const cosPhi = Math.cos(phi);
    x += cosPhi * Math.cos(lambda);
    y += cosPhi * Math.sin(lambda);
    z += Math.sin(phi);
  }
  const lat0 = (Math.atan2(z, Math.sqrt(x * x + y * y)) * 180) / Math.PI;
  return hexagonOf(lat0, (Math.atan2(y, x) * 180) / Math.PI, vertices);
}

/**
 * Degrees within which two cells' vertices are taken as one (about 0.1 mm; h3-js computes a vertex
 * shared by two cells from each cell alike, to rounding): cells that are not neighbours have no vertex
 * closer than an edge (0.5 m at resolution 15).
 */
const SHARED_VERTEX_DEGREES = 1e-9;

/**
 * True when two hexagons drawn by {@link shapeOf} share two vertices, and so an edge: three cells meet
 * at every vertex of the grid, each a neighbour of the others. False leaves the question to h3-js.
 */
export function shareAnEdge(a: Float64Array, b: Float64Array): boolean {
  let shared = 0;
  for (let i = 0; i < 12; i += 2) {
    for (let j = 0; j < 12; j += 2) {
      if (
        Math.abs(a[i]! - b[j]!) < SHARED_VERTEX_DEGREES &&
        Math.abs(a[i + 1]! - b[j + 1]!) < SHARED_VERTEX_DEGREES
      ) {
        if (++shared === 2) return true;
        break;
      }
    }
  }
  return false;
}

/** Empties the cells {@link trackCells} keeps across calls (for tests; the output never depends on them). */
export function clearTrackCellCache(): void {
  cellCache.clear();
  lastTrackCell = undefined;
}

/**
 * The state of one {@link trackCells} walk and its steps, as methods rather than closures made per
 * call: a closure made per call is a new call target each time, and the optimised code of the caller
 * (index-builder's chunk rows, which inline the walk) was thrown away at every chunk row (96 times over
 * five granules), its loops then running unoptimised.
 */
class TrackWalk {
  /** Cells of the track's points and of grid paths between points whose cells are not neighbours. */
  readonly cells = new Set<bigint>();
  #prev: CellEntry | undefined;

  constructor(
    readonly lon: Float64Array,
    readonly lat: Float64Array,
    readonly resolution: number,
  ) {}

  /** Records the cell of the next point along the track (and the grid path from the last one). */
  record(cell: CellEntry): void {
    const prev = this.#prev;
    if (cell.key === prev?.key) return;
    if (prev !== undefined && !prev.neighbours.includes(cell.key)) {
      if (
        prev.face !== undefined && cell.face !== undefined
          ? hexagonsTouch(prev.face, cell.face)
          : (prev.vertices !== undefined &&
              cell.vertices !== undefined &&
              shareAnEdge(prev.vertices, cell.vertices)) ||
            areNeighborCells(textOf(prev), textOf(cell))
      ) {
        prev.neighbours.push(cell.key);
        cell.neighbours.push(prev.key);
      } else {
        const path = basePath(prev.big, cell.big, this.resolution);
        if (path !== undefined) for (const between of path) this.cells.add(between);
        else
          for (const between of safeGridPath(textOf(prev), textOf(cell)))
            this.cells.add(cellToBigint(between));
      }
    }
    this.cells.add(cell.big);
    this.#prev = cell;
  }

  /**
   * The cell of valid point i: `near` or a neighbour of it found earlier when the point lies in its
   * hexagon, else looked up.
   */
  cellAt(i: number, near: CellEntry | undefined): CellEntry {
    const x = this.lon[i]!;
    const y = this.lat[i]!;
    if (near !== undefined) {
      if (inside(near, x, y)) return near;
      for (const cell of near.neighbours) {
        const entry = cellCache.get(cell);
        if (entry !== undefined && inside(entry, x, y)) return entry;
      }
    }
    return entryAt(x, y, this.resolution);
  }

  cellOrNone(i: number, near: CellEntry | undefined): CellEntry | undefined {
    return validLonLat(this.lon[i]!, this.lat[i]!) ? this.cellAt(i, near) : undefined;
  }

  /** Points (a, b] of a valid stretch whose ends lie in cells `ca` (recorded last) and `cb`. */
  bisect(a: number, ca: CellEntry, b: number, cb: CellEntry): void {
    if (ca.key === cb.key) return;
    if (b - a === 1) {
      this.record(cb);
      return;
    }
    const m = (a + b) >>> 1;
    const cm = this.cellBetween(m, ca, cb);
    this.bisect(a, ca, m, cm);
    this.bisect(m, cm, b, cb);
  }

  /** The cell of valid point m between points of cells `ca` and `cb`: one of theirs when it lies in its hexagon. */
  cellBetween(m: number, ca: CellEntry, cb: CellEntry): CellEntry {
    const x = this.lon[m]!;
    const y = this.lat[m]!;
    if (inside(ca, x, y)) return ca;
    if (inside(cb, x, y)) return cb;
    return entryAt(x, y, this.resolution);
  }
}

/**
 * A cell's resolution (given when known: h3-js parses the cell's text for it), pentagon flag, centre,
 * boundary and faces, for {@link innerDisc} and {@link innerHexagon}.
 */
export function cellShape(cell: string, resolution = getResolution(cell)): CellShape {
  return {
    resolution,
    pentagon: isPentagon(cell),
    centre: cellToLatLng(cell) as [number, number],
    boundary: cellToBoundary(cell) as [number, number][],
    faces: getIcosahedronFaces(cell).length,
  };
}

/** True when every point in [from, to] is valid ({@link validLonLat}, written out: this runs once per step). */
function allValid(lon: Float64Array, lat: Float64Array, from: number, to: number): boolean {
  for (let k = from; k <= to; k++) {
    const x = lon[k]!;
    const y = lat[k]!;
    if (!(x >= -180 && x <= 180 && y >= -90 && y <= 90)) return false;
  }
  return true;
}

/** A cell and its six (five at a pentagon) neighbours. */
export function cellNeighbours(cell: bigint): bigint[] {
  return gridDisk(cell.toString(16), 1).map(cellToBigint);
}

/** Grid path between two cells; empty when H3 cannot compute one (across pentagons or faces). */
function safeGridPath(a: string, b: string): string[] {
  try {
    return gridPathCells(a, b);
  } catch {
    // H3 has no path across some pentagon distortions; the two end cells are still recorded.
    return [];
  }
}

/**
 * Longest edge, degrees of longitude or latitude, handed to H3 when covering a polygon. AOI edges
 * are straight in lon/lat; over 0.25 degrees a great circle between the same ends parts from such
 * an edge by under 10 m, so the cover does not depend on how H3 joins positions, and the one-cell
 * margin of {@link polygonCover} absorbs the rest.
 */
export const COVER_EDGE_DEG = 0.25;

/**
 * Every cell at `resolution` that overlaps any of the polygons (rings as interleaved lon/lat,
 * closed, edges straight in lon/lat), so no chunk touching the polygon is missed: the H3 cover of
 * the polygon with edges densified to {@link COVER_EDGE_DEG}, plus every neighbour of those cells
 * (a margin of one cell: H3 tests straight-sided cell outlines, and a chunk's cells are those of its
 * points and of grid paths between them). Polygons must span at most 180
 * degrees of longitude and stay off the poles, which H3 polygons cannot express; the caller
 * selects those by bbox. Sorted, without duplicates.
 */
export function polygonCover(polygons: readonly (readonly Float64Array[])[], resolution: number): bigint[] {
  const found = new Set<string>();
  for (const rings of polygons) {
    const latLng = outlineForCover(rings).map(densifiedLatLng);
    for (const c of polygonToCellsExperimental(
      latLng,
      resolution,
      POLYGON_TO_CELLS_FLAGS.containmentOverlapping,
    )) {
      found.add(c);
    }
  }
  const cells = new Set<bigint>();
  for (const c of found) for (const n of gridDisk(c, 1)) cells.add(cellToBigint(n));
  return [...cells].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Most positions of a polygon H3 covers as drawn. H3's fill tests cells against every edge: on a
 * 1 000 000-vertex star it took 58% of a 121 s `query --dry-run` (shared machine, load 20). Larger polygons
 * are covered by their bounding box instead, a superset of their cells (the cover only picks
 * candidates; the footprint test that follows is exact), at the cost of more candidates.
 */
export const MAX_COVER_POSITIONS = 10_000;

/** The rings H3 covers for a polygon: its own, or its bounding box when it has too many positions. */
function outlineForCover(rings: readonly Float64Array[]): readonly Float64Array[] {
  let positions = 0;
  for (const ring of rings) positions += ring.length / 2;
  if (positions <= MAX_COVER_POSITIONS) return rings;
  let [xmin, ymin, xmax, ymax] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of rings) {
    for (let k = 0; k < ring.length; k += 2) {
      xmin = Math.min(xmin, ring[k]!);
      xmax = Math.max(xmax, ring[k]!);
      ymin = Math.min(ymin, ring[k + 1]!);
      ymax = Math.max(ymax, ring[k + 1]!);
    }
  }
  return [Float64Array.of(xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax, xmin, ymin)];
}

/** A ring as [lat, lng] pairs with positions added so that no edge is longer than {@link COVER_EDGE_DEG}. */
function densifiedLatLng(ring: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 2 < ring.length; i += 2) {
    const [x0, y0, x1, y1] = [ring[i]!, ring[i + 1]!, ring[i + 2]!, ring[i + 3]!];
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) / COVER_EDGE_DEG));
    for (let s = 0; s < steps; s++) out.push([y0 + ((y1 - y0) * s) / steps, x0 + ((x1 - x0) * s) / steps]);
  }
  out.push([ring[ring.length - 1]!, ring[ring.length - 2]!]);
  return out;
}
