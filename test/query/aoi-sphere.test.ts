import { booleanPointInPolygon } from "@turf/turf";
import type { MultiPolygon, Polygon } from "geojson";
import { latLngToCell } from "h3-js";
import { describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import { type Aoi, aoiToGeoJSON, parseAoi } from "../../src/query/aoi.js";
import { ringLocation } from "../../src/query/aoi-sphere.js";
import { pointInAoi } from "../../src/query/pip.js";
import { cellToBigint, polygonCover } from "../../src/store/h3.js";
import { isCoverable } from "../../src/store/select.js";
import { mulberry32 } from "../support/random.js";

const polygonJson = (...rings: number[][][]) => JSON.stringify({ type: "Polygon", coordinates: rings });

/** Every polygon's rings as plain arrays of [lon, lat] pairs, sorted for order-free comparison. */
function partsOf(aoi: Aoi): number[][][][] {
  return aoi.polygons
    .map((p) =>
      p.rings.map((r) => {
        // Rotated to start at the smallest position, so the comparison ignores where a ring starts.
        const out: number[][] = [];
        for (let k = 0; k + 2 < r.length; k += 2) out.push([r[k]!, r[k + 1]!]);
        const first = out.reduce(
          (best, p, k) =>
            p[0]! < out[best]![0]! || (p[0] === out[best]![0] && p[1]! < out[best]![1]!) ? k : best,
          0,
        );
        const rotated = [...out.slice(first), ...out.slice(0, first)];
        return [...rotated, rotated[0]!];
      }),
    )
    .sort((a, b) => a[0]![0]![0]! - b[0]![0]![0]!);
}

/** Refusal message, checking it is a one-line InvalidAoiError. */
function refusal(text: string): string {
  try {
    parseAoi(text, { source: "aoi" });
  } catch (err) {
    expect(isGeochunksError(err, "InvalidAoiError"), String(err)).toBe(true);
    expect((err as Error).message).not.toContain("\n");
    return (err as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
}

/** Each part is a closed ring within [-180, 180]. */
function expectWithinRange(aoi: Aoi) {
  for (const p of aoi.polygons) {
    for (const r of p.rings) {
      expect(r[0]).toBe(r[r.length - 2]);
      expect(r[1]).toBe(r[r.length - 1]);
      for (let k = 0; k < r.length; k += 2) expect(Math.abs(r[k]!)).toBeLessThanOrEqual(180);
    }
  }
}

const JUMP = [
  [170, 50],
  [-170, 50],
  [-170, 60],
  [170, 60],
  [170, 50],
];
const CONTINUING = [
  [170, 50],
  [190, 50],
  [190, 60],
  [170, 60],
  [170, 50],
];

describe("antimeridian", () => {
  it("a jump from 170 to -170, longitudes past 180 and a west > east bbox give the same two parts", () => {
    const jump = parseAoi(polygonJson(JUMP));
    expectWithinRange(jump);
    expect(jump.polygons).toHaveLength(2);
    expect(partsOf(jump)).toEqual([
      [
        [
          [-180, 50],
          [-170, 50],
          [-170, 60],
          [-180, 60],
          [-180, 50],
        ],
      ],
      [
        [
          [170, 50],
          [180, 50],
          [180, 60],
          [170, 60],
          [170, 50],
        ],
      ],
    ]);
    expect(partsOf(parseAoi(polygonJson(CONTINUING)))).toEqual(partsOf(jump));
    expect(partsOf(parseAoi("170,50,-170,60"))).toEqual(partsOf(jump));
    expect(jump.bbox).toEqual([-180, 50, 180, 60]);
    expect(jump.polygons.map((p) => p.bbox).sort((a, b) => a[0] - b[0])).toEqual([
      [-180, 50, -170, 60],
      [170, 50, 180, 60],
    ]);
  });

  it("a bbox with minx > maxx is the box across the antimeridian however wide, never the strip between", () => {
    const boxes = (text: string) =>
      parseAoi(text)
        .polygons.map((p) => p.bbox)
        .sort((a, b) => a[0] - b[0]);
    // 358 and 359 degrees wide: one edge each way would be read the shorter way round, as the strip.
    expect(boxes("-44,62,-46,63")).toEqual([
      [-180, 62, -46, 63],
      [-44, 62, 180, 63],
    ]);
    expect(boxes("100,0,50,1")).toEqual([
      [-180, 0, 50, 1],
      [100, 0, 180, 1],
    ]);
    expect(boxes("180,0,179,1")).toEqual([[-180, 0, 179, 1]]);
    const wide = parseAoi("-44,62,-46,63");
    for (const [lon, inside] of [
      [-45, false],
      [-43, true],
      [0, true],
      [179.5, true],
      [-179.5, true],
      [-47, true],
    ] as const) {
      expect(pointInAoi(wide, lon, 62.5), String(lon)).toBe(inside);
    }
    for (const text of ["180,10,-180,20", "10,10,-10,10"]) {
      expect(() => parseAoi(text, { source: "--polygon" })).toThrow(
        `--polygon: bbox ${text} crosses the antimeridian (minx > maxx) but has no area; give it some width and height`,
      );
    }
  });

  it("points on +-180 belong to the parts they touch; the rest of the world is outside", () => {
    const aoi = parseAoi(polygonJson(JUMP));
    for (const [lon, lat, inside] of [
      [175, 55, true],
      [-175, 55, true],
      [180, 55, true],
      [-180, 55, true],
      [180, 50, true],
      [-180, 60, true],
      [170, 50, true],
      [0, 55, false],
      [165, 55, false],
      [-165, 55, false],
      [180, 61, false],
      [-180, 49.9, false],
    ] as const) {
      expect(pointInAoi(aoi, lon, lat), `${lon}, ${lat}`).toBe(inside);
    }
  });

  it("a MultiPolygon already cut at +-180 is kept as given", () => {
    const west = JUMP.map(([x, y]) => [x === -170 ? 180 : x!, y!]);
    const east = JUMP.map(([x, y]) => [x === 170 ? -180 : x!, y!]);
    const aoi = parseAoi(JSON.stringify({ type: "MultiPolygon", coordinates: [[west], [east]] }));
    expect(partsOf(aoi)).toEqual([[east], [west]]);
  });

  it("a concave ring crossing twice gives four parts; a hole crossing with it stays a hole", () => {
    // A U open to the south, its two legs crossing the antimeridian.
    const u = [
      [170, 0],
      [175, 0],
      [175, 10],
      [-175, 10],
      [-175, 0],
      [-170, 0],
      [-170, 20],
      [170, 20],
      [170, 0],
    ];
    const aoi = parseAoi(polygonJson(u));
    expectWithinRange(aoi);
    expect(pointInAoi(aoi, 180, 5)).toBe(false);
    expect(pointInAoi(aoi, 180, 10)).toBe(true);
    expect(pointInAoi(aoi, -180, 15)).toBe(true);
    expect(pointInAoi(aoi, 172, 5)).toBe(true);
    expect(pointInAoi(aoi, -172, 5)).toBe(true);
    const withHole = parseAoi(
      polygonJson(CONTINUING, [
        [175, 54],
        [175, 56],
        [185, 56],
        [185, 54],
        [175, 54],
      ]),
    );
    expect(withHole.polygons).toHaveLength(2);
    expect(pointInAoi(withHole, 180, 55)).toBe(false);
    expect(pointInAoi(withHole, 180, 57)).toBe(true);
    expect(pointInAoi(withHole, -176, 55)).toBe(false);
    expect(pointInAoi(withHole, -174, 55)).toBe(true);
  });

  it("equals the ring read on the globe, and turf on the GeoJSON, at random points (property)", () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 60; trial++) {
      // A star-shaped ring round a centre near the antimeridian, written with continuing longitudes.
      const cx = 160 + random() * 40;
      const cy = -60 + random() * 120;
      const n = 5 + Math.floor(random() * 12);
      const ring: number[][] = [];
      for (let k = 0; k < n; k++) {
        const a = (2 * Math.PI * k) / n;
        const r = 2 + random() * 18;
        ring.push([
          round(cx + r * Math.cos(a)),
          round(Math.max(-89, Math.min(89, cy + 0.5 * r * Math.sin(a)))),
        ]);
      }
      ring.push(ring[0]!);
      // Half the trials write it the wrapped way, with jumps.
      const written = trial % 2 ? ring.map(([x, y]) => [x! > 180 ? x! - 360 : x!, y!]) : ring;
      const aoi = parseAoi(polygonJson(written));
      expectWithinRange(aoi);
      const unwrapped = Float64Array.from(ring.flat());
      const geojson = aoiToGeoJSON(aoi) as Polygon | MultiPolygon;
      const probes: [number, number][] = [];
      for (let i = 0; i < 300; i++) probes.push([-180 + random() * 360, cy - 20 + random() * 40]);
      for (let i = 0; i < 40; i++) probes.push([i % 2 ? 180 : -180, cy - 20 + random() * 40]);
      for (const [x, y] of ring) probes.push([x! > 180 ? x! - 360 : x!, y!]);
      for (const [lon, lat] of probes) {
        const expected = [lon, lon + 360].some((x) => ringLocation(unwrapped, x, lat) >= 0);
        expect(pointInAoi(aoi, lon, lat), `trial ${trial}: ${lon}, ${lat}`).toBe(expected);
        expect(booleanPointInPolygon([lon, lat], geojson), `turf, trial ${trial}: ${lon}, ${lat}`).toBe(
          expected,
        );
      }
    }
  });
});

describe("poles", () => {
  const ROUND_NORTH = [
    [0, 85],
    [90, 85],
    [180, 85],
    [-90, 85],
    [0, 85],
  ];

  it("a ring round the north pole is closed through it, however it is written", () => {
    const forms = [
      ROUND_NORTH,
      [
        [-180, 85],
        [-90, 85],
        [0, 85],
        [90, 85],
        [180, 85],
        [-180, 85],
      ],
      [
        [0, 85],
        [120, 85],
        [240, 85],
        [360, 85],
      ],
      [...ROUND_NORTH].reverse(),
      [
        [-180, 85],
        [-90, 85],
        [0, 85],
        [90, 85],
        [180, 85],
      ],
    ];
    for (const ring of forms) {
      const aoi = parseAoi(polygonJson(ring));
      expectWithinRange(aoi);
      expect(aoi.polygons).toHaveLength(1);
      expect(aoi.bbox).toEqual([-180, 85, 180, 90]);
      for (const [lon, lat, inside] of [
        [0, 87, true],
        [123.4, 89.99, true],
        [-180, 86, true],
        [180, 86, true],
        [45, 90, true],
        [45, 85, true],
        [0, 84.9, false],
        [-100, 60, false],
      ] as const) {
        expect(pointInAoi(aoi, lon, lat), `${JSON.stringify(ring)}: ${lon}, ${lat}`).toBe(inside);
      }
    }
  });

  it("a ring round the south pole, and an annulus round the north pole (its hole also round the pole)", () => {
    const south = parseAoi(polygonJson(ROUND_NORTH.map(([x, y]) => [x!, -y!])));
    expect(south.bbox).toEqual([-180, -90, 180, -85]);
    expect(pointInAoi(south, 10, -89)).toBe(true);
    expect(pointInAoi(south, 10, 89)).toBe(false);
    const annulus = parseAoi(
      polygonJson(
        ROUND_NORTH.map(([x]) => [x!, 70]),
        ROUND_NORTH.map(([x]) => [x!, 80]),
      ),
    );
    expect(pointInAoi(annulus, 50, 75)).toBe(true);
    expect(pointInAoi(annulus, 50, 80)).toBe(true);
    expect(pointInAoi(annulus, 50, 85)).toBe(false);
    expect(pointInAoi(annulus, 50, 65)).toBe(false);
  });

  it("a bbox and a bbox-shaped polygon reaching the pole are taken as written", () => {
    const box = parseAoi("-180,80,180,90");
    expect(box.polygons).toHaveLength(1);
    const ring = [
      [-180, 80],
      [180, 80],
      [180, 90],
      [-180, 90],
      [-180, 80],
    ];
    const polygon = parseAoi(polygonJson(ring));
    expect(polygon).toEqual(box);
    expect(pointInAoi(polygon, 0, 85)).toBe(true);
  });

  it("a wavy ring round the pole equals the cap above it (property), for our kernel and turf", () => {
    const random = mulberry32(11);
    for (let trial = 0; trial < 20; trial++) {
      const n = 6 + Math.floor(random() * 30);
      const start = -180 + random() * 360;
      const lons = Array.from({ length: n }, (_, k) => round(start + (360 * k) / n));
      const lats = lons.map(() => round(80 + random() * 8));
      const ring = lons.map((x, k) => [x > 180 ? x - 360 : x, lats[k]!]);
      ring.push(ring[0]!);
      const aoi = parseAoi(polygonJson(ring));
      expectWithinRange(aoi);
      const geojson = aoiToGeoJSON(aoi) as Polygon | MultiPolygon;
      // Boundary latitude at an unwrapped longitude x: straight lines between consecutive positions.
      const edge = (x: number) => {
        const u = (((x - start) % 360) + 360) % 360;
        const k = Math.floor(u / (360 / n));
        const x0 = start + (360 * k) / n;
        const t = (u - (x0 - start)) / (360 / n);
        return lats[k]! + (lats[(k + 1) % n]! - lats[k]!) * t;
      };
      for (let i = 0; i < 300; i++) {
        const lon = -180 + random() * 360;
        const lat = 78 + random() * 12;
        const b = edge(lon);
        if (Math.abs(lat - b) < 1e-9) continue;
        expect(pointInAoi(aoi, lon, lat), `trial ${trial}: ${lon}, ${lat}`).toBe(lat > b);
        expect(booleanPointInPolygon([lon, lat], geojson), `turf, trial ${trial}: ${lon}, ${lat}`).toBe(
          lat > b,
        );
      }
    }
  });
});

describe("ambiguous rings are refused", () => {
  it("round the axis across the equator, twice round, or touching the pole", () => {
    expect(
      refusal(
        polygonJson([
          [0, -5],
          [90, 5],
          [180, -5],
          [-90, 5],
          [0, -5],
        ]),
      ),
    ).toMatch(
      /ring 0 of polygon 0 goes once round the Earth's axis between latitudes -5 and 5 .* which pole it encloses is ambiguous/,
    );
    const twice = [0, 90, 180, 270, 0, 90, 180, 270, 0].map((x, k) => [x, 60 + k]);
    twice.push([0, 60]);
    expect(refusal(polygonJson(twice))).toMatch(/goes 2 times round the pole|self-intersects/);
    expect(
      refusal(
        polygonJson([
          [0, 85],
          [90, 90],
          [180, 85],
          [-90, 85],
          [0, 85],
        ]),
      ),
    ).toMatch(/goes round the north pole and touches it/);
  });

  it("a ring spanning 360 degrees of longitude without going round", () => {
    // Read the short way round, this goes 370 degrees east along latitude 0 and back along 10.
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [120, 0],
          [240, 0],
          [10, 0],
          [10, 10],
          [-120, 10],
          [120, 10],
          [0, 10],
          [0, 0],
        ]),
      ),
    ).toMatch(/ring 0 of polygon 0 spans 370 degrees of longitude .* it must span less than 360/);
  });
});

