/**
 * The in-process query as the benchmark's `geochunks` row runs it (store opened, queried, written to
 * GeoParquet, after one warm-up query), with what its critical path is made of: wall time, CPU of the
 * process (every thread), requests and bytes as the server counts them, and the dependent request
 * rounds of each granule (a read issued after another read of the same granule came back is one round
 * later). Over the benchmark's granules behind the loopback range server.
 *
 *   npx tsx bench/query-rounds.ts [--segments 110000] [--latency 20] [--reps 5] [--granules 4] [--link 25]
 *   ... --compare DIR   # runs alternate with another checkout's query (DIR/src/index.ts), same store
 *   ... --pools 128,256   # runs alternate between request pool sizes (the query's `requests`)
 *   ... --thread default,true,false,memory   # runs alternate between writeGeoParquet's `thread` values
 *       (default: unset, the library's choice); memory: no file, the columns kept (the geochunks-memory row)
 *   ... --profile DIR   # a CPU profile of the main thread over the timed runs only, DIR/query-rounds.cpuprofile
 */
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { FULL_SEGMENTS_PER_BEAM } from "../fixtures/atl06/generate.js";
import * as current from "../src/index.js";
import { type OpenedSource, openSource } from "../src/source/index.js";
import { ensureArchive } from "./lib/archive.js";
import { startServerProcess } from "./lib/server.js";

const { values } = parseArgs({
  options: {
    granules: { type: "string", default: "4" },
    latency: { type: "string", default: "20" },
    reps: { type: "string", default: "5" },
    segments: { type: "string", default: "110000" },
    profile: { type: "string" },
    compare: { type: "string" },
    pools: { type: "string" },
    thread: { type: "string" },
    link: { type: "string" },
    timeline: { type: "boolean", default: false },
  },
});
const segments = Number(values.segments);
const full = segments === FULL_SEGMENTS_PER_BEAM;
const root = join(process.cwd(), ".cache/bench", `rounds-${segments}`);
const granuleDir = join(process.cwd(), ".cache/bench", full ? "granules" : `granules-${segments}`);
// The quick benchmark's granules: `granules` through the polygon and one elsewhere.
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
const urls = files.map((f) => server.url + f.split("/").pop()!);
await current.index(urls, { store: storeDir, concurrency: 4 });
const aoi = JSON.parse(readFileSync("examples/greenland.geojson", "utf8")).geometry;
await mkdir(root, { recursive: true });
const out = join(root, "out.parquet");

/** Reads of one granule: when each was issued and when it came back, ms. */
type Read = { issued: number; done: number; bytes: number };
function recordingOpen(log: Map<string, Read[]>, concurrency: number) {
  return async (url: string): Promise<OpenedSource> => {
    const source = await openSource(url, { http: { concurrency } });
    const reads: Read[] = [];
    log.set(url, reads);
    return {
      url: source.url,
      size: (o) => source.size(o),
      close: () => source.close(),
      async read(offset, length, o) {
        const r = { issued: performance.now(), done: Number.POSITIVE_INFINITY, bytes: length };
        reads.push(r);
        const bytes = await source.read(offset, length, o);
        r.done = performance.now();
        return bytes;
      },
    };
  };
}

/** Most reads in flight at once over every granule. */
function mostInFlight(reads: readonly Read[]): number {
  const events = reads.flatMap((r) => [
    [r.issued, 1],
    [r.done, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, d] of events) {
    now += d!;
    most = Math.max(most, now);
  }
  return most;
}

/** Dependent rounds of one granule's reads. */
function roundsOf(reads: readonly Read[]): number {
  const sorted = [...reads].sort((a, b) => a.issued - b.issued);
  const depth: number[] = [];
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let d = 1;
    for (let j = 0; j < i; j++) if (sorted[j]!.done <= sorted[i]!.issued) d = Math.max(d, depth[j]! + 1);
    depth.push(d);
    most = Math.max(most, d);
  }
  return most;
}

/**
 * When the responses came back: per 25 ms since `t0`, the responses completed and their MB, the
 * requests issued, and the result batches taken (`--timeline`).
 */
function timelineOf(reads: readonly Read[], batches: readonly number[], t0: number, end: number): string {
  const step = 25;
  const slots = Math.ceil(end / step) + 1;
  const done = new Array<number>(slots).fill(0);
  const mb = new Array<number>(slots).fill(0);
  const issued = new Array<number>(slots).fill(0);
  const taken = new Array<number>(slots).fill(0);
  for (const r of reads) {
    const d = Math.min(slots - 1, Math.floor((r.done - t0) / step));
    done[d]! += 1;
    mb[d]! += r.bytes / 1e6;
    issued[Math.min(slots - 1, Math.floor((r.issued - t0) / step))]! += 1;
  }
  for (const b of batches) taken[Math.min(slots - 1, Math.floor(b / step))]! += 1;
  return done
    .map((n, i) => `${i * step}: +${issued[i]} req, ${n} done ${mb[i]!.toFixed(2)} MB, ${taken[i]} batches`)
    .filter((line) => !line.endsWith("+0 req, 0 done 0.00 MB, 0 batches"))
    .join("\n");
}

