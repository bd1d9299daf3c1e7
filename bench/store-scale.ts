/**
 * Store scale benchmark: a chunk index built the way the ATL06 archive's would be, synthesised
 * without HDF5, and candidate selection on it for the Greenland AOI and a 5 km box, locally and over
 * the loopback range server with 20 ms per request: wall and CPU time, requests, bytes of the store
 * read, store size per granule, at several store sizes (a measured curve).
 *
 *   npm run bench -- --store-scale [--pool 4161] [--cycles 3] [--measure-at 1,2,3] [--latency 20]
 *                                  [--reps 3] [--workers 2] [--out FILE]
 *
 * The default pool is the 4161 granules of the three regions (of 14) that reach the AOIs'
 * latitudes, so the store is as dense as the archive near the AOIs at a quarter of its size per
 * cycle; `--pool 19418` builds whole cycles.
 *
 * The archive repeats 19 418 distinct granules (1387 reference ground tracks x 14 regions) every
 * 91-day cycle; 26 cycles are about 500 000 granules, and release 006 from October 2018 to December
 * 2026 is 33 (640 794 granules: `--pool 19418 --cycles 33`). The store is built the same way: a pool
 * of `--pool` distinct tracks, each beam's chunk rows computed once (bbox, a 64-vertex footprint as
 * the indexer writes, H3 cells, refs), repeated over `--cycles` cycles with each cycle's granule ids
 * and times, one part set per cycle written in bulk with the store's own layout (parts.ts:
 * partitions, Hilbert tiles, row groups, the manifest's file summaries). The pool is held in columns
 * over shared memory and each cycle's columns are gathered from it (bench/lib/bulk-pool.ts). A file
 * whose pool rows an earlier cycle already wrote (most of them: a month partition's tile holds the
 * same tracks cycle after cycle unless a month boundary cuts them) is not encoded again: the
 * changing columns (ids and times) are encoded alone and spliced beside the earlier file's other
 * column chunks, and the `chunk_cells` ids get new dictionary pages over the same index pages
 * (bench/lib/parquet-splice.ts). Both ways are checked byte for byte against the store's own writers
 * on 40 tracks at every run. The first cycle is written alone, then `--workers` threads write cycles
 * in parallel, splicing from any thread's earlier files. Selection is measured after each cycle
 * listed in `--measure-at` (the build pauses), so one build gives the curve. Built into .cache/bench/
 * (removed first).
 *
 * H3 cells: rows whose bbox meets the box -50..-40 E, 60..66 N (around both AOIs) get their own cells,
 * from the track sampled every 2 km; every other row carries the cells of the same region, beam and
 * chunk of RGT 1 (same count and spread, so the same bytes, but not its own place: those rows are
 * never candidates of these AOIs, whose bbox test they fail, and a query elsewhere would get wrong
 * H3 answers from this store). Computing every row's own cells costs about 2 ms a row (1.6 M rows a
 * cycle), which would make the build hours again.
 */
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { parseAoi } from "../src/query/aoi.js";
import { LocalStoreBackend } from "../src/store/backend.js";
import { readFingerprints } from "../src/store/fingerprints.js";
import { openLocalStoreReader } from "../src/store/local-reader.js";
import {
  emptyManifest,
  type Manifest,
  manifestText,
  type PartSet,
  parseManifest,
  publishedPart,
  writeManifest,
} from "../src/store/manifest.js";
import type { StoreReader } from "../src/store/reader.js";
import { openRemoteStore } from "../src/store/remote.js";
import { selectChunksParquet } from "../src/store/select-parquet.js";
import { aoiSelection } from "../src/store/selection.js";
import {
  archiveManifest,
  buildPool,
  checkColumns,
  cycleCounts,
  H3_RESOLUTION,
  type Pool,
  REGIONS,
  RGTS,
  type WrittenFiles,
  writeCycle,
} from "./lib/bulk-pool.js";
import { countedLocal } from "./lib/counted-reader.js";
import { machineInfo } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    "store-scale": { type: "boolean", default: true },
    pool: { type: "string", default: "4161" },
    cycles: { type: "string", default: "3" },
    "measure-at": { type: "string" },
    workers: { type: "string", default: "2" },
    "measure-only": { type: "boolean", default: false },
    latency: { type: "string", default: "20" },
    reps: { type: "string", default: "3" },
    out: { type: "string" },
  },
  allowPositionals: false,
});
const POOL = Number(values.pool);
const CYCLES = Number(values.cycles);
const MEASURE_AT = (values["measure-at"] ?? "1,2,3").split(",").map(Number);
const LATENCY = Number(values.latency);
const REPS = Number(values.reps);
/** Threads writing cycles (0: the main thread writes them). */
const WORKERS = Number(values.workers);
const root = fileURLToPath(new URL("..", import.meta.url));
const storeDir = join(root, ".cache", "bench", `store-scale-${POOL}`);

