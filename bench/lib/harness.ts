/**
 * The benchmark harness: serves the archive from the loopback range server, builds the index over the
 * HTTP URLs (index-build section), then runs every contender on the same granule list, same server and
 * same latency, checks each result against the brute-force oracle and collects times, requests and bytes.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { openStore } from "../../src/index.js";
import buildIfStale from "../../test/support/build.js";
import { bruteForceAtl06 } from "../../test/support/oracle.js";
import type { Contender, ListedGranule, RunContext } from "../contenders/types.js";
import type { BenchAoi } from "./aois.js";
import { granulesMeeting } from "./granules.js";
import { indexInChild } from "./index-run.js";
import { runPeer } from "./python.js";
import { digestKeys, granuleIdOf, type RowSet, rowKey } from "./rows.js";
import { measureQueryRss, type RssResult } from "./rss.js";
import { startServerProcess } from "./server.js";
import { dirSize, interleavedMedians, median } from "./stats.js";

export interface HarnessOptions {
  /** Directory served by the range server; every file of `files` must be in it. */
  granuleDir: string;
  files: string[];
  latencies: number[];
  /** Bandwidth cap of each response, bytes per second. */
  bytesPerSecond?: number;
  /** Cap of the client's link, shared by all responses in flight, bytes per second (laptop 25e6, VM 100e6). */
  linkBytesPerSecond?: number;
  reps: number;
  /** Runs of contenders marked `slow`. Default `reps`. */
  slowReps?: number;
  aois: BenchAoi[];
  contenders: Contender[];
  granuleConcurrency: number;
  /** Store, outputs and the oracle cache. */
  workDir: string;
  /** Latencies of the index-build section (the store is rebuilt at each; the last one is queried). */
  indexLatencies: number[];
  /** Compare index building with H5Coro reading the same lat/lon/time arrays (when available). */
  h5coroLatLon?: { src: string; line: number };
  /**
   * The product and its brute-force oracle: the row keys (`rowKey`) of every row of `files` inside `geometry`.
   * Default ATL06 (`bruteForceAtl06`).
   */
  oracle?: { product: string; keys(files: string[], geometry: BenchAoi["geometry"]): Promise<string[]> };
  /** Measure geochunks' peak RSS on a query over this AOI (a child process, latency 0). */
  rssAoi?: BenchAoi;
  log?: (line: string) => void;
}

/** One contender at one latency on one AOI. */
export interface ContenderRow {
  aoi: string;
  latency: number;
  contender: string;
  /** Median wall time, seconds. */
  seconds: number;
  times: number[];
  /**
   * CPU (user + system, every thread of the benchmark's process) of the median run, seconds: the work of
   * contenders that run in this process (geochunks, no-index, download-h5wasm); the Python peers' CPU is
   * their own processes' and is not counted.
   */
  cpuSeconds: number;
  requests: number;
  bytes: number;
  /**
   * CPU seconds the range server's process spent serving a run's requests (median of the runs), on the same
   * cores as the contender (an object store's CPU would not be).
   */
  serverCpuSeconds?: number;
  /** geochunks' bytes_minimal for this AOI. */
  bytesMinimal: number;
  rows: number;
  hash: string;
  matchesOracle: boolean;
  versions?: Record<string, string>;
}

export interface SkippedContender {
  contender: string;
  reason: string;
}

export interface IndexBuildRow {
  latency: number;
  tool: string;
  granules: number;
  seconds: number;
  granulesPerSecond: number;
  requestsPerGranule: number;
  bytesPerGranule: number;
  /** Bytes read / total file size. */
  bytesFraction: number;
  storeBytes?: number;
}

export interface HarnessResult {
  granules: { total: number; bytes: number };
  aois: {
    name: string;
    listed: string[];
    /** Total size of the listed granules: what download-then-read moves. */
    listedBytes: number;
    oracle: RowSet;
    bytesMinimal: number;
  }[];
  rows: ContenderRow[];
  skipped: SkippedContender[];
  indexBuild: IndexBuildRow[];
  rss?: RssResult;
  storeDir: string;
}

/** ATL06's oracle: every segment of the files inside the AOI (h5wasm + turf). */
export const ATL06_ORACLE: NonNullable<HarnessOptions["oracle"]> = {
  product: "ATL06",
  keys: async (files, geometry) =>
    (await bruteForceAtl06(files, geometry)).map((r) => rowKey(r.granule_id, r.beam, r.segment_id)),
};

