import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interpolateViridis } from "d3-scale-chromatic";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plotResult } from "../../src/plot/index.js";
import { runCli } from "../support/cli.js";
import {
  colourDistance,
  fitScreen,
  type KnownPoint,
  readPng,
  rgb,
  svgCircles,
  writeKnownResult,
} from "./support.js";

/** Seven points 0.4 degrees apart along 45 W over the Greenland ice sheet, h_li 1000..3000 m. */
const TRACK: KnownPoint[] = Array.from({ length: 7 }, (_, i) => ({
  lat: 62 + i * 0.4,
  lon: -45 + i * 0.1,
  value: 1000 + (2000 * i) / 6,
}));
const AOI = "-50,60,-40,66";
const LAND = "#ece6d6";
const OCEAN = "#d8e6f0";

describe("plot: maps of query results", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-plot-"));
    for (const ext of ["parquet", "gpkg", "fgb", "csv", "geojson", "geojsonl"])
      await writeKnownResult(join(dir, `track.${ext}`), TRACK);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("draws points in polar stereographic at their EPSG:3413 places, coloured by h_li on the ramp, over land and inside the AOI", async () => {
    const svgPath = join(dir, "map.svg");
    const pngPath = join(dir, "map.png");
    const args = ["plot", join(dir, "track.parquet"), "--polygon", AOI, "--range", "1000,3000"];
    const svgRun = await runCli([...args, "--out", svgPath]);
    expect(svgRun.stderr).toBe("");
    expect(svgRun.code).toBe(0);
    expect(svgRun.stdout).toContain("drew 7 rows as 7 marks");
    expect(svgRun.stdout).toContain("EPSG:3413-like");
    const pngRun = await runCli([...args, "--out", pngPath]);
    expect(pngRun.code).toBe(0);

    const svg = readFileSync(svgPath, "utf8");
    expect(svg).toContain("ATL06 h_li");
    expect(svg).toContain("h_li (m)");
    expect(svg).toContain("1 granule, 7 segments, 2019-06-01 20:28 .. 20:28 UTC");
    const marks = svgCircles(svg);
    expect(marks).toHaveLength(7);
    // The marks sit where PROJ's EPSG:3413 puts the points, up to one scale and shift (north-up,
    // 45 W pointing down): the map is that projection, on the sphere.
    const screen = fitScreen(
      "EPSG:3413",
      TRACK.map((p) => [p.lon, p.lat]),
      marks.map((m) => [m.x, m.y]),
    );
    expect(screen.residual).toBeLessThan(1.5);

    const png = readPng(pngPath);
    expect([png.width, png.height]).toEqual([1000, 760]);
    TRACK.forEach((p, i) => {
      const [x, y] = screen.toScreen(p.lon, p.lat);
      const expected = rgb(interpolateViridis((p.value - 1000) / 2000));
      expect(colourDistance(png.at(x, y), expected), `point ${i} at ${x}, ${y}`).toBeLessThanOrEqual(3);
    });
    // Natural Earth: the ice sheet at 42 W 65 N is land, the Irminger Sea at 40.5 W 61 N is sea.
    expect(colourDistance(png.at(...screen.toScreen(-42, 65)), rgb(LAND))).toBeLessThanOrEqual(2);
    expect(colourDistance(png.at(...screen.toScreen(-40.5, 61)), rgb(OCEAN))).toBeLessThanOrEqual(2);
    // The AOI outline passes through its corners and the middle of its edges, in red.
    for (const [lon, lat] of [
      [-45, 60],
      [-50, 63],
      [-40, 66],
      [-45, 66],
    ] as const) {
      const [x, y] = screen.toScreen(lon, lat);
      const [r, g, b] = png.at(x, y);
      expect(r - Math.max(g, b), `AOI at ${lon}, ${lat}`).toBeGreaterThan(60);
    }
  });

  it("gives the same picture from every output format the query writes, and the same bytes twice", async () => {
    const pictures = [];
    for (const ext of ["parquet", "gpkg", "fgb", "csv", "geojson", "geojsonl"]) {
      const out = join(dir, `from-${ext}.png`);
      const report = await plotResult(join(dir, `track.${ext}`), { out, range: [1000, 3000] });
      expect(report.marks, ext).toBe(7);
      pictures.push(readFileSync(out));
    }
    for (const p of pictures.slice(1)) expect(p.equals(pictures[0]!)).toBe(true);
    const again = join(dir, "again.png");
    await plotResult(join(dir, "track.parquet"), { out: again, range: [1000, 3000] });
    expect(readFileSync(again).equals(pictures[0]!)).toBe(true);
  });
});
