import { latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { allInDisc, inHexagon, innerDisc, innerHexagon } from "../../src/store/cell-disc.js";
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

describe("the hexagon of an H3 cell in the gnomonic projection", () => {
  /** Points along a cell's edges, a fraction `t` of the way from the centre (lat, lon degrees). */
  function nearEdges(cell: string, t: number): [number, number][] {
    const { centre, boundary } = cellShape(cell);
    const out: [number, number][] = [];
    for (let k = 0; k < boundary.length; k++) {
      const a = boundary[k]!;
      const b = boundary[(k + 1) % boundary.length]!;
      for (let s = 0; s < 1; s += 0.1) {
        // Along the edge in lat/lon (close to the arc for cells this small), then towards the centre.
        const lat = a[0] + (b[0] - a[0]) * s;
        let dlon = b[1] - a[1];
        if (dlon > 180) dlon -= 360;
        if (dlon < -180) dlon += 360;
        let lon = a[1] + dlon * s;
        let clon = centre[1] - lon;
        if (clon > 180) clon -= 360;
        if (clon < -180) clon += 360;
        lon = lon + clon * (1 - t);
        if (lon > 180) lon -= 360;
        if (lon < -180) lon += 360;
        out.push([lat + (centre[0] - lat) * (1 - t), lon]);
      }
    }
    return out;
  }

  it("holds only points of its cell, up to its edges (checked with h3-js, resolutions 4-10, latitudes to 88)", () => {
    let inside = 0;
    let hexagons = 0;
    for (const res of [4, 6, 7, 9, 10]) {
      for (const lat of [-87.9, -79.5, -62.8, -30, 0.3, 45, 62.8, 72.5, 79.9, 83.2, 88]) {
        for (const lon of [-179.99, -45.2, 0, 12.3, 101.7, 179.99]) {
          const cell = latLngToCell(lat, lon, res);
          const hexagon = innerHexagon(cellShape(cell));
          if (!hexagon) continue;
          hexagons++;
          for (const t of [0.99, 0.99999, 1, 1.00001]) {
            for (const [y, x] of nearEdges(cell, t)) {
              if (!inHexagon(hexagon, x, y)) continue;
              expect(latLngToCell(y, x, res), `${cell} at ${y}, ${x} (t ${t})`).toBe(cell);
              inside++;
            }
          }
        }
      }
    }
    expect(hexagons).toBeGreaterThan(150);
    expect(inside).toBeGreaterThan(15_000);
  });

  it("holds most of its cell: points nine tenths of the way to its edges", () => {
    const cell = latLngToCell(72.5, -45.2, 6);
    const hexagon = innerHexagon(cellShape(cell))!;
    const points = nearEdges(cell, 0.9);
    expect(points.filter(([y, x]) => inHexagon(hexagon, x, y))).toHaveLength(points.length);
    expect(nearEdges(cell, 1.01).filter(([y, x]) => inHexagon(hexagon, x, y))).toHaveLength(0);
  });

  it("is not drawn for pentagons and cells of several faces; rejects NaN and fill values", () => {
    expect(innerHexagon(cellShape("8009fffffffffff"))).toBeUndefined();
    const multi = cellShape(latLngToCell(62.8, -45, 6));
    expect(innerHexagon({ ...multi, faces: 2 })).toBeUndefined();
    expect(innerHexagon({ ...multi, faces: undefined })).toBeUndefined();
    const hexagon = innerHexagon(multi)!;
    const [lat0, lon0] = multi.centre;
    expect(inHexagon(hexagon, lon0, lat0)).toBe(true);
    expect(inHexagon(hexagon, Number.NaN, lat0)).toBe(false);
    expect(inHexagon(hexagon, lon0, 3.4028234663852886e38)).toBe(false);
  });
});
