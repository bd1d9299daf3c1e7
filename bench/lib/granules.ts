/**
 * The granule list every contender is given: the granules whose bounding polygon (the index's granule
 * geometry, from each file's orbit_info bounding polygon) meets the AOI, as a CMR search would return.
 */
import { booleanIntersects } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import type { GranuleInfo } from "../../src/index.js";

/** The granules of `granules` whose bounding polygon meets `aoi`, in granule_id order. */
export function granulesMeeting(
  granules: readonly GranuleInfo[],
  aoi: Polygon | MultiPolygon | Feature<Polygon | MultiPolygon>,
): GranuleInfo[] {
  return granules
    .filter((g) => g.geometry !== null && booleanIntersects(g.geometry, aoi))
    .sort((a, b) => (a.granule_id < b.granule_id ? -1 : 1));
}
