/**
 * Hostile input across the command line: seeded mutations of a synthetic (and, when present, a real)
 * granule through `inspect`, `index` and `query`, and malformed AOIs through `query`. Every case must end
 * in success (exit 0) or one line on stderr with exit code 2, within a time bound, leaving no output file
 * when it fails. The huge AOIs (millions of vertices, deep nesting) run in a child process with a capped
 * heap, so the memory bound is checked too.
 *
 * CI runs a fixed seed and a bounded number of cases. A longer run for a release:
 * `FUZZ_CLI_CASES=2000 FUZZ_SEED=7 FUZZ_LONG=1 npx vitest run test/e2e/fuzz.test.ts` (add `FUZZ_LOG=1`
 * to print each case). FUZZ_LONG raises the huge AOIs to 2 million vertices (also over the data),
 * nesting 50 000 deep and 200 000 features. As of issue 7 the long run finds that AOI parsing overflows
 * the stack beyond about 3 000 levels of nesting (exit 1), that parsing and candidate selection grow
 * faster than linearly with the number of polygons (minutes for 200 000 features), and that millions
 * of vertices over the data take minutes (every candidate point is tested against every edge). In CI
 * the huge AOIs lie away from the data, bounding parsing, validation, selection and memory.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  atl06FileName,
  buildAtl06Tree,
  demoGranuleSet,
  synthesizeAtl06,
} from "../../fixtures/atl06/generate.js";
import { encodeHdf5 } from "../../fixtures/hdf5-writer/index.js";
import { main } from "../../src/cli/main.js";
import { realGranules } from "../hdf5/granules.js";
import { BIN, type CliRun, ROOT } from "../support/cli.js";
import { mulberry32 as random } from "../support/random.js";

const CASES = Number(process.env.FUZZ_CLI_CASES ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 20260501);
const LOG = process.env.FUZZ_LOG === "1";
const LONG = process.env.FUZZ_LONG === "1";
/** Bound of one command, milliseconds: generous, since CI machines run other test files at once. */
const CASE_MS = 20_000;
/** Bound of one huge-AOI command (child process start included), milliseconds. */
const HUGE_MS = 90_000;
/** Vertices of the huge polygon. */
const VERTICES = LONG ? 2_000_000 : 1_000_000;
/** Nesting depth of the deep GeometryCollection. */
const DEPTH = LONG ? 50_000 : 1_000;
/** Features of the big FeatureCollection. */
const FEATURES = LONG ? 200_000 : 5_000;
/** Heap cap of the child process running the huge AOIs, MiB. */
const HEAP_MB = 1024;

/** Runs the command in this process; stdout is dropped, stderr captured. */
async function run(args: string[]): Promise<CliRun & { ms: number }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<number>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`geochunks ${args[0]} took over ${CASE_MS} ms`)), CASE_MS);
    });
    const code = await Promise.race([main(args, () => undefined), timeout]);
    return { code, stdout: "", stderr: lines.join(""), ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
    spy.mockRestore();
  }
}

/** Success, or exactly one `geochunks: ` line with exit code 2 (naming `input` when given). */
function expectCleanOutcome(what: string, r: CliRun, input?: string): "ok" | "refused" {
  const where = `${what}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`;
  if (r.code === 0) return "ok";
  expect(r.code, where).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines, where).toHaveLength(1);
  expect(lines[0], where).toMatch(/^geochunks: \S/);
  if (input) expect(lines[0], where).toContain(input);
  return "refused";
}

type Mutation = (bytes: Uint8Array, rnd: () => number) => { bytes: Uint8Array; label: string };

const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);

