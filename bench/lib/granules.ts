/**
 * The granule list every contender is given: the granules whose bounding polygon (the index's granule
 * geometry, from each file's orbit_info bounding polygon) meets the AOI, as a CMR search would return.
 */
import { booleanIntersects } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import type { GranuleRow } from "../../src/index.js";

/** Rings of a little- or big-endian WKB Polygon (type 3), as GeoJSON positions. */
export function wkbPolygonRings(wkb: Uint8Array): number[][][] {
  const view = new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength);
  const le = view.getUint8(0) === 1;
  const type = view.getUint32(1, le);
  if (type % 1000 !== 3) throw new Error(`granule geometry is WKB type ${type}, not a Polygon`);
  let at = 5;
  const rings: number[][][] = [];
  const count = view.getUint32(at, le);
  at += 4;
  for (let r = 0; r < count; r++) {
    const n = view.getUint32(at, le);
    at += 4;
    const ring: number[][] = [];
    for (let i = 0; i < n; i++, at += 16) ring.push([view.getFloat64(at, le), view.getFloat64(at + 8, le)]);
    rings.push(ring);
  }
  return rings;
}

/** The granules of `granules` whose bounding polygon meets `aoi`, in granule_id order. */
export function granulesMeeting(
  granules: readonly GranuleRow[],
  aoi: Polygon | MultiPolygon | Feature<Polygon | MultiPolygon>,
): GranuleRow[] {
  return granules
    .filter((g) => booleanIntersects({ type: "Polygon", coordinates: wkbPolygonRings(g.geometry) }, aoi))
    .sort((a, b) => (a.granule_id < b.granule_id ? -1 : 1));
}
