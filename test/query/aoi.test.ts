import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import { aoiToGeoJSON, bboxIntersects, parseAoi } from "../../src/query/aoi.js";

const GREENLAND = fileURLToPath(new URL("../../../shared/data/aoi/greenland.geojson", import.meta.url));
const HAVE_GREENLAND = existsSync(GREENLAND);
if (!HAVE_GREENLAND) console.warn(`skipping the Greenland AOI test: ${GREENLAND} is absent`);

/** Rings of an AOI as plain nested arrays, for readable assertions. */
function ringsOf(text: string): number[][][] {
  return parseAoi(text).polygons.map((p) => p.rings.map((r) => [...r]));
}

/** The InvalidAoiError message `text` is refused with. */
function refusal(text: string, source = "aoi.json"): string {
  try {
    parseAoi(text, { source });
  } catch (err) {
    expect(isGeochunksError(err, "InvalidAoiError"), String(err)).toBe(true);
    const message = (err as Error).message;
    expect(message.startsWith(`${source}: `)).toBe(true);
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const polygonJson = (...rings: number[][][]) => JSON.stringify({ type: "Polygon", coordinates: rings });

const SQUARE = [
  [0, 0],
  [10, 0],
  [10, 10],
  [0, 10],
  [0, 0],
];
const HOLE = [
  [2, 2],
  [2, 4],
  [4, 4],
  [4, 2],
  [2, 2],
];

describe("parseAoi accepts every form", () => {
  it.skipIf(!HAVE_GREENLAND)("the Greenland FeatureCollection file", () => {
    const aoi = parseAoi(readFileSync(GREENLAND, "utf8"), { source: "greenland.geojson" });
    expect(aoi.polygons).toHaveLength(1);
    expect(aoi.polygons[0]!.rings).toHaveLength(1);
    expect(aoi.polygons[0]!.rings[0]!.length).toBe(10);
    expect(aoi.bbox[0]).toBeCloseTo(-45.3845, 4);
    expect(aoi.bbox[1]).toBeCloseTo(62.6324, 4);
    expect(aoi.bbox[2]).toBeCloseTo(-44.6155, 4);
    expect(aoi.bbox[3]).toBeCloseTo(62.982, 4);
    expect(aoi.polygons[0]!.bbox).toEqual(aoi.bbox);
  });

  it("an inline GeoJSON Polygon with a hole", () => {
    const aoi = parseAoi(polygonJson(SQUARE, HOLE));
    expect(aoi.polygons[0]!.rings.map((r) => [...r])).toEqual([SQUARE.flat(), HOLE.flat()]);
    expect(aoi.bbox).toEqual([0, 0, 10, 10]);
    expect(aoi.polygons[0]!.rings[0]).toBeInstanceOf(Float64Array);
  });

  it("a MultiPolygon, a Feature, a FeatureCollection of mixed features, a GeometryCollection", () => {
    const far = SQUARE.map(([x, y]) => [x! + 20, y! - 30]);
    const multi = { type: "MultiPolygon", coordinates: [[SQUARE, HOLE], [far]] };
    expect(ringsOf(JSON.stringify(multi))).toEqual([[SQUARE.flat(), HOLE.flat()], [far.flat()]]);
    expect(parseAoi(JSON.stringify(multi)).bbox).toEqual([0, -30, 30, 10]);
    const feature = { type: "Feature", properties: { name: "x" }, geometry: multi };
    expect(ringsOf(JSON.stringify(feature))).toEqual(ringsOf(JSON.stringify(multi)));
    const collection = {
      type: "FeatureCollection",
      features: [
        { type: "Feature", properties: null, geometry: { type: "Polygon", coordinates: [far] } },
        { type: "Feature", properties: {}, geometry: multi },
      ],
    };
    expect(parseAoi(JSON.stringify(collection)).polygons).toHaveLength(3);
    const geometries = {
      type: "GeometryCollection",
      geometries: [multi, { type: "Polygon", coordinates: [far] }],
    };
    expect(parseAoi(JSON.stringify(geometries)).polygons).toHaveLength(3);
  });

  it("GeoJSON positions with an altitude (the altitude is ignored)", () => {
    expect(ringsOf(polygonJson(SQUARE.map(([x, y]) => [x!, y!, 100])))).toEqual([[SQUARE.flat()]]);
  });

  it("WKT POLYGON with a hole, in any case and spacing", () => {
    const wkt = "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 4, 4 4, 4 2, 2 2))";
    expect(ringsOf(wkt)).toEqual([[SQUARE.flat(), HOLE.flat()]]);
    expect(ringsOf("  polygon((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2))\n")).toEqual(ringsOf(wkt));
  });

  it("WKT MULTIPOLYGON, with Z ordinates, SRID prefix and exponents", () => {
    const wkt =
      "SRID=4326;MULTIPOLYGON Z (((0 0 1, 10 0 1, 10 10 1, 0 10 1, 0 0 1)), ((20 -30 0, 3e1 -30 0, 30 -20 0, 20 -30 0)))";
    expect(ringsOf(wkt)).toEqual([[SQUARE.flat()], [[20, -30, 30, -30, 30, -20, 20, -30]]]);
  });

  it("a bbox string, with or without spaces, including a degenerate (zero-width) box", () => {
    const aoi = parseAoi("-45.4, 62.6, -44.6,63");
    expect(aoi.bbox).toEqual([-45.4, 62.6, -44.6, 63]);
    expect([...aoi.polygons[0]!.rings[0]!]).toEqual([
      -45.4, 62.6, -44.6, 62.6, -44.6, 63, -45.4, 63, -45.4, 62.6,
    ]);
    expect(parseAoi("-180,-90,180,90").bbox).toEqual([-180, -90, 180, 90]);
    expect(parseAoi("5,1,5,2").bbox).toEqual([5, 1, 5, 2]);
  });

  it("rings with repeated consecutive positions", () => {
    const ring = [
      [0, 0],
      [10, 0],
      [10, 0],
      [10, 10],
      [0, 10],
      [0, 0],
    ];
    expect(parseAoi(polygonJson(ring)).polygons[0]!.rings[0]!.length).toBe(12);
  });

  it("touching polygons of a MultiPolygon and a ring split at the antimeridian", () => {
    const west = [
      [170, 50],
      [180, 50],
      [180, 60],
      [170, 60],
      [170, 50],
    ];
    const east = [
      [-180, 50],
      [-170, 50],
      [-170, 60],
      [-180, 60],
      [-180, 50],
    ];
    const aoi = parseAoi(JSON.stringify({ type: "MultiPolygon", coordinates: [[west], [east]] }));
    expect(aoi.bbox).toEqual([-180, 50, 180, 60]);
  });
});

describe("aoiToGeoJSON", () => {
  it("gives a Polygon for one polygon and round-trips through parseAoi", () => {
    const aoi = parseAoi(polygonJson(SQUARE, HOLE));
    const geojson = aoiToGeoJSON(aoi);
    expect(geojson).toEqual({ type: "Polygon", coordinates: [SQUARE, HOLE] });
    expect(parseAoi(JSON.stringify(geojson))).toEqual(aoi);
  });

  it("gives a MultiPolygon for several", () => {
    const wkt = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))";
    const geojson = aoiToGeoJSON(parseAoi(wkt));
    expect(geojson).toEqual({
      type: "MultiPolygon",
      coordinates: [
        [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 0],
          ],
        ],
        [
          [
            [5, 5],
            [6, 5],
            [6, 6],
            [5, 5],
          ],
        ],
      ],
    });
  });
});

