import { InvalidAoiError } from "../errors.js";
import { findSelfIntersection } from "./aoi-simple.js";
import {
  cutPolygon,
  isPlanar,
  type RingOnGlobe,
  type UnwrappedRing,
  unwrappedPositions,
  unwrapRing,
} from "./aoi-sphere.js";
import {
  type AoiCrs,
  checkProjectedPosition,
  crsNameOfMember,
  crsOfName,
  MAX_DENSIFIED_VERTICES,
  type ProjectedCrs,
  projectedRingToLonLat,
  projectionOf,
  SUPPORTED_CRS,
} from "./crs.js";

/** An axis-aligned box in degrees: [xmin (west lon), ymin (south lat), xmax (east lon), ymax (north lat)]. */
export type Bbox = [xmin: number, ymin: number, xmax: number, ymax: number];

/** The same box as a struct, as stored in the `bbox` column of the chunk index. */
export interface BboxStruct {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** One polygon of an AOI: ring 0 is the outer ring, the others are holes. */
export interface AoiPolygon {
  /** Closed rings (first position == last), interleaved [lon0, lat0, lon1, lat1, ...] in degrees. */
  rings: Float64Array[];
  /** Bounding box of the outer ring (holes cannot extend it), degrees. */
  bbox: Bbox;
}

/**
 * A validated area of interest in lon/lat degrees (OGC:CRS84): one or more polygons, each with
 * closed, non-self-intersecting rings inside [-180, 180] x [-90, 90]. Edges are straight lines in
 * lon/lat (not great circles). Points are inside by the even-odd rule per polygon, with boundaries
 * inclusive (see `pointsInAoi`). AOIs that cross the antimeridian are held cut at +-180 into
 * several polygons, and AOIs round a pole closed through it (an edge along latitude +-90).
 */
export interface Aoi {
  polygons: AoiPolygon[];
  /** Bounding box of all polygons, degrees. */
  bbox: Bbox;
}

/** Options of {@link parseAoi}. */
export interface ParseAoiOptions {
  /** Names the input (a file name, "--polygon") at the start of every error message. Default "AOI". */
  source?: string;
  /**
   * CRS of the coordinates: "EPSG:4326"/"CRS84" (lon, lat degrees), "EPSG:3413" or "EPSG:3031"
   * (polar stereographic metres), in any form `crsOfName` accepts. A GeoJSON `crs` member (or WKT
   * `SRID=`) that names another CRS is refused. Default: a GeoJSON `crs` member, else lon/lat degrees.
   */
  crs?: string;
}

/** A polygon as nested positions, before validation: rings of [lon, lat] pairs. */
type RawPolygon = unknown;

const BBOX_PATTERN = /^\s*([^,\s]+)\s*,\s*([^,\s]+)\s*,\s*([^,\s]+)\s*,\s*([^,\s]+)\s*$/;

/**
 * Parses an area of interest given as GeoJSON text (Polygon, MultiPolygon, Feature,
 * FeatureCollection or GeometryCollection of those; holes allowed), WKT (POLYGON or
 * MULTIPOLYGON, optional Z/M ordinates ignored, optional `SRID=4326;` prefix, or `SRID=3413;` and
 * `SRID=3031;` when the crs option says the same), or a bbox string
 * "minx,miny,maxx,maxy" in degrees (metres under a projected crs). Positions beyond two
 * ordinates (altitude) are ignored.
 *
 * On the globe: a ring that is valid as written inside [-180, 180] (edges between -180 and 180
 * included, as a bbox polygon has) is taken as written. Otherwise every edge runs the shorter way
 * round in longitude (an edge of exactly 180 degrees the way it is written), so a ring may cross the
 * antimeridian written with a jump (179 then -179) or with longitudes continuing past +-180 (up to
 * +-360), and a bbox with minx > maxx crosses it. Such rings are cut at +-180 into a MultiPolygon of
 * parts within [-180, 180]. A ring whose longitude goes once round (a ring round a pole) is closed
 * through the pole on its side of the equator. To draw an edge longer than 180 degrees of
 * longitude, add positions along it.
 *
 * In polar stereographic metres (`opts.crs` or a top-level GeoJSON `crs` member naming EPSG:3413
 * or EPSG:3031), edges are straight in the projection: each is densified and inverse-projected
 * into lon/lat (see `projectedRingToLonLat`), a ring round the pole encloses it, and a bbox is a
 * rectangle in the projection. Any other CRS is refused, never ignored. GeoJSON positions are
 * read lon, lat even under EPSG:4326, as GDAL reads GeoJSON.
 *
 * @example
 * parseAoi("-45.4,62.6,-44.6,63.0", { source: "--polygon" });
 * @throws InvalidAoiError with a one-line message starting with `source` when the text is none
 *   of the forms above, has the wrong GeoJSON types or nesting, non-finite or out-of-range
 *   coordinates, unclosed rings, rings with fewer than 4 positions, self-intersecting rings,
 *   an empty FeatureCollection, a bbox with miny > maxy; on the globe, a ring that crosses
 *   itself once read across the antimeridian, spans 360 degrees or more of longitude without
 *   going round a pole, goes round more than once, or goes round while touching or crossing the
 *   equator (which pole it encloses is then ambiguous) or touching its pole; a CRS other than
 *   lon/lat, EPSG:3413 or EPSG:3031, a GeoJSON `crs` member that is not of type "name", a
 *   crs option that disagrees with the GeoJSON `crs` member or WKT SRID, nested `crs` members
 *   that disagree with the AOI's; projected positions beyond the equator, or rings that need
 *   more than `MAX_DENSIFIED_VERTICES` vertices in lon/lat.
 */
export function parseAoi(text: string, opts: ParseAoiOptions = {}): Aoi {
  const source = opts.source ?? "AOI";
  const crs = opts.crs === undefined ? undefined : { crs: namedCrs(source, opts.crs, ""), name: opts.crs };
  const trimmed = text.trim();
  if (trimmed === "") throw fail(source, "is empty, expected GeoJSON, WKT or minx,miny,maxx,maxy");
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return parseGeoJsonText(source, trimmed, crs);
  if (/^[A-Za-z]/.test(trimmed)) {
    const wkt = parseWkt(source, trimmed);
    return buildAoi(source, wkt.polygons, wktCrs(source, wkt.srid, crs));
  }
  const box = BBOX_PATTERN.exec(trimmed);
  if (box) return parseBbox(source, box.slice(1, 5), crs?.crs ?? "OGC:CRS84");
  throw fail(
    source,
    `is not GeoJSON, WKT (POLYGON, MULTIPOLYGON) or a bbox minx,miny,maxx,maxy: starts with ${JSON.stringify(trimmed.slice(0, 40))}`,
  );
}

/**
 * The AOI as a GeoJSON geometry: a Polygon when it has one polygon, else a MultiPolygon. Used in
 * output metadata and to hand the AOI to DuckDB (`ST_GeomFromGeoJSON`).
 */
export function aoiToGeoJSON(aoi: Aoi): object {
  const polygons = aoi.polygons.map((p) => p.rings.map(ringPositions));
  if (polygons.length === 1) return { type: "Polygon", coordinates: polygons[0] };
  return { type: "MultiPolygon", coordinates: polygons };
}

/**
 * Whether two boxes (tuples [xmin, ymin, xmax, ymax] or {xmin, ymin, xmax, ymax} structs, degrees)
 * intersect. Edges are inclusive: boxes that only touch intersect. Boxes with a NaN never do.
 */
export function bboxIntersects(
  a: readonly [number, number, number, number] | BboxStruct,
  b: readonly [number, number, number, number] | BboxStruct,
): boolean {
  const [axmin, aymin, axmax, aymax] = "xmin" in a ? [a.xmin, a.ymin, a.xmax, a.ymax] : a;
  const [bxmin, bymin, bxmax, bymax] = "xmin" in b ? [b.xmin, b.ymin, b.xmax, b.ymax] : b;
  return axmin <= bxmax && bxmin <= axmax && aymin <= bymax && bymin <= aymax;
}

function fail(source: string, what: string, cause?: unknown): InvalidAoiError {
  return new InvalidAoiError(`${source}: ${what}`, { cause });
}

// ---------------------------------------------------------------------------------------------
// CRS

/** The CRS a name stands for; `of` says where the name came from, for the message. */
function namedCrs(source: string, name: string, of: string): AoiCrs {
  const crs = crsOfName(name);
  if (crs === undefined) throw fail(source, `crs ${name}${of} is not supported; valid: ${SUPPORTED_CRS}`);
  return crs;
}

/** A CRS and the name it was given by. */
interface NamedCrs {
  crs: AoiCrs;
  name: string;
}

/** The CRS of a WKT with an optional SRID prefix, given the crs option. */
function wktCrs(source: string, srid: string | undefined, option: NamedCrs | undefined): AoiCrs {
  if (srid === undefined) return option?.crs ?? "OGC:CRS84";
  const fromSrid = crsOfName(`EPSG:${srid}`);
  if (fromSrid === undefined || (fromSrid !== "OGC:CRS84" && option === undefined)) {
    // Only SRID=4326 selects a CRS on its own; a projected one must be confirmed by the crs option.
    throw fail(
      source,
      `WKT SRID ${srid} is not supported${fromSrid === undefined ? "" : " without the crs option"}; valid: SRID 4326 (lon/lat degrees), or 3413 and 3031 with the crs option EPSG:3413 or EPSG:3031`,
    );
  }
  if (option !== undefined && option.crs !== fromSrid) {
    throw fail(source, `the crs option ${option.name} disagrees with the WKT SRID ${srid}`);
  }
  return fromSrid;
}

/** The CRS of a GeoJSON object's `crs` member, or undefined without one (or with `"crs": null`). */
function memberCrs(source: string, obj: Record<string, unknown>, where: string): NamedCrs | undefined {
  if (obj.crs === undefined || obj.crs === null) return undefined;
  let name: string;
  try {
    name = crsNameOfMember(obj.crs);
  } catch (err) {
    throw fail(source, `${where} ${(err as Error).message}`, err);
  }
  return { crs: namedCrs(source, name, ` of the ${where} crs member`), name };
}

function ringPositions(ring: Float64Array): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < ring.length; k += 2) out.push([ring[k]!, ring[k + 1]!]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// bbox

function parseBbox(source: string, fields: string[], crs: AoiCrs): Aoi {
  const values = fields.map(Number);
  fields.forEach((f, i) => {
    if (!Number.isFinite(values[i]))
      throw fail(source, `bbox value ${i + 1} ${JSON.stringify(f)} is not a finite number`);
  });
  const [xmin, ymin, xmax, ymax] = values as [number, number, number, number];
  if (ymin > ymax) throw fail(source, `bbox miny ${ymin} > maxy ${ymax}`);
  const projection = projectionOf(crs);
  if (projection) {
    // A rectangle in the projection, whose edges are densified like any other ring's.
    if (xmin > xmax) throw fail(source, `bbox minx ${xmin} > maxx ${xmax} (in ${crs} metres)`);
    const rectangle = [
      [xmin, ymin],
      [xmax, ymin],
      [xmax, ymax],
      [xmin, ymax],
      [xmin, ymin],
    ];
    return buildAoi(source, [[rectangle]], crs);
  }
  for (const [name, v, limit] of [
    ["minx", xmin, 180],
    ["maxx", xmax, 180],
    ["miny", ymin, 90],
    ["maxy", ymax, 90],
  ] as const) {
    if (Math.abs(v) > limit) throw fail(source, `bbox ${name} ${v} is outside [-${limit}, ${limit}]`);
  }
  if (xmin > xmax) {
    if (ymin === ymax || xmax + 360 === xmin) {
      throw fail(
        source,
        `bbox ${fields.join(",")} crosses the antimeridian (minx > maxx) but has no area; give it some width and height`,
      );
    }
    return buildAoi(source, [[crossingBboxRing(xmin, ymin, xmax, ymax)]]);
  }
  const ring = Float64Array.of(xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax, xmin, ymin);
  return { polygons: [{ rings: [ring], bbox: [xmin, ymin, xmax, ymax] }], bbox: [xmin, ymin, xmax, ymax] };
}

/**
 * The ring of a bbox with minx > maxx, which (as in GeoJSON bboxes) crosses the antimeridian: from
 * minx east to maxx + 360, with longitudes kept within [-360, 360]. Its long edges get a position
 * every 90 degrees at most, since every edge is read the shorter way round: a single edge of over
 * 180 degrees would make the box its complement, the strip between maxx and minx.
 */
function crossingBboxRing(xmin: number, ymin: number, xmax: number, ymax: number): number[][] {
  const [west, east] = xmax + 360 > 360 ? [xmin - 360, xmax] : [xmin, xmax + 360];
  const steps = Math.ceil((east - west) / 90);
  const bottom: number[][] = [];
  for (let s = 0; s <= steps; s++)
    bottom.push([s === steps ? east : west + ((east - west) * s) / steps, ymin]);
  const top = bottom.map(([x]) => [x!, ymax]).reverse();
  return [...bottom, ...top, [west, ymin]];
}

// ---------------------------------------------------------------------------------------------
// GeoJSON

function parseGeoJsonText(source: string, text: string, option: NamedCrs | undefined): Aoi {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(source, `is not valid JSON (${(err as Error).message})`, err);
  }
  const member =
    typeof value === "object" && value !== null && !Array.isArray(value)
      ? memberCrs(source, value as Record<string, unknown>, "GeoJSON")
      : undefined;
  if (member && option !== undefined && member.crs !== option.crs) {
    throw fail(source, `the crs option ${option.name} disagrees with the GeoJSON crs member ${member.name}`);
  }
  const crs = option?.crs ?? member?.crs ?? "OGC:CRS84";
  const polygons: RawPolygon[] = [];
  collectGeoJsonPolygons(source, value, "GeoJSON", polygons, crs);
  return buildAoi(source, polygons, crs);
}

