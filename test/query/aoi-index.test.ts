import { describe, expect, it } from "vitest";
import { type Aoi, parseAoi } from "../../src/query/aoi.js";
import { footprintNearAoi } from "../../src/query/footprint.js";
import { EDGE_INDEX_MIN_EDGES, orient2d, pointsInAoi } from "../../src/query/pip.js";
import { wkbLineString } from "../../src/store/wkb.js";

/** A star-shaped ring of `n` vertices round (lon, lat), radii alternating, closed. */
function star(n: number, lon: number, lat: number): number[][] {
  const ring: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    const r = i % 2 === 0 ? 1 : 0.6 + 0.3 * Math.sin(i * 0.37);
    ring.push([lon + r * Math.cos(a), lat + 0.5 * r * Math.sin(a)]);
  }
  ring.push(ring[0]!);
  return ring;
}

/** The plain even-odd test over every edge, boundary inclusive: the oracle for the edge index. */
function plainInside(rings: number[][][], px: number, py: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let k = 0; k + 1 < ring.length; k++) {
      const [x1, y1] = ring[k]! as [number, number];
      const [x2, y2] = ring[k + 1]! as [number, number];
      if (
        Math.min(y1, y2) <= py &&
        py <= Math.max(y1, y2) &&
        Math.min(x1, x2) <= px &&
        px <= Math.max(x1, x2)
      ) {
        if (orient2d(x1, y1, x2, y2, px, py) === 0) return true;
      }
      if (y1 > py !== y2 > py && orient2d(x1, y1, x2, y2, px, py) > 0 === y2 > y1) inside = !inside;
    }
  }
  return inside;
}

describe("point in polygon with an edge index", () => {
  it("equals the plain test on a 4 000-vertex ring with a hole: random points, vertices and edge midpoints", () => {
    const outer = star(4_000, -45, 62.8);
    const hole = star(400, -45, 62.8).map(([x, y]) => [-45 + (x! + 45) * 0.3, 62.8 + (y! - 62.8) * 0.3]);
    const rings = [outer, hole.reverse()];
    const aoi = parseAoi(JSON.stringify({ type: "Polygon", coordinates: rings }));
    const lon: number[] = [];
    const lat: number[] = [];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 8_000; i++) {
      lon.push(-46.2 + 2.4 * rand());
      lat.push(62.1 + 1.4 * rand());
    }
    for (const ring of rings) {
      for (let k = 0; k + 1 < ring.length; k += 7) {
        lon.push(ring[k]![0]!, (ring[k]![0]! + ring[k + 1]![0]!) / 2);
        lat.push(ring[k]![1]!, (ring[k]![1]! + ring[k + 1]![1]!) / 2);
      }
    }
    const got = pointsInAoi(aoi, Float64Array.from(lon), Float64Array.from(lat));
    const want = lon.map((x, i) => (plainInside(rings, x, lat[i]!) ? 1 : 0));
    expect(Array.from(got)).toEqual(want);
    expect(want.filter(Boolean).length).toBeGreaterThan(2_000);
    expect(outer.length).toBeGreaterThan(EDGE_INDEX_MIN_EDGES);
  });

  it("a 1 000 000-vertex AOI parses, tests points and refines footprints in seconds, with the small polygon's answers", () => {
    // A circle of 1e6 vertices against its 64-vertex version: same answers away from the boundary.
    const circle = (n: number) => {
      const ring: number[][] = [];
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * i) / n;
        ring.push([-45 + Math.cos(a), 62.8 + 0.5 * Math.sin(a)]);
      }
      ring.push(ring[0]!);
      return parseAoi(JSON.stringify({ type: "Polygon", coordinates: [ring] }));
    };
    const big = circle(1_000_000);
    const small = circle(4096);
    const n = 100_000;
    const lon = new Float64Array(n);
    const lat = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      lon[i] = -46.2 + (2.4 * (i % 400)) / 400;
      lat[i] = 62.1 + (1.4 * Math.floor(i / 400)) / 250;
    }
    const a = pointsInAoi(big, lon, lat);
    const b = pointsInAoi(small, lon, lat);
    // The 4096-gon lies inside the circle, at most 1.2e-6 degrees from it: only points in between differ.
    let differ = 0;
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) differ++;
    expect(differ).toBeLessThan(5);
    expect(a.reduce((s, v) => s + v, 0)).toBeGreaterThan(30_000);
    // Footprints: a line crossing the ring, one inside, one outside within and beyond reach.
    const line = (coords: number[]) => wkbLineString(coords);
    expect(footprintNearAoi(line([-47, 62.8, -45, 62.8]), 0.001, big)).toBe(true);
    expect(footprintNearAoi(line([-45.1, 62.7, -44.9, 62.9]), 0.001, big)).toBe(true);
    expect(footprintNearAoi(line([-46.01, 61.5, -46.01, 64]), 0.02, big)).toBe(true);
    expect(footprintNearAoi(line([-46.01, 61.5, -46.01, 64]), 0.005, big)).toBe(false);
    expect(footprintNearAoi(line([-43.5, 61, -43.5, 64]), 0.4, big)).toBe(false);
  }, 60_000);

  it("refines footprints through the edge grid exactly as edge by edge", () => {
    const ring = star(3_000, -45, 62.8);
    const big = parseAoi(JSON.stringify({ type: "Polygon", coordinates: [ring] }));
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let t = 0; t < 300; t++) {
      const x = -46.5 + 3 * rand();
      const y = 62 + 1.6 * rand();
      const coords = [x, y, x + 0.4 * (rand() - 0.5), y + 0.4 * (rand() - 0.5)];
      const reach = 0.05 * rand();
      const want = bruteNear(coords, reach, ring);
      expect([t, footprintNearAoi(wkbLineString(coords), reach, big)]).toEqual([t, want]);
    }
  });
});

