/**
 * The projection of a map, chosen from where its points are: polar stereographic near the poles
 * (oriented as EPSG:3413 in the north and EPSG:3031 in the south), a Lambert azimuthal equal-area
 * centred on the data elsewhere, Equal Earth for a whole-world result. The data's centre longitude
 * is found on the circle, so data across the antimeridian is centred on it and drawn in one piece.
 */
import {
  type GeoPermissibleObjects,
  type GeoProjection,
  geoAzimuthalEqualArea,
  geoCircle,
  geoEqualEarth,
  geoStereographic,
} from "d3-geo";

/** Where the map is drawn, pixels: [[left, top], [right, bottom]]. */
export type Extent = [[number, number], [number, number]];

/** A chosen projection and its name for the caption. */
export interface MapProjection {
  projection: GeoProjection;
  /** e.g. "polar stereographic north (EPSG:3413-like)". */
  name: string;
}

/** Data wholly poleward of this latitude (degrees) is drawn in polar stereographic. */
export const POLAR_LATITUDE = 50;

/** Longitude span (degrees) past which a local projection distorts too much: the world is drawn. */
export const WORLD_LON_SPAN = 150;

/** Smallest radius (degrees) a map shows around its centre, so one point still gets a map. */
export const MIN_RADIUS_DEG = 0.25;

/**
 * The smallest arc of longitudes holding every one of `lons`, as [centre, span] in degrees; found
 * by the largest gap between sorted longitudes, so [-179, 179] is a 2 degree arc round 180.
 */
export function lonArc(lons: readonly number[]): [number, number] {
  if (lons.length === 0) return [0, 360];
  const sorted = [...lons].sort((a, b) => a - b);
  let gap = sorted[0]! + 360 - sorted[sorted.length - 1]!;
  let start = sorted[0]!;
  for (let i = 1; i < sorted.length; i++) {
    const g = sorted[i]! - sorted[i - 1]!;
    if (g > gap) {
      gap = g;
      start = sorted[i]!;
    }
  }
  const span = 360 - gap;
  const centre = ((((start + span / 2 + 180) % 360) + 360) % 360) - 180;
  return [centre, span];
}

/**
 * Chooses and fits the projection for lon/lat `points` (interleaved, degrees) inside `extent`.
 * With no points at all, the whole world in Equal Earth.
 */
export function chooseProjection(points: readonly number[], frame: Extent): MapProjection {
  const chosen = fitProjection(points, frame);
  // Clipping paths to the frame keeps the world's coastlines out of a regional map's SVG.
  chosen.projection.clipExtent(inset(frame, -CLIP_OUTSIDE_PX / Math.max(1, frame[1][0] - frame[0][0])));
  return chosen;
}

/** Pixels drawn past the frame's edge (hidden by its clip path), so clipped strokes never end inside it. */
const CLIP_OUTSIDE_PX = 4;

function fitProjection(points: readonly number[], frame: Extent): MapProjection {
  const extent = inset(frame, FIT_MARGIN);
  const lons: number[] = [];
  let south = 90;
  let north = -90;
  for (let i = 0; i + 1 < points.length; i += 2) {
    lons.push(points[i]!);
    south = Math.min(south, points[i + 1]!);
    north = Math.max(north, points[i + 1]!);
  }
  const [centre, span] = lonArc(lons);
  if (lons.length === 0 || span > WORLD_LON_SPAN || north - south > 90) {
    const projection = geoEqualEarth().rotate([lons.length === 0 ? 0 : -centre, 0]);
    return { projection: projection.fitExtent(frame, { type: "Sphere" }), name: "Equal Earth" };
  }
  const fit: GeoPermissibleObjects = {
    type: "GeometryCollection",
    geometries: [
      { type: "MultiPoint", coordinates: pairs(points) },
      geoCircle()
        .center([centre, (south + north) / 2])
        .radius(MIN_RADIUS_DEG)(),
    ],
  };
  if (south >= POLAR_LATITUDE) {
    const projection = geoStereographic().rotate([45, -90]).fitExtent(extent, fit);
    return { projection, name: "polar stereographic north (EPSG:3413-like)" };
  }
  if (north <= -POLAR_LATITUDE) {
    const projection = geoStereographic().rotate([0, 90]).fitExtent(extent, fit);
    return { projection, name: "polar stereographic south (EPSG:3031-like)" };
  }
  const projection = geoAzimuthalEqualArea()
    .rotate([-centre, -(south + north) / 2])
    .fitExtent(extent, fit);
  return {
    projection,
    name: `Lambert azimuthal equal-area at ${centre.toFixed(1)}, ${((south + north) / 2).toFixed(1)}`,
  };
}

/** Share of the frame left free round the data, so marks at its edges are whole and the coast shows. */
const FIT_MARGIN = 0.06;

/** An extent shrunk by `share` of its size on every side. */
function inset([[x0, y0], [x1, y1]]: Extent, share: number): Extent {
  const dx = (x1 - x0) * share;
  const dy = (y1 - y0) * share;
  return [
    [x0 + dx, y0 + dy],
    [x1 - dx, y1 - dy],
  ];
}

/** Interleaved lon/lat as [lon, lat] pairs. */
function pairs(points: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push([points[i]!, points[i + 1]!]);
  return out;
}
