/**
 * Coordinate reference systems an AOI may be drawn in: lon/lat degrees (OGC:CRS84), or polar
 * stereographic metres for the ice sheets (EPSG:3413 north, for Greenland and the Arctic;
 * EPSG:3031 south, for Antarctica). Projected rings become lon/lat rings here, before the AOI is
 * validated and cut on the globe.
 *
 * An AOI keeps edges straight in lon/lat (see `parseAoi`), while an edge drawn in a projection is
 * straight in the projection, which in lon/lat is a curve. Each projected edge is therefore
 * densified before it is inverse-projected: it is bisected until the straight lon/lat chord
 * between two consecutive vertices strays at most {@link DENSIFY_TOLERANCE_M} from the projected
 * edge. A fixed step (say one vertex a kilometre) would be both too coarse and too fine: a 1 km
 * chord passing 1 km from the pole strays over 100 m from the edge, while at 63 N a 100 km square
 * needs 75 vertices, not 400. The pole is a vertex of its own: edges through it are meridians,
 * and it becomes an edge along latitude +-90 in lon/lat.
 */
import { createRequire } from "node:module";
import type proj4Module from "proj4";
import { orient2d } from "./pip.js";

/**
 * proj4, loaded on the first projected AOI: it costs 60-70 ms of CPU to load, which every query with
 * a lon/lat AOI would otherwise pay before its first request (test/cli/startup.test.ts). Its package
 * is CommonJS, so a synchronous require keeps AOI parsing synchronous.
 */
function loadProj4(): typeof proj4Module {
  return createRequire(import.meta.url)("proj4") as typeof proj4Module;
}

/** How an AOI's coordinates are read: lon/lat degrees, or one of the polar stereographic projections. */
export type AoiCrs = "OGC:CRS84" | ProjectedCrs["code"];

/** A polar stereographic projection an AOI can be given in, coordinates (x, y) in metres. */
export interface ProjectedCrs {
  code: "EPSG:3413" | "EPSG:3031";
  /** What it is, for messages. */
  title: string;
  /** The pole at the projection's centre: 1 north, -1 south. */
  pole: 1 | -1;
  /** Projection parameters, as PROJ writes them. */
  proj4: string;
}

/** EPSG:3413, NSIDC Sea Ice Polar Stereographic North: true scale at 70 N, y axis along 135 E. */
export const EPSG_3413: ProjectedCrs = {
  code: "EPSG:3413",
  title: "NSIDC sea ice polar stereographic north",
  pole: 1,
  proj4: "+proj=stere +lat_0=90 +lat_ts=70 +lon_0=-45 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
};

/** EPSG:3031, Antarctic Polar Stereographic: true scale at 71 S, y axis along 0 E. */
export const EPSG_3031: ProjectedCrs = {
  code: "EPSG:3031",
  title: "Antarctic polar stereographic",
  pole: -1,
  proj4: "+proj=stere +lat_0=-90 +lat_ts=-71 +lon_0=0 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
};

/** The CRS names accepted, for messages. */
export const SUPPORTED_CRS = "EPSG:4326 (CRS84), EPSG:3413, EPSG:3031";

/**
 * Largest distance, in metres of the projection, between a projected edge and the straight
 * lon/lat chord that stands for it. 1 m is well below ATL06's 20 m segment spacing and the few
 * metres of ICESat-2 geolocation error. The chord error shrinks with the square of the chord's
 * length, so a tenth of it would take about 3 times the vertices, and every vertex costs each
 * point-in-AOI test: a 100 km square at 63 N takes 75 vertices, a 1000 km one 931, a 100 km
 * square round the north pole 1028.
 */
export const DENSIFY_TOLERANCE_M = 1;

/** Longest projected edge left without checking, in metres: so a curve cannot hide between two bisection points. */
const MAX_STEP_M = 50_000;
/** Largest longitude step of a chord, degrees: so that every chord is read the shorter way round. */
const MAX_STEP_LON = 90;
/** Bisection depth limit: 2^-48 of a 20 000 km edge is well below a millimetre. */
const MAX_DEPTH = 48;
/** Most vertices one AOI may have once densified. */
export const MAX_DENSIFIED_VERTICES = 1_000_000;