/** Files written so far, as the threads report them (bulk-pool.ts `WrittenFiles`). */
const known: WrittenFiles = { tiles: [], arrays: [] };

/**
 * Writes cycles `from`..`to` with `workers` threads (each its own cycles, from the shared pool,
 * splicing from the files any thread wrote for earlier cycles), committing each part set to the
 * manifest in cycle order. The first cycle is written alone: every later one splices most of its
 * files from it.
 */
async function buildCycles(pool: Pool, from: number, to: number, manifest: Manifest): Promise<void> {
  const parts = new Map<number, PartSet>();
  const counts = new Map<number, { whole: number; spliced: number }>();
  const queue = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  let next = from;
  const publish = async () => {
    while (parts.has(next)) {
      // As a commit publishes it (manifest version 5: the granules' count and id range, not their
      // ids; 22 MB instead of 4.5 MB at 26 cycles of the whole archive).
      manifest.parts.push(publishedPart(parts.get(next)!));
      parts.delete(next);
      manifest.generation = (manifest.generation ?? 0) + 1;
      manifest.updated = new Date().toISOString();
      await writeManifest(storeDir, manifest);
      const c = counts.get(next);
      console.log(
        `cycle ${next}/${CYCLES} committed at ${((performance.now() - started) / 1000).toFixed(1)} s` +
          (c ? ` (tiles: ${c.whole} encoded whole, ${c.spliced} spliced)` : ""),
      );
      next++;
    }
  };
  if (WORKERS === 0) {
    for (const cycle of queue) {
      const before = { ...cycleCounts };
      parts.set(cycle, await writeCycle(pool, cycle, storeDir));
      counts.set(cycle, {
        whole: cycleCounts.whole - before.whole,
        spliced: cycleCounts.spliced - before.spliced,
      });
      await publish();
    }
    return;
  }
  const threads = Array.from({ length: Math.min(WORKERS, queue.length) }, () => bulkWorker(pool));
  let first: Promise<void> | undefined;
  try {
    await Promise.all(
      threads.map(async (worker, t) => {
        if (t > 0) await first;
        for (let cycle = queue.shift(); cycle !== undefined; cycle = queue.shift()) {
          const run = new Promise<{
            part?: PartSet;
            error?: string;
            written?: WrittenFiles;
            counts?: { whole: number; spliced: number };
          }>((resolve, reject) => {
            // One error listener per task, removed with its answer (they added up before).
            worker.once("error", reject);
            worker.once("message", (answer) => {
              worker.off("error", reject);
              resolve(answer);
            });
            worker.postMessage({ cycle, known });
          });
          if (cycle === 1) first = run.then(() => undefined);
          const answer = await run;
          if (answer.error) throw new Error(`cycle ${cycle}: ${answer.error}`);
          known.tiles.push(...answer.written!.tiles);
          known.arrays.push(...answer.written!.arrays);
          parts.set(cycle, answer.part!);
          if (answer.counts) counts.set(cycle, answer.counts);
          await publish();
        }
      }),
    );
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/** A bulk-build thread (bench/lib/bulk-worker.ts), loaded through tsx as the benchmark is. */
function bulkWorker(pool: Pool): Worker {
  const here = import.meta.url;
  const tsxDir = dirname(createRequire(here).resolve("tsx/package.json"));
  const tsx = pathToFileURL(join(tsxDir, "dist", "esm", "api", "index.mjs")).href;
  const script = new URL("./lib/bulk-worker.ts", here).href;
  const loader = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(script)}))`;
  return new Worker(loader, { eval: true, workerData: { pool, storeDir } });
}

/**
 * Bytes of the store as its manifest lists it (the manifest and every listed part file), so files
 * of a build stopped mid-cycle, which no manifest lists, are not counted.
 */
async function sizeOf(dir: string): Promise<number> {
  const manifest = (await openLocalStoreReader(dir)).manifest;
  let total = (await stat(join(dir, "manifest.json"))).size;
  for (const p of manifest.parts) for (const s of Object.values(p.stats ?? {})) total += s.bytes;
  return total;
}

interface Measured {
  ms: number;
  cpuMs: number;
  candidates: number;
  method: string;
  requests: number;
  bytes: number;
}

/** Times one selection (median of `reps` runs, wall and CPU), with the requests and bytes of the last. */
async function measure(
  open: () => Promise<{ reader: StoreReader; counters: () => { requests: number; bytes: number } }>,
  aoi: string,
  reps: number,
): Promise<Measured> {
  const parsed = parseAoi(aoi);
  const runs: { ms: number; cpuMs: number }[] = [];
  let last = { candidates: 0, method: "", requests: 0, bytes: 0 };
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const { reader, counters } = await open();
    const r = await selectChunksParquet(reader, {
      ...aoiSelection(parsed),
      product: "ATL06",
    });
    const used = process.cpuUsage(cpu);
    runs.push({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 });
    last = { candidates: r.chunks.length, method: r.method, ...counters() };
  }
  runs.sort((a, b) => a.ms - b.ms);
  return { ...runs[Math.floor(runs.length / 2)]!, ...last };
}

const AOIS: [string, string][] = [
  ["Greenland AOI", join(root, "examples", "greenland.geojson")],
  ["5 km box", "-45.03,62.79,-44.93,62.83"],
];

/** CPU time of what every query pays first (the manifest) and of what `index` reads to skip unchanged inputs. */
async function writerCosts(): Promise<string> {
  const cpuMs = async (fn: () => Promise<unknown>) => {
    const c = process.cpuUsage();
    await fn();
    const u = process.cpuUsage(c);
    return (u.user + u.system) / 1000;
  };
  const parse = await cpuMs(() => openLocalStoreReader(storeDir));
  const manifest = (await openLocalStoreReader(storeDir)).manifest;
  let count = 0;
  const read = await cpuMs(async () => {
    count = (await readFingerprints(new LocalStoreBackend(storeDir), manifest)).size;
  });
  // The archive's manifest (26 cycles of 19 418 granules, 64 tiles per month partition), parsed as
  // a query parses it; its part files are not written.
  const chunkStats = Object.entries(manifest.parts[0]!.stats ?? {}).find(([f]) =>
    f.startsWith("chunks/"),
  )![1];
  const otherStats = Object.entries(manifest.parts[0]!.stats ?? {}).find(([f]) =>
    f.startsWith("granules/"),
  )![1];
  const archive = manifestText(
    archiveManifest(manifest, 26, RGTS * REGIONS, 64, { chunks: chunkStats, other: otherStats }),
  );
  const archiveParse: number[] = [];
  for (let i = 0; i < 3; i++) archiveParse.push(await cpuMs(async () => parseManifest(archive, storeDir)));
  archiveParse.sort((a, b) => a - b);
  return (
    `Reading and checking manifest.json: ${parse.toFixed(0)} ms CPU (every query). ` +
    `The archive's manifest (26 cycles x 19 418 granules, 64 tiles a month partition; synthesised, its parts not written): ` +
    `${(Buffer.byteLength(archive) / 1e6).toFixed(1)} MB, parsed and checked in ${archiveParse[1]!.toFixed(0)} ms CPU (median of 3). ` +
    `The ${count} granule fingerprints from the granules files' columns: ${read.toFixed(0)} ms CPU (index, before it skips unchanged inputs).`
  );
}

