import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nominalStart, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index, openStore, writeGeoParquet } from "../../src/index.js";
import { aoiToGeoJSON, parseAoi } from "../../src/query/aoi.js";
import { bruteForceAtl06, type OracleRow } from "../support/oracle.js";
import { readResultRows, toMicros } from "../support/results.js";

/*
 * Queries across the antimeridian and round the north pole over synthetic granules whose tracks
 * cross them, each compared row for row with the brute-force oracle, on local files and through a
 * loopback range server, with every candidate selection method.
 */

const SEGMENTS = 4_000;

/** Granule options through a point, with a start time consistent with the orbit. */
function through(seed: number, rgt: number, cycle: number, lat: number, lon: number, ascending: boolean) {
  const start = nominalStart(rgt, cycle, lat, ascending, SEGMENTS);
  return { seed, rgt, cycle, start, through: { lat, lon }, ascending, segmentsPerBeam: SEGMENTS };
}

const GRANULES = [
  through(21, 300, 5, 70, 179.9, true),
  through(22, 640, 6, 69.6, -179.95, false),
  through(23, 900, 7, 70.2, 179.2, true),
  through(24, 120, 8, 87.5, 30, true),
  through(25, 1100, 9, 87.8, -150, false),
  through(26, 700, 10, 87.2, 100, false),
];

/** Each query: the AOI as users write it, and the same area as planar GeoJSON for the oracle. */
const QUERIES = {
  // A west > east bbox; the oracle gets the two boxes it means, written by hand.
  "antimeridian bbox": {
    aoi: "179.7,69.85,-179.75,70.15",
    oracle: {
      type: "MultiPolygon",
      coordinates: [
        [
          [
            [179.7, 69.85],
            [180, 69.85],
            [180, 70.15],
            [179.7, 70.15],
            [179.7, 69.85],
          ],
        ],
        [
          [
            [-180, 69.85],
            [-179.75, 69.85],
            [-179.75, 70.15],
            [-180, 70.15],
            [-180, 69.85],
          ],
        ],
      ],
    },
  },
  // A concave ring written with jumps from 179.x to -179.x.
  "antimeridian ring": {
    aoi: JSON.stringify({
      type: "Polygon",
      coordinates: [
        [
          [179.5, 69.6],
          [-179.7, 69.65],
          [-179.9, 69.8],
          [-179.6, 69.95],
          [179.4, 69.9],
          [179.6, 69.8],
          [179.5, 69.6],
        ],
      ],
    }),
  },
  // A ring round the north pole at 87.7 degrees; the oracle gets the cap as a planar box to 90.
  "polar ring": {
    aoi: JSON.stringify({
      type: "Polygon",
      coordinates: [
        [
          [0, 87.7],
          [90, 87.7],
          [180, 87.7],
          [-90, 87.7],
          [0, 87.7],
        ],
      ],
    }),
    oracle: {
      type: "Polygon",
      coordinates: [
        [
          [-180, 87.7],
          [180, 87.7],
          [180, 90],
          [-180, 90],
          [-180, 87.7],
        ],
      ],
    },
  },
  // A wavy ring round the pole written with continuing longitudes.
  "polar wavy ring": {
    aoi: `POLYGON ((-170 87.6, -100 87.8, -30 87.55, 40 87.85, 110 87.5, 190 87.6))`,
  },
} as const satisfies Record<string, { aoi: string; oracle?: object }>;

describe("antimeridian and polar AOIs over synthetic granules that cross them", () => {
  let dir: string;
  let files: string[];
  let server: RangeServer;
  const stores: Record<"local" | "http", string> = { local: "", http: "" };
  const expected = new Map<string, OracleRow[]>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-am-"));
    mkdirSync(join(dir, "www"));
    files = [];
    for (const opts of GRANULES) files.push(await writeSyntheticAtl06(join(dir, "www"), opts));
    server = await startRangeServer({ root: join(dir, "www") });
    stores.local = join(dir, "store-local");
    stores.http = join(dir, "store-http");
    await index(files, { store: stores.local, concurrency: 3 });
    await index(
      files.map((f) => new URL(basename(f), server.url).href),
      { store: stores.http, concurrency: 3 },
    );
    for (const [name, q] of Object.entries(QUERIES)) {
      const oracle = "oracle" in q ? q.oracle : aoiToGeoJSON(parseAoi(q.aoi));
      expected.set(name, toMicros(await bruteForceAtl06(files, oracle)));
    }
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the granules cross the antimeridian and pass within 2 degrees of the pole, and every AOI holds points", () => {
    const am = expected.get("antimeridian bbox")!;
    expect(am.some((r) => r.lon > 179.9)).toBe(true);
    expect(am.some((r) => r.lon < -179.9)).toBe(true);
    expect(new Set(am.map((r) => r.granule_id)).size).toBeGreaterThanOrEqual(2);
    const polar = expected.get("polar ring")!;
    expect(polar.every((r) => r.lat >= 87.7)).toBe(true);
    expect(new Set(polar.map((r) => r.granule_id)).size).toBeGreaterThanOrEqual(2);
    for (const [name, rows] of expected) expect(rows.length, name).toBeGreaterThan(100);
  });

  for (const where of ["local", "http"] as const) {
    // Over HTTP, one antimeridian and one polar AOI: the store and reads are what differ.
    const names = Object.keys(QUERIES) as (keyof typeof QUERIES)[];
    for (const name of where === "local" ? names : (["antimeridian ring", "polar wavy ring"] as const)) {
      it(`${name}, ${where}: bbox, h3 and auto selection all equal the oracle row for row`, async () => {
        const store = await openStore(stores[where]);
        const want = expected.get(name)!;
        const candidates: Record<string, number> = {};
        for (const selection of ["bbox", "h3", "auto"] as const) {
          server.resetStats();
          const result = store.query({ aoi: QUERIES[name].aoi, selection });
          const out = join(dir, `${where}-${name.replace(/ /g, "-")}-${selection}.parquet`);
          const rows = await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
          expect(rows, selection).toBe(want.length);
          expect(await readResultRows(out), selection).toEqual(want);
          candidates[selection] = result.stats.chunks_candidate;
          expect(result.stats.granules).toBe(new Set(want.map((r) => r.granule_id)).size);
          if (where === "http") {
            // One round of range reads per granule plus its size probe; every byte counted.
            expect(server.stats.requests).toBeLessThanOrEqual(result.stats.requests + result.stats.granules);
            expect(server.stats.bytes).toBe(result.stats.bytes_read);
          }
        }
        expect(candidates.h3).toBeLessThanOrEqual(candidates.bbox!);
      });
    }
  }
});