const MUTATIONS: Mutation[] = [
  (b, rnd) => {
    const out = b.slice();
    const k = 1 + int(rnd, 8);
    const limit = Math.min(out.length, 256 * 1024);
    for (let i = 0; i < k; i++) out[int(rnd, limit)] ^= 1 << int(rnd, 8);
    return { bytes: out, label: `flip ${k} bits in the first 256 KiB` };
  },
  (b, rnd) => {
    const out = b.slice();
    const k = 1 + int(rnd, 32);
    for (let i = 0; i < k; i++) out[int(rnd, out.length)] = int(rnd, 256);
    return { bytes: out, label: `set ${k} random bytes anywhere` };
  },
  (b, rnd) => {
    const at = int(rnd, b.length);
    return { bytes: b.slice(0, at), label: `truncate at ${at}` };
  },
  (b, rnd) => {
    const out = b.slice();
    const at = int(rnd, Math.min(out.length, 64 * 1024) - 8);
    out.fill(0xff, at, at + 8);
    return { bytes: out, label: `8 bytes of 0xff at ${at} (undefined address or huge size)` };
  },
  (b, rnd) => {
    const out = b.slice();
    const at = int(rnd, out.length - 4096);
    out.fill(0, at, at + 4096);
    return { bytes: out, label: `4 KiB of zeros at ${at}` };
  },
];

const VALID = {
  type: "Polygon",
  coordinates: [
    [
      [-45.3, 62.6],
      [-44.7, 62.6],
      [-44.7, 63.0],
      [-45.3, 63.0],
      [-45.3, 62.6],
    ],
  ],
};

/** AOIs of wrong type or shape, each of which must be refused or answered. */
const MALFORMED_AOIS: string[] = [
  "",
  " ",
  "{",
  "null",
  "42",
  '"Polygon"',
  "[]",
  "{}",
  '{"type":"Point","coordinates":[0,0]}',
  '{"type":"LineString","coordinates":[[0,0],[1,1]]}',
  '{"type":"Polygon"}',
  '{"type":"Polygon","coordinates":"x"}',
  '{"type":"Polygon","coordinates":[]}',
  '{"type":"Polygon","coordinates":[[]]}',
  '{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}',
  '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]],"bbox":"no"}',
  '{"type":"Polygon","coordinates":[[["0","0"],["1","0"],["1","1"],["0","0"]]]}',
  '{"type":"Polygon","coordinates":[[[0,0],[1e999,0],[1,1],[0,0]]]}',
  '{"type":"Polygon","coordinates":[[[-1e308,-1e308],[1e308,-1e308],[1e308,1e308],[-1e308,-1e308]]]}',
  '{"type":"Polygon","coordinates":[[[0,0],[400,0],[400,100],[0,0]]]}',
  '{"type":"Polygon","coordinates":[[[0,0,0,0,0],[1,0],[1,1],[0,0]]]}',
  '{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}',
  '{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],"x"]}',
  '{"type":"Feature","geometry":null,"properties":{}}',
  '{"type":"Feature"}',
  '{"type":"FeatureCollection","features":[]}',
  '{"type":"FeatureCollection","features":[null,1,"x"]}',
  '{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}',
  '{"type":"Topology","objects":{}}',
  "POLYGON((",
  "POLYGON((0 0, 1 1))",
  "POLYGON((0 0, 1 0, 1 1, 0 0)",
  "POLYGON EMPTY",
  "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((x y)))",
  "POINT(0 0)",
  "1,2,3",
  "a,b,c,d",
  "10,0,5,1",
  "0,10,1,5",
  "-200,-100,200,100",
  "NaN,NaN,NaN,NaN",
  "1e999,0,1e999,1",
];