/** The oracle's row set for files and an AOI, cached on disk (it reads every point with h5wasm + turf). */
async function oracleRowSet(
  workDir: string,
  files: string[],
  aoi: BenchAoi,
  oracle: NonNullable<HarnessOptions["oracle"]>,
): Promise<RowSet> {
  const key = createHash("sha256")
    .update(JSON.stringify([oracle.product, files.map((f) => basename(f)).sort(), aoi.geometry]))
    .digest("hex")
    .slice(0, 16);
  const path = join(workDir, "oracle", `${aoi.name}-${key}.json`);
  try {
    return JSON.parse(await readFile(path, "utf8")) as RowSet;
  } catch {
    const set = digestKeys(await oracle.keys(files, aoi.geometry));
    await mkdir(join(workDir, "oracle"), { recursive: true });
    await writeFile(path, JSON.stringify(set));
    return set;
  }
}

export async function runHarness(opts: HarnessOptions): Promise<HarnessResult> {
  const log = opts.log ?? (() => undefined);
  await mkdir(opts.workDir, { recursive: true });
  const outDir = join(opts.workDir, "out");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const storeDir = join(opts.workDir, "store");
  const server = await startServerProcess(opts.granuleDir, opts.bytesPerSecond, {
    linkBytesPerSecond: opts.linkBytesPerSecond,
  });
  try {
    await server.preload(opts.files);
    const all: ListedGranule[] = opts.files.map((file) => ({
      granule_id: granuleIdOf(file),
      url: new URL(basename(file), server.url).href,
      file,
    }));
    let totalBytes = 0;
    for (const g of all) totalBytes += (await stat(g.file)).size;

    // Index build (the store every geochunks query uses), and H5Coro reading the same arrays. The
    // index runs from the compiled package, rebuilt first when a source file is newer.
    buildIfStale();
    const indexBuild: IndexBuildRow[] = [];
    // Each tool's row is the median of `reps` runs (one run varied by 15-20 % on a quiet machine).
    for (const latency of opts.indexLatencies.length > 0 ? opts.indexLatencies : [0]) {
      await server.setLatency(latency);
      const geochunksRun = async () => {
        await rm(storeDir, { recursive: true, force: true });
        await server.resetStats();
        // The compiled package in a plain Node child process, as users run it (see indexInChild).
        const report = await indexInChild({
          inputs: all.map((g) => g.url),
          store: storeDir,
          concurrency: opts.granuleConcurrency,
          // The index's cost model told the link this run simulates (uncapped without --link).
          link: { latencyMs: latency, bytesPerSecond: opts.linkBytesPerSecond ?? null },
        });
        return { seconds: report.seconds, served: await server.stats() };
      };
      const h5coro = opts.indexLatencies.length > 0 ? opts.h5coroLatLon : undefined;
      const h5coroRun = async () => {
        await server.resetStats();
        const { seconds } = await runPeer("h5coro-latlon", {
          urls: all.map((g) => g.url),
          workers: opts.granuleConcurrency,
          cache_line_size: h5coro!.line,
          h5coro_src: h5coro!.src,
        });
        return { seconds, served: await server.stats() };
      };
      // The two tools' runs interleaved (geochunks, H5Coro, geochunks...), so that a drift of the
      // machine's speed meets both alike; the goal is their ratio.
      // One round of each first, not kept (see interleavedMedians).
      const [index, answer] = await interleavedMedians(
        opts.reps,
        h5coro ? [geochunksRun, h5coroRun] : [geochunksRun],
        1,
      );
      // The queries below use the store of the last geochunks run.
      const row = buildRow("geochunks index", latency, all.length, index!.seconds, index!.served, totalBytes);
      row.storeBytes = await dirSize(storeDir);
      indexBuild.push(row);
      log(
        `index build at ${latency} ms: ${index!.seconds.toFixed(1)} s, ${row.requestsPerGranule} requests per granule`,
      );
      if (answer) {
        indexBuild.push(
          buildRow("h5coro lat/lon/time", latency, all.length, answer.seconds, answer.served, totalBytes),
        );
        log(`h5coro lat/lon/time at ${latency} ms: ${answer.seconds.toFixed(1)} s`);
      }
    }

    const store = await openStore(storeDir);
    const granuleRows = await store.granules();
    const byId = new Map(all.map((g) => [g.granule_id, g]));
    const rows: ContenderRow[] = [];
    const skipped: SkippedContender[] = [];
    const available: Contender[] = [];
    for (const c of opts.contenders) {
      const reason = await c.unavailable();
      if (reason) {
        skipped.push({ contender: c.name, reason });
        log(`skipping ${c.name}: ${reason}`);
      } else available.push(c);
    }
    const aois: HarnessResult["aois"] = [];
    for (const aoi of opts.aois) {
      const listed = granulesMeeting(granuleRows, aoi.geometry).map((g) => byId.get(g.granule_id)!);
      const oracle = await oracleRowSet(
        opts.workDir,
        listed.map((g) => g.file),
        aoi,
        opts.oracle ?? ATL06_ORACLE,
      );
      log(`${aoi.name}: ${listed.length} of ${all.length} granules listed, oracle ${oracle.rows} rows`);
      const ctx: RunContext = {
        aoi,
        listed,
        all,
        storeDir,
        outDir,
        granuleConcurrency: opts.granuleConcurrency,
      };
      for (const c of available) await c.prepare?.(ctx);
      let listedBytes = 0;
      for (const g of listed) listedBytes += (await stat(g.file)).size;
      const aoiInfo = {
        name: aoi.name,
        listed: listed.map((g) => g.granule_id),
        listedBytes,
        oracle,
        bytesMinimal: 0,
      };
      aois.push(aoiInfo);
      for (const latency of opts.latencies) {
        await server.setLatency(latency);
        for (const c of available) {
          const times: number[] = [];
          const cpus: number[] = [];
          const serverCpus: number[] = [];
          let requests = 0;
          let bytes = 0;
          let set: RowSet | undefined;
          let versions: Record<string, string> | undefined;
          const reps = c.slow ? (opts.slowReps ?? opts.reps) : opts.reps;
          for (let rep = 0; rep < reps; rep++) {
            await server.resetStats();
            const t0 = performance.now();
            const cpu0 = process.cpuUsage();
            const outcome = await c.run(ctx);
            const wall = (performance.now() - t0) / 1000;
            const cpu = process.cpuUsage(cpu0);
            times.push(outcome.seconds ?? wall);
            cpus.push(outcome.cpuSeconds ?? (cpu.user + cpu.system) / 1e6);
            const served = await server.stats();
            requests = served.requests;
            bytes = served.bytes;
            serverCpus.push(served.cpuSeconds);
            versions = outcome.versions;
            if (outcome.bytesMinimal !== undefined) aoiInfo.bytesMinimal = outcome.bytesMinimal;
            set ??= await outcome.rows();
          }
          const row: ContenderRow = {
            aoi: aoi.name,
            latency,
            contender: c.name,
            seconds: median(times),
            times: times.map((t) => Number(t.toFixed(3))),
            cpuSeconds: Number(median(cpus).toFixed(3)),
            serverCpuSeconds: Number(median(serverCpus).toFixed(3)),
            requests,
            bytes,
            bytesMinimal: 0,
            rows: set!.rows,
            hash: set!.hash,
            matchesOracle: set!.rows === oracle.rows && set!.hash === oracle.hash,
            versions,
          };
          rows.push(row);
          log(
            `${aoi.name} ${latency} ms ${c.name}: ${row.seconds.toFixed(2)} s, ${requests} req, ${(bytes / 1e6).toFixed(1)} MB, ${row.rows} rows${row.matchesOracle ? "" : " (DIFFERS FROM ORACLE)"}`,
          );
        }
      }
      for (const r of rows) if (r.aoi === aoi.name) r.bytesMinimal = aoiInfo.bytesMinimal;
    }
    let rss: RssResult | undefined;
    if (opts.rssAoi) {
      await server.setLatency(0);
      rss = await measureQueryRss(storeDir, opts.rssAoi, opts.workDir, opts.granuleConcurrency);
      log(
        `peak RSS, ${opts.rssAoi.name} query: ${(rss.maxRssBytes / 1e6).toFixed(0)} MB for ${rss.rows} rows`,
      );
      await rm(join(opts.workDir, `rss-${opts.rssAoi.name}.parquet`), { force: true });
    }
    const granules = { total: all.length, bytes: totalBytes };
    return { granules, aois, rows, skipped, indexBuild, rss, storeDir };
  } finally {
    await server.close();
  }
}

function buildRow(
  tool: string,
  latency: number,
  granules: number,
  seconds: number,
  stats: { requests: number; bytes: number },
  totalBytes: number,
): IndexBuildRow {
  return {
    latency,
    tool,
    granules,
    seconds: Number(seconds.toFixed(3)),
    granulesPerSecond: Number((granules / seconds).toFixed(3)),
    requestsPerGranule: Number((stats.requests / granules).toFixed(1)),
    bytesPerGranule: Math.round(stats.bytes / granules),
    bytesFraction: Number((stats.bytes / totalBytes).toFixed(4)),
  };
}
