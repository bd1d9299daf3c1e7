/** Land and coastlines from Natural Earth (the world-atlas package's TopoJSON; no network). */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { FeatureCollection, Geometry, MultiLineString } from "geojson";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

/** Natural Earth land at 1:50 million: coastlines to a few kilometres, 0.5 MB. */
const LAND_FILE = "world-atlas/land-50m.json";

/** Land polygons and their coastline. */
export interface Land {
  land: FeatureCollection<Geometry>;
  coastline: MultiLineString;
}

/** Reads Natural Earth's land polygons and coastline. */
export async function readLand(): Promise<Land> {
  const path = createRequire(import.meta.url).resolve(LAND_FILE);
  const topology = JSON.parse(await readFile(path, "utf8")) as Topology<{ land: GeometryCollection }>;
  const land = feature(topology, topology.objects.land) as FeatureCollection<Geometry>;
  return { land, coastline: mesh(topology, topology.objects.land) };
}
