import h5wasm from "h5wasm/node";
import { describe, expect, it } from "vitest";
import { demoGranuleSet, synthesizeAtl06 } from "../../fixtures/atl06/generate.js";
import {
  bboxOf,
  chunkGeometry,
  footprintError,
  footprintOf,
  footprintWithError,
} from "../../src/index-builder/geometry.js";
import { trackCells } from "../../src/store/h3.js";
import { MISSING_GRANULES, realGranules } from "../hdf5/granules.js";
import { footprintErrorV1, footprintOfV1, trackCellsV1 } from "./oracle/geometry-v1.js";

interface Track {
  name: string;
  /** H3 resolutions compared (the store's default 6; 9 has ten times more cell changes). */
  resolutions: number[];
  lon: Float64Array;
  lat: Float64Array;
}

/** Chunk rows of 10 000 points (the ATL06 chunk), and a few odd ranges, of a track. */
function ranges(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += 10_000) out.push([s, Math.min(n, s + 10_000)]);
  out.push([0, Math.min(n, 1)], [3, Math.min(n, 40)], [7, Math.min(n, 1237)]);
  return out.filter(([a, b]) => b > a);
}

/** The new cover and footprint must give exactly what the earlier implementations gave. */
function expectSameAsOracle(tracks: readonly Track[]): number {
  let compared = 0;
  for (const { name, lon, lat, resolutions } of tracks) {
    for (const [a, b] of ranges(lon.length)) {
      const where = `${name} [${a}, ${b})`;
      const fp = footprintWithError(lon, lat, a, b);
      expect(fp.geometry, where).toEqual(footprintOfV1(lon, lat, a, b));
      expect(fp.error, where).toBe(footprintErrorV1(lon, lat, a, b));
      expect(footprintOf(lon, lat, a, b), where).toEqual(fp.geometry);
      expect(footprintError(lon, lat, a, b), where).toBe(fp.error);
      expect(chunkGeometry(lon, lat, a, b), where).toEqual({ ...fp, bbox: bboxOf(lon, lat, a, b) });
      for (const res of resolutions) {
        expect(trackCells(lon, lat, a, b, res), `${where} res ${res}`).toEqual(
          trackCellsV1(lon, lat, a, b, res),
        );
      }
      compared++;
    }
  }
  return compared;
}

if (realGranules().length === 0) console.warn(MISSING_GRANULES);

describe("H3 cover and footprint equal the first implementation's", () => {
  it("on synthetic tracks: demo granules, holes, fill values and the antimeridian", () => {
    const tracks: Track[] = [];
    for (const opts of demoGranuleSet().slice(0, 1)) {
      const g = synthesizeAtl06(opts);
      for (const [beam, { values }] of g.beams) {
        const lat = Float64Array.from(values.get("latitude") as ArrayLike<number>);
        const lon = Float64Array.from(values.get("longitude") as ArrayLike<number>);
        tracks.push({ name: `${g.fileName} ${beam}`, lon, lat, resolutions: beam === "gt1l" ? [6, 9] : [6] });
      }
    }
    // A track with fill values, a hole of 5 km and a crossing of the antimeridian.
    const n = 12_000;
    const lon = new Float64Array(n);
    const lat = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      lat[i] = 70 + i * 0.00018;
      lon[i] = 179.9 + i * 0.00002 + (i >= 6000 && i < 6020 ? 0.05 : 0);
      if (lon[i]! > 180) lon[i] = lon[i]! - 360;
    }
    for (const i of [0, 17, 18, 500, 4321, 11_999]) lat[i] = 3.4028234663852886e38;
    tracks.push({ name: "holes", lon, lat, resolutions: [6, 9] });
    // A track that wanders off its footprint on both sides, steps back along itself and runs straight
    // (offsets from 0 to 1e-3 degrees: the largest offset is found among points near their segment's
    // line), then runs with every point but the footprint's vertices (rows [30 000, 40 000), every
    // 159th) off to one side by offsets that grow by under 0.01 % a point (each a new largest offset).
    const w = 40_000;
    const wx = new Float64Array(w);
    const wy = new Float64Array(w);
    for (let i = 0; i < w; i++) {
      const wobble = i < 20_000 ? 1e-3 * Math.sin(i / 37) * Math.sin(i / 1500) : 0;
      const k = i - 30_000;
      const aside = k >= 0 && k % 159 !== 0 && i !== w - 1 ? 1e-4 * (1 + k * 1e-4) : 0;
      wy[i] = -40 + i * 0.00018 - (i % 997 === 0 && i < 30_000 ? 0.01 : 0);
      wx[i] = 20 + (i < 30_000 ? i * 0.00005 : 1.5) + wobble + aside;
    }
    tracks.push({ name: "wandering", lon: wx, lat: wy, resolutions: [6] });
    expect(expectSameAsOracle(tracks)).toBeGreaterThan(20);
  });

  it.skipIf(realGranules().length === 0)(
    "on the real granules' tracks (HDF5 library's coordinates)",
    async () => {
      await h5wasm.ready;
      const tracks: Track[] = [];
      for (const path of realGranules()) {
        const f = new h5wasm.File(path, "r");
        try {
          for (const beam of ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]) {
            const lat = f.get(`/${beam}/land_ice_segments/latitude`);
            const lon = f.get(`/${beam}/land_ice_segments/longitude`);
            if (!(lat instanceof h5wasm.Dataset) || !(lon instanceof h5wasm.Dataset)) continue;
            tracks.push({
              name: `${path} ${beam}`,
              lat: lat.value as Float64Array,
              lon: lon.value as Float64Array,
              resolutions: [6, 9],
            });
          }
        } finally {
          f.close();
        }
      }
      expect(tracks.length).toBeGreaterThanOrEqual(6);
      expect(expectSameAsOracle(tracks)).toBeGreaterThan(20);
    },
  );
});
