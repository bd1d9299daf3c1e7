import { areNeighborCells, cellToLatLng, getPentagons, gridDisk, isPentagon, latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { inHexagon } from "../../src/store/cell-disc.js";
import {
  CELL_CACHE_SIZE,
  cellToBigint,
  clearTrackCellCache,
  shareAnEdge,
  trackCells,
  trackHexagon,
} from "../../src/store/h3.js";
import { trackCellsV1 } from "../index-builder/oracle/geometry-v1.js";

const FILL = 3.4028234663852886e38;

interface Track {
  name: string;
  lon: Float64Array;
  lat: Float64Array;
}

/** n points `step` degrees apart along a straight line in lon/lat from (lon0, lat0), longitudes wrapped. */
function line(name: string, lon0: number, lat0: number, dLon: number, dLat: number, n: number): Track {
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = lon0 + i * dLon;
    if (x > 180) x -= 360;
    if (x < -180) x += 360;
    lon[i] = x;
    lat[i] = lat0 + i * dLat;
  }
  return { name, lon, lat };
}

/** A pair of beams 90 m apart (as ATL06's gt1l and gt1r), 20 m segments, with some fill values. */
function pair(name: string, lon0: number, lat0: number, n: number): Track[] {
  const dLat = 20 / 111_320;
  const dLon = (0.3 * dLat) / Math.cos((lat0 * Math.PI) / 180);
  const left = line(`${name} left`, lon0, lat0, dLon, dLat, n);
  const right = line(
    `${name} right`,
    lon0 + 90 / (111_320 * Math.cos((lat0 * Math.PI) / 180)),
    lat0,
    dLon,
    dLat,
    n,
  );
  for (const i of [5, 6, 700, 1500]) if (i < n) right.lat[i] = FILL;
  return [left, right];
}

/** A track down a meridian to near the pole and up the opposite one. */
function overThePole(n: number): Track {
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  const dLat = 20 / 111_320;
  for (let i = 0; i < n; i++) {
    const y = 89.2 + i * dLat;
    lat[i] = y <= 89.999 ? y : 89.999 - (y - 89.999);
    lon[i] = y <= 89.999 ? 30 : -150;
  }
  return { name: "over the pole", lon, lat };
}

const pentagon = cellToLatLng(getPentagons(6)[3]!);
const tracks: Track[] = [
  ...pair("greenland", -45.2, 69.8, 3000),
  ...pair("antimeridian", 179.97, 64.1, 3000),
  line("across the antimeridian, westward", -179.96, -70.3, -0.0009, 0.00005, 1200),
  line("through a pentagon", pentagon[1] - 0.2, pentagon[0] - 0.1, 0.00015, 0.00008, 3000),
  overThePole(1200),
];

/** Chunk rows of `size` points, in order or reversed. */
function rows(n: number, size: number, reversed: boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return reversed ? out.reverse() : out;
}

function expectOracle(resolutions: number[], size: number, reversed: boolean): number {
  let compared = 0;
  for (const res of resolutions) {
    for (const { name, lon, lat } of tracks) {
      for (const [a, b] of rows(lon.length, size, reversed)) {
        expect(trackCells(lon, lat, a, b, res), `${name} [${a}, ${b}) res ${res}`).toEqual(
          trackCellsV1(lon, lat, a, b, res),
        );
        compared++;
      }
    }
  }
  return compared;
}

/** Each row at every resolution in turn: the next call starts where the last one ended, at another resolution. */
function expectInterleaved(resolutions: number[], size: number): number {
  let compared = 0;
  for (const { name, lon, lat } of tracks) {
    for (const [a, b] of rows(lon.length, size, false)) {
      for (const res of resolutions) {
        expect(trackCells(lon, lat, a, b, res), `${name} [${a}, ${b}) res ${res}`).toEqual(
          trackCellsV1(lon, lat, a, b, res),
        );
        compared++;
      }
    }
  }
  return compared;
}

