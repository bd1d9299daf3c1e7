/**
 * Two compiled builds of the query alternated, each run in a child process of its own (no shared JIT,
 * module or thread state): the benchmark's in-process `geochunks` query (openStore, query,
 * writeGeoParquet) over the quick set behind the loopback range server, one untimed warm-up and `--runs`
 * timed queries per child. Prints each child's runs and the medians per build and mode, of all runs and
 * of the later ones (the first timed run after one warm-up is slower); the two builds' files are compared
 * byte for byte.
 *
 *   npm run build && cp -r dist DIR/before    # the build to compare against, e.g. main's
 *   npx tsx bench/query-ab.ts --a DIR/before --b dist [--pairs 8] [--latency 20] [--segments 20000]
 *       [--modes file,memory,thread] [--runs 3] [--link 25] [--granules 24]
 * modes: file (GeoParquet on the default thread), memory (the plain columns kept), thread (`thread: true`).
 */
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FULL_SEGMENTS_PER_BEAM } from "../fixtures/atl06/generate.js";
import { index } from "../src/index.js";
import { ensureArchive } from "./lib/archive.js";
import { startServerProcess } from "./lib/server.js";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "dist" },
    pairs: { type: "string", default: "8" },
    latency: { type: "string", default: "20" },
    segments: { type: "string", default: "20000" },
    modes: { type: "string", default: "file" },
    runs: { type: "string", default: "3" },
    link: { type: "string" },
    granules: { type: "string", default: "4" },
  },
});
if (!values.a) throw new Error("--a DIR: the compiled build to compare against");
const segments = Number(values.segments);
const full = segments === FULL_SEGMENTS_PER_BEAM;
const root = join(process.cwd(), ".cache/bench", `query-ab-${segments}-${values.granules}`);
const granuleDir = join(process.cwd(), ".cache/bench", full ? "granules" : `granules-${segments}`);
// The quick benchmark's granules: 4 through the polygon (`--granules`; 24 as the full run lists) and one elsewhere.
const files = await ensureArchive(granuleDir, {
  crossing: Number(values.granules),
  far: 1,
  segmentsPerBeam: segments,
});
// `--link MB/s`: the client's link shared by every response, as `npm run bench -- --link` sets it.
const server = await startServerProcess(granuleDir, undefined, {
  linkBytesPerSecond: values.link ? Number(values.link) * 1e6 : undefined,
});
await server.preload(files);
const storeDir = join(root, "store");
await rm(storeDir, { recursive: true, force: true });
await mkdir(root, { recursive: true });
await index(
  files.map((f) => server.url + f.split("/").pop()!),
  { store: storeDir, concurrency: 4 },
);
await server.setLatency(Number(values.latency));
const aoi = join(process.cwd(), "examples/greenland.geojson");
const child = fileURLToPath(new URL("./lib/query-ab-child.mjs", import.meta.url));

type Run = { wall: number; cpu: number; main: number; tail: number; rows: number };
const builds = [
  ["A", resolve(values.a)],
  ["B", resolve(values.b)],
] as const;
const outOf = (name: string) => join(root, `out-${name}.parquet`);
function runChild(dist: string, mode: string, out: string): Promise<Run[]> {
  return new Promise((done, fail) => {
    const c = fork(child, [dist, storeDir, aoi, out, values.runs, mode], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    c.on("message", (m) => done(m as Run[]));
    c.on("exit", (code) => code && fail(new Error(`child exited with ${code}`)));
  });
}
const modes = values.modes.split(",");
const all = new Map<string, Run[][]>();
const ms = (x: number) => x.toFixed(0);
const link = values.link ? `, link ${values.link} MB/s` : "";
console.log(
  `latency ${values.latency} ms${link}, ${segments} segments per beam; each run: wall/CPU/main/tail ms`,
);
for (let pair = 0; pair < Number(values.pairs); pair++) {
  for (const [name, dist] of builds) {
    for (const mode of modes) {
      const runs = await runChild(dist, mode, outOf(name));
      const key = `${name} ${mode}`;
      all.set(key, [...(all.get(key) ?? []), runs]);
      const shown = runs.map((r) => [r.wall, r.cpu, r.main, r.tail].map(ms).join("/")).join(" ");
      console.log(`${pair} ${key}: ${shown} rows ${runs[0]!.rows} load ${loadavg()[0]!.toFixed(2)}`);
    }
  }
}
const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
console.log("\n| build mode | runs | wall ms | CPU ms | main ms | tail ms |\n|---|---|---|---|---|---|");
for (const [key, children] of all) {
  for (const [label, runs] of [
    ["all", children.flat()],
    ["later", children.flatMap((r) => r.slice(1))],
  ] as const) {
    const m = (f: (r: Run) => number) => median(runs.map(f)).toFixed(1);
    console.log(
      `| ${key} (${label}) | ${runs.length} | ${m((r) => r.wall)} | ${m((r) => r.cpu)} | ${m((r) => r.main)} | ${m((r) => r.tail)} |`,
    );
  }
}
if (modes.some((m) => m !== "memory")) {
  const same = Buffer.compare(readFileSync(outOf("A")), readFileSync(outOf("B"))) === 0;
  console.log(`\nfiles byte for byte equal: ${same ? "yes" : "no"}`);
}
await server.close();
