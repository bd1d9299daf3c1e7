/**
 * AOIs in polar stereographic metres (EPSG:3413, EPSG:3031), checked against Snyder's polar
 * stereographic formulas written out here (not proj4): corners land where the formulas say,
 * densified edges stay within a metre of the straight projected edges, points classify as in the
 * projected plane (round the pole too), and any other CRS is refused in one line.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { isGeochunksError } from "../../src/errors.js";
import { index } from "../../src/index.js";
import { type Aoi, parseAoi } from "../../src/query/aoi.js";
import { crsOfName, DENSIFY_TOLERANCE_M } from "../../src/query/crs.js";
import { pointInAoi } from "../../src/query/pip.js";
import { type CliRun, runCli } from "../support/cli.js";

// ---------------------------------------------------------------------------------------------
// Oracle: ellipsoidal polar stereographic with a standard parallel, Snyder (1987) eqs. 15-9,
// 21-33 to 21-40, 3-5 and 7-9, on WGS84.

const A = 6378137;
const F = 1 / 298.257223563;
const E = Math.sqrt(F * (2 - F));
const RAD = Math.PI / 180;

interface Polar {
  lon0: number;
  /** Latitude of true scale, degrees, positive (its sign is the pole's). */
  latTs: number;
  pole: 1 | -1;
}
const NORTH: Polar = { lon0: -45, latTs: 70, pole: 1 };
const SOUTH: Polar = { lon0: 0, latTs: 71, pole: -1 };

/** Snyder's t for a latitude on the north aspect (radians). */
function tOf(phi: number): number {
  const s = E * Math.sin(phi);
  return Math.tan(Math.PI / 4 - phi / 2) / ((1 - s) / (1 + s)) ** (E / 2);
}

/** rho / t: a * m_c / t_c. */
function rhoPerT(p: Polar): number {
  const phc = p.latTs * RAD;
  const mc = Math.cos(phc) / Math.sqrt(1 - E * E * Math.sin(phc) ** 2);
  return (A * mc) / tOf(phc);
}

function snyderForward(p: Polar, lon: number, lat: number): [number, number] {
  const rho = rhoPerT(p) * tOf(lat * p.pole * RAD);
  const d = (lon - p.lon0) * RAD;
  return [rho * Math.sin(d), -p.pole * rho * Math.cos(d)];
}

function snyderInverse(p: Polar, x: number, y: number): [number, number] {
  const t = Math.hypot(x, y) / rhoPerT(p);
  const chi = Math.PI / 2 - 2 * Math.atan(t);
  const [e2, e4, e6, e8] = [E ** 2, E ** 4, E ** 6, E ** 8];
  const phi =
    chi +
    (e2 / 2 + (5 * e4) / 24 + e6 / 12 + (13 * e8) / 360) * Math.sin(2 * chi) +
    ((7 * e4) / 48 + (29 * e6) / 240 + (811 * e8) / 11520) * Math.sin(4 * chi) +
    ((7 * e6) / 120 + (81 * e8) / 1120) * Math.sin(6 * chi) +
    ((4279 * e8) / 161280) * Math.sin(8 * chi);
  const lon = p.lon0 + Math.atan2(x, -p.pole * y) / RAD;
  return [((((lon + 180) % 360) + 360) % 360) - 180, (p.pole * phi) / RAD];
}

// ---------------------------------------------------------------------------------------------
// Plane geometry of the projected polygon, for the expected answers.

type Ring = [number, number][];

/** Even-odd point in polygon in the projected plane. */
function insidePlanar(rings: Ring[], x: number, y: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k++) {
      const [ax, ay] = ring[k]!;
      const [bx, by] = ring[k + 1]!;
      if (ay > y !== by > y && x < ax + ((y - ay) * (bx - ax)) / (by - ay)) inside = !inside;
    }
  }
  return inside;
}

/** Distance from (x, y) to the nearest edge of any ring, metres. */
function distanceToBoundary(rings: Ring[], x: number, y: number): number {
  let best = Infinity;
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k++) {
      const [ax, ay] = ring[k]!;
      const [bx, by] = ring[k + 1]!;
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const s = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / len2));
      best = Math.min(best, Math.hypot(x - ax - s * (bx - ax), y - ay - s * (by - ay)));
    }
  }
  return best;
}

