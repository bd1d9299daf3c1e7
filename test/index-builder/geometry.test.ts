import { cellToParent, latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { bboxOf, footprintOf, h3CellsOf } from "../../src/index-builder/geometry.js";

function track(n: number, lon0: number, lat0: number, dLon: number, dLat: number) {
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lon[i] = lon0 + i * dLon;
    lat[i] = lat0 + i * dLat;
  }
  return { lon, lat };
}

describe("chunk geography", () => {
  it("bbox skips invalid coordinates", () => {
    const lon = new Float64Array([1, 2, Number.NaN, 400]);
    const lat = new Float64Array([5, 6, 7, 8]);
    expect(bboxOf(lon, lat, 0, 4)).toEqual({ xmin: 1, ymin: 5, xmax: 2, ymax: 6 });
  });

  it("H3 cells hold every point's cell and leave no gap along a sparse track", () => {
    // Every 50th point of a 20 m track: consecutive points ~1 km apart, finer than resolution 9 cells.
    const { lon, lat } = track(400, -45, 62, 0.0004, 0.009);
    const cells = h3CellsOf(lon, lat, 0, 400, 9);
    const set = new Set(cells);
    for (let i = 0; i < 400; i++)
      expect(set.has(BigInt(`0x${latLngToCell(lat[i]!, lon[i]!, 9)}`))).toBe(true);
    expect(cells).toEqual([...cells].sort((a, b) => (a < b ? -1 : 1)));
    // The grid path fills the cells between distant consecutive points.
    expect(cells.length).toBeGreaterThan(
      new Set(Array.from(lat, (y, i) => latLngToCell(y, lon[i]!, 9))).size,
    );
    expect(cellToParent(latLngToCell(62, -45, 9), 6)).toBeTypeOf("string");
  });

  it("footprint is a LineString with at most 64 vertices, split at the antimeridian", () => {
    const { lon, lat } = track(10_000, 10, 60, 0.00001, 0.0002);
    const wkb = footprintOf(lon, lat, 0, 10_000);
    const view = new DataView(wkb.buffer);
    expect(view.getUint32(1, true)).toBe(2);
    expect(view.getUint32(5, true)).toBeLessThanOrEqual(64);
    expect(view.getFloat64(9, true)).toBe(10);
    expect(view.getFloat64(wkb.length - 16, true)).toBe(lon[9999]);
    const crossing = track(100, 179.5, 70, 0.01, 0.01);
    for (let i = 50; i < 100; i++) crossing.lon[i] = crossing.lon[i]! - 360;
    const split = footprintOf(crossing.lon, crossing.lat, 0, 100);
    expect(new DataView(split.buffer).getUint32(1, true)).toBe(5);
  });
});
