import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interpolateViridis } from "d3-scale-chromatic";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { plotResult } from "../../src/plot/index.js";
import { BEAM_COLOURS, CLASS_COLOURS } from "../../src/plot/profile.js";
import { runCli } from "../support/cli.js";
import {
  colourDistance,
  fitScreen,
  type KnownPoint,
  type Pixels,
  readPng,
  rgb,
  svgCircles,
  writeKnownResult,
} from "./support.js";

const LAND = rgb("#ece6d6");
const OCEAN = rgb("#d8e6f0");

/** Share of a PNG's pixels within 2 of a colour. */
function share(png: Pixels, colour: readonly number[]): number {
  let n = 0;
  for (let y = 0; y < png.height; y += 2)
    for (let x = 0; x < png.width; x += 2) if (colourDistance(png.at(x, y), colour) <= 2) n++;
  return n / ((png.width / 2) * (png.height / 2));
}

describe("plot: empty, single-point, whole-world, antimeridian and Antarctic results; profiles", () => {
  let dir: string;
  const at = (name: string) => join(dir, name);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-plot-cases-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("an empty result (whose product no row names) is a world map with no marks, titled with 0 rows", async () => {
    await writeKnownResult(at("empty.parquet"), []);
    const report = await plotResult(at("empty.parquet"), { out: at("empty.png") });
    expect(report).toEqual({ rows: 0, marks: 0, layout: "Equal Earth" });
    await plotResult(at("empty.parquet"), { out: at("empty.svg") });
    expect(readFileSync(at("empty.svg"), "utf8")).toContain("0 granules, 0 rows");
    const png = readPng(at("empty.png"));
    // Natural Earth's land is about 29% of the globe, which fills about half the frame (Equal Earth keeps areas).
    expect(share(png, LAND)).toBeGreaterThan(0.08);
    expect(share(png, OCEAN)).toBeGreaterThan(0.3);
    // Every format's empty result, some of which carry no columns at all.
    for (const ext of ["gpkg", "fgb", "csv", "geojson", "geojsonl"]) {
      await writeKnownResult(at(`empty.${ext}`), []);
      const drawn = await plotResult(at(`empty.${ext}`), { out: at(`empty-${ext}.svg`) });
      expect(drawn, ext).toEqual({ rows: 0, marks: 0, layout: "Equal Earth" });
    }
  });

  it("a single point is drawn at the map's centre in the middle colour of its ramp", async () => {
    await writeKnownResult(at("one.parquet"), [{ lat: 46.5, lon: 7.9, value: 3500 }]);
    const report = await plotResult(at("one.parquet"), { out: at("one.png") });
    expect(report.marks).toBe(1);
    expect(report.layout).toContain("azimuthal equal-area at 7.9, 46.5");
    const png = readPng(at("one.png"));
    // Frame 20..870 x 64..724: its centre.
    expect(colourDistance(png.at(445, 394), rgb(interpolateViridis(0.5)))).toBeLessThanOrEqual(3);
  });

  it("the library, imported by its package name, draws a result", async () => {
    const { plotResult: plot } = await import("geochunks");
    await writeKnownResult(at("lib.geojson"), [{ lat: -33.9, lon: 18.4, value: 12 }]);
    const report = await plot(at("lib.geojson"), { out: at("lib.svg"), title: "Cape Town" });
    expect(report).toEqual({ rows: 1, marks: 1, layout: "Lambert azimuthal equal-area at 18.4, -33.9" });
    expect(readFileSync(at("lib.svg"), "utf8")).toContain("<title>Cape Town</title>");
  });

  it("colours each product by its own height, with its units, and names its rows", async () => {
    for (const [product, variable, noun] of [
      ["ATL08", "h_canopy", "land segment"],
      ["GEDI02_A", "elev_lowestmode", "shot"],
    ] as const) {
      const file = at(`${product}.csv`);
      await writeKnownResult(file, [{ lat: -3, lon: -60, value: 30 }], { product, variable });
      await plotResult(file, { out: at(`${product}.svg`) });
      const svg = readFileSync(at(`${product}.svg`), "utf8");
      expect(svg).toContain(`<title>${product} ${variable}</title>`);
      expect(svg).toContain(`${variable} (m)`);
      expect(svg).toContain(`1 granule, 1 ${noun},`);
    }
  });

  it("a whole-world result is drawn in Equal Earth with every point", async () => {
    const world: KnownPoint[] = [];
    for (let lat = -60; lat <= 80; lat += 20)
      for (let lon = -170; lon <= 170; lon += 40) world.push({ lat, lon, value: lat });
    await writeKnownResult(at("world.parquet"), world);
    const report = await plotResult(at("world.parquet"), { out: at("world.svg") });
    expect(report).toEqual({ rows: world.length, marks: world.length, layout: "Equal Earth" });
  });

  it("a track across the antimeridian is centred on it and drawn in one piece", async () => {
    const track = Array.from({ length: 9 }, (_, i) => ({
      lat: -17 + i * 0.05,
      lon: 179.6 + i * 0.1,
      value: i,
    }));
    for (const p of track) if (p.lon > 180) p.lon -= 360;
    await writeKnownResult(at("dateline.parquet"), track);
    const report = await plotResult(at("dateline.parquet"), { out: at("dateline.svg") });
    expect(report.layout).toMatch(/azimuthal equal-area at -?180\.0, -16\.8/);
    const marks = svgCircles(readFileSync(at("dateline.svg"), "utf8"));
    expect(marks).toHaveLength(9);
    // Neighbours stay neighbours: no mark jumps across the map.
    for (let i = 1; i < marks.length; i++)
      expect(Math.hypot(marks[i]!.x - marks[i - 1]!.x, marks[i]!.y - marks[i - 1]!.y)).toBeLessThan(150);
  });

  it("Antarctic points are drawn in polar stereographic south, at PROJ's EPSG:3031 places", async () => {
    const pts = Array.from({ length: 6 }, (_, i) => ({ lat: -80 + i, lon: -100 + i * 25, value: i }));
    await writeKnownResult(at("south.parquet"), pts);
    const report = await plotResult(at("south.parquet"), { out: at("south.svg") });
    expect(report.layout).toContain("EPSG:3031-like");
    const marks = svgCircles(readFileSync(at("south.svg"), "utf8"));
    const fit = fitScreen(
      "EPSG:3031",
      pts.map((p) => [p.lon, p.lat]),
      marks.map((m) => [m.x, m.y]),
    );
    expect(fit.residual).toBeLessThan(1.5);
  });

  it("profiles: one panel per beam pair, heights rising with x_atc drawn rising, ATL03 photons by confidence", async () => {
    const rising: KnownPoint[] = [];
    for (const beam of ["gt1l", "gt1r", "gt2l"])
      for (let i = 0; i < 400; i++)
        rising.push({ lat: 70 + i * 0.001, lon: -40, value: 1000 + i, x_atc: 2e7 + i * 20, beam });
    await writeKnownResult(at("rising.parquet"), rising);
    const run = await runCli(["plot", at("rising.parquet"), "--profile", "--out", at("rising.png")]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("(2 panels)");
    const png = readPng(at("rising.png"));
    for (const colour of BEAM_COLOURS) {
      // Every pixel of the beam's colour: as x grows, y (down the picture) falls.
      const xs: number[] = [];
      const ys: number[] = [];
      for (let y = 60; y < png.height; y++)
        for (let x = 80; x < png.width - 150; x++)
          if (colourDistance(png.at(x, y), rgb(colour)) <= 4) {
            xs.push(x);
            ys.push(y);
          }
      expect(xs.length, colour).toBeGreaterThan(200);
      const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
      const my = ys.reduce((s, v) => s + v, 0) / ys.length;
      const cov = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0);
      expect(cov, colour).toBeLessThan(0);
    }

    const photons: KnownPoint[] = Array.from({ length: 600 }, (_, i) => ({
      lat: 60 + i * 1e-4,
      lon: 10,
      value: i % 3 === 0 ? 500 + (i % 50) : 100 + i * 0.01,
      conf: i % 3 === 0 ? 0 : 4,
      beam: "gt2r",
    }));
    await writeKnownResult(at("photons.parquet"), photons, { product: "ATL03" });
    const report = await plotResult(at("photons.parquet"), { out: at("photons.png"), profile: true });
    expect(report.layout).toBe("1 panels");
    const pixels = readPng(at("photons.png"));
    const high = CLASS_COLOURS.find(([name]) => name === "high")![1];
    const noise = CLASS_COLOURS.find(([name]) => name === "noise")![1];
    expect(share(pixels, rgb(high))).toBeGreaterThan(0.0005);
    expect(share(pixels, rgb(noise))).toBeGreaterThan(0.0005);
  });
});