/** A random GeoJSON-like value: types, nesting and numbers drawn without regard to validity. */
function randomGeoJson(rnd: () => number, depth = 0): unknown {
  const types = [
    "Polygon",
    "MultiPolygon",
    "Feature",
    "FeatureCollection",
    "GeometryCollection",
    "Point",
    "Bogus",
  ];
  const number = () =>
    [0, -0, 1e308, -1e308, 5e-324, 180, -180, 90.0000001, rnd() * 360 - 180, Number.MAX_SAFE_INTEGER][
      int(rnd, 10)
    ];
  const coords = (level: number): unknown =>
    level <= 0
      ? number()
      : rnd() < 0.1
        ? "x"
        : Array.from({ length: int(rnd, 6) }, () => coords(level - 1 - (rnd() < 0.1 ? 1 : 0)));
  const type = types[int(rnd, types.length)]!;
  if (depth > 6) return { type };
  switch (type) {
    case "Feature":
      return { type, geometry: randomGeoJson(rnd, depth + 1), properties: rnd() < 0.5 ? null : {} };
    case "FeatureCollection":
      return { type, features: Array.from({ length: int(rnd, 4) }, () => randomGeoJson(rnd, depth + 1)) };
    case "GeometryCollection":
      return { type, geometries: Array.from({ length: int(rnd, 4) }, () => randomGeoJson(rnd, depth + 1)) };
    default:
      return { type, coordinates: coords(1 + int(rnd, 4)) };
  }
}

/** A valid AOI's text with a few characters deleted, inserted or replaced. */
function mutateText(text: string, rnd: () => number): string {
  const alphabet = '[]{},:"-.0123456789eE ';
  let out = text;
  for (let k = 1 + int(rnd, 4); k > 0; k--) {
    const at = int(rnd, out.length + 1);
    const c = alphabet[int(rnd, alphabet.length)]!;
    const op = int(rnd, 3);
    out =
      op === 0
        ? out.slice(0, at) + out.slice(at + 1)
        : op === 1
          ? out.slice(0, at) + c + out.slice(at)
          : out.slice(0, at) + c + out.slice(at + 1);
  }
  return out;
}

