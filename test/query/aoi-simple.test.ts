import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latLngToCell } from "h3-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { parseAoi } from "../../src/query/aoi.js";
import { findMeetingEdges, findSelfIntersection } from "../../src/query/aoi-simple.js";
import { pointInAoi } from "../../src/query/pip.js";
import { lexicographicOrder } from "../../src/query/point-order.js";
import { cellToBigint, MAX_COVER_POSITIONS, polygonCover } from "../../src/store/h3.js";
import { runCli } from "../support/cli.js";
import { findSelfIntersectionQuadratic } from "../support/self-intersection-oracle.js";

/** A seeded generator of numbers in [0, 1) (Park-Miller), so every run tests the same rings. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

/**
 * A small random ring (or open path) full of degenerate cases: positions on a grid of 2 to 5
 * values per axis (shared vertices, collinear edges, vertical edges, many vertices on one x),
 * sometimes sorted by angle round the centre (mostly simple rings), sometimes off the grid in x.
 */
function randomRing(random: () => number, it: number): { ring: Float64Array; closed: boolean } {
  const n = it % 7 === 0 ? 12 + Math.floor(random() * 30) : 3 + Math.floor(random() * 9);
  const grid = 2 + Math.floor(random() * 4);
  const positions: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const y = Math.floor(random() * grid);
    positions.push([it % 4 === 3 ? random() * grid : Math.floor(random() * grid), y]);
  }
  if (it % 3 === 1) {
    const c = grid / 2 - 0.25;
    positions.sort((a, b) => Math.atan2(a[1] - c, a[0] - c) - Math.atan2(b[1] - c, b[0] - c));
  }
  const closed = it % 5 !== 0;
  if (closed) positions.push(positions[0]!);
  return { ring: Float64Array.from(positions.flat()), closed };
}

/** A star of `spikes` spikes round (lon, lat): tips `r` degrees out, a core of r / 20. */
function star(spikes: number, lon: number, lat: number, r: number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < spikes; k++) {
    const a = (2 * Math.PI * k) / spikes;
    const b = (2 * Math.PI * (k + 0.5)) / spikes;
    ring.push([lon + r * Math.cos(a), lat + 0.5 * r * Math.sin(a)]);
    ring.push([lon + (r / 20) * Math.cos(b), lat + (0.5 * r * Math.sin(b)) / 20]);
  }
  ring.push(ring[0]!);
  return ring;
}

const polygonJson = (...rings: number[][][]) => JSON.stringify({ type: "Polygon", coordinates: rings });

describe("ring self-intersection: the Shamos-Hoey sweep against the quadratic search", () => {
  it("gives the quadratic search's answer on 4 000 seeded random rings and paths", () => {
    const random = seeded(20_261_206);
    let simple = 0;
    const differences: string[] = [];
    for (let it = 0; it < 4000; it++) {
      const { ring, closed } = randomRing(random, it);
      const want = findSelfIntersectionQuadratic(ring, { closed });
      const got = findSelfIntersection(ring, { closed });
      // The sweep alone decides whether any pair meets; the pair it names may differ.
      const sweep = findMeetingEdges(ring, { closed });
      if (String(got) !== String(want) || (sweep === undefined) !== (want === undefined)) {
        differences.push(JSON.stringify({ ring: [...ring], closed, want, got, sweep }));
      }
      if (want === undefined) simple++;
    }
    expect(differences).toEqual([]);
    // Both kinds are well represented.
    expect(simple).toBeGreaterThan(1000);
    expect(simple).toBeLessThan(3000);
  });

  it("finds the one crossing of a 100 000-vertex star, where the ordered search gives up, and names its edges", () => {
    const ring = star(50_000, 0, 60, 10);
    expect(findSelfIntersection(Float64Array.from(ring.flat()))).toBeUndefined();
    // Spike 3's tip moved across spikes 4 and 5: its two edges cross theirs.
    ring[6] = [ring[12]![0]!, ring[12]![1]! + 1e-4];
    const crossing = findSelfIntersection(Float64Array.from(ring.flat()));
    expect(crossing).toBeDefined();
    expect(crossing![0]).toBeGreaterThanOrEqual(5);
    expect(crossing![1]).toBeLessThanOrEqual(11);
  });
});

