import { booleanPointInPolygon } from "@turf/turf";
import type { MultiPolygon, Polygon, Position } from "geojson";
import { describe, expect, it } from "vitest";
import { type Aoi, aoiToGeoJSON, parseAoi } from "../../src/query/aoi.js";
import { orient2d, pointInAoi, pointsInAoi } from "../../src/query/pip.js";

/** Small seeded PRNG (xorshift32 scaled to [0, 1)) so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** The largest double below a positive finite `v`. */
function previousDouble(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

function geometryOf(aoi: Aoi): Polygon | MultiPolygon {
  return aoiToGeoJSON(aoi) as Polygon | MultiPolygon;
}

/** Indices where pointsInAoi and turf (boundary inclusive) disagree. */
function disagreements(aoi: Aoi, lon: Float64Array, lat: Float64Array): number[] {
  const ours = pointsInAoi(aoi, lon, lat);
  const geometry = geometryOf(aoi);
  const bad: number[] = [];
  for (let i = 0; i < lon.length; i++) {
    const theirs = booleanPointInPolygon([lon[i]!, lat[i]!], geometry, { ignoreBoundary: false });
    if (theirs !== (ours[i] === 1)) bad.push(i);
  }
  return bad;
}

function randomPoints(n: number, bbox: readonly number[], rand: () => number, margin = 0.1) {
  const [x0, y0, x1, y1] = bbox as [number, number, number, number];
  const w = x1 - x0;
  const h = y1 - y0;
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lon[i] = x0 - margin * w + rand() * (1 + 2 * margin) * w;
    lat[i] = y0 - margin * h + rand() * (1 + 2 * margin) * h;
  }
  return { lon, lat };
}

function polygonAoi(...rings: Position[][]): Aoi {
  return parseAoi(JSON.stringify({ type: "Polygon", coordinates: rings }));
}

/** A simple star-shaped ring around (cx, cy): sorted random angles, random radii in [r/3, r]. */
function starRing(rand: () => number, cx: number, cy: number, r: number, n: number): Position[] {
  const angles = Array.from({ length: n }, () => rand() * 2 * Math.PI).sort((a, b) => a - b);
  const ring = angles.map((a) => {
    const rr = r * (1 / 3 + (2 / 3) * rand());
    return [cx + rr * Math.cos(a), cy + rr * Math.sin(a)];
  });
  ring.push(ring[0]!);
  return ring;
}

// A concave "comb" with three teeth opening north.
const COMB: Position[] = [
  [0, 0],
  [10, 0],
  [10, 10],
  [8, 10],
  [8, 3],
  [6, 3],
  [6, 10],
  [4, 10],
  [4, 3],
  [2, 3],
  [2, 10],
  [0, 10],
  [0, 0],
];
const SQUARE: Position[] = [
  [0, 0],
  [10, 0],
  [10, 10],
  [0, 10],
  [0, 0],
];
const HOLE_A: Position[] = [
  [2, 2],
  [2, 4],
  [4, 4],
  [4, 2],
  [2, 2],
];
const HOLE_B: Position[] = [
  [6, 5],
  [8, 8],
  [5, 8],
  [6, 5],
];

describe("pointsInAoi against turf booleanPointInPolygon on 100k random points", () => {
  it("matches on a concave polygon", () => {
    const aoi = polygonAoi(COMB);
    const { lon, lat } = randomPoints(100_000, aoi.bbox, prng(1));
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });

  it("matches on a polygon with two holes", () => {
    const aoi = polygonAoi(SQUARE, HOLE_A, HOLE_B);
    const { lon, lat } = randomPoints(100_000, aoi.bbox, prng(2));
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });

  it("matches on a multipolygon of a concave polygon, a holed polygon and an overlapping one", () => {
    const shift = (ring: Position[], dx: number, dy: number) => ring.map(([x, y]) => [x! + dx, y! + dy]);
    const aoi = parseAoi(
      JSON.stringify({
        type: "MultiPolygon",
        coordinates: [[COMB], [shift(SQUARE, 12, 0), shift(HOLE_A, 12, 0)], [shift(SQUARE, 5, 5)]],
      }),
    );
    const { lon, lat } = randomPoints(100_000, aoi.bbox, prng(3));
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });

  it("matches on real-world-scale lon/lat coordinates (the Greenland AOI shape)", () => {
    const aoi = parseAoi(
      "POLYGON ((-45.3794 62.6324, -44.6206 62.6324, -44.6155 62.982, -45.3845 62.982, -45.3794 62.6324))",
    );
    const { lon, lat } = randomPoints(100_000, aoi.bbox, prng(4));
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });

  it("matches where most points lie on edges or vertices (half-integer grid over integer vertices)", () => {
    const aoi = parseAoi(
      JSON.stringify({
        type: "MultiPolygon",
        coordinates: [
          [COMB],
          [SQUARE.map(([x, y]) => [x! + 10, y! + 10]), HOLE_B.map(([x, y]) => [x! + 10, y! + 10])],
        ],
      }),
    );
    const lon = new Float64Array(43 * 43);
    const lat = new Float64Array(43 * 43);
    for (let i = 0; i < 43; i++) {
      for (let j = 0; j < 43; j++) {
        lon[i * 43 + j] = -0.5 + i * 0.5;
        lat[i * 43 + j] = -0.5 + j * 0.5;
      }
    }
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });
});

