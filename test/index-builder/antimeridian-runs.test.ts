import { describe, expect, it } from "vitest";
import { antimeridianRuns } from "../../src/index-builder/granule.js";

/** The runs by brute force: cut before every valid longitude more than 180 degrees from the previous valid one. */
function oracleRuns(lon: Float64Array, start: number, end: number): [number, number][] {
  const valid: number[] = [];
  for (let i = start; i < end; i++) if (lon[i]! >= -180 && lon[i]! <= 180) valid.push(i);
  const cuts = valid.filter((i, k) => k > 0 && Math.abs(lon[i]! - lon[valid[k - 1]!]!) > 180);
  const bounds = [start, ...cuts, end];
  const runs: [number, number][] = [];
  for (let k = 0; k + 1 < bounds.length; k++)
    if (bounds[k + 1]! > bounds[k]!) runs.push([bounds[k]!, bounds[k + 1]!]);
  return runs;
}

/** A track going east and west across the antimeridian, with fill values and NaNs. */
function track(seed: number, n: number): Float64Array {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const lon = new Float64Array(n);
  let x = 179.5;
  let step = 0.05;
  for (let i = 0; i < n; i++) {
    if (random() < 0.02) step = -step;
    x += step;
    if (x > 180) x -= 360;
    if (x < -180) x += 360;
    const r = random();
    lon[i] = r < 0.05 ? Number.NaN : r < 0.08 ? 3.4028234663852886e38 : x;
  }
  return lon;
}

describe("antimeridianRuns", () => {
  it("cuts where the brute-force walk cuts, over many tracks and windows", () => {
    let crossings = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const lon = track(seed, 600);
      for (const [start, end] of [
        [0, 600],
        [0, 0],
        [17, 433],
        [599, 600],
        [300, 200],
      ] as const) {
        const runs = antimeridianRuns(lon, start, end);
        expect(runs).toEqual(oracleRuns(lon, start, end));
        crossings += Math.max(0, runs.length - 1);
      }
    }
    // The tracks cross often: the cuts are exercised, not only the single run.
    expect(crossings).toBeGreaterThan(100);
  });

  it("keeps a window of invalid longitudes whole, and an empty window empty", () => {
    const lon = new Float64Array([Number.NaN, 400, -999, Number.NaN]);
    expect(antimeridianRuns(lon, 0, 4)).toEqual([[0, 4]]);
    expect(antimeridianRuns(lon, 2, 2)).toEqual([]);
    expect(antimeridianRuns(new Float64Array([179.9, -179.9, 179.9]), 0, 3)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});
