/**
 * Point-in-polygon and footprint refinement over spiky AOIs: a star of long thin spikes and a comb
 * (long teeth along latitude), each of about 100 000 vertices, against a smooth ring of as many.
 * Reports parse (validation) time, the time to test 100 000 points and to refine 2 000 footprints,
 * in milliseconds (median of 3). Then parses a star and a coastline-like ring of `--large`
 * vertices (default 1 000 000; 0 skips them) and tests the points against them.
 *
 *   npx tsx bench/aoi-spiky.ts [--vertices 100000] [--large 1000000]
 */
import { parseArgs } from "node:util";
import { footprintNearAoi } from "../src/query/footprint.js";
import { parseAoi, pointsInAoi } from "../src/query/index.js";
import { wkbLineString } from "../src/store/wkb.js";

const { values } = parseArgs({
  options: { vertices: { type: "string", default: "100000" }, large: { type: "string", default: "1000000" } },
});
const n = Number(values.vertices);
const large = Number(values.large);

/** A star round (0, 60): `spikes` spikes reaching 10 degrees out from a 0.5 degree core. */
export function star(spikes: number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < spikes; k++) {
    const a = (2 * Math.PI * k) / spikes;
    const b = (2 * Math.PI * (k + 0.5)) / spikes;
    ring.push([10 * Math.cos(a), 60 + 10 * Math.sin(a) * 0.5]);
    ring.push([0.5 * Math.cos(b), 60 + 0.5 * Math.sin(b) * 0.5]);
  }
  ring.push(ring[0]!);
  return ring;
}

/** A comb over [0, 10] x [55, 65]: `teeth` teeth from latitude 56 to 65 on a spine at 55-56. */
export function comb(teeth: number): number[][] {
  const ring: number[][] = [[0, 55]];
  const w = 10 / teeth;
  ring.push([10, 55]);
  for (let t = teeth - 1; t >= 0; t--) {
    ring.push([t * w + w, 65]);
    ring.push([t * w + w / 2, 65]);
    ring.push([t * w + w / 2, 56]);
    ring.push([t * w, 56]);
  }
  ring[ring.length - 1] = [0, 65];
  ring.push([0, 55]);
  return ring;
}

/**
 * A coastline-like ring round (0, 60), among the test points, of 16 * 2^levels vertices: a 16-gon whose edges are split
 * `levels` times, each new midpoint pushed sideways by up to 15% of its edge's length (seeded), so
 * it has bays and headlands at every scale, with the scale-to-scale roughness of a real coast.
 */
export function coastline(levels: number, seed = 1): number[][] {
  let state = seed;
  const random = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  let ring: number[][] = [];
  for (let k = 0; k < 16; k++) {
    const a = (2 * Math.PI * k) / 16;
    ring.push([9 * Math.cos(a), 60 + 5 * Math.sin(a)]);
  }
  for (let level = 0; level < levels; level++) {
    const next: number[][] = [];
    for (let k = 0; k < ring.length; k++) {
      const [ax, ay] = ring[k]!;
      const [bx, by] = ring[(k + 1) % ring.length]!;
      const push = 0.3 * (random() - 0.5);
      next.push([ax!, ay!], [(ax! + bx!) / 2 - push * (by! - ay!), (ay! + by!) / 2 + push * (bx! - ax!)]);
    }
    ring = next;
  }
  ring.push(ring[0]!);
  return ring;
}

function circle(count: number): number[][] {
  const ring: number[][] = [];
  for (let k = 0; k < count; k++) {
    const a = (2 * Math.PI * k) / count;
    ring.push([5 + 5 * Math.cos(a), 60 + 5 * Math.sin(a)]);
  }
  ring.push(ring[0]!);
  return ring;
}

function median(times: number[]): number {
  return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

function time(fn: () => void, reps = 3): number {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return median(out);
}

const shapes: [string, number[][]][] = [
  ["circle", circle(n)],
  ["star", star(Math.floor(n / 2))],
  ["comb", comb(Math.floor(n / 4))],
];
let seed = 1;
const random = () => {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
};
const lon = Float64Array.from({ length: 100_000 }, () => -10 + 20 * random());
const lat = Float64Array.from({ length: 100_000 }, () => 54 + 12 * random());
const footprints = Array.from({ length: 2000 }, () => {
  const x = -10 + 20 * random();
  const y = 54 + 12 * random();
  return wkbLineString([x, y, x + 0.3, y + 1.5]);
});
console.log(`vertices ${n}; ms, median of 3 (parse once)`);
for (const [name, ring] of shapes) {
  const text = JSON.stringify({ type: "Polygon", coordinates: [ring] });
  let t = performance.now();
  const aoi = parseAoi(text);
  const parse = performance.now() - t;
  t = performance.now();
  pointsInAoi(aoi, lon, lat);
  const first = performance.now() - t;
  const points = time(() => pointsInAoi(aoi, lon, lat));
  t = performance.now();
  let near = 0;
  for (const f of footprints) if (footprintNearAoi(f, 0.001, aoi)) near++;
  const refine = performance.now() - t;
  console.log(
    `${name.padEnd(7)} ${ring.length - 1} vertices: parse ${parse.toFixed(0)}, first 1e5 points (index built) ${first.toFixed(0)}, ` +
      `1e5 points ${points.toFixed(0)}, 2000 footprints ${refine.toFixed(0)} (${near} near)`,
  );
}

if (large > 0) {
  const levels = Math.max(0, Math.round(Math.log2(large / 16)));
  console.log(`large AOIs: ms, parse once, then 1e5 points (first call builds the index)`);
  for (const [name, ring] of [
    ["star", star(Math.floor(large / 2))],
    ["coastline", coastline(levels)],
  ] as [string, number[][]][]) {
    const text = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    let t = performance.now();
    let parsed: ReturnType<typeof parseAoi> | string;
    try {
      parsed = parseAoi(text);
    } catch (err) {
      parsed = (err as Error).message.slice(0, 120);
    }
    const parse = performance.now() - t;
    if (typeof parsed === "string") {
      console.log(`${name.padEnd(9)} ${ring.length - 1} vertices: refused in ${parse.toFixed(0)}: ${parsed}`);
      continue;
    }
    t = performance.now();
    pointsInAoi(parsed, lon, lat);
    const first = performance.now() - t;
    const points = time(() => pointsInAoi(parsed, lon, lat));
    console.log(
      `${name.padEnd(9)} ${ring.length - 1} vertices (${(text.length / 1e6).toFixed(0)} MB of GeoJSON): ` +
        `parse ${parse.toFixed(0)}, first 1e5 points ${first.toFixed(0)}, 1e5 points ${points.toFixed(0)}`,
    );
  }
}