/** Codes of `EPSG:`, `urn:ogc:def:crs:EPSG:<version>:` and `http://www.opengis.net/def/crs/EPSG/<version>/` names. */
const EPSG_NAME = [
  /^EPSG:{1,2}(\d+)$/i,
  /^urn:ogc:def:crs:EPSG:[^:]*:(\d+)$/i,
  /^https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[^/]+\/(\d+)$/i,
];
const CRS84_NAME = [
  /^(OGC:)?CRS:?84$/i,
  /^urn:ogc:def:crs:OGC:[^:]*:CRS84$/i,
  /^https?:\/\/www\.opengis\.net\/def\/crs\/OGC\/[^/]+\/CRS84$/i,
];

/**
 * The CRS a name stands for, case-insensitive: "CRS84", "OGC:CRS84",
 * "urn:ogc:def:crs:OGC:1.3:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84" and EPSG:4326
 * in any form are lon/lat degrees; "EPSG:3413" and "EPSG:3031" may be written as
 * "urn:ogc:def:crs:EPSG::3413" or "http://www.opengis.net/def/crs/EPSG/0/3413" too. EPSG:4326
 * officially orders latitude first, but GeoJSON positions are longitude first whatever the crs
 * says, and it is read lon, lat here as GDAL reads GeoJSON.
 *
 * @example
 * crsOfName("urn:ogc:def:crs:EPSG::3413"); // "EPSG:3413"
 * @returns the CRS, or undefined when the name is none of these.
 */
export function crsOfName(name: string): AoiCrs | undefined {
  const trimmed = name.trim();
  if (CRS84_NAME.some((re) => re.test(trimmed))) return "OGC:CRS84";
  for (const re of EPSG_NAME) {
    const code = re.exec(trimmed)?.[1];
    if (code === undefined) continue;
    const n = Number(code);
    if (n === 4326) return "OGC:CRS84";
    if (n === 3413) return "EPSG:3413";
    if (n === 3031) return "EPSG:3031";
    return undefined;
  }
  return undefined;
}

/** The projection of a CRS, or undefined for lon/lat degrees. */
export function projectionOf(crs: AoiCrs): ProjectedCrs | undefined {
  if (crs === "EPSG:3413") return EPSG_3413;
  if (crs === "EPSG:3031") return EPSG_3031;
  return undefined;
}

/**
 * The name held by a GeoJSON (2008) `crs` member, `{"type": "name", "properties": {"name": N}}`.
 *
 * @throws Error with a one-line message (no input name) when the member has another shape, such as
 *   a `link` crs, which cannot be resolved without fetching it.
 */
export function crsNameOfMember(member: unknown): string {
  const obj = member as { type?: unknown; properties?: { name?: unknown } } | null;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new Error(`crs member ${preview(member)} is not an object`);
  }
  if (obj.type !== "name") {
    throw new Error(
      `crs member of type ${preview(obj.type)} is not supported, only {"type": "name", "properties": {"name": ...}}; valid names: ${SUPPORTED_CRS}`,
    );
  }
  const name = obj.properties?.name;
  if (typeof name !== "string")
    throw new Error(`crs member has no string properties.name: ${preview(member)}`);
  return name;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Forward and inverse of one projection, from proj4. */
interface Projector {
  crs: ProjectedCrs;
  /** (lon, lat) degrees -> (x, y) metres. */
  forward(lon: number, lat: number): [number, number];
  /** (x, y) metres -> (lon, lat) degrees, lon in [-180, 180]. */
  inverse(x: number, y: number): [number, number];
  /** Distance from the pole to the equator in the projection, metres. */
  equatorRadius: number;
}

const projectors = new Map<string, Projector>();