/** Selection figures of the store as it is now, one table row per AOI and place. */
async function measureStore(
  cycles: number,
  buildSeconds: number,
  buildCpuSeconds: number,
): Promise<string[]> {
  const bytes = await sizeOf(storeDir);
  const manifest = (await openLocalStoreReader(storeDir)).manifest;
  const granules = manifest.parts.reduce((s, p) => s + (p.granule_count ?? p.granules?.length ?? 0), 0);
  const manifestBytes = (await stat(join(storeDir, "manifest.json"))).size;
  const chunkFiles = manifest.parts.reduce((s, p) => s + p.files.chunks.length, 0);
  const lines = [
    `### ${granules} granules (${cycles} cycle${cycles > 1 ? "s" : ""} of ${POOL})`,
    "",
    `Store: ${(bytes / 1e9).toFixed(2)} GB, ${(bytes / granules / 1024).toFixed(1)} KiB per granule, ` +
      `${chunkFiles} chunks files; manifest.json ${(manifestBytes / 1e6).toFixed(2)} MB; ` +
      (buildSeconds > 0
        ? `built in ${buildSeconds.toFixed(0)} s (${buildCpuSeconds.toFixed(0)} s CPU, ${((1000 * buildCpuSeconds) / granules).toFixed(1)} ms per granule with the pool, load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join(" ")}).`
        : "measured on the store as built before."),
    "",
    await writerCosts(),
    "",
    "| AOI | where | method | candidates | ms (median) | CPU ms | requests | bytes read | % of store |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const server = await startRangeServer({ root: storeDir, latencyMs: LATENCY });
  try {
    for (const [name, aoi] of AOIS) {
      const text = aoi.startsWith("/") ? JSON.stringify(JSON.parse(await readText(aoi))) : aoi;
      const local = await measure(
        async () => countedLocal(await openLocalStoreReader(storeDir), manifestBytes),
        text,
        REPS,
      );
      const remote = await measure(
        async () => {
          server.resetStats();
          const store = await openRemoteStore(server.url.replace(/\/$/, ""));
          return {
            reader: store,
            counters: () => ({ requests: server.stats.requests, bytes: server.stats.bytes }),
          };
        },
        text,
        REPS,
      );
      for (const [where, m] of [
        ["local", local],
        [`HTTP, ${LATENCY} ms`, remote],
      ] as const)
        lines.push(
          `| ${name} | ${where} | ${m.method} | ${m.candidates} | ${m.ms.toFixed(0)} | ${m.cpuMs.toFixed(0)} | ${m.requests} | ${m.bytes} | ${((100 * m.bytes) / bytes).toFixed(3)} |`,
        );
    }
  } finally {
    await server.close();
  }
  return lines;
}

async function readText(path: string): Promise<string> {
  return (await import("node:fs/promises")).readFile(path, "utf8");
}

let started = 0;

async function main() {
  if (values["measure-only"]) {
    // The store a build left (stopped or not): measured as its manifest stands.
    const cycles = (await openLocalStoreReader(storeDir)).manifest.parts.length;
    const lines = await measureStore(cycles, 0, 0);
    console.log(lines.join("\n"));
    if (values.out) await writeFile(values.out, `${lines.join("\n")}\n`);
    return;
  }
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(storeDir, { recursive: true });
  started = performance.now();
  const cpu0 = process.cpuUsage();
  const pool = buildPool(POOL);
  // The columns must give exactly the files the store's own writers make of row objects.
  checkColumns(pool, 1, 40);
  const poolSeconds = (performance.now() - started) / 1000;
  console.log(`pool of ${POOL} tracks (${pool.rows} chunk rows) in ${poolSeconds.toFixed(1)} s, checked`);
  const manifest: Manifest = { ...emptyManifest(H3_RESOLUTION), generation: 0 };
  const sections: string[] = [];
  const stops = [...new Set([...MEASURE_AT.filter((c) => c >= 1 && c < CYCLES), CYCLES])].sort(
    (a, b) => a - b,
  );
  let from = 1;
  for (const to of stops) {
    await buildCycles(pool, from, to, manifest);
    from = to + 1;
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu0);
    if (MEASURE_AT.includes(to)) {
      const lines = await measureStore(to, seconds, (used.user + used.system) / 1e6);
      console.log(lines.join("\n"));
      sections.push(...lines, "");
    }
  }
  const m = machineInfo();
  const text = [
    `## Store scale: pool ${POOL}, ${CYCLES} cycles`,
    "",
    `\`npm run bench -- --store-scale --pool ${POOL} --cycles ${CYCLES} --measure-at ${MEASURE_AT.join(",")}\`; pool computed in ${poolSeconds.toFixed(0)} s. ` +
      "Times include opening the store (manifest) each run; CPU ms is the process's user + system time. " +
      "Local requests are coalesced reads of part files (footers included); over HTTP, every request the server saw " +
      "(manifest, one probe per part, ranges), no disk cache.",
    `Machine: ${m.cpus} x ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load average ${m.loadAverage.join(" ")} (shared with other work).`,
    "",
    ...sections,
  ].join("\n");
  console.log(text);
  if (values.out) await writeFile(values.out, `${text}\n`);
}

await main();
