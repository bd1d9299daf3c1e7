import { latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { allInDisc, innerDisc } from "../../src/store/cell-disc.js";
import { cellShape } from "../../src/store/h3.js";

describe("the disc inside an H3 cell", () => {
  it("holds only points of its cell (checked with h3-js on its rim, resolutions 4-10, latitudes 0-80)", () => {
    let checked = 0;
    for (const res of [4, 6, 7, 10]) {
      for (const lat of [-79.5, -62.8, -30, 0.3, 45, 62.8, 72.5, 79.9]) {
        for (const lon of [-179, -45.2, 0, 12.3, 101.7, 179]) {
          const cell = latLngToCell(lat, lon, res);
          const disc = innerDisc(cellShape(cell));
          if (!disc) continue;
          const r = Math.sqrt(disc.r2) * 0.9999;
          for (let k = 0; k < 36; k++) {
            const a = (k * Math.PI) / 18;
            const y = disc.lat0 + r * Math.sin(a);
            const x = disc.lon0 + (r * Math.cos(a)) / disc.scale;
            expect(latLngToCell(y, x, res), `${cell} at ${y}, ${x}`).toBe(cell);
            expect(allInDisc(disc, Float64Array.of(x), Float64Array.of(y), 0, 0)).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(5_000);
  });

  it("is not used for pentagons, coarse cells and the poles; rejects NaN and fill values", () => {
    expect(innerDisc(cellShape(latLngToCell(62, -45, 3)))).toBeUndefined();
    expect(innerDisc(cellShape(latLngToCell(85, 10, 6)))).toBeUndefined();
    expect(innerDisc(cellShape("8009fffffffffff"))).toBeUndefined();
    const disc = innerDisc(cellShape(latLngToCell(62.8, -45, 6)))!;
    expect(
      allInDisc(disc, Float64Array.of(disc.lon0, Number.NaN), Float64Array.of(disc.lat0, disc.lat0), 0, 1),
    ).toBe(false);
    expect(allInDisc(disc, Float64Array.of(disc.lon0), Float64Array.of(3.4028234663852886e38), 0, 0)).toBe(
      false,
    );
  });
});