describe("trackCells with cells kept across calls", () => {
  it("gives the first implementation's cells however calls follow: beams, resolutions, order, an emptied cache", () => {
    clearTrackCellCache();
    let compared = expectOracle([6], 1000, false);
    // Warm: the same tracks again at other resolutions, interleaved, rows in reverse, odd row sizes.
    compared += expectOracle([9, 5, 6], 700, true);
    compared += expectOracle([6, 9], 1237, false);
    compared += expectInterleaved([6, 9, 5], 900);
    clearTrackCellCache();
    compared += expectOracle([9], 1000, true);
    expect(compared).toBeGreaterThan(100);
  });

  it("gives the same cells after the cache has dropped its oldest cells", () => {
    clearTrackCellCache();
    expectOracle([10], 1500, false);
    // About 10 000 cells at resolution 10 (a point every 200 m): more than the cache keeps.
    const long = line("long", 10.1, 40.2, 0.0016, 0.0008, 7000);
    const cells = trackCells(long.lon, long.lat, 0, long.lon.length, 10);
    expect(cells.length).toBeGreaterThan(CELL_CACHE_SIZE);
    expect(cells).toEqual(trackCellsV1(long.lon, long.lat, 0, long.lon.length, 10));
    expect(expectOracle([10, 6], 1500, true)).toBeGreaterThan(20);
  });

  it("holds every valid point's cell (h3-js point by point) on the pentagon and pole tracks", () => {
    for (const res of [5, 6]) {
      for (const { name, lon, lat } of tracks.slice(-2)) {
        const cells = new Set(trackCells(lon, lat, 0, lon.length, res));
        for (let i = 0; i < lon.length; i++) {
          expect(cells.has(cellToBigint(latLngToCell(lat[i]!, lon[i]!, res))), `${name} point ${i}`).toBe(
            true,
          );
        }
      }
    }
    const through = tracks.find((t) => t.name === "through a pentagon")!;
    const pentagonCell = cellToBigint(getPentagons(6)[3]!);
    expect(isPentagon(getPentagons(6)[3]!)).toBe(true);
    expect(trackCells(through.lon, through.lat, 0, through.lon.length, 6)).toContain(pentagonCell);
  });
});

describe("the hexagons and neighbours trackCells keeps", () => {
  it("take cells for neighbours only when h3-js does, and find most neighbours without it", () => {
    let pairs = 0;
    let neighbours = 0;
    let found = 0;
    for (const res of [4, 6, 9, 10]) {
      for (const [lat, lon] of [
        [69.8, -45.2],
        [-70.3, 179.99],
        [0.3, 12.3],
        [83.2, 101.7],
        pentagon,
      ] as const) {
        const origin = latLngToCell(lat, lon, res);
        const a = trackHexagon(origin);
        for (const other of gridDisk(origin, 2)) {
          const b = trackHexagon(other);
          if (!a || !b || other === origin) continue;
          pairs++;
          const h3 = areNeighborCells(origin, other);
          if (h3) neighbours++;
          if (shareAnEdge(a.vertices, b.vertices)) {
            expect(h3, `${origin} ${other}`).toBe(true);
            found++;
          }
        }
      }
    }
    expect(pairs).toBeGreaterThan(200);
    expect(neighbours).toBeGreaterThan(80);
    expect(found).toBe(neighbours);
  });

  it("hold only points of their cell, up to the edges (checked with h3-js)", () => {
    let inside = 0;
    for (const res of [4, 6, 7, 9, 10]) {
      for (const lat of [-87.9, -62.8, 0.3, 45, 72.5, 83.2, 88]) {
        for (const lon of [-179.99, -45.2, 12.3, 179.99]) {
          const cell = latLngToCell(lat, lon, res);
          const shape = trackHexagon(cell);
          if (!shape) continue;
          const v = shape.vertices;
          const [clat, clon] = cellToLatLng(cell);
          for (let k = 0; k < 12; k += 2) {
            for (const t of [0.5, 0.99, 0.99999, 1]) {
              for (const f of [0, 0.3, 0.5, 0.9]) {
                // A point a share t of the way from the centre to a point f along the edge from vertex k.
                const j = (k + 2) % 12;
                const ey = v[k]! + (v[j]! - v[k]!) * f;
                let dx = v[k + 1]! + wrap(v[j + 1]! - v[k + 1]!) * f - clon;
                dx = wrap(dx);
                const y = clat + (ey - clat) * t;
                const x = wrapLon(clon + dx * t);
                if (!inHexagon(shape.hexagon, x, y)) continue;
                expect(latLngToCell(y, x, res), `${cell} at ${y}, ${x}`).toBe(cell);
                inside++;
              }
            }
          }
        }
      }
    }
    expect(inside).toBeGreaterThan(1_000);
  });
});

function wrap(d: number): number {
  return d > 180 ? d - 360 : d < -180 ? d + 360 : d;
}

function wrapLon(x: number): number {
  return x > 180 ? x - 360 : x < -180 ? x + 360 : x;
}