describe("boundary points count as inside", () => {
  const box = parseAoi("10,20,30,40");

  it("on every edge and corner of an axis-aligned box", () => {
    const onBoundary: [number, number][] = [
      [10, 20],
      [30, 20],
      [30, 40],
      [10, 40],
      [20, 20],
      [20, 40],
      [10, 30],
      [30, 30],
      [10, 20 + 1e-12],
      [30 - 1e-12, 40],
    ];
    for (const [x, y] of onBoundary) expect(pointInAoi(box, x, y), `${x},${y}`).toBe(true);
    const justOutside: [number, number][] = [
      [10 - 1e-12, 30],
      [30 + 1e-12, 30],
      [20, 20 - 1e-12],
      [20, 40 + 1e-12],
      [previousDouble(10), 20],
    ];
    for (const [x, y] of justOutside) expect(pointInAoi(box, x, y), `${x},${y}`).toBe(false);
  });

  it("on the vertices and slanted edges of a triangle", () => {
    const tri = polygonAoi([
      [0, 0],
      [2, 6],
      [4, 0],
      [0, 0],
    ]);
    for (const [x, y] of [
      [0, 0],
      [2, 6],
      [4, 0],
      [1, 3],
      [3, 3],
      [0.5, 1.5],
      [2, 0],
    ] as const) {
      expect(pointInAoi(tri, x, y), `${x},${y}`).toBe(true);
    }
    expect(pointInAoi(tri, 1, 3.0000000001)).toBe(false);
    expect(pointInAoi(tri, 2, 6.0000000001)).toBe(false);
    expect(pointInAoi(tri, -1e-300, 0)).toBe(false);
  });

  it("on a hole's boundary (but not strictly inside the hole)", () => {
    const holed = polygonAoi(SQUARE, HOLE_A);
    expect(pointInAoi(holed, 3, 3)).toBe(false);
    expect(pointInAoi(holed, 2, 3)).toBe(true);
    expect(pointInAoi(holed, 3, 4)).toBe(true);
    expect(pointInAoi(holed, 4, 4)).toBe(true);
    expect(pointInAoi(holed, 1, 1)).toBe(true);
  });

  it("agrees with turf on points computed along edges whose exact position is not representable", () => {
    const rand = prng(5);
    const ring = starRing(rand, -45, 62.8, 0.4, 12);
    const aoi = polygonAoi(ring);
    const n = 20_000;
    const lon = new Float64Array(n);
    const lat = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rand() * 12);
      const t = rand();
      const [ax, ay] = ring[k] as [number, number];
      const [bx, by] = ring[k + 1] as [number, number];
      lon[i] = ax + t * (bx - ax);
      lat[i] = ay + t * (by - ay);
    }
    expect(disagreements(aoi, lon, lat)).toEqual([]);
  });
});

describe("orient2d", () => {
  it("gives the exact sign where naive floating point fails (points near the line y = x)", () => {
    const ulp = 2 ** -53;
    let naiveWrong = 0;
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 64; j++) {
        const cx = 0.5 + i * ulp;
        const cy = 0.5 + j * ulp;
        expect(Math.sign(orient2d(12, 12, 24, 24, cx, cy))).toBe(Math.sign(j - i));
        const naive = (12 - cx) * (24 - cy) - (12 - cy) * (24 - cx);
        if (Math.sign(naive) !== Math.sign(j - i)) naiveWrong++;
      }
    }
    expect(naiveWrong).toBeGreaterThan(0);
  });

  it("handles subnormal coordinates", () => {
    expect(orient2d(0, 0, 1, 0, 1e-320, 5e-324)).toBeGreaterThan(0);
    expect(orient2d(0, 0, 1, 1, 5e-324, 5e-324)).toBe(0);
    expect(orient2d(0, 0, 1e-300, 1e-300, 2e-300, previousDouble(2e-300))).toBeLessThan(0);
  });
});

