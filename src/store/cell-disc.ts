/** A disc inside an H3 cell: points in it lie in the cell, found without an H3 lookup. */

/** A disc around a cell's centre, in degrees of latitude, longitudes scaled by the centre's cosine. */
export interface CellDisc {
  lon0: number;
  lat0: number;
  /** cos(lat0): degrees of longitude to degrees of latitude near the centre. */
  scale: number;
  /** Square of the radius, degrees of latitude squared. */
  r2: number;
}

/**
 * Share of a cell's inner radius the disc keeps. A cell's edges are great-circle arcs, drawn here as
 * straight lines in a plane tangent at its centre, where a cell at resolution 4 or finer (under 25 km
 * across) is off by well under 1 % up to 80 degrees of latitude; the other 15 % is margin.
 */
const DISC_SHARE = 0.85;

/** Finest latitude (absolute, degrees) where discs are used; nearer the poles the plane is too coarse. */
const DISC_MAX_LATITUDE = 80;

/** What {@link innerDisc} needs of a cell (from h3-js, which only `h3-lib.ts` imports). */
export interface CellShape {
  resolution: number;
  pentagon: boolean;
  /** Centre as [lat, lon], degrees. */
  centre: readonly [number, number];
  /** Boundary vertices as [lat, lon], degrees, in order. */
  boundary: readonly (readonly [number, number])[];
  /** Icosahedron faces the cell meets (see {@link innerHexagon}); unknown when absent. */
  faces?: number;
}

/**
 * The disc of points surely inside a cell, or undefined where none is used: pentagons, cells coarser
 * than resolution 4, cells beyond {@link DISC_MAX_LATITUDE} or within a cell of the antimeridian.
 */
export function innerDisc(cell: CellShape): CellDisc | undefined {
  if (cell.resolution < 4 || cell.pentagon) return undefined;
  const [lat0, lon0] = cell.centre;
  if (Math.abs(lat0) > DISC_MAX_LATITUDE) return undefined;
  const scale = Math.cos((lat0 * Math.PI) / 180);
  const ring = cell.boundary.map(([lat, lon]) => [(lon - lon0) * scale, lat - lat0] as const);
  if (ring.some(([x]) => Math.abs(x) > 90 * scale)) return undefined;
  let inner = Number.POSITIVE_INFINITY;
  for (let k = 0; k < ring.length; k++) {
    const [ax, ay] = ring[k]!;
    const [bx, by] = ring[(k + 1) % ring.length]!;
    inner = Math.min(inner, distanceToOrigin(ax, ay, bx, by));
  }
  const r = inner * DISC_SHARE;
  return { lon0, lat0, scale, r2: r * r };
}

/** Distance from the origin to the segment (ax, ay)-(bx, by). */
function distanceToOrigin(ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  return Math.hypot(ax + t * dx, ay + t * dy);
}

/** True when every point (lon, lat) in [from, to] lies in the disc (false for NaN and fill values). */
export function allInDisc(
  disc: CellDisc,
  lon: Float64Array,
  lat: Float64Array,
  from: number,
  to: number,
): boolean {
  const { lon0, lat0, scale, r2 } = disc;
  for (let k = from; k <= to; k++) {
    const x = (lon[k]! - lon0) * scale;
    const y = lat[k]! - lat0;
    if (!(x * x + y * y < r2)) return false;
  }
  return true;
}

/**
 * A cell's hexagon in the gnomonic projection centred on the cell, shrunk by a margin: points in it lie
 * in the cell, found without an H3 lookup. H3 draws a cell as a hexagon with straight edges in the
 * gnomonic projection of its icosahedron face, so its edges are great-circle arcs, and any gnomonic
 * projection draws great-circle arcs as straight lines: the hexagon here is the cell's, exact to
 * rounding, which {@link HEXAGON_MARGIN} covers. It holds about 1.5 times the area of the cell's
 * {@link innerDisc}, so a track's step that ends in it needs no lookup far more often.
 */
export interface CellHexagon {
  sinLat0: number;
  cosLat0: number;
  /** Centre longitude, radians. */
  lon0: number;
  /** Per edge: inward unit normal (x, y) and offset, so that a point p is inside when n . p > offset. */
  edges: Float64Array;
}

/**
 * Distance kept from every edge, in gnomonic units (radians near the centre): 1e-7, about 0.6 m, far
 * above the rounding of H3's own projections (about 1e-15) and far below a resolution-6 cell (3 km).
 */
const HEXAGON_MARGIN = 1e-7;

/** Points whose gnomonic projection is this far from the centre (tan 60 degrees) are never inside. */
const MIN_COS_DISTANCE = 0.5;

const RADIANS = Math.PI / 180;