/** Times of a run's result batches (first, last) and of the written file, ms since `t0`. */
interface Timeline {
  firstBatch: number;
  lastBatch: number;
  /** Every batch's time. */
  batches: number[];
}

type Library = Pick<typeof current, "openStore" | "writeGeoParquet">;
const versions: [string, Library][] = [["this", current]];
if (values.compare) {
  const other = (await import(pathToFileURL(join(values.compare, "src/index.ts")).href)) as Library;
  versions.unshift(["compared", other]);
}

async function once(
  lib: Library,
  log: Map<string, Read[]>,
  t0: number,
  requests?: number,
  thread?: boolean | "memory",
) {
  const { openStore, writeGeoParquet } = lib;
  const store = await openStore(storeDir);
  // `open` is a query option (PrepareOptions) the public input type does not list: it counts the reads.
  const input = { aoi, open: recordingOpen(log, requests ?? 128), requests };
  const result = store.query(input);
  const times: Timeline = { firstBatch: Number.NaN, lastBatch: Number.NaN, batches: [] };
  const stamp = () => {
    const now = performance.now() - t0;
    if (Number.isNaN(times.firstBatch)) times.firstBatch = now;
    times.lastBatch = now;
    times.batches.push(now);
  };
  // The result's batches and its plain columns (which writeGeoParquet reads from a query result), timed.
  const timed = {
    async *[Symbol.asyncIterator]() {
      for await (const batch of result) {
        stamp();
        yield batch;
      }
    },
    async *columns() {
      for await (const columns of result.columns()) {
        stamp();
        yield columns;
      }
    },
    schema: () => result.schema(),
  };
  if (thread === "memory") {
    const kept: unknown[] = [];
    for await (const columns of timed.columns()) kept.push(columns);
  } else await writeGeoParquet(timed, out, { bbox: result.aoi.bbox, thread });
  return { stats: result.stats, times };
}

await server.setLatency(Number(values.latency));
for (const [, lib] of versions) await once(lib, new Map(), performance.now());
/** Milliseconds of garbage collection on the main thread since the last reset. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ["gc"] });

const session = values.profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
console.log(
  "| rep | query | wall s | CPU s | GC ms | server CPU s | requests | MB | rows | rounds per granule | most in flight | first request ms | last response ms | first batch ms | last batch ms |",
);
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
const pools = values.pools ? values.pools.split(",").map(Number) : [undefined];
const threads = values.thread
  ? values.thread
      .split(",")
      .map((t) => (t === "memory" ? ("memory" as const) : t === "default" ? undefined : t === "true"))
  : [undefined];
const runs = Array.from({ length: Number(values.reps) }, (_, rep) =>
  versions.flatMap(([version, lib]) =>
    pools.flatMap((pool) =>
      threads.map((thread) => {
        const name = [version, pool, values.thread ? `thread=${thread ?? "default"}` : undefined]
          .filter(Boolean)
          .join(" ");
        return { rep, name, lib, pool, thread };
      }),
    ),
  ),
).flat();
for (const { rep, name, lib, pool, thread } of runs) {
  const log = new Map<string, Read[]>();
  await server.resetStats();
  await new Promise((resolve) => setImmediate(resolve));
  gcMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { stats, times } = await once(lib, log, t0, pool, thread);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setImmediate(resolve));
  const gc = gcMs;
  const served = await server.stats();
  const all = [...log.values()].flat();
  const first = Math.min(...all.map((r) => r.issued)) - t0;
  const last = Math.max(...all.map((r) => r.done)) - t0;
  const rounds = [...log.values()].map(roundsOf).join(" ");
  console.log(
    `| ${rep} | ${name} | ${wall.toFixed(3)} | ${((cpu.user + cpu.system) / 1e6).toFixed(3)} | ${gc.toFixed(0)} | ${served.cpuSeconds.toFixed(3)} | ${served.requests} | ${(served.bytes / 1e6).toFixed(1)} | ${stats.rows} | ${rounds} | ${mostInFlight(all)} | ${first.toFixed(0)} | ${last.toFixed(0)} | ${times.firstBatch.toFixed(0)} | ${times.lastBatch.toFixed(0)} |`,
  );
  if (values.timeline) console.log(`\n${timelineOf(all, times.batches, t0, wall * 1000)}\n`);
}
if (session) {
  const { profile } = await session.post("Profiler.stop");
  await mkdir(values.profile!, { recursive: true });
  await writeFile(join(values.profile!, "query-rounds.cpuprofile"), JSON.stringify(profile));
}
await server.close();