function projectorOf(crs: ProjectedCrs): Projector {
  let p = projectors.get(crs.code);
  if (!p) {
    const converter = loadProj4()(crs.proj4);
    const forward = (lon: number, lat: number) => converter.forward([lon, lat]) as [number, number];
    const inverse = (x: number, y: number) => converter.inverse([x, y]) as [number, number];
    const [ex, ey] = forward(0, 0);
    p = { crs, forward, inverse, equatorRadius: Math.hypot(ex, ey) };
    projectors.set(crs.code, p);
  }
  return p;
}

/**
 * Checks that a projected position lies in its projection's hemisphere (closer to the pole than
 * the equator), where it stands for one place on the AOI's side of the globe.
 *
 * @throws Error with a one-line message naming the distance and the equator's, without the input name.
 */
export function checkProjectedPosition(crs: ProjectedCrs, x: number, y: number): void {
  const { equatorRadius } = projectorOf(crs);
  const r = Math.hypot(x, y);
  if (r < equatorRadius) return;
  const km = (m: number) => `${Math.round(m / 1000)} km`;
  throw new Error(
    `is ${km(r)} from the pole in ${crs.code}, beyond the equator (${km(equatorRadius)}): ${crs.code} holds ${crs.pole > 0 ? "northern" : "southern"}-hemisphere AOIs, in metres`,
  );
}

/**
 * A closed ring given in a polar stereographic projection as the closed lon/lat ring (degrees,
 * longitudes in [-180, 180]) that follows its straight projected edges within
 * {@link DENSIFY_TOLERANCE_M}. Consecutive vertices are less than 90 degrees of longitude apart,
 * so the ring reads the shorter way round; a ring round the pole goes once round in longitude,
 * and a pole on the ring becomes an edge along latitude +-90 sweeping the ring's angle there.
 * The ring must already be valid in the projection (closed, at least 3 distinct positions, not
 * self-intersecting, every position checked with {@link checkProjectedPosition}).
 *
 * @param budget vertices still allowed; the count used is subtracted from `budget.left`
 * @throws Error when the ring needs more vertices than `budget.left`
 */
export function projectedRingToLonLat(
  ring: Float64Array,
  crs: ProjectedCrs,
  budget: { left: number } = { left: MAX_DENSIFIED_VERTICES },
): Float64Array {
  const p = projectorOf(crs);
  const pts = polarVertices(ring);
  const ccw = signedArea(pts) > 0;
  const isPole = (k: number) => pts[2 * k] === 0 && pts[2 * k + 1] === 0;
  const m = pts.length / 2;
  const out: number[] = [];
  const push = (lon: number, lat: number) => {
    if (out.length / 2 >= budget.left) {
      throw new Error(
        `needs more than ${budget.left} vertices once its edges are densified to follow the projection; the AOI's limit is ${MAX_DENSIFIED_VERTICES}`,
      );
    }
    out.push(lon, lat);
  };
  for (let k = 0; k < m; k++) {
    const j = (k + 1) % m;
    const [ax, ay, bx, by] = [pts[2 * k]!, pts[2 * k + 1]!, pts[2 * j]!, pts[2 * j + 1]!];
    if (isPole(k)) {
      const i = (k + m - 1) % m;
      const lonIn = p.inverse(pts[2 * i]!, pts[2 * i + 1]!)[0];
      const lonOut = p.inverse(bx, by)[0];
      for (const lon of poleSweep(lonIn, lonOut, ccw === crs.pole > 0)) push(lon, 90 * crs.pole);
      continue;
    }
    const [lonA, latA] = p.inverse(ax, ay);
    push(lonA, latA);
    // An edge to the pole is a meridian, already straight in lon/lat.
    if (!isPole(j)) {
      const [lonB, latB] = p.inverse(bx, by);
      densify(p, ax, ay, lonA, latA, bx, by, lonB, latB, 0, push);
    }
  }
  push(out[0]!, out[1]!);
  budget.left -= out.length / 2;
  return Float64Array.from(out);
}

/**
 * The distinct vertices of a closed projected ring, open (no closing repeat), with the pole
 * inserted where an edge passes through it and rotated so that the first vertex is not the pole.
 */