describe("pointsInAoi", () => {
  it("writes into a given buffer, overwriting old values, and returns it", () => {
    const aoi = parseAoi("0,0,1,1");
    const out = new Uint8Array([7, 7, 7]);
    const result = pointsInAoi(aoi, Float64Array.of(0.5, 2, 1), Float64Array.of(0.5, 0.5, 1), out);
    expect(result).toBe(out);
    expect([...out]).toEqual([1, 0, 1]);
  });

  it("treats NaN coordinates as outside", () => {
    const aoi = parseAoi("-180,-90,180,90");
    expect([...pointsInAoi(aoi, Float64Array.of(Number.NaN, 0), Float64Array.of(0, Number.NaN))]).toEqual([
      0, 0,
    ]);
    expect(pointInAoi(aoi, Number.NaN, 0)).toBe(false);
  });

  it("throws on length mismatches", () => {
    const aoi = parseAoi("0,0,1,1");
    expect(() => pointsInAoi(aoi, new Float64Array(3), new Float64Array(2))).toThrow(
      "lat has 2 values but lon has 3",
    );
    expect(() => pointsInAoi(aoi, new Float64Array(3), new Float64Array(3), new Uint8Array(4))).toThrow(
      "out has 4 values but lon has 3",
    );
  });

  it("a cut AOI: points on +-180 and at the pole, batch equal to one by one", () => {
    const across = parseAoi("170,50,-170,60");
    const polar = parseAoi("POLYGON ((0 85, 90 85, 180 85, -90 85, 0 85))");
    const lon = Float64Array.of(180, -180, 175, -175, 0, 180, -180, 45, -180, 180);
    const lat = Float64Array.of(55, 55, 60, 50, 55, 61, 49, 90, 85, 84.9);
    expect([...pointsInAoi(across, lon, lat)]).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect([...pointsInAoi(polar, lon, lat)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
    for (let i = 0; i < lon.length; i++) {
      expect(pointInAoi(across, lon[i]!, lat[i]!)).toBe(pointsInAoi(across, lon, lat)[i] === 1);
      expect(pointInAoi(polar, lon[i]!, lat[i]!)).toBe(pointsInAoi(polar, lon, lat)[i] === 1);
    }
  });

  it("handles empty input", () => {
    expect(pointsInAoi(parseAoi("0,0,1,1"), new Float64Array(0), new Float64Array(0)).length).toBe(0);
  });
});

describe("property: random polygons with holes and multipolygons (seeded)", () => {
  it("agrees with turf and with pointInAoi on random, vertex and edge-midpoint queries", () => {
    const rand = prng(20240817);
    let checked = 0;
    for (let trial = 0; trial < 60; trial++) {
      // Vertices on a 1/1024 grid, so edge midpoints are exactly representable and on the boundary.
      const snap = (v: number) => Math.round(v * 1024) / 1024;
      const cx = snap(-170 + rand() * 340);
      const cy = snap(-80 + rand() * 160);
      const polygons: Position[][][] = [];
      const count = 1 + Math.floor(rand() * 3);
      for (let p = 0; p < count; p++) {
        const px = cx + p * 3;
        const outer = starRing(rand, px, cy, 1, 3 + Math.floor(rand() * 20)).map(([x, y]) => [
          snap(x!),
          snap(y!),
        ]);
        const rings = [outer];
        // A small square hole at the centre, always inside the star (its radius is at least 1/3).
        if (rand() < 0.5) {
          rings.push([
            [px - 0.125, cy - 0.125],
            [px + 0.125, cy - 0.125],
            [px + 0.125, cy + 0.125],
            [px - 0.125, cy + 0.125],
            [px - 0.125, cy - 0.125],
          ]);
        }
        polygons.push(rings);
      }
      let aoi: Aoi;
      try {
        aoi = parseAoi(JSON.stringify({ type: "MultiPolygon", coordinates: polygons }));
      } catch {
        continue; // snapping can make a random star self-touching; such inputs are rejected by design
      }
      const { lon, lat } = randomPoints(3000, aoi.bbox, rand, 0.05);
      const extraLon: number[] = [];
      const extraLat: number[] = [];
      for (const ring of polygons.flat()) {
        for (let k = 0; k + 1 < ring.length; k++) {
          const [ax, ay] = ring[k] as [number, number];
          const [bx, by] = ring[k + 1] as [number, number];
          extraLon.push(ax, (ax + bx) / 2);
          extraLat.push(ay, (ay + by) / 2);
        }
      }
      const allLon = Float64Array.from([...lon, ...extraLon]);
      const allLat = Float64Array.from([...lat, ...extraLat]);
      expect(disagreements(aoi, allLon, allLat), `trial ${trial}`).toEqual([]);
      const flags = pointsInAoi(aoi, allLon, allLat);
      for (let i = lon.length; i < allLon.length; i++) expect(flags[i], `boundary point ${i}`).toBe(1);
      for (let i = 0; i < allLon.length; i += 97) {
        expect(pointInAoi(aoi, allLon[i]!, allLat[i]!)).toBe(flags[i] === 1);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});
