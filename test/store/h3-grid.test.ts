import {
  areNeighborCells,
  cellToBoundary,
  cellToLatLng,
  getIcosahedronFaces,
  getPentagons,
  gridDisk,
  gridPathCells,
  latLngToCell,
} from "h3-js";
import { describe, expect, it } from "vitest";
import {
  basePath,
  cellBigint,
  cellOf,
  gridStats,
  hexagonOnFace,
  hexagonsTouch,
  inCellHexagon,
} from "../../src/store/h3-grid.js";

/** A small deterministic generator (the same points on every run). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const DEG = 180 / Math.PI;

/** The cell computed here, as h3-js writes it. */
const ours = (lat: number, lng: number, res: number) => cellBigint(lat, lng, res).toString(16);

/** A point uniform on the sphere, degrees. */
function onSphere(rand: () => number): [number, number] {
  return [Math.asin(2 * rand() - 1) * DEG, 360 * rand() - 180];
}

type Vec = [number, number, number];
const vec = ([lat, lng]: readonly number[]): Vec => {
  const [phi, lambda] = [lat! / DEG, lng! / DEG];
  return [Math.cos(phi) * Math.cos(lambda), Math.cos(phi) * Math.sin(lambda), Math.sin(phi)];
};
const latLng = (v: Vec): [number, number] => {
  const l = Math.hypot(...v);
  return [Math.asin(v[2] / l) * DEG, Math.atan2(v[1], v[0]) * DEG];
};

/** The icosahedron's 12 vertices (the resolution-0 pentagons' centres) and 30 edges (pairs of vertices). */
function icosahedron(): { vertices: Vec[]; edges: [Vec, Vec][] } {
  const pentagons = getPentagons(0);
  const vertices = pentagons.map((p) => vec(cellToLatLng(p)));
  const faces = pentagons.map((p) => new Set(getIcosahedronFaces(p)));
  const edges: [Vec, Vec][] = [];
  for (let a = 0; a < 12; a++) {
    for (let b = a + 1; b < 12; b++) {
      // Two vertices of one edge share two faces.
      if ([...faces[a]!].filter((f) => faces[b]!.has(f)).length === 2)
        edges.push([vertices[a]!, vertices[b]!]);
    }
  }
  return { vertices, edges };
}

describe("the H3 cell of a point, computed without h3-js", () => {
  it("is h3-js's at every resolution, for points all over the sphere", () => {
    const rand = random(1);
    const asked = gridStats.askedH3;
    let compared = 0;
    for (let k = 0; k < 480_000; k++) {
      const [lat, lng] = onSphere(rand);
      const res = k % 16;
      const want = latLngToCell(lat, lng, res);
      if (ours(lat, lng, res) !== want) expect(ours(lat, lng, res), `${lat}, ${lng} at ${res}`).toBe(want);
      compared++;
    }
    expect(compared).toBe(480_000);
    expect(gridStats.disagreed).toBe(0);
    // Base cells and turns are learnt once per lattice point of resolution 0 (at most 20 x 27), the
    // ways of writing a pentagon's digits from a few answers: h3-js is asked for few points.
    expect(gridStats.learnt).toBeLessThan(20 * 27);
    expect(gridStats.askedH3 - asked).toBeLessThan(1_000);
  });

  it("is h3-js's within a hair of the icosahedron's edges, around its vertices (the pentagons), and at the poles and the antimeridian", () => {
    const { vertices, edges } = icosahedron();
    expect(edges).toHaveLength(30);
    const rand = random(2);
    const points: [number, number][] = [];
    for (const [a, b] of edges) {
      // Along the edge, pushed off it either way by 1e-12 to 1e-3 radians.
      const n: Vec = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
      for (let s = 0; s < 60; s++) {
        const t = rand();
        const off = (rand() < 0.5 ? -1 : 1) * 10 ** (-12 + 9 * rand());
        points.push(latLng([0, 1, 2].map((i) => a[i]! * (1 - t) + b[i]! * t + n[i]! * off) as Vec));
      }
    }
    for (const v of vertices) {
      // Near the pentagon, and all over its base cell (up to about 0.2 radians away).
      for (let s = 0; s < 200; s++) {
        const off = 10 ** (-9 + 8.3 * rand());
        points.push(latLng([0, 1, 2].map((i) => v[i]! + off * (rand() - 0.5)) as Vec));
      }
    }
    for (const lat of [90, -90, 89.999999, -89.999999, 0, 45.5, -70.25]) {
      for (const lng of [180, -180, 179.9999999999, -179.9999999999, 0, 1e-12, -1e-12])
        points.push([lat, lng]);
    }
    let compared = 0;
    for (const [lat, lng] of points) {
      for (let res = 0; res <= 15; res++) {
        expect(ours(lat, lng, res), `${lat}, ${lng} at ${res}`).toBe(latLngToCell(lat, lng, res));
        compared++;
      }
    }
    expect(points).toHaveLength(30 * 60 + 12 * 200 + 49);
    expect(compared).toBe(points.length * 16);
    expect(gridStats.disagreed).toBe(0);
  });
});