describe("bboxIntersects", () => {
  it("is inclusive at edges and corners, for tuples and structs", () => {
    const a = [0, 0, 10, 10] as const;
    expect(bboxIntersects(a, [10, 10, 20, 20])).toBe(true);
    expect(bboxIntersects(a, { xmin: 10, ymin: -5, xmax: 11, ymax: 0 })).toBe(true);
    expect(bboxIntersects({ xmin: 2, ymin: 2, xmax: 3, ymax: 3 }, a)).toBe(true);
    expect(bboxIntersects(a, [-5, -5, 20, 20])).toBe(true);
    expect(bboxIntersects(a, [10.000001, 0, 20, 10])).toBe(false);
    expect(bboxIntersects(a, [0, -3, 10, -1e-9])).toBe(false);
    expect(
      bboxIntersects({ xmin: 0, ymin: 0, xmax: 0, ymax: 0 }, { xmin: 0, ymin: 0, xmax: 0, ymax: 0 }),
    ).toBe(true);
    expect(bboxIntersects(a, [Number.NaN, 0, 5, 5])).toBe(false);
  });
});

describe("parseAoi refuses bad input with one clear line naming the input", () => {
  it("text that is not JSON, WKT or a bbox", () => {
    expect(refusal("")).toMatch(/is empty/);
    expect(refusal("hello world")).toMatch(/is not GeoJSON, WKT .* or a bbox .*"hello world"/);
    expect(refusal("1 2 3 4")).toMatch(/is not GeoJSON, WKT/);
    expect(refusal("1,2,3")).toMatch(/is not GeoJSON, WKT/);
    expect(refusal('{"type": "Polygon", ')).toMatch(/is not valid JSON/);
    expect(refusal("1,2,x,4")).toMatch(/bbox value 3 "x" is not a finite number/);
  });

  it("wrong GeoJSON types and nesting", () => {
    expect(refusal('{"type":"Point","coordinates":[1,2]}')).toMatch(
      /GeoJSON is a GeoJSON Point, not an area/,
    );
    expect(refusal('{"type":"LineString","coordinates":[[1,2],[3,4]]}')).toMatch(/LineString, not an area/);
    expect(refusal('{"type":"Polygon"}')).toMatch(/Polygon has no "coordinates" array/);
    expect(refusal('{"type":"Polygon","coordinates":[]}')).toMatch(/Polygon has empty coordinates/);
    expect(refusal('{"coordinates":[]}')).toMatch(/unsupported GeoJSON type undefined/);
    expect(refusal('{"type":"Banana"}')).toMatch(/unsupported GeoJSON type "Banana"/);
    expect(refusal("[1, 2]")).toMatch(/GeoJSON is not a GeoJSON object: \[1,2\]/);
    // One level of nesting missing: a ring given where the rings array belongs.
    expect(refusal(JSON.stringify({ type: "Polygon", coordinates: SQUARE }))).toMatch(
      /position 0 of ring 0 of polygon 0 is not a \[lon, lat\] array: 0 \(coordinates nested wrongly\?\)/,
    );
    expect(refusal(JSON.stringify({ type: "MultiPolygon", coordinates: [SQUARE] }))).toMatch(
      /MultiPolygon coordinates are nested wrongly/,
    );
    expect(refusal('{"type":"Feature","properties":{},"geometry":null}')).toMatch(/GeoJSON has no geometry/);
    expect(
      refusal(
        JSON.stringify({
          type: "FeatureCollection",
          features: [{ type: "Feature", geometry: { type: "Point", coordinates: [0, 0] } }],
        }),
      ),
    ).toMatch(/feature 0 is a GeoJSON Point/);
  });

  it("an empty FeatureCollection", () => {
    expect(refusal('{"type":"FeatureCollection","features":[]}')).toMatch(
      /FeatureCollection is empty \(0 features\)/,
    );
  });

  it("an unclosed ring, with both end positions in the message", () => {
    const ring = [
      [-45.38, 62.63],
      [-44.62, 62.63],
      [-44.6, 62.98],
      [-44.6, 62.9],
    ];
    expect(refusal(polygonJson(ring), "greenland.json")).toBe(
      "greenland.json: ring 0 of polygon 0 is not closed (first [-45.38, 62.63], last [-44.6, 62.9])",
    );
    expect(refusal("POLYGON ((0 0, 1 0, 1 1, 0 1))")).toMatch(/ring 0 of polygon 0 is not closed/);
  });

  it("a ring with fewer than 4 positions, and a degenerate ring", () => {
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [1, 1],
          [0, 0],
        ]),
      ),
    ).toMatch(/ring 0 of polygon 0 has 3 positions, a ring needs at least 4/);
    expect(
      refusal(
        polygonJson(SQUARE, [
          [1, 1],
          [2, 2],
          [1, 1],
        ]),
      ),
    ).toMatch(/ring 1 of polygon 0 has 3 positions/);
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
      ),
    ).toMatch(/ring 0 of polygon 0 is degenerate: it has 2 distinct/);
  });

  it("NaN, Infinity and non-number coordinates", () => {
    expect(refusal('{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1e999],[0,0]]]}')).toMatch(
      /position 2 of ring 0 of polygon 0 has a non-finite coordinate Infinity/,
    );
    expect(refusal('{"type":"Polygon","coordinates":[[[0,0],[1,0],["1",1],[0,0]]]}')).toMatch(
      /position 2 of ring 0 of polygon 0 has a non-number coordinate "1"/,
    );
    expect(refusal('{"type":"Polygon","coordinates":[[[0,0],[1,null],[1,1],[0,0]]]}')).toMatch(
      /non-number coordinate null/,
    );
    expect(refusal("POLYGON ((0 0, 1 0, 1 NaN, 0 0))")).toMatch(/expected a number, found NaN/);
    expect(refusal("POLYGON ((0 0, 1 0, 1 inf, 0 0))")).toMatch(/expected a number, found inf/);
  });

  it("latitude beyond 90 or longitude beyond 180", () => {
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [1, 0],
          [1, 90.5],
          [0, 0],
        ]),
      ),
    ).toMatch(/position 2 of ring 0 of polygon 0 has latitude 90.5 outside \[-90, 90\]/);
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [-361, 0],
          [1, 1],
          [0, 0],
        ]),
      ),
    ).toMatch(/longitude -361 outside \[-360, 360\]/);
    expect(refusal("0,0,181,1")).toMatch(/bbox maxx 181 is outside \[-180, 180\]/);
    expect(refusal("0,-91,1,1")).toMatch(/bbox miny -91 is outside \[-90, 90\]/);
  });

  it("self-intersecting rings: a bow tie, a figure eight touching at a vertex, a spike, a hole ring", () => {
    expect(
      refusal(
        polygonJson([
          [0, 0],
          [2, 2],
          [2, 0],
          [0, 2],
          [0, 0],
        ]),
      ),
    ).toMatch(/ring 0 of polygon 0 self-intersects: edge 0 \[0, 0\]-\[2, 2\] meets edge 2 \[2, 0\]-\[0, 2\]/);
    const figureEight = [
      [0, 0],
      [1, 1],
      [2, 0],
      [2, 2],
      [1, 1],
      [0, 2],
      [0, 0],
    ];
    expect(refusal(polygonJson(figureEight))).toMatch(/ring 0 of polygon 0 self-intersects/);
    const spike = [
      [0, 0],
      [4, 0],
      [4, 4],
      [4, 6],
      [4, 5],
      [0, 4],
      [0, 0],
    ];
    expect(refusal(polygonJson(spike))).toMatch(/self-intersects: edge 2 \[4, 4\]-\[4, 6\] meets edge [34]/);
    const touchingEdge = [
      [0, 0],
      [4, 0],
      [2, 0],
      [2, 3],
      [0, 0],
    ];
    expect(refusal(polygonJson(touchingEdge))).toMatch(/self-intersects/);
    expect(
      refusal(
        polygonJson(SQUARE, [
          [2, 2],
          [4, 4],
          [4, 2],
          [2, 4],
          [2, 2],
        ]),
      ),
    ).toMatch(/ring 1 of polygon 0 self-intersects/);
    expect(refusal("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")).toMatch(/self-intersects/);
  });

  it("a bbox with miny > maxy", () => {
    expect(refusal("0,5,1,4")).toMatch(/bbox miny 5 > maxy 4/);
  });

  it("a ring that crosses itself once read across the antimeridian", () => {
    // Written as a box from 170 east to -170, but its edges jump: read on the globe it is a bow tie.
    const ring = [
      [170, 50],
      [-170, 60],
      [-170, 50],
      [170, 60],
      [170, 50],
    ];
    expect(refusal(polygonJson(ring))).toMatch(
      /ring 0 of polygon 0 self-intersects \(read with edges over 180 degrees of longitude crossing the antimeridian\): edge 0 \[170, 50\]-\[-170, 60\] meets edge 2/,
    );
  });

  it("malformed and non-area WKT", () => {
    expect(refusal("POINT (1 2)")).toMatch(/WKT POINT is not an area/);
    expect(refusal("POLYGON EMPTY")).toMatch(/WKT POLYGON is EMPTY/);
    expect(refusal("POLYGON ((0 0, 1 0, 1 1, 0 0)")).toMatch(/expected "," or "\)", found end of text/);
    expect(refusal("POLYGON ((0 0, 1 0, 1 1, 0 0)) extra")).toMatch(
      /unexpected text after the geometry: extra/,
    );
    expect(refusal("POLYGON ((0 0 0 0 0, 1 0, 1 1, 0 0))")).toMatch(/has 5 ordinates, expected 2 to 4/);
    expect(refusal("SRID=3413;POLYGON ((0 0, 1 0, 1 1, 0 0))")).toMatch(/SRID 3413 is not supported/);
    expect(refusal("POLYGON ((0 0, 1 0, 1 1, 0 0)) # x")).toMatch(/WKT syntax error at character/);
  });

  it("uses AOI as the default source name", () => {
    expect(() => parseAoi("nonsense")).toThrow(/^AOI: /);
  });
});

describe("deeply nested GeoJSON", () => {
  it("is refused in one line, however deep, without overflowing the stack", () => {
    const poly = JSON.stringify({
      type: "Polygon",
      coordinates: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 1],
          [0, 0],
        ],
      ],
    });
    for (const n of [33, 5_000, 100_000]) {
      const text = `${'{"type":"GeometryCollection","geometries":['.repeat(n)}${poly}${"]}".repeat(n)}`;
      expect(() => parseAoi(text, { source: "deep.json" })).toThrow(
        /^deep\.json: GeoJSON collections are nested more than 32 levels deep$/,
      );
    }
  });
});