function polarVertices(ring: Float64Array): number[] {
  const pts: number[] = [];
  const n = ring.length / 2 - 1;
  for (let k = 0; k < n; k++) {
    const [ax, ay, bx, by] = [ring[2 * k]!, ring[2 * k + 1]!, ring[2 * k + 2]!, ring[2 * k + 3]!];
    if (ax === bx && ay === by) continue;
    pts.push(ax, ay);
    const throughPole =
      !(ax === 0 && ay === 0) &&
      !(bx === 0 && by === 0) &&
      orient2d(ax, ay, bx, by, 0, 0) === 0 &&
      Math.min(ax, bx) <= 0 &&
      0 <= Math.max(ax, bx) &&
      Math.min(ay, by) <= 0 &&
      0 <= Math.max(ay, by);
    if (throughPole) pts.push(0, 0);
  }
  const first = pts.findIndex((v, i) => i % 2 === 0 && !(v === 0 && pts[i + 1] === 0));
  return [...pts.slice(first), ...pts.slice(0, first)];
}

/** Twice the signed area of an open ring of interleaved positions (positive: counter-clockwise). */
function signedArea(pts: number[]): number {
  let sum = 0;
  const m = pts.length / 2;
  for (let k = 0; k < m; k++) {
    const j = (k + 1) % m;
    sum += pts[2 * k]! * pts[2 * j + 1]! - pts[2 * j]! * pts[2 * k + 1]!;
  }
  return sum;
}

/**
 * Longitudes along the pole from the meridian a ring arrives on to the one it leaves on, in
 * steps of at most 90 degrees, eastwards or westwards: the way that covers the ring's interior
 * angle at the pole. Longitude grows anticlockwise round the north pole in EPSG:3413 and
 * clockwise round the south pole in EPSG:3031, so for a counter-clockwise ring the interior
 * (on its left) lies westwards of the arrival meridian in the north and eastwards in the south.
 */
function poleSweep(lonIn: number, lonOut: number, westwards: boolean): number[] {
  const east = (((lonOut - lonIn) % 360) + 360) % 360;
  const sweep = westwards ? east - 360 : east;
  const steps = Math.max(1, Math.ceil(Math.abs(sweep) / MAX_STEP_LON));
  return Array.from({ length: steps + 1 }, (_, s) => wrapLon(lonIn + (sweep * s) / steps));
}

function wrapLon(lon: number): number {
  if (lon >= -180 && lon <= 180) return lon;
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

/** Longitude step from a to b the shorter way round, in (-180, 180]. */
function lonStep(a: number, b: number): number {
  const d = (((b - a) % 360) + 360) % 360;
  return d > 180 ? d - 360 : d;
}

/**
 * Pushes the vertices strictly between the ends of the projected edge a-b (lon/lat of both given)
 * that keep each lon/lat chord within the tolerance of the edge, by recursive bisection.
 */
function densify(
  p: Projector,
  ax: number,
  ay: number,
  lonA: number,
  latA: number,
  bx: number,
  by: number,
  lonB: number,
  latB: number,
  depth: number,
  push: (lon: number, lat: number) => void,
): void {
  if (depth >= MAX_DEPTH) return;
  const length = Math.hypot(bx - ax, by - ay);
  const dLon = lonStep(lonA, lonB);
  let split = length > MAX_STEP_M || Math.abs(dLon) > MAX_STEP_LON;
  if (!split) {
    // Where the chord's midpoint lands in the projection, against the straight edge.
    const [cx, cy] = p.forward(wrapLon(lonA + dLon / 2), (latA + latB) / 2);
    const off = Math.abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) / length;
    split = !(off <= DENSIFY_TOLERANCE_M);
  }
  if (!split) return;
  const mx = (ax + bx) / 2;
  const my = (ay + by) / 2;
  const [lonM, latM] = p.inverse(mx, my);
  densify(p, ax, ay, lonA, latA, mx, my, lonM, latM, depth + 1, push);
  push(lonM, latM);
  densify(p, mx, my, lonM, latM, bx, by, lonB, latB, depth + 1, push);
}