describe("H3 cover of cut and wide polygons", () => {
  it("holds the cell of every point inside (edges straight in lon/lat, not great circles)", () => {
    const random = mulberry32(5);
    const aois = [
      parseAoi(polygonJson(JUMP)),
      parseAoi("179.7,69.85,-179.75,70.15"),
      // Long east-west edges: the great circle between the corners runs over a degree north of the edge.
      parseAoi("0,60,40,61"),
      parseAoi("-10,-71,30,-70"),
    ];
    for (const aoi of aois) {
      const parts = aoi.polygons.filter((p) => isCoverable(p.bbox));
      expect(parts).toHaveLength(aoi.polygons.length);
      const cover = new Set(
        polygonCover(
          parts.map((p) => p.rings),
          6,
        ),
      );
      let inside = 0;
      for (let i = 0; i < 20_000; i++) {
        const [xmin, ymin, xmax, ymax] = aoi.polygons[i % aoi.polygons.length]!.bbox;
        const lon = xmin + random() * (xmax - xmin);
        const lat = i % 4 === 0 ? (random() < 0.5 ? ymin : ymax) : ymin + random() * (ymax - ymin);
        if (!pointInAoi(aoi, lon, lat)) continue;
        inside++;
        expect(cover.has(cellToBigint(latLngToCell(lat, lon, 6))), `${lon}, ${lat}`).toBe(true);
      }
      expect(inside).toBeGreaterThan(1000);
    }
  });

  it("polar caps and polygons over 180 degrees wide are left to bbox selection", () => {
    expect(isCoverable(parseAoi("-180,80,180,90").bbox)).toBe(false);
    expect(isCoverable(parseAoi("-100,0,100,10").bbox)).toBe(false);
    expect(isCoverable(parseAoi("-10,0,10,10").bbox)).toBe(true);
  });
});

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
