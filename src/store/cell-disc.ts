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

/** What {@link innerDisc} needs of a cell (from h3-js, which only `h3.ts` imports). */
export interface CellShape {
  resolution: number;
  pentagon: boolean;
  /** Centre as [lat, lon], degrees. */
  centre: readonly [number, number];
  /** Boundary vertices as [lat, lon], degrees, in order. */
  boundary: readonly (readonly [number, number])[];
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