/** A star of `spikes` thin spikes 10 degrees long round a 0.5 degree core at (0, 60). */
function spikyStar(spikes: number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < spikes; k++) {
    const a = (2 * Math.PI * k) / spikes;
    const b = (2 * Math.PI * (k + 0.5)) / spikes;
    ring.push([10 * Math.cos(a), 60 + 5 * Math.sin(a)]);
    ring.push([0.5 * Math.cos(b), 60 + 0.25 * Math.sin(b)]);
  }
  ring.push(ring[0]!);
  return ring;
}

/** A comb over [0, 10] x [55, 65]: `teeth` teeth 9 degrees long from a spine along latitude 55-56. */
function comb(teeth: number): number[][] {
  const w = 10 / teeth;
  const ring: number[][] = [
    [0, 55],
    [10, 55],
  ];
  for (let t = teeth - 1; t >= 0; t--) {
    ring.push([t * w + w, 65], [t * w + w / 2, 65], [t * w + w / 2, 56], [t * w, 56]);
  }
  ring[ring.length - 1] = [0, 65];
  ring.push([0, 55]);
  return ring;
}

/**
 * The AOI of one polygon, built directly: `parseAoi`'s self-intersection check sweeps edges by
 * longitude, which is quadratic for such rings (minutes at 100 000 vertices), and is not under test.
 */
function polygonOf(rings: number[][][]): Aoi {
  const xs = rings[0]!.map((p) => p[0]!);
  const ys = rings[0]!.map((p) => p[1]!);
  const bbox = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] as Aoi["bbox"];
  return { polygons: [{ rings: rings.map((r) => Float64Array.from(r.flat())), bbox }], bbox };
}

describe("point in polygon and footprints on spiky polygons (100 000 vertices)", () => {
  // A horizontal line crosses thousands of these edges: the slab index's worst case before the
  // segment tree (bench/aoi-spiky.ts has the times).
  it.each([
    [
      "a star of 50 000 spikes with a hole in its core",
      [
        spikyStar(50_000),
        spikyStar(64)
          .map(([x, y]) => [x! * 0.02, 60 + (y! - 60) * 0.02])
          .reverse(),
      ],
    ],
    ["a comb of 5 000 teeth (20 000 vertices)", [comb(5_000)]],
  ])(
    "%s: the same points as the plain test over every edge",
    (_name, rings) => {
      const aoi = polygonOf(rings);
      const [xmin, ymin, xmax, ymax] = aoi.bbox;
      let seed = 5;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const lon: number[] = [];
      const lat: number[] = [];
      for (let i = 0; i < 500; i++) {
        lon.push(xmin - 0.5 + (xmax - xmin + 1) * rand());
        lat.push(ymin - 0.5 + (ymax - ymin + 1) * rand());
      }
      // Vertices and edge midpoints of both rings, and points just beside vertices.
      for (const ring of rings) {
        for (let k = 0; k + 1 < ring.length; k += Math.max(1, Math.floor(ring.length / 100))) {
          const [x1, y1] = ring[k]! as [number, number];
          const [x2, y2] = ring[k + 1]! as [number, number];
          lon.push(x1, (x1 + x2) / 2, x1 + 1e-9, x1);
          lat.push(y1, (y1 + y2) / 2, y1, y1 - 1e-9);
        }
      }
      const got = pointsInAoi(aoi, Float64Array.from(lon), Float64Array.from(lat));
      const flat = aoi.polygons[0]!.rings;
      const want = lon.map((x, i) => (flatInside(flat, x, lat[i]!) ? 1 : 0));
      expect(Array.from(got)).toEqual(want);
      expect(want.filter(Boolean).length).toBeGreaterThan(200);
      expect(want.filter((v) => !v).length).toBeGreaterThan(200);
      // Footprints through the edge grid, against every edge near them.
      for (let t = 0; t < 30; t++) {
        const x = xmin + (xmax - xmin) * rand();
        const y = ymin + (ymax - ymin) * rand();
        const coords = [x, y, x + 2 * (rand() - 0.5), y + 2 * (rand() - 0.5)];
        const reach = 0.01 * rand();
        const near = flatNear(coords, reach, flat);
        expect([t, footprintNearAoi(wkbLineString(coords), reach, aoi)]).toEqual([t, near]);
      }
    },
    60_000,
  );
});