describe("a cell's hexagon on its face", () => {
  it("is drawn only for cells of one face and holds only their points, up to the edges", () => {
    const rand = random(3);
    let drawn = 0;
    let straddling = 0;
    let inside = 0;
    for (let k = 0; k < 3_000; k++) {
      const [lat, lng] = onSphere(rand);
      const res = [2, 4, 6, 7, 9, 10, 12, 15][k % 8]!;
      cellOf(lat, lng, res);
      const hexagon = hexagonOnFace(res);
      const cell = latLngToCell(lat, lng, res);
      if (!hexagon) {
        straddling++;
        continue;
      }
      drawn++;
      expect(getIcosahedronFaces(cell), cell).toHaveLength(1);
      // Points a share t of the way from the centre towards points along each edge.
      const centre = vec(cellToLatLng(cell));
      const boundary = cellToBoundary(cell).map(vec);
      expect(boundary).toHaveLength(6);
      for (let e = 0; e < 6; e++) {
        const [a, b] = [boundary[e]!, boundary[(e + 1) % 6]!];
        for (const t of [0.5, 0.99, 0.99999, 0.9999999, 1, 1.00001]) {
          const f = rand();
          const p = latLng(
            [0, 1, 2].map((i) => centre[i]! + (a[i]! * (1 - f) + b[i]! * f - centre[i]!) * t) as Vec,
          );
          if (!inCellHexagon(hexagon, p[1], p[0])) {
            expect(t, `${cell}: a point half way to its edge`).toBeGreaterThan(0.5);
            continue;
          }
          expect(latLngToCell(p[0], p[1], res), `${cell} at ${p}`).toBe(cell);
          inside++;
        }
      }
    }
    expect(drawn).toBeGreaterThan(2_500);
    expect(straddling).toBeGreaterThan(10);
    // Every point up to 1e-5 of the way from the edges (t up to 0.99999) is found inside.
    expect(inside).toBe(drawn * 6 * 3);
  });

  it("tells neighbours as h3-js does, for cells of one face", () => {
    const rand = random(4);
    let pairs = 0;
    let neighbours = 0;
    for (let k = 0; k < 200; k++) {
      const [lat, lng] = onSphere(rand);
      const res = [3, 6, 9, 14][k % 4]!;
      cellOf(lat, lng, res);
      const a = hexagonOnFace(res);
      const origin = latLngToCell(lat, lng, res);
      if (!a) continue;
      for (const other of gridDisk(origin, 2)) {
        if (other === origin) continue;
        const [olat, olng] = cellToLatLng(other);
        cellOf(olat, olng, res);
        const b = hexagonOnFace(res);
        if (!b) continue;
        pairs++;
        const h3 = areNeighborCells(origin, other);
        if (h3) neighbours++;
        expect(hexagonsTouch(a, b), `${origin} ${other}`).toBe(h3);
      }
    }
    expect(pairs).toBeGreaterThan(2_500);
    expect(neighbours).toBeGreaterThan(900);
  });
});

describe("a grid path inside one base cell", () => {
  it("is h3-js's gridPathCells, cell for cell, at every resolution", () => {
    const rand = random(5);
    let same = 0;
    let left = 0;
    for (let k = 0; k < 1_600; k++) {
      const [lat, lng] = onSphere(rand);
      const res = k % 16;
      const a = latLngToCell(lat, lng, res);
      const disk = gridDisk(a, 5);
      for (let q = 0; q < 6; q++) {
        const b = disk[Math.floor(rand() * disk.length)]!;
        const path = basePath(BigInt(`0x${a}`), BigInt(`0x${b}`), res);
        if (!path) {
          left++;
          continue;
        }
        expect(
          path.map((c) => c.toString(16)),
          `${a} to ${b}`,
        ).toEqual(gridPathCells(a, b));
        same++;
      }
    }
    // Pairs of two base cells (most at resolutions 0-2) or a pentagon's are left to h3-js.
    expect(same).toBeGreaterThan(6_000);
    expect(left).toBeLessThan(4_000);
  });
});
