/** The benchmark's areas of interest, as GeoJSON geometries. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Polygon } from "geojson";

/** A named AOI. */
export interface BenchAoi {
  name: string;
  geometry: Polygon;
}

/** The Greenland test polygon (the ICESat-2 hackweek box) from the examples. */
export async function greenlandAoi(root: string): Promise<BenchAoi> {
  const feature = JSON.parse(await readFile(join(root, "examples", "greenland.geojson"), "utf8"));
  return { name: "greenland", geometry: feature.geometry as Polygon };
}

/**
 * A concave AOI over the same area: the Greenland box with a notch cut from its east side, so tracks
 * east of 45 W cross it twice (SlideRule's first-run subsetting would lose the second part).
 */
export const CONCAVE_AOI: BenchAoi = {
  name: "concave",
  geometry: {
    type: "Polygon",
    coordinates: [
      [
        [-45.38, 62.633],
        [-44.62, 62.633],
        [-44.62, 62.72],
        [-45.0, 62.72],
        [-45.0, 62.89],
        [-44.62, 62.89],
        [-44.62, 62.98],
        [-45.38, 62.98],
        [-45.38, 62.633],
      ],
    ],
  },
};

/** The whole world, for the memory measurement. */
export const WORLD_AOI: BenchAoi = {
  name: "world",
  geometry: {
    type: "Polygon",
    coordinates: [
      [
        [-180, -90],
        [180, -90],
        [180, 90],
        [-180, 90],
        [-180, -90],
      ],
    ],
  },
};