const NON_AREA_TYPES = new Set(["Point", "MultiPoint", "LineString", "MultiLineString"]);

/** Deepest nesting of Features and collections accepted; real AOIs use two or three levels. */
const MAX_GEOJSON_NESTING = 32;

function collectGeoJsonPolygons(
  source: string,
  value: unknown,
  where: string,
  out: RawPolygon[],
  crs: AoiCrs,
  depth = 0,
): void {
  if (depth > MAX_GEOJSON_NESTING) {
    throw fail(source, `GeoJSON collections are nested more than ${MAX_GEOJSON_NESTING} levels deep`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw fail(source, `${where} is not a GeoJSON object: ${preview(value)}`);
  }
  const obj = value as Record<string, unknown>;
  if (depth > 0) {
    // A crs member below the top level is not honoured, so it must agree rather than be ignored.
    const nested = memberCrs(source, obj, where);
    if (nested && nested.crs !== crs) {
      throw fail(
        source,
        `${where} has crs ${nested.name}, unlike the AOI's ${crs}: one CRS per AOI, as a top-level crs member`,
      );
    }
  }
  const type = obj.type;
  switch (type) {
    case "FeatureCollection": {
      const features = obj.features;
      if (!Array.isArray(features)) throw fail(source, `${where} FeatureCollection has no "features" array`);
      if (features.length === 0) throw fail(source, `${where} FeatureCollection is empty (0 features)`);
      features.forEach((f, i) => {
        collectGeoJsonPolygons(source, f, `feature ${i}`, out, crs, depth + 1);
      });
      return;
    }
    case "GeometryCollection": {
      const geometries = obj.geometries;
      if (!Array.isArray(geometries) || geometries.length === 0) {
        throw fail(source, `${where} GeometryCollection has no geometries`);
      }
      geometries.forEach((g, i) => {
        collectGeoJsonPolygons(
          source,
          g,
          depth === 0 ? `geometry ${i}` : `${where}, geometry ${i}`,
          out,
          crs,
          depth + 1,
        );
      });
      return;
    }
    case "Feature":
      if (obj.geometry === null || obj.geometry === undefined) throw fail(source, `${where} has no geometry`);
      collectGeoJsonPolygons(source, obj.geometry, where, out, crs, depth + 1);
      return;
    case "Polygon":
    case "MultiPolygon": {
      const coordinates = obj.coordinates;
      if (!Array.isArray(coordinates)) throw fail(source, `${where} ${type} has no "coordinates" array`);
      if (coordinates.length === 0) throw fail(source, `${where} ${type} has empty coordinates`);
      if (type === "Polygon") out.push(coordinates);
      else {
        for (const polygon of coordinates) {
          if (!Array.isArray(polygon) || !Array.isArray(polygon[0]) || !Array.isArray(polygon[0][0])) {
            throw fail(
              source,
              `${where} MultiPolygon coordinates are nested wrongly: expected [[[[lon, lat], ...]]], found ${preview(polygon)} as a polygon`,
            );
          }
          out.push(polygon);
        }
      }
      return;
    }
    default:
      if (typeof type === "string" && NON_AREA_TYPES.has(type)) {
        throw fail(
          source,
          `${where} is a GeoJSON ${type}, not an area: expected Polygon, MultiPolygon, Feature or FeatureCollection of those`,
        );
      }
      throw fail(source, `${where} has unsupported GeoJSON type ${preview(type)}`);
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// WKT

const WKT_TOKEN = /\s*([A-Za-z]+|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[(),;=])/y;

const WKT_NON_AREA_TYPES = new Set([
  "POINT",
  "MULTIPOINT",
  "LINESTRING",
  "MULTILINESTRING",
  "GEOMETRYCOLLECTION",
  "TRIANGLE",
  "TIN",
  "POLYHEDRALSURFACE",
]);

interface WktCursor {
  text: string;
  pos: number;
}

function nextWktToken(source: string, c: WktCursor): string | undefined {
  WKT_TOKEN.lastIndex = c.pos;
  const m = WKT_TOKEN.exec(c.text);
  if (!m) {
    if (/^\s*$/.test(c.text.slice(c.pos))) return undefined;
    throw fail(source, `WKT syntax error at character ${c.pos}: ${preview(c.text.slice(c.pos, c.pos + 20))}`);
  }
  c.pos = WKT_TOKEN.lastIndex;
  return m[1];
}

function expectWktToken(source: string, c: WktCursor, expected: string): void {
  const at = c.pos;
  const token = nextWktToken(source, c);
  if (token !== expected) {
    throw fail(
      source,
      `WKT syntax error at character ${at}: expected "${expected}", found ${token ?? "end of text"}`,
    );
  }
}

function peekWktToken(source: string, c: WktCursor): string | undefined {
  const saved = c.pos;
  const token = nextWktToken(source, c);
  c.pos = saved;
  return token;
}

/** Polygons of a WKT text, with the SRID of its `SRID=n;` prefix when it has one. */
function parseWkt(source: string, text: string): { polygons: RawPolygon[]; srid?: string } {
  const c: WktCursor = { text, pos: 0 };
  let word = nextWktToken(source, c)?.toUpperCase();
  let srid: string | undefined;
  if (word === "SRID") {
    expectWktToken(source, c, "=");
    srid = nextWktToken(source, c);
    if (srid === undefined || !/^\d+$/.test(srid))
      throw fail(source, `WKT SRID ${srid ?? "(none)"} is not a number`);
    expectWktToken(source, c, ";");
    word = nextWktToken(source, c)?.toUpperCase();
  }
  if (word !== "POLYGON" && word !== "MULTIPOLYGON") {
    if (word !== undefined && WKT_NON_AREA_TYPES.has(word)) {
      throw fail(source, `WKT ${word} is not an area: expected POLYGON or MULTIPOLYGON`);
    }
    throw fail(
      source,
      `is not GeoJSON, WKT (POLYGON, MULTIPOLYGON) or a bbox minx,miny,maxx,maxy: starts with ${preview(text.slice(0, 40))}`,
    );
  }
  const dims = peekWktToken(source, c)?.toUpperCase();
  if (dims === "Z" || dims === "M" || dims === "ZM") nextWktToken(source, c);
  if (peekWktToken(source, c)?.toUpperCase() === "EMPTY") throw fail(source, `WKT ${word} is EMPTY`);
  const polygons =
    word === "POLYGON" ? [parseWktPolygon(source, c)] : parseWktList(source, c, parseWktPolygon);
  const rest = nextWktToken(source, c);
  if (rest !== undefined) throw fail(source, `WKT has unexpected text after the geometry: ${rest}`);
  return { polygons, srid };
}

function parseWktList<T>(source: string, c: WktCursor, item: (source: string, c: WktCursor) => T): T[] {
  expectWktToken(source, c, "(");
  const items = [item(source, c)];
  for (;;) {
    const at = c.pos;
    const token = nextWktToken(source, c);
    if (token === ")") return items;
    if (token !== ",") {
      throw fail(
        source,
        `WKT syntax error at character ${at}: expected "," or ")", found ${token ?? "end of text"}`,
      );
    }
    items.push(item(source, c));
  }
}

function parseWktPolygon(source: string, c: WktCursor): number[][][] {
  return parseWktList(source, c, (s, cc) => parseWktList(s, cc, parseWktPosition));
}

function parseWktPosition(source: string, c: WktCursor): number[] {
  const position: number[] = [];
  for (;;) {
    const at = c.pos;
    const token = peekWktToken(source, c);
    if (token === "," || token === ")") break;
    nextWktToken(source, c);
    if (token === undefined || !/^[-+.\d]/.test(token)) {
      throw fail(
        source,
        `WKT syntax error at character ${at}: expected a number, found ${token ?? "end of text"}`,
      );
    }
    position.push(Number(token));
  }
  if (position.length < 2 || position.length > 4) {
    throw fail(
      source,
      `WKT position at character ${c.pos} has ${position.length} ordinates, expected 2 to 4`,
    );
  }
  return position;
}

// ---------------------------------------------------------------------------------------------
// validation shared by GeoJSON and WKT

function buildAoi(source: string, raw: RawPolygon[], crs: AoiCrs = "OGC:CRS84"): Aoi {
  const projection = projectionOf(crs);
  const budget = { left: MAX_DENSIFIED_VERTICES };
  const polygons = raw.flatMap((polygon, p) => buildPolygons(source, polygon, p, projection, budget));
  const bbox: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { bbox: b } of polygons) {
    bbox[0] = Math.min(bbox[0], b[0]);
    bbox[1] = Math.min(bbox[1], b[1]);
    bbox[2] = Math.max(bbox[2], b[2]);
    bbox[3] = Math.max(bbox[3], b[3]);
  }
  return { polygons, bbox };
}

/**
 * One input polygon: as given when every ring is planar, else cut at the antimeridian into
 * several. Projected rings are validated in the projection, then turned into lon/lat rings.
 */
function buildPolygons(
  source: string,
  polygon: RawPolygon,
  p: number,
  projection: ProjectedCrs | undefined,
  budget: { left: number },
): AoiPolygon[] {
  if (!Array.isArray(polygon) || polygon.length === 0) {
    throw fail(source, `polygon ${p} is not a non-empty array of rings: ${preview(polygon)}`);
  }
  const readings = polygon.map((ring, r) => {
    const name = `ring ${r} of polygon ${p}`;
    if (!projection) return readRing(source, buildRing(source, ring, name), name);
    const projected = buildRing(source, ring, name, projection);
    validateRing(source, projected, name);
    let lonLat: Float64Array;
    try {
      lonLat = projectedRingToLonLat(projected, projection, budget);
    } catch (err) {
      throw fail(source, `${name} ${(err as Error).message}`, err);
    }
    return readRing(source, lonLat, `${name} (in lon/lat from ${projection.code})`);
  });
  if (readings.every((r) => r.planar)) return [withBbox(readings.map((r) => r.ring.given))];
  let parts: Float64Array[][];
  try {
    parts = cutPolygon(readings);
  } catch (err) {
    throw fail(source, `polygon ${p} cannot be cut at the antimeridian: ${(err as Error).message}`, err);
  }
  if (parts.length === 0) throw fail(source, `polygon ${p} has no area once cut at the antimeridian`);
  return parts.map(withBbox);
}

function withBbox(rings: Float64Array[]): AoiPolygon {
  // Holes are not required to lie inside the outer ring; the box covers every ring so the prefilter stays exact.
  const bbox: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of rings) {
    for (let k = 0; k < ring.length; k += 2) {
      bbox[0] = Math.min(bbox[0], ring[k]!);
      bbox[1] = Math.min(bbox[1], ring[k + 1]!);
      bbox[2] = Math.max(bbox[2], ring[k]!);
      bbox[3] = Math.max(bbox[3], ring[k + 1]!);
    }
  }
  return { rings, bbox };
}

/** How a ring is read: planar (as written) or on the globe, with the pole it winds round. */
interface RingReading extends RingOnGlobe {
  planar: boolean;
}

/** Whether every longitude is within [-180, 180] and every edge is at most 180 long or runs from -180 to 180. */
function writtenPlanar(ring: Float64Array): { planar: boolean; fullTurnEdges: boolean } {
  let fullTurnEdges = false;
  if (ring[0] !== ring[ring.length - 2]) return { planar: false, fullTurnEdges };
  for (let k = 0; k < ring.length; k += 2) {
    if (Math.abs(ring[k]!) > 180) return { planar: false, fullTurnEdges };
    if (k + 2 < ring.length) {
      const d = Math.abs(ring[k + 2]! - ring[k]!);
      if (d === 360) fullTurnEdges = true;
      else if (d > 180) return { planar: false, fullTurnEdges };
    }
  }
  return { planar: true, fullTurnEdges };
}

function readRing(source: string, ring: Float64Array, name: string): RingReading {
  const written = writtenPlanar(ring);
  let planarError: unknown;
  if (written.planar) {
    try {
      validateRing(source, ring, name);
      const turns = new Int32Array(ring.length / 2);
      return { planar: true, ring: { given: ring, turns, winding: 0 } };
    } catch (err) {
      // An edge from -180 to 180 may also be a zero-length step across the antimeridian.
      if (!written.fullTurnEdges) throw err;
      planarError = err;
    }
  }
  const unwrapped = unwrapRing(ring);
  if (isPlanar(unwrapped)) {
    validateRing(source, ring, name);
    return { planar: true, ring: unwrapped };
  }
  try {
    return { planar: false, ring: unwrapped, pole: validateOnGlobe(source, unwrapped, name) };
  } catch (err) {
    throw planarError ?? err;
  }
}

const ON_GLOBE = "read with edges over 180 degrees of longitude crossing the antimeridian";

/** Validates an unwrapped ring on the cylinder; returns the pole a ring winding round the axis encloses. */
function validateOnGlobe(source: string, u: UnwrappedRing, name: string): 1 | -1 | undefined {
  const pos = unwrappedPositions(u);
  const n = pos.length / 2 - 1;
  const distinct = countDistinctVertices(pos);
  if (distinct < 3)
    throw fail(source, `${name} is degenerate (${ON_GLOBE}): it has ${distinct} distinct positions`);
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (let k = 0; k < pos.length; k += 2) {
    xmin = Math.min(xmin, pos[k]!);
    xmax = Math.max(xmax, pos[k]!);
    ymin = Math.min(ymin, pos[k + 1]!);
    ymax = Math.max(ymax, pos[k + 1]!);
  }
  const span = xmax - xmin;
  if (Math.abs(u.winding) > 1) {
    throw fail(
      source,
      `${name} goes ${Math.abs(u.winding)} times round the pole (${ON_GLOBE}); at most once`,
    );
  }
  if (u.winding === 0 && span >= 360) {
    throw fail(
      source,
      `${name} spans ${span} degrees of longitude (${ON_GLOBE}), it must span less than 360`,
    );
  }
  // On the cylinder, the ring must not meet its copy one turn round either.
  const path = u.winding === 0 ? pos : doubled(pos, 360 * u.winding);
  const crossing = findSelfIntersection(path, { closed: u.winding === 0 });
  if (crossing) {
    const [i, j] = crossing.map((e) => e % n) as [number, number];
    throw fail(
      source,
      `${name} self-intersects (${ON_GLOBE}): edge ${i} ${formatPosition(u.given, i)}-${formatPosition(u.given, i + 1)} meets edge ${j} ${formatPosition(u.given, j)}-${formatPosition(u.given, j + 1)}`,
    );
  }
  if (u.winding === 0) return undefined;
  if (ymin < 0 === ymax > 0 || (ymin === 0 && ymax === 0)) {
    throw fail(
      source,
      `${name} goes once round the Earth's axis between latitudes ${ymin} and ${ymax} (${ON_GLOBE}), so which pole it encloses is ambiguous: add the edge along latitude 90 or -90 explicitly, or cut it at +-180`,
    );
  }
  const pole = ymax > 0 ? 1 : -1;
  if (ymax === 90 || ymin === -90) {
    throw fail(
      source,
      `${name} goes round the ${pole > 0 ? "north" : "south"} pole and touches it; give positions off the pole`,
    );
  }
  return pole;
}

/** The open path of an unwrapped ring followed by itself one turn round (sharing the seam position). */
function doubled(pos: Float64Array, shift: number): Float64Array {
  const out = new Float64Array(pos.length * 2 - 2);
  out.set(pos);
  for (let k = 2; k < pos.length; k += 2) {
    out[pos.length - 2 + k] = pos[k]! + shift;
    out[pos.length - 1 + k] = pos[k + 1]!;
  }
  return out;
}

function formatPosition(ring: Float64Array, k: number): string {
  return `[${ring[2 * k]}, ${ring[2 * k + 1]}]`;
}

/** A ring's positions, checked: in lon/lat degrees, or in metres of `projection` when given. */
function buildRing(source: string, raw: unknown, name: string, projection?: ProjectedCrs): Float64Array {
  if (!Array.isArray(raw)) {
    throw fail(source, `${name} is not an array of positions: ${preview(raw)} (coordinates nested wrongly?)`);
  }
  const ring = new Float64Array(raw.length * 2);
  raw.forEach((position: unknown, k) => {
    if (!Array.isArray(position) || position.length < 2) {
      throw fail(
        source,
        `position ${k} of ${name} is not a ${projection ? "[x, y]" : "[lon, lat]"} array: ${preview(position)} (coordinates nested wrongly?)`,
      );
    }
    const [lon, lat] = position as unknown[];
    for (const v of [lon, lat]) {
      if (typeof v !== "number")
        throw fail(source, `position ${k} of ${name} has a non-number coordinate ${preview(v)}`);
      if (!Number.isFinite(v))
        throw fail(source, `position ${k} of ${name} has a non-finite coordinate ${v}`);
    }
    ring[2 * k] = lon as number;
    ring[2 * k + 1] = lat as number;
    if (projection) {
      try {
        checkProjectedPosition(projection, lon as number, lat as number);
      } catch (err) {
        throw fail(source, `position ${k} of ${name} [${lon}, ${lat}] ${(err as Error).message}`, err);
      }
      return;
    }
    if (Math.abs(lon as number) > 360) {
      throw fail(
        source,
        `position ${k} of ${name} has longitude ${lon} outside [-360, 360] (beyond +-180 it continues across the antimeridian)`,
      );
    }
    if (Math.abs(lat as number) > 90)
      throw fail(source, `position ${k} of ${name} has latitude ${lat} outside [-90, 90]`);
  });
  const n = ring.length / 2;
  if (n < 4) throw fail(source, `${name} has ${n} positions, a ring needs at least 4 (first == last)`);
  const last = n - 1;
  // Written with continuing longitudes, a ring round a pole may end one turn from where it began.
  const dx = Math.abs(ring[0]! - ring[2 * last]!);
  if ((dx !== 0 && (dx !== 360 || projection)) || ring[1] !== ring[2 * last + 1]) {
    throw fail(
      source,
      `${name} is not closed (first ${formatPosition(ring, 0)}, last ${formatPosition(ring, last)})`,
    );
  }
  return ring;
}

/** Checks a closed ring read as written in the plane: enough distinct positions, no self-intersection. */
function validateRing(source: string, ring: Float64Array, name: string): void {
  const distinct = countDistinctVertices(ring);
  if (distinct < 3)
    throw fail(source, `${name} is degenerate: it has ${distinct} distinct positions, at least 3 needed`);
  const crossing = findSelfIntersection(ring);
  if (crossing) {
    const [i, j] = crossing;
    throw fail(
      source,
      `${name} self-intersects: edge ${i} ${formatPosition(ring, i)}-${formatPosition(ring, i + 1)} meets edge ${j} ${formatPosition(ring, j)}-${formatPosition(ring, j + 1)}`,
    );
  }
}

/** Number of vertices of a closed ring once consecutive repeats are dropped. */
function countDistinctVertices(ring: Float64Array): number {
  let count = 0;
  for (let k = 0; k + 2 < ring.length; k += 2) {
    if (ring[k] !== ring[k + 2] || ring[k + 1] !== ring[k + 3]) count++;
  }
  return count;
}
