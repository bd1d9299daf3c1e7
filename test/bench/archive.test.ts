/**
 * The many-year benchmark archive over the Greenland box: distinct granules (the indexer would fold
 * byte-identical copies into one), inside SlideRule's published run's time range, every track crossing
 * the box.
 */
import { readFile } from "node:fs/promises";
import { booleanIntersects } from "@turf/turf";
import type { Polygon } from "geojson";
import { describe, expect, it } from "vitest";
import { ARCHIVE_TRACKS, manyYearGranuleSet } from "../../bench/lib/archive.js";
import { atl06FileName, GREENLAND_CENTRE, synthesizeAtl06 } from "../../fixtures/atl06/generate.js";

describe("many-year benchmark archive", () => {
  const set = manyYearGranuleSet(200);

  it("names 200 distinct granules, one per track and cycle, from 2019 to 2025", () => {
    const names = set.map(atl06FileName);
    expect(new Set(names).size).toBe(200);
    expect(new Set(set.map((o) => `${o.rgt}/${o.cycle}`)).size).toBe(200);
    expect(new Set(set.map((o) => o.seed)).size).toBe(200);
    expect(new Set(set.map((o) => o.rgt)).size).toBe(ARCHIVE_TRACKS);
    expect(Math.min(...set.map((o) => o.cycle))).toBe(2);
    expect(Math.max(...set.map((o) => o.cycle))).toBe(26);
    for (const o of set) {
      expect(o.start.getTime()).toBeGreaterThan(Date.UTC(2018, 9, 13));
      expect(o.start.getTime()).toBeLessThan(Date.UTC(2025, 9, 13));
    }
    // A smaller archive is the first granules of a larger one (the generated files are reused).
    expect(manyYearGranuleSet(16).map(atl06FileName)).toEqual(names.slice(0, 16));
    expect(() => manyYearGranuleSet(ARCHIVE_TRACKS * 26 + 1)).toThrow(/1\.\.208/);
  });

  it("crosses the Greenland box on every track, not always at mid-granule", async () => {
    const feature = JSON.parse(
      await readFile(new URL("../../examples/greenland.geojson", import.meta.url), "utf8"),
    );
    const box = feature.geometry as Polygon;
    const positions: number[] = [];
    for (const o of set.slice(0, ARCHIVE_TRACKS)) {
      const g = synthesizeAtl06({ ...o, beams: ["gt1l"] });
      const ring = g.polygon.lon.map((lon, i) => [lon, g.polygon.lat[i]!]);
      expect(booleanIntersects({ type: "Polygon", coordinates: [ring] }, box), atl06FileName(o)).toBe(true);
      // Where along the granule the box's centre latitude is crossed: 10-90% of its rows.
      const lat = g.beams.get("gt1l")!.values.get("latitude") as Float64Array;
      let k = 0;
      while (
        k < lat.length - 1 &&
        (lat[k]! - GREENLAND_CENTRE.lat) * (lat[k + 1]! - GREENLAND_CENTRE.lat) > 0
      )
        k++;
      positions.push(k / lat.length);
    }
    expect(Math.min(...positions)).toBeGreaterThan(0.05);
    expect(Math.max(...positions)).toBeLessThan(0.95);
    // Not all at the middle: a spread of at least a third of the granule.
    expect(Math.max(...positions) - Math.min(...positions)).toBeGreaterThan(0.33);
  });
});