describe("self-intersecting rings keep their messages", () => {
  // Each message is the one the quadratic search gave before the sweep replaced it.
  const cases: [string, string, string][] = [
    [
      "a figure eight touching at a vertex",
      polygonJson([
        [0, 0],
        [1, 1],
        [2, 0],
        [2, 2],
        [1, 1],
        [0, 2],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[1, 1] meets edge 4 [1, 1]-[0, 2]",
    ],
    [
      "a spike back along the first edge",
      polygonJson([
        [0, 0],
        [4, 0],
        [2, 0],
        [2, 3],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[4, 0] meets edge 1 [4, 0]-[2, 0]",
    ],
    [
      "a vertex on the inside of a non-adjacent edge",
      polygonJson([
        [0, 0],
        [4, 0],
        [4, 4],
        [2, 0],
        [0, 4],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[4, 0] meets edge 3 [2, 0]-[0, 4]",
    ],
    [
      "a spike folding back along the previous edge",
      polygonJson([
        [0, 0],
        [4, 0],
        [4, 4],
        [4, 6],
        [4, 5],
        [0, 4],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 2 [4, 4]-[4, 6] meets edge 4 [4, 5]-[0, 4]",
    ],
    [
      "a fold-back at the closing vertex",
      polygonJson([
        [0, 0],
        [4, 0],
        [4, 4],
        [0, 4],
        [0, 0],
        [0, 2],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[4, 0] meets edge 3 [0, 4]-[0, 0]",
    ],
    [
      "a collinear overlap of non-adjacent edges",
      polygonJson([
        [0, 0],
        [6, 0],
        [6, 2],
        [4, 2],
        [4, 0],
        [2, 0],
        [2, 2],
        [0, 2],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[6, 0] meets edge 4 [4, 0]-[2, 0]",
    ],
    [
      "a collinear overlap of vertical edges",
      polygonJson([
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
        [0, 2],
        [1, 2],
        [1, 3],
        [0, 3],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 2 [1, 1]-[0, 1] meets edge 7 [0, 3]-[0, 0]",
    ],
    [
      "vertical edges meeting end to end",
      polygonJson([
        [0, 0],
        [2, 0],
        [2, 4],
        [1, 4],
        [1, 2],
        [1, 3],
        [0, 3],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 3 [1, 4]-[1, 2] meets edge 5 [1, 3]-[0, 3]",
    ],
    [
      "a bow tie with repeated positions",
      polygonJson([
        [0, 0],
        [0, 0],
        [2, 2],
        [2, 2],
        [2, 0],
        [0, 2],
        [0, 2],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 1 [0, 0]-[2, 2] meets edge 4 [2, 0]-[0, 2]",
    ],
    [
      "the closing edge crossing another",
      polygonJson([
        [0, 0],
        [4, 0],
        [4, 4],
        [1, 4],
        [3, -1],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 0 [0, 0]-[4, 0] meets edge 3 [1, 4]-[3, -1]",
    ],
    [
      "the first edge crossing the closing edge",
      polygonJson([
        [2, -1],
        [3, 0],
        [0, 4],
        [4, 4],
        [2, -1],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 1 [3, 0]-[0, 4] meets edge 3 [4, 4]-[2, -1]",
    ],
    [
      "many vertices on one x, one touching another edge",
      polygonJson([
        [0, 0],
        [3, 0],
        [3, 6],
        [0, 6],
        [1, 5],
        [0, 4],
        [1, 3],
        [0, 2],
        [1, 1],
        [0, 2.5],
        [0, 0],
      ]),
      "ring 0 of polygon 0 self-intersects: edge 6 [1, 3]-[0, 2] meets edge 8 [1, 1]-[0, 2.5]",
    ],
    [
      "a hole crossing itself",
      polygonJson(
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
        [
          [2, 2],
          [4, 4],
          [4, 2],
          [2, 4],
          [2, 2],
        ],
      ),
      "ring 1 of polygon 0 self-intersects: edge 0 [2, 2]-[4, 4] meets edge 2 [4, 2]-[2, 4]",
    ],
    [
      "a hole touching itself at a vertex",
      polygonJson(
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
        [
          [2, 2],
          [3, 3],
          [4, 2],
          [4, 4],
          [3, 3],
          [2, 4],
          [2, 2],
        ],
      ),
      "ring 1 of polygon 0 self-intersects: edge 0 [2, 2]-[3, 3] meets edge 4 [3, 3]-[2, 4]",
    ],
    [
      "a ring round the pole touching its copy one turn round (an open path)",
      polygonJson([
        [0, 70],
        [120, 70],
        [240, 70],
        [350, 72],
        [10, 68],
        [0, 70],
      ]),
      "ring 0 of polygon 0 self-intersects (read with edges over 180 degrees of longitude crossing the antimeridian): edge 3 [350, 72]-[10, 68] meets edge 4 [10, 68]-[0, 70]",
    ],
    [
      "a ring round the pole crossing its copy one turn round",
      polygonJson([
        [0, 70],
        [120, 70],
        [240, 70],
        [350, 72],
        [10, 67],
        [5, 75],
        [0, 70],
      ]),
      "ring 0 of polygon 0 self-intersects (read with edges over 180 degrees of longitude crossing the antimeridian): edge 4 [10, 67]-[5, 75] meets edge 0 [0, 70]-[120, 70]",
    ],
    [
      "a ring across the antimeridian crossing itself",
      polygonJson([
        [170, 50],
        [-170, 60],
        [-170, 50],
        [170, 60],
        [170, 50],
      ]),
      "ring 0 of polygon 0 self-intersects (read with edges over 180 degrees of longitude crossing the antimeridian): edge 0 [170, 50]-[-170, 60] meets edge 2 [-170, 50]-[170, 60]",
    ],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      expect(() => parseAoi(text, { source: "aoi.json" })).toThrow(`aoi.json: ${message}`);
    });
  }

  it("accepts simple rings with repeated positions, vertical edges and many vertices on one x", () => {
    for (const ring of [
      [
        [0, 70],
        [120, 70],
        [240, 70],
        [350, 72],
        [0, 70],
      ],
      [
        [0, 0],
        [3, 0],
        [3, 6],
        [0, 6],
        [1, 5],
        [0, 4],
        [1, 3],
        [0, 2],
        [1, 1],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 0],
        [3, 0],
        [3, 3],
        [3, 3],
        [0, 3],
        [0, 0],
      ],
    ]) {
      expect(parseAoi(polygonJson(ring)).polygons.length).toBeGreaterThan(0);
    }
  });
});

describe("the H3 cover of a polygon of many vertices", () => {
  it("is its bounding box's: every cell of a point inside is there, and H3 never sees the vertices", () => {
    const ring = star(MAX_COVER_POSITIONS, -45, 62.8, 1);
    const aoi = parseAoi(polygonJson(ring));
    const [xmin, ymin, xmax, ymax] = aoi.bbox;
    const box = Float64Array.of(xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax, xmin, ymin);
    const cover = polygonCover([aoi.polygons[0]!.rings], 6);
    expect(cover).toEqual(polygonCover([[box]], 6));
    const cells = new Set(cover);
    const random = seeded(3);
    let inside = 0;
    for (let i = 0; i < 5000; i++) {
      const [lon, lat] = [xmin + random() * (xmax - xmin), ymin + random() * (ymax - ymin)];
      if (!pointInAoi(aoi, lon, lat)) continue;
      inside++;
      expect(cells.has(cellToBigint(latLngToCell(lat, lon, 6)))).toBe(true);
    }
    expect(inside).toBeGreaterThan(100);
  });
});

describe("lexicographicOrder", () => {
  it("sorts by x, then y, then index, with -0 equal to 0", () => {
    const random = seeded(7);
    const values = [-0, 0, -1e-300, 5e-324, -Number.MAX_VALUE, 1e308, -2.5, 2.5, 3, -3];
    const pick = () =>
      random() < 0.5 ? values[Math.floor(random() * values.length)]! : random() * 200 - 100;
    const xs = Float64Array.from({ length: 5000 }, pick);
    const ys = Float64Array.from({ length: 5000 }, pick);
    const want = Array.from(xs, (_, i) => i).sort((a, b) => xs[a]! - xs[b]! || ys[a]! - ys[b]! || a - b);
    expect([...lexicographicOrder(xs, ys)]).toEqual(want);
  });
});

describe("geochunks query --dry-run with a 100 000-vertex star", () => {
  let dir: string;
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-star-"));
    const [granule] = demoGranuleSet();
    store = join(dir, "store");
    await index([await writeSyntheticAtl06(dir, { ...granule!, segmentsPerBeam: 1000 })], { store });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("plans a bbox with minx > maxx 358 degrees wide as the two boxes either side of the antimeridian", async () => {
    const across = await runCli(["query", "--store", store, "--polygon", "-44.9,62,-45.1,63.5", "--dry-run"]);
    const halves = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      "MULTIPOLYGON (((-44.9 62, 60 62, 180 62, 180 63.5, 60 63.5, -44.9 63.5, -44.9 62)), ((-180 62, -45.1 62, -45.1 63.5, -180 63.5, -180 62)))",
      "--dry-run",
    ]);
    const strip = await runCli(["query", "--store", store, "--polygon", "-45.1,62,-44.9,63.5", "--dry-run"]);
    expect([across.code, halves.code, strip.code]).toEqual([0, 0, 0]);
    expect(across.stdout).toBe(halves.stdout);
    expect(across.stdout).not.toBe(strip.stdout);
  }, 60_000);

  it("plans it, and refuses it with one crossing in one line naming the file, exit code 2", async () => {
    const ring = star(50_000, -45, 62.8, 1);
    const good = join(dir, "star.geojson");
    writeFileSync(good, polygonJson(ring));
    const planned = await runCli(["query", "--store", store, "--polygon", good, "--dry-run"]);
    expect(planned.code, planned.stderr).toBe(0);
    const summary = JSON.parse(planned.stdout.trim().split("\n").at(-1)!);
    expect(summary.granules).toBe(1);
    expect(summary.chunks_candidate).toBeGreaterThan(0);

    ring[6] = [ring[12]![0]!, ring[12]![1]! + 1e-5];
    const bad = join(dir, "crossing.geojson");
    writeFileSync(bad, polygonJson(ring));
    const refused = await runCli(["query", "--store", store, "--polygon", bad, "--dry-run"]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^geochunks: ${bad}: ring 0 of polygon 0 self-intersects: edge \\d+ \\[.*\\] meets edge \\d+ `,
      ),
    );
  }, 60_000);
});