/** Deterministic uniform numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const polygonJson = (...rings: Ring[]) => JSON.stringify({ type: "Polygon", coordinates: rings });
const square = (x0: number, y0: number, x1: number, y1: number): Ring => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];

/**
 * Checks `count` random points of the box round the rings (and the rings' own vertices' neighbourhood
 * is covered by the edge checks elsewhere): each point farther than the tolerance from the
 * boundary is in the AOI exactly when it is in the projected polygon. Returns how many were inside.
 */
function expectSameClassification(aoi: Aoi, p: Polar, rings: Ring[], count: number, seed: number): number {
  const xs = rings.flat().map((q) => q[0]);
  const ys = rings.flat().map((q) => q[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 0.1 * Math.max(x1 - x0, y1 - y0);
  const next = random(seed);
  let inside = 0;
  for (let i = 0; i < count; i++) {
    const x = x0 - pad + next() * (x1 - x0 + 2 * pad);
    const y = y0 - pad + next() * (y1 - y0 + 2 * pad);
    if (distanceToBoundary(rings, x, y) <= 2 * DENSIFY_TOLERANCE_M) continue;
    const want = insidePlanar(rings, x, y);
    const [lon, lat] = snyderInverse(p, x, y);
    expect(pointInAoi(aoi, lon, lat), `(${x}, ${y}) = (${lon}, ${lat})`).toBe(want);
    if (want) inside++;
  }
  return inside;
}

/** The InvalidAoiError message `text` is refused with. */
function refusal(text: string, crs?: string, source = "aoi.json"): string {
  try {
    parseAoi(text, { source, crs });
  } catch (err) {
    expect(isGeochunksError(err, "InvalidAoiError"), String(err)).toBe(true);
    const message = (err as Error).message;
    expect(message.startsWith(`${source}: `)).toBe(true);
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

/** Whether the AOI's first ring holds the position (lon, lat) within 1e-9 degrees. */
function ringHolds(aoi: Aoi, lon: number, lat: number): boolean {
  return aoi.polygons.some((poly) =>
    poly.rings.some((ring) => {
      for (let k = 0; k < ring.length; k += 2) {
        if (Math.abs(ring[k]! - lon) < 1e-9 && Math.abs(ring[k + 1]! - lat) < 1e-9) return true;
      }
      return false;
    }),
  );
}

const VALID = "valid: EPSG:4326 (CRS84), EPSG:3413, EPSG:3031";

// ---------------------------------------------------------------------------------------------

describe("the oracle", () => {
  it("matches published EPSG:3413 and EPSG:3031 values", () => {
    // Along the central meridian, 2000 km from the north pole: 71.6886 N (proj and GDAL say the same).
    const [lon, lat] = snyderInverse(NORTH, 0, -2_000_000);
    expect(lon).toBeCloseTo(-45, 12);
    expect(lat).toBeCloseTo(71.6886069, 7);
    // Scale is true on the standard parallel: a degree of longitude there spans its circle's share.
    for (const p of [NORTH, SOUTH]) {
      const phi = p.latTs * p.pole * RAD;
      const circle = (2 * Math.PI * A * Math.cos(phi)) / Math.sqrt(1 - E * E * Math.sin(phi) ** 2);
      const [x, y] = snyderForward(p, p.lon0, p.latTs * p.pole);
      expect(Math.hypot(x, y) * 2 * Math.PI).toBeCloseTo(circle, 3);
      const back = snyderInverse(p, ...snyderForward(p, 123.4, p.pole * 75.5));
      expect(back[0]).toBeCloseTo(123.4, 9);
      expect(back[1]).toBeCloseTo(p.pole * 75.5, 9);
    }
  });
});

describe("CRS names", () => {
  it("recognises lon/lat and the polar stereographic CRSs in every usual spelling, any case", () => {
    for (const name of [
      "EPSG:4326",
      "epsg:4326",
      "CRS84",
      "OGC:CRS84",
      "urn:ogc:def:crs:OGC:1.3:CRS84",
      "urn:ogc:def:crs:EPSG::4326",
      "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    ]) {
      expect(crsOfName(name), name).toBe("OGC:CRS84");
    }
    for (const code of ["3413", "3031"]) {
      for (const name of [
        `EPSG:${code}`,
        `epsg:${code}`,
        ` EPSG:${code} `,
        `urn:ogc:def:crs:EPSG::${code}`,
        `URN:OGC:DEF:CRS:EPSG:9.8.15:${code}`,
        `http://www.opengis.net/def/crs/EPSG/0/${code}`,
      ]) {
        expect(crsOfName(name), name).toBe(`EPSG:${code}`);
      }
    }
    for (const name of ["EPSG:32624", "EPSG:3857", "urn:ogc:def:crs:EPSG::3976", "WGS84", "3413", ""]) {
      expect(crsOfName(name), name).toBeUndefined();
    }
  });
});

describe("AOIs in EPSG:3413", () => {
  // A 100 km square over southern Greenland (about 63 N, 44 W).
  const SQUARE = square(0, -3_000_000, 100_000, -2_900_000);
  const aoi = parseAoi(polygonJson(SQUARE), { crs: "EPSG:3413" });

  it("has the square's corners where the projection puts them", () => {
    expect(aoi.polygons).toHaveLength(1);
    for (const [x, y] of SQUARE.slice(0, 4)) {
      const [lon, lat] = snyderInverse(NORTH, x, y);
      expect(ringHolds(aoi, lon, lat), `corner (${x}, ${y}) at (${lon}, ${lat})`).toBe(true);
    }
    // The corner on the central meridian, and the southernmost one.
    const [lon, lat] = snyderInverse(NORTH, 0, -3_000_000);
    expect(lon).toBe(-45);
    expect(lat).toBeCloseTo(62.8077, 4);
    const south = snyderInverse(NORTH, 100_000, -3_000_000);
    expect(south[1]).toBeLessThan(lat);
    expect(aoi.bbox[0]).toBe(-45);
    expect(aoi.bbox[1]).toBeCloseTo(south[1], 9);
  });

  it("has every vertex on the square's boundary, and enough of them to follow its straight edges", () => {
    const ring = aoi.polygons[0]!.rings[0]!;
    expect(ring.length / 2).toBeGreaterThan(20);
    for (let k = 0; k < ring.length; k += 2) {
      const [x, y] = snyderForward(NORTH, ring[k]!, ring[k + 1]!);
      expect(distanceToBoundary([SQUARE], x, y)).toBeLessThan(1e-3);
    }
  });

  it("puts the midpoint of each projected edge on the AOI's boundary: 2 m inside is in, 2 m outside is out", () => {
    const corners = SQUARE.slice(0, 4).map(([x, y]) => snyderInverse(NORTH, x, y));
    const undensified = parseAoi(polygonJson([...corners, corners[0]!]));
    let undensifiedWrong = 0;
    for (let k = 0; k < 4; k++) {
      const [ax, ay] = SQUARE[k]!;
      const [bx, by] = SQUARE[k + 1]!;
      const [mx, my] = [(ax + bx) / 2, (ay + by) / 2];
      // Inward normal of an anticlockwise square: the edge direction turned left.
      const len = Math.hypot(bx - ax, by - ay);
      const [nx, ny] = [-(by - ay) / len, (bx - ax) / len];
      const d = 2 * DENSIFY_TOLERANCE_M;
      const inner = snyderInverse(NORTH, mx + d * nx, my + d * ny);
      const outer = snyderInverse(NORTH, mx - d * nx, my - d * ny);
      expect(pointInAoi(aoi, ...inner), `edge ${k} inside`).toBe(true);
      expect(pointInAoi(aoi, ...outer), `edge ${k} outside`).toBe(false);
      // Corners joined straight in lon/lat miss the projected edge by far more.
      const far = snyderInverse(NORTH, mx + 200 * nx, my + 200 * ny);
      const farOut = snyderInverse(NORTH, mx - 200 * nx, my - 200 * ny);
      if (pointInAoi(undensified, ...far) !== true || pointInAoi(undensified, ...farOut) !== false)
        undensifiedWrong++;
    }
    expect(undensifiedWrong).toBeGreaterThan(0);
  });

  it("classifies points as the projected square does", () => {
    expect(pointInAoi(aoi, ...snyderInverse(NORTH, 50_000, -2_950_000))).toBe(true);
    expect(expectSameClassification(aoi, NORTH, [SQUARE], 3000, 1)).toBeGreaterThan(1500);
  });

  it("reads a bbox, WKT and a GeoJSON crs member as the same square", () => {
    const member = { type: "name", properties: { name: "urn:ogc:def:crs:EPSG::3413" } };
    const collection = JSON.stringify({
      type: "FeatureCollection",
      crs: member,
      features: [{ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [SQUARE] } }],
    });
    const wkt = `POLYGON ((${SQUARE.map((q) => q.join(" ")).join(", ")}))`;
    for (const other of [
      parseAoi("0,-3000000,100000,-2900000", { crs: "EPSG:3413" }),
      parseAoi(wkt, { crs: "http://www.opengis.net/def/crs/EPSG/0/3413" }),
      parseAoi(`SRID=3413;${wkt}`, { crs: "EPSG:3413" }),
      parseAoi(collection),
      parseAoi(collection, { crs: "epsg:3413" }),
      parseAoi(JSON.stringify({ type: "Polygon", crs: member, coordinates: [SQUARE] })),
    ]) {
      expect(other).toEqual(aoi);
    }
  });

  it("keeps lon/lat when the crs names it, or is null", () => {
    const degrees = polygonJson(square(-45.4, 62.6, -44.6, 63));
    const plain = parseAoi(degrees);
    for (const name of ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"]) {
      const withMember = JSON.stringify({
        type: "Polygon",
        crs: { type: "name", properties: { name } },
        coordinates: [square(-45.4, 62.6, -44.6, 63)],
      });
      expect(parseAoi(withMember)).toEqual(plain);
      expect(parseAoi(withMember, { crs: "CRS84" })).toEqual(plain);
      expect(parseAoi(degrees, { crs: name })).toEqual(plain);
    }
    expect(
      parseAoi(JSON.stringify({ type: "Polygon", crs: null, coordinates: [square(-45.4, 62.6, -44.6, 63)] })),
    ).toEqual(plain);
    expect(parseAoi("-45.4,62.6,-44.6,63", { crs: "OGC:CRS84" })).toEqual(parseAoi("-45.4,62.6,-44.6,63"));
  });

  it("keeps holes, densified like the outer ring", () => {
    const hole = square(30_000, -2_970_000, 70_000, -2_930_000);
    const holed = parseAoi(polygonJson(SQUARE, hole), { crs: "EPSG:3413" });
    expect(holed.polygons[0]!.rings).toHaveLength(2);
    expect(pointInAoi(holed, ...snyderInverse(NORTH, 50_000, -2_950_000))).toBe(false);
    expectSameClassification(holed, NORTH, [SQUARE, hole], 2000, 2);
  });

  it("crosses the antimeridian as the projection does", () => {
    // 180 E runs north-west from the pole, along x = -y; a square across that line spans it.
    const across = square(-1_600_000, 1_400_000, -1_400_000, 1_600_000);
    const cut = parseAoi(polygonJson(across), { crs: "EPSG:3413" });
    expect(cut.polygons.length).toBe(2);
    expect(cut.bbox[0]).toBe(-180);
    expect(cut.bbox[2]).toBe(180);
    expectSameClassification(cut, NORTH, [across], 2000, 3);
  });
});

describe("AOIs round and through the pole", () => {
  it("a square round the north pole encloses it", () => {
    const ring = square(-500_000, -500_000, 500_000, 500_000);
    const aoi = parseAoi(polygonJson(ring), { crs: "EPSG:3413" });
    for (const lon of [-180, -45, 0, 90, 180]) expect(pointInAoi(aoi, lon, 90)).toBe(true);
    expect(pointInAoi(aoi, 0, 89.9)).toBe(true);
    // The corners are 707 km from the pole, the sides' midpoints 500 km.
    const [, cornerLat] = snyderInverse(NORTH, 500_000, 500_000);
    expect(aoi.bbox[1]).toBeCloseTo(cornerLat, 9);
    expect(aoi.bbox[3]).toBe(90);
    expectSameClassification(aoi, NORTH, [ring], 3000, 4);
  });

  it("a ring with the pole as a vertex, convex or reflex there, or on an edge", () => {
    // Each ring, and a point inside it 10 km from the pole.
    const shapes: [Ring, [number, number]][] = [
      [
        [
          [0, 0],
          [100_000, 0],
          [0, 100_000],
          [0, 0],
        ],
        [7_000, 7_000],
      ],
      // The same triangle clockwise.
      [
        [
          [0, 0],
          [0, 100_000],
          [100_000, 0],
          [0, 0],
        ],
        [7_000, 7_000],
      ],
      // An L whose inner corner is the pole: 270 degrees of it inside.
      [
        [
          [0, 0],
          [0, 100_000],
          [-100_000, 100_000],
          [-100_000, -100_000],
          [100_000, -100_000],
          [100_000, 0],
          [0, 0],
        ],
        [-7_000, -7_000],
      ],
      // The pole halfway along the bottom edge.
      [square(-100_000, 0, 100_000, 100_000), [-7_000, 7_000]],
    ];
    for (const [s, [ring, [ix, iy]]] of shapes.entries()) {
      const aoi = parseAoi(polygonJson(ring), { crs: "EPSG:3413" });
      const [lon, lat] = snyderInverse(NORTH, ix, iy);
      expect(pointInAoi(aoi, lon, lat), `shape ${s}`).toBe(true);
      // The pole itself, reached along the meridian through the inside point.
      expect(pointInAoi(aoi, lon, 90), `shape ${s}`).toBe(true);
      expectSameClassification(aoi, NORTH, [ring], 2000, 10 + s);
    }
  });

  it("an annulus round the pole", () => {
    const outer = square(-500_000, -500_000, 500_000, 500_000);
    const hole = square(-200_000, -200_000, 200_000, 200_000);
    const aoi = parseAoi(polygonJson(outer, hole), { crs: "EPSG:3413" });
    expect(pointInAoi(aoi, 0, 90)).toBe(false);
    expectSameClassification(aoi, NORTH, [outer, hole], 3000, 20);
  });
});

describe("AOIs in EPSG:3031", () => {
  it("a square over the Antarctic Peninsula: corners, vertices and points", () => {
    // About 70 S, 65 W.
    const ring = square(-2_100_000, 900_000, -1_900_000, 1_100_000);
    const aoi = parseAoi(polygonJson(ring), { crs: "EPSG:3031" });
    for (const [x, y] of ring.slice(0, 4)) expect(ringHolds(aoi, ...snyderInverse(SOUTH, x, y))).toBe(true);
    const [lon, lat] = snyderInverse(SOUTH, -2_000_000, 1_000_000);
    expect(lon).toBeCloseTo(-63.4349488, 6);
    expect(lat).toBeLessThan(-69);
    expect(pointInAoi(aoi, lon, lat)).toBe(true);
    const r = aoi.polygons[0]!.rings[0]!;
    for (let k = 0; k < r.length; k += 2) {
      expect(distanceToBoundary([ring], ...snyderForward(SOUTH, r[k]!, r[k + 1]!))).toBeLessThan(1e-3);
    }
    expectSameClassification(aoi, SOUTH, [ring], 3000, 30);
  });

  it("a square round the south pole, and a triangle with the pole as a vertex", () => {
    const round = square(-1_000_000, -1_000_000, 1_000_000, 1_000_000);
    const aoi = parseAoi(`-1000000,-1000000,1000000,1000000`, { crs: "EPSG:3031" });
    expect(pointInAoi(aoi, 0, -90)).toBe(true);
    expect(aoi.bbox[1]).toBe(-90);
    expectSameClassification(aoi, SOUTH, [round], 3000, 31);
    const triangle: Ring = [
      [0, 0],
      [300_000, 0],
      [0, 300_000],
      [0, 0],
    ];
    const wedge = parseAoi(polygonJson(triangle), { crs: "EPSG:3031" });
    expectSameClassification(wedge, SOUTH, [triangle], 2000, 32);
  });
});

describe("refused CRSs and coordinates", () => {
  const SQUARE = polygonJson(square(0, -3_000_000, 100_000, -2_900_000));
  const withCrs = (crs: unknown) =>
    JSON.stringify({ type: "Polygon", crs, coordinates: [square(0, -3_000_000, 100_000, -2_900_000)] });

  it("another CRS, given as an option or a crs member", () => {
    expect(refusal(SQUARE, "EPSG:32624")).toBe(`aoi.json: crs EPSG:32624 is not supported; ${VALID}`);
    expect(refusal("0,0,1,1", "EPSG:3857")).toBe(`aoi.json: crs EPSG:3857 is not supported; ${VALID}`);
    expect(refusal(withCrs({ type: "name", properties: { name: "urn:ogc:def:crs:EPSG::32624" } }))).toBe(
      `aoi.json: crs urn:ogc:def:crs:EPSG::32624 of the GeoJSON crs member is not supported; ${VALID}`,
    );
    expect(
      refusal(withCrs({ type: "link", properties: { href: "http://example.com/crs/42", type: "proj4" } })),
    ).toBe(
      `aoi.json: GeoJSON crs member of type "link" is not supported, only {"type": "name", "properties": {"name": ...}}; valid names: EPSG:4326 (CRS84), EPSG:3413, EPSG:3031`,
    );
    expect(refusal(withCrs({ type: "name", properties: {} }))).toMatch(
      /crs member has no string properties.name/,
    );
    expect(refusal(withCrs("EPSG:3413"))).toMatch(/crs member "EPSG:3413" is not an object/);
  });

  it("an option that disagrees with the crs member or WKT SRID, naming both", () => {
    const member = withCrs({ type: "name", properties: { name: "EPSG:3413" } });
    expect(refusal(member, "EPSG:3031")).toBe(
      "aoi.json: the crs option EPSG:3031 disagrees with the GeoJSON crs member EPSG:3413",
    );
    expect(refusal(member, "CRS84")).toBe(
      "aoi.json: the crs option CRS84 disagrees with the GeoJSON crs member EPSG:3413",
    );
    const degrees = withCrs({ type: "name", properties: { name: "urn:ogc:def:crs:OGC:1.3:CRS84" } });
    expect(refusal(degrees, "EPSG:3413")).toBe(
      "aoi.json: the crs option EPSG:3413 disagrees with the GeoJSON crs member urn:ogc:def:crs:OGC:1.3:CRS84",
    );
    expect(refusal("SRID=4326;POLYGON ((0 0, 1 0, 1 1, 0 0))", "EPSG:3413")).toBe(
      "aoi.json: the crs option EPSG:3413 disagrees with the WKT SRID 4326",
    );
    expect(refusal("SRID=3031;POLYGON ((0 0, 1 0, 1 1, 0 0))", "EPSG:3413")).toBe(
      "aoi.json: the crs option EPSG:3413 disagrees with the WKT SRID 3031",
    );
    expect(refusal("SRID=32624;POLYGON ((0 0, 1 0, 1 1, 0 0))")).toMatch(
      /WKT SRID 32624 is not supported; valid:/,
    );
  });

  it("a nested crs member that disagrees with the AOI's", () => {
    const text = JSON.stringify({
      type: "FeatureCollection",
      features: [
        {
          type: "Feature",
          crs: { type: "name", properties: { name: "EPSG:3031" } },
          geometry: { type: "Polygon", coordinates: [square(0, 0, 1, 1)] },
        },
      ],
    });
    expect(refusal(text)).toBe(
      "aoi.json: feature 0 has crs EPSG:3031, unlike the AOI's OGC:CRS84: one CRS per AOI, as a top-level crs member",
    );
    expect(() => parseAoi(text, { crs: "EPSG:3031" })).not.toThrow();
  });

  it("projected positions beyond the equator, and projected boxes west > east", () => {
    expect(refusal(polygonJson(square(0, -13_000_000, 100_000, -2_900_000)), "EPSG:3413")).toBe(
      "aoi.json: position 0 of ring 0 of polygon 0 [0, -13000000] is 13000 km from the pole in EPSG:3413, beyond the equator (12330 km): EPSG:3413 holds northern-hemisphere AOIs, in metres",
    );
    expect(refusal("1e7,1e7,2e7,2e7", "EPSG:3031")).toMatch(
      /^aoi.json: position 0 of ring 0 of polygon 0 \[10000000, 10000000\] is 14142 km from the pole in EPSG:3031, beyond the equator \(12367 km\): EPSG:3031 holds southern-hemisphere AOIs/,
    );
    expect(refusal("100000,0,0,100000", "EPSG:3413")).toBe(
      "aoi.json: bbox minx 100000 > maxx 0 (in EPSG:3413 metres)",
    );
  });

  it("invalid projected rings, named in projected coordinates", () => {
    const bowtie: Ring = [
      [0, 0],
      [100, 100],
      [100, 0],
      [0, 100],
      [0, 0],
    ];
    expect(refusal(polygonJson(bowtie), "EPSG:3413")).toBe(
      "aoi.json: ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[100, 100] meets edge 2 [100, 0]-[0, 100]",
    );
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [100, 0],
          [100, 100],
          [0, 1],
        ]),
        "EPSG:3413",
      ),
    ).toMatch(/is not closed/);
    expect(
      refusal(
        JSON.stringify({
          type: "Polygon",
          coordinates: [
            [
              [0, 0],
              [1, "a"],
            ],
          ],
        }),
        "EPSG:3413",
      ),
    ).toMatch(/non-number coordinate "a"/);
  });

  it("accepts small numbers as metres near the pole, as the crs says", () => {
    const aoi = parseAoi("-45,60,-44,61", { crs: "EPSG:3413" });
    expect(aoi.bbox[1]).toBeGreaterThan(89.999);
  });

  it("a WKT SRID of a polar projection needs the crs option to agree", () => {
    expect(refusal("SRID=3413;POLYGON ((0 0, 1 0, 1 1, 0 0))")).toMatch(
      /^aoi.json: WKT SRID 3413 is not supported without the crs option/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("geochunks query --crs", () => {
  let dir: string;
  let store: string;
  /** The Greenland test box in degrees, and the same box drawn in EPSG:3413. */
  const DEGREES = "-45.4,62.6,-44.6,63";
  let projected: string;
  let projectedPlain: string;
  let badCrs: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-crs-"));
    const granules = await Promise.all(
      demoGranuleSet()
        .slice(0, 2)
        .map((g) => writeSyntheticAtl06(dir, { ...g, segmentsPerBeam: 3000 })),
    );
    store = join(dir, "store");
    await index(granules, { store });
    // The box's edges are straight in lon/lat: project points 0.005 degrees apart along them.
    const ring: Ring = [];
    const [w, s, e, n] = DEGREES.split(",").map(Number) as [number, number, number, number];
    const steps = (a: number, b: number) => Math.round(Math.abs(b - a) / 0.005);
    const along = (a: [number, number], b: [number, number]) => {
      const count = steps(a[0], b[0]) + steps(a[1], b[1]);
      for (let k = 0; k < count; k++) {
        const t = k / count;
        ring.push(snyderForward(NORTH, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])));
      }
    };
    along([w, s], [e, s]);
    along([e, s], [e, n]);
    along([e, n], [w, n]);
    along([w, n], [w, s]);
    ring.push(ring[0]!);
    projected = join(dir, "box-3413.geojson");
    writeFileSync(
      projected,
      JSON.stringify({
        type: "Feature",
        crs: { type: "name", properties: { name: "urn:ogc:def:crs:EPSG::3413" } },
        properties: {},
        geometry: { type: "Polygon", coordinates: [ring] },
      }),
    );
    projectedPlain = join(dir, "box.geojson");
    writeFileSync(projectedPlain, polygonJson(ring));
    badCrs = join(dir, "utm.geojson");
    writeFileSync(
      badCrs,
      JSON.stringify({
        type: "Polygon",
        crs: { type: "name", properties: { name: "EPSG:32624" } },
        coordinates: [square(500_000, 6_900_000, 540_000, 6_940_000)],
      }),
    );
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectBadInput = (run: CliRun, line: string) => {
    expect(run.code, run.stdout).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toEqual([line]);
  };

  it("plans the box drawn in EPSG:3413 as the box in degrees", async () => {
    const degrees = await runCli(["query", "--store", store, "--polygon", DEGREES, "--dry-run"]);
    expect(degrees.code, degrees.stderr).toBe(0);
    const summary = JSON.parse(degrees.stdout.trim().split("\n").at(-1)!);
    expect(summary.granules).toBe(2);
    expect(summary.chunks_candidate).toBeGreaterThan(0);
    for (const args of [
      ["--polygon", projected],
      ["--polygon", projected, "--crs", "EPSG:3413"],
      ["--polygon", projectedPlain, "--crs", "EPSG:3413"],
    ]) {
      const run = await runCli(["query", "--store", store, ...args, "--dry-run"]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout, args.join(" ")).toBe(degrees.stdout);
    }
  }, 60_000);

  it("refuses another CRS in one line naming the input, exit code 2", async () => {
    expectBadInput(
      await runCli(["query", "--store", store, "--polygon", badCrs, "--dry-run"]),
      `geochunks: ${badCrs}: crs EPSG:32624 of the GeoJSON crs member is not supported; ${VALID}`,
    );
    expectBadInput(
      await runCli(["query", "--store", store, "--polygon", DEGREES, "--crs", "EPSG:32624", "--dry-run"]),
      `geochunks: --polygon: crs EPSG:32624 is not supported; ${VALID}`,
    );
    expectBadInput(
      await runCli(["query", "--store", store, "--polygon", projected, "--crs", "EPSG:3031", "--dry-run"]),
      `geochunks: ${projected}: the crs option EPSG:3031 disagrees with the GeoJSON crs member urn:ogc:def:crs:EPSG::3413`,
    );
  }, 60_000);
});