/** {@link plainInside} over flat rings (x0, y0, x1, y1, ...): the same rules, fast enough for 100 000 edges. */
function flatInside(rings: readonly Float64Array[], px: number, py: number): boolean {
  let inside = false;
  for (const r of rings) {
    for (let k = 0; k + 3 < r.length; k += 2) {
      const x1 = r[k]!;
      const y1 = r[k + 1]!;
      const x2 = r[k + 2]!;
      const y2 = r[k + 3]!;
      if (py < Math.min(y1, y2) || py > Math.max(y1, y2)) continue;
      if (px >= Math.min(x1, x2) && px <= Math.max(x1, x2) && orient2d(x1, y1, x2, y2, px, py) === 0)
        return true;
      if (y1 > py !== y2 > py && orient2d(x1, y1, x2, y2, px, py) > 0 === y2 > y1) inside = !inside;
    }
  }
  return inside;
}

/** {@link bruteNear} over flat rings. */
function flatNear(coords: number[], reach: number, rings: readonly Float64Array[]): boolean {
  const [ax, ay, bx, by] = coords as [number, number, number, number];
  if (flatInside(rings, ax, ay) || flatInside(rings, bx, by)) return true;
  const r = reach * (1 + 1e-9) + 1e-12;
  for (const ring of rings) {
    for (let k = 0; k + 3 < ring.length; k += 2) {
      const [cx, cy, dx, dy] = [ring[k]!, ring[k + 1]!, ring[k + 2]!, ring[k + 3]!];
      if (Math.max(cx, dx) < Math.min(ax, bx) - r || Math.min(cx, dx) > Math.max(ax, bx) + r) continue;
      if (Math.max(cy, dy) < Math.min(ay, by) - r || Math.min(cy, dy) > Math.max(ay, by) + r) continue;
      if (segDist(ax, ay, bx, by, cx, cy, dx, dy) <= r) return true;
    }
  }
  return false;
}

/** Edge-by-edge reference of footprintNearAoi for one segment (its ends outside or inside). */
function bruteNear(coords: number[], reach: number, ring: number[][]): boolean {
  const [ax, ay, bx, by] = coords as [number, number, number, number];
  if (plainInside([ring], ax, ay) || plainInside([ring], bx, by)) return true;
  const r = reach * (1 + 1e-9) + 1e-12;
  for (let k = 0; k + 1 < ring.length; k++) {
    const [cx, cy] = ring[k] as [number, number];
    const [dx, dy] = ring[k + 1] as [number, number];
    if (segDist(ax, ay, bx, by, cx, cy, dx, dy) <= r) return true;
  }
  return false;
}

function pointSeg(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function segDist(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  dx: number,
  dy: number,
): number {
  const crosses =
    orient2d(ax, ay, bx, by, cx, cy) * orient2d(ax, ay, bx, by, dx, dy) < 0 &&
    orient2d(cx, cy, dx, dy, ax, ay) * orient2d(cx, cy, dx, dy, bx, by) < 0;
  if (crosses) return 0;
  return Math.min(
    pointSeg(ax, ay, cx, cy, dx, dy),
    pointSeg(bx, by, cx, cy, dx, dy),
    pointSeg(cx, cy, ax, ay, bx, by),
    pointSeg(dx, dy, ax, ay, bx, by),
  );
}