/**
 * The cell's hexagon ({@link CellHexagon}), or undefined where none is used: pentagons, cells that are
 * not plain hexagons (the distortion vertices of resolutions of class III), cells that meet more than
 * one icosahedron face or whose faces are unknown (their edges bend where they cross from face to face).
 */
export function innerHexagon(cell: CellShape): CellHexagon | undefined {
  if (cell.pentagon || cell.boundary.length !== 6 || cell.faces !== 1) return undefined;
  const vertices = new Float64Array(12);
  for (let k = 0; k < 6; k++) {
    vertices[2 * k] = cell.boundary[k]![0];
    vertices[2 * k + 1] = cell.boundary[k]![1];
  }
  return hexagonOf(cell.centre[0], cell.centre[1], vertices);
}

/**
 * The hexagon ({@link CellHexagon}) of a cell of six vertices on one icosahedron face (the caller
 * knows), drawn about (lat0, lon0), degrees, a point inside the cell; `vertices` are lat, lon pairs in
 * order. Undefined when the centre is not inside by more than the margin. Plain loops over numbers:
 * this runs once per cell a track enters.
 */
export function hexagonOf(lat0: number, lon0: number, vertices: Float64Array): CellHexagon | undefined {
  const sinLat0 = Math.sin(lat0 * RADIANS);
  const cosLat0 = Math.cos(lat0 * RADIANS);
  const lambda0 = lon0 * RADIANS;
  // The gnomonic projection of each vertex about (lat0, lon0).
  const xy = new Float64Array(12);
  for (let k = 0; k < 12; k += 2) {
    const phi = vertices[k]! * RADIANS;
    let dl = vertices[k + 1]! * RADIANS - lambda0;
    if (dl > Math.PI) dl -= 2 * Math.PI;
    else if (dl < -Math.PI) dl += 2 * Math.PI;
    const sinPhi = Math.sin(phi);
    const cosPhi = Math.cos(phi);
    const cosDl = Math.cos(dl);
    const cosc = sinLat0 * sinPhi + cosLat0 * cosPhi * cosDl;
    if (!(cosc > MIN_COS_DISTANCE)) return undefined;
    xy[k] = (cosPhi * Math.sin(dl)) / cosc;
    xy[k + 1] = (cosLat0 * sinPhi - sinLat0 * cosPhi * cosDl) / cosc;
  }
  // Counter-clockwise or clockwise: the inward normal is on the left or right of each edge.
  let twiceArea = 0;
  for (let k = 0; k < 12; k += 2) {
    const j = (k + 2) % 12;
    twiceArea += xy[k]! * xy[j + 1]! - xy[j]! * xy[k + 1]!;
  }
  const turn = Math.sign(twiceArea);
  if (turn === 0) return undefined;
  const edges = new Float64Array(18);
  for (let k = 0; k < 6; k++) {
    const ax = xy[2 * k]!;
    const ay = xy[2 * k + 1]!;
    const j = (2 * k + 2) % 12;
    const bx = xy[j]!;
    const by = xy[j + 1]!;
    const length = Math.hypot(bx - ax, by - ay);
    if (!(length > 0)) return undefined;
    const nx = (-(by - ay) / length) * turn;
    const ny = ((bx - ax) / length) * turn;
    const offset = nx * ax + ny * ay + HEXAGON_MARGIN;
    // The centre must be inside every edge, by more than the margin.
    if (!(offset < 0)) return undefined;
    edges[3 * k] = nx;
    edges[3 * k + 1] = ny;
    edges[3 * k + 2] = offset;
  }
  return { sinLat0, cosLat0, lon0: lambda0, edges };
}

/** True when the point (lon, lat), degrees, lies in the hexagon (false for NaN and fill values). */
export function inHexagon(h: CellHexagon, lon: number, lat: number): boolean {
  if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)) return false;
  // The gnomonic projection about the centre: this runs once per step of every track.
  const phi = lat * RADIANS;
  let dl = lon * RADIANS - h.lon0;
  if (dl > Math.PI) dl -= 2 * Math.PI;
  else if (dl < -Math.PI) dl += 2 * Math.PI;
  const sinPhi = Math.sin(phi);
  const cosPhi = Math.cos(phi);
  const cosDl = Math.cos(dl);
  const cosc = h.sinLat0 * sinPhi + h.cosLat0 * cosPhi * cosDl;
  if (!(cosc > MIN_COS_DISTANCE)) return false;
  const x = (cosPhi * Math.sin(dl)) / cosc;
  const y = (h.cosLat0 * sinPhi - h.sinLat0 * cosPhi * cosDl) / cosc;
  const e = h.edges;
  for (let k = 0; k < 18; k += 3) if (!(e[k]! * x + e[k + 1]! * y > e[k + 2]!)) return false;
  return true;
}