describe("fuzz: hostile granules and AOIs across the command line", () => {
  let dir: string;
  let store: string;
  const inputs: { name: string; bytes: Uint8Array }[] = [];
  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-fuzz-"));
    const opts = { ...demoGranuleSet()[0]!, beams: ["gt1l", "gt2r"], segmentsPerBeam: 4_000 };
    inputs.push({
      name: atl06FileName(opts),
      bytes: await encodeHdf5(buildAtl06Tree(synthesizeAtl06(opts))),
    });
    const small = realGranules().find((g) => basename(g).startsWith("ATL06_20230816234629"));
    if (small) inputs.push({ name: basename(small), bytes: readFileSync(small) });
    else console.warn("test/e2e/fuzz.test.ts: real granules absent; fuzzing the synthetic granule only");
    store = join(dir, "store");
    const path = join(dir, inputs[0]!.name);
    writeFileSync(path, inputs[0]!.bytes);
    expect((await run(["index", path, "--store", store, "--quiet"])).code).toBe(0);
  });
  afterAll(() => {
    console.info(`fuzz outcomes (seed ${SEED}): ${JSON.stringify(Object.fromEntries(outcomes))}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${CASES} mutated granules through inspect, index and query`, { timeout: 600_000 }, async () => {
    for (let c = 0; c < CASES; c++) {
      const rnd = random(SEED + c);
      const input = inputs[c % inputs.length]!;
      const mutation = MUTATIONS[int(rnd, MUTATIONS.length)]!;
      const { bytes, label } = mutation(input.bytes, rnd);
      const caseDir = join(dir, `case-${c}`);
      const path = join(dir, `case-${c}-${input.name}`);
      writeFileSync(path, bytes);
      const what = `case ${c} (seed ${SEED + c}, ${input.name}, ${label})`;
      const inspected = await run(["inspect", path, "--json"]);
      count(`inspect ${expectCleanOutcome(`${what} inspect`, inspected, basename(path))}`);
      const indexed = await run(["index", path, "--store", caseDir, "--quiet"]);
      const status = expectCleanOutcome(`${what} index`, indexed, basename(path));
      count(`index ${status}`);
      if (status === "ok") {
        const out = join(dir, `case-${c}.parquet`);
        const queried = await run(["query", "--store", caseDir, "--polygon=-180,-90,180,90", "--out", out]);
        const q = expectCleanOutcome(`${what} query`, queried);
        count(`query ${q}`);
        if (q === "refused") expect(existsSync(out), what).toBe(false);
      }
      if (LOG) console.info(what, inspected.code, indexed.code, indexed.stderr.trim());
      rmSync(path, { force: true });
    }
  });

  it("malformed and random AOIs are refused or answered, leaving no output on refusal", {
    timeout: 600_000,
  }, async () => {
    const rnd = random(SEED);
    const aois = [
      ...MALFORMED_AOIS,
      ...Array.from({ length: CASES }, () => JSON.stringify(randomGeoJson(rnd))),
      ...Array.from({ length: CASES }, () => mutateText(JSON.stringify(VALID), rnd)),
    ];
    for (const [i, aoi] of aois.entries()) {
      const out = join(dir, `aoi-${i}.parquet`);
      const r = await run(["query", "--store", store, `--polygon=${aoi}`, "--out", out]);
      const outcome = expectCleanOutcome(`AOI ${i} ${JSON.stringify(aoi.slice(0, 200))}`, r);
      count(`aoi ${outcome}`);
      if (outcome === "refused") expect(existsSync(out)).toBe(false);
      if (LOG) console.info(i, aoi.slice(0, 80), r.code, r.stderr.trim());
    }
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it(`huge AOIs (${VERTICES} vertices, nesting ${DEPTH} deep, ${FEATURES} features) end within time and a capped heap`, {
    timeout: 600_000,
  }, async () => {
    const cases: [string, () => string][] = [
      // Far from every chunk: parsing, validation and planning of millions of vertices.
      [`${VERTICES} vertices`, () => JSON.stringify(circle(VERTICES, 10, 10))],
      [
        `nested ${DEPTH} deep`,
        () => `${'{"type":"GeometryCollection","geometries":['.repeat(DEPTH)}${"]}".repeat(DEPTH)}`,
      ],
      [`${FEATURES} features`, () => JSON.stringify(features(FEATURES, circle(5, 10, 10)))],
    ];
    // Over the data, every candidate point is tested against every edge: minutes for millions of
    // vertices today, so only the long run includes it.
    if (LONG) {
      cases.push(["2M vertices over data", () => JSON.stringify(circle(2_000_000, -45, 62.8))]);
      cases.push(["200 000 features over data", () => JSON.stringify(features(200_000, VALID))]);
    }
    for (const [name, make] of cases) {
      const file = join(dir, "huge.geojson");
      writeFileSync(file, make());
      const out = join(dir, "huge.parquet");
      const started = performance.now();
      const r = await child(["query", "--store", store, "--polygon", file, "--out", out]);
      const ms = performance.now() - started;
      console.info(
        `huge AOI ${name}: exit ${r.code} in ${Math.round(ms)} ms ${r.stderr.trim().slice(0, 200)}`,
      );
      const outcome = expectCleanOutcome(`huge AOI ${name}`, r);
      count(`huge ${outcome}`);
      if (outcome === "refused") expect(existsSync(out)).toBe(false);
      expect(ms).toBeLessThan(HUGE_MS);
      rmSync(out, { force: true });
    }
  });
});

/** A FeatureCollection of `n` features with the same geometry. */
function features(n: number, geometry: object) {
  return {
    type: "FeatureCollection",
    features: Array.from({ length: n }, () => ({ type: "Feature", properties: {}, geometry })),
  };
}

/** A polygon of `n` vertices on an ellipse round (lon, lat). */
function circle(n: number, lon: number, lat: number) {
  const ring = Array.from({ length: n + 1 }, (_, i) => {
    const a = ((i % n) / n) * 2 * Math.PI;
    return [lon + 0.3 * Math.cos(a), lat + 0.2 * Math.sin(a)];
  });
  return { type: "Polygon", coordinates: [ring] };
}

/** Runs the command line in a child process with a capped heap; a crash (OOM) shows as another exit code. */
function child(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, GEOCHUNKS_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => {
      stdout += d;
    });
    proc.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), HUGE_MS);
    proc.on("error", reject);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}
