/**
 * Index-build benchmark on full-size synthetic ATL06 granules (release-006 layout, 110 000 segments
 * per beam, ~68 MB each), generated once into .cache/bench/granules, served by the loopback range
 * server (its own process) at a fixed latency per request. geochunks builds the store with 1 and 2
 * worker threads (and from local files with 1 and 2), and with DMR++ sidecars beside the same granules
 * (hard links in .cache/bench/granules-dmrpp, sidecars written once by fixtures/dmrpp/make_dmrpp.py with
 * Python's h5py; those rows are skipped with a message without it); H5Coro (when H5CORO_SRC names a checkout) reads
 * the same latitude, longitude and delta_time arrays of every beam with 4 MiB cache lines, nothing
 * else, its runs interleaved with the 1- and 2-thread HTTP rows. geochunks runs from the compiled package (rebuilt first when a source file is newer) in a plain
 * Node child process, as users run it. Reports seconds, CPU seconds, granules per second, requests and MB per granule, and the goals:
 * throughput against H5Coro (>= 2x), requests per granule (<= 30), 2 cores against 1 (>= 1.7x: the
 * default command under `taskset -c 0`, where Node sees one core, against the fastest run on all cores).
 * `--link MB/s` caps the client's link (all responses together, as a laptop's 25 MB/s) and tells the
 * index the same link, so its cost model picks how to read metadata as it would there; without it the
 * link is uncapped and the index is told so (Infinity).
 *
 * Throughput is taken over 24 granules by default, the Greenland passes of `npm run bench`'s archive: over
 * 5 or 6 the start of a run (module loading, the first granule's rounds, code compiled while it runs)
 * and its tail weigh on both tools, so the ratios of a short run swing with them (docs/design/index-build.md).
 *
 *   npx tsx bench/index-build.ts [--count 24] [--latency 20] [--link 25] [--concurrency 4] [--reps 1] [--out FILE.md]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFullSizeGranules } from "../fixtures/atl06/generate.js";
import buildIfStale from "../test/support/build.js";
import { H5CORO_LINE, h5coroUnavailable } from "./contenders/h5coro.js";
import { indexInChild } from "./lib/index-run.js";
import { runPeer } from "./lib/python.js";
import { startServerProcess, UNCAPPED_READ_CHUNK } from "./lib/server.js";
import { granulesWithSidecars } from "./lib/sidecars.js";
import { interleavedMedians, medianRun } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "24" },
    latency: { type: "string", default: "20" },
    link: { type: "string" },
    concurrency: { type: "string", default: "4" },
    reps: { type: "string", default: "1" },
    out: { type: "string" },
  },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");

interface Row {
  tool: string;
  source: string;
  threads: string;
  /** Cores the contender may run on (geochunks: 1 under `taskset -c 0`). */
  cores?: number;
  seconds: number;
  cpuSeconds?: number;
  /**
   * CPU seconds of the whole process tree of the contender, start-up and imports included (Linux: the
   * children's times in /proc/self/stat): measured the same way for geochunks and H5Coro, and less
   * moved by other work on the machine than wall-clock seconds.
   */
  processCpuSeconds?: number;
  /** Seconds from the last granule read to the end: the part files still out of date encoded and the store written. */
  writeSeconds?: number;
  /** CPU seconds of the range server's process while serving this row (it runs on the same cores). */
  serverCpuSeconds: number;
  requests: number;
  bytes: number;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

/** Clock ticks per second of /proc times. */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * CPU seconds (user + system) of this process's children that have ended and been waited for, and of
 * their waited-for descendants (Linux /proc/self/stat cutime and cstime).
 */
function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command name start at field 3 (state): cutime is field 16, cstime 17.
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / CLOCK_TICKS;
}

/** Why the 1-core rows cannot run, or undefined when `taskset` is there. */
function tasksetMissing(): string | undefined {
  try {
    execFileSync("taskset", ["-c", "0", "true"]);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function main() {
  // The compiled package, as users run it: the runs are child processes of plain Node.
  buildIfStale();
  const count = Number(values.count);
  const latency = Number(values.latency);
  const concurrency = Number(values.concurrency);
  const reps = Number(values.reps);
  const granuleDir = join(cache, "granules");
  const files = await writeFullSizeGranules(granuleDir, count);
  // The same granules with DMR++ sidecars beside them, in a directory of their own (the rows over
  // `granules/` probe for a sidecar and find none, as for a file without one).
  const withSidecars = await granulesWithSidecars(files, join(cache, "granules-dmrpp")).catch(
    (err: Error) => {
      console.error(`skipping the DMR++ rows: ${err.message}`);
      return undefined;
    },
  );
  const loadStart = load();
  const linkMBps = values.link === undefined ? undefined : Number(values.link);
  const bytesPerSecond = linkMBps === undefined ? Number.POSITIVE_INFINITY : linkMBps * 1e6;
  // The directory above both: granules/NAME and granules-dmrpp/NAME.
  const server = await startServerProcess(cache, undefined, {
    linkBytesPerSecond: linkMBps === undefined ? undefined : bytesPerSecond,
    // Capped or not, the same pieces as the uncapped server's (the rows' server CPU compares across runs).
    readChunkBytes: UNCAPPED_READ_CHUNK,
  });
  // Sidecars too (name.dmrpp beside each); the hard-linked granules share their files' bytes.
  await server.preload([...files, ...(withSidecars ?? []).flatMap((f) => [f, `${f}.dmrpp`])]);
  const store = join(cache, "index-store");
  const rows: Row[] = [];
  try {
    await server.setLatency(latency);
    const urlOf = (f: string) => new URL(`${basename(join(f, ".."))}/${basename(f)}`, server.url).href;
    const urls = files.map(urlOf);
    const geochunks = async (
      inputs: string[],
      jobs: number | undefined,
      source: string,
      cores?: 1,
    ): Promise<Row> => {
      await rm(store, { recursive: true, force: true });
      await server.resetStats();
      // JSON has no Infinity: the child reads null as an uncapped link.
      const link = {
        latencyMs: latency,
        bytesPerSecond: Number.isFinite(bytesPerSecond) ? bytesPerSecond : null,
      };
      const before = childrenCpuSeconds();
      const report = await indexInChild(
        { inputs, store, concurrency, jobs, link },
        { cpus: cores === 1 ? "0" : undefined },
      );
      const processCpuSeconds = childrenCpuSeconds() - before;
      const served = await server.stats();
      return {
        tool: "geochunks index",
        source,
        threads: jobs === undefined ? "default" : String(jobs),
        cores: cores ?? availableParallelism(),
        seconds: report.seconds,
        // The child's CPU: its worker threads run in it.
        cpuSeconds: report.cpuSeconds,
        processCpuSeconds,
        writeSeconds: report.writeSeconds,
        serverCpuSeconds: served.cpuSeconds,
        requests: report.requests,
        bytes: report.bytesRead,
      };
    };
    const missing = await h5coroUnavailable();
    if (missing) console.error(`skipping h5coro: ${missing}`);
    // As many runs as geochunks' rows, their median: one run of 4 processes varied by 15-20 %.
    const h5coro = async (): Promise<Row> => {
      await server.resetStats();
      const before = childrenCpuSeconds();
      const answer = await runPeer("h5coro-latlon", {
        urls,
        workers: concurrency,
        cache_line_size: H5CORO_LINE,
        h5coro_src: process.env.H5CORO_SRC,
      });
      const processCpuSeconds = childrenCpuSeconds() - before;
      const stats = await server.stats();
      return {
        tool: "h5coro lat/lon/time",
        source: `HTTP ${latency} ms`,
        threads: `${concurrency} processes`,
        seconds: answer.seconds,
        processCpuSeconds,
        serverCpuSeconds: stats.cpuSeconds,
        requests: stats.requests,
        bytes: stats.bytes,
      };
    };
    // The rows the throughput goal compares, interleaved with H5Coro's (1 thread, 2 threads, H5Coro,
    // and again), so that a drift of the machine's speed meets every contender alike.
    // One round first, not kept (see interleavedMedians).
    const httpRows = await interleavedMedians(
      reps,
      [
        () => geochunks(urls, 1, `HTTP ${latency} ms`),
        () => geochunks(urls, 2, `HTTP ${latency} ms`),
        ...(missing ? [] : [h5coro]),
      ],
      1,
    );
    for (const row of httpRows.slice(0, 2)) {
      rows.push(row);
      console.error(`geochunks, ${row.threads} thread(s), HTTP: ${row.seconds.toFixed(2)} s`);
    }
    // The default command (its own choice of threads) on one core, then on all: the 2-core goal.
    if (!tasksetMissing()) {
      for (const cores of [1, undefined] as const) {
        rows.push(await medianRun(reps, () => geochunks(urls, undefined, `HTTP ${latency} ms`, cores)));
        console.error(
          `geochunks, default threads, ${rows.at(-1)!.cores} core(s), HTTP: ${rows.at(-1)!.seconds.toFixed(2)} s`,
        );
      }
    } else console.error("skipping the 1-core rows: taskset (util-linux) is missing");
    if (withSidecars) {
      // With sidecars, as NSIDC publishes them: the HDF5 metadata walk is skipped (docs/design/dmrpp.md).
      const sidecarUrls = withSidecars.map(urlOf);
      const source = `HTTP ${latency} ms, DMR++`;
      rows.push(await medianRun(reps, () => geochunks(sidecarUrls, 1, source)));
      if (!tasksetMissing()) {
        for (const cores of [1, undefined] as const)
          rows.push(await medianRun(reps, () => geochunks(sidecarUrls, undefined, source, cores)));
      }
      console.error(
        `geochunks, DMR++ sidecars, HTTP: ${rows
          .filter((r) => r.source === source)
          .map((r) => r.seconds.toFixed(2))
          .join(" / ")} s`,
      );
    }
    for (const jobs of [1, 2]) rows.push(await medianRun(reps, () => geochunks(files, jobs, "local files")));
    // The same pair from local files: nothing else on the cores (over HTTP the range server shares
    // the 2 cores of the 2-core row, while the 1-core row leaves it the other core).
    if (!tasksetMissing()) {
      for (const cores of [1, undefined] as const) {
        rows.push(await medianRun(reps, () => geochunks(files, undefined, "local files", cores)));
        console.error(
          `geochunks, default threads, ${rows.at(-1)!.cores} core(s), local files: ${rows.at(-1)!.seconds.toFixed(2)} s`,
        );
      }
    }
    if (httpRows[2]) rows.push(httpRows[2]);
  } finally {
    await server.close();
  }
  const report = render(rows, { count, latency, linkMBps, concurrency, reps, loadStart, loadEnd: load() });
  console.log(report);
  if (values.out) await writeFile(values.out, `${report}\n`);
}

function render(
  rows: Row[],
  run: {
    count: number;
    latency: number;
    linkMBps: number | undefined;
    concurrency: number;
    reps: number;
    loadStart: string;
    loadEnd: string;
  },
): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const table = rows.map(
    (r) =>
      `| ${r.tool} | ${r.source} | ${r.threads} | ${r.cores ?? ""} | ${r.seconds.toFixed(2)} | ${r.writeSeconds?.toFixed(2) ?? ""} | ` +
      `${r.cpuSeconds?.toFixed(2) ?? ""} | ${r.processCpuSeconds?.toFixed(2) ?? ""} | ` +
      `${r.source.startsWith("HTTP") ? r.serverCpuSeconds.toFixed(2) : ""} | ` +
      `${(run.count / r.seconds).toFixed(2)} | ${(r.requests / run.count).toFixed(1)} | ${mb(r.bytes / run.count)} |`,
  );
  const fastest = (candidates: (Row | undefined)[]) =>
    candidates.filter((r): r is Row => r !== undefined).sort((a, b) => a.seconds - b.seconds)[0];
  const find = (source: (s: string) => boolean, threads: string, cores = availableParallelism()) =>
    rows.find(
      (r) => r.tool === "geochunks index" && source(r.source) && r.threads === threads && r.cores === cores,
    );
  const http = (threads: string, cores?: number) =>
    find((s) => s.startsWith("HTTP") && !s.endsWith("DMR++"), threads, cores);
  const sidecar = (threads: string, cores?: number) =>
    find((s) => s.startsWith("HTTP") && s.endsWith("DMR++"), threads, cores);
  const local = (threads: string, cores?: number) => find((s) => s.startsWith("local"), threads, cores);
  const [one, two] = [http("1"), http("2")];
  const [oneCore, allCores] = [http("default", 1), http("default")];
  const [localOneCore, localAllCores] = [local("default", 1), local("default")];
  const localBest = fastest([local("1"), local("2"), localAllCores]);
  const h5coro = rows.find((r) => r.tool.startsWith("h5coro"));
  const best = fastest([one, two, allCores]);
  const sidecarOneCore = sidecar("default", 1);
  const sidecarBest = fastest([sidecar("1"), sidecar("default")]);
  const goal = (name: string, target: string, value: number | undefined, met: (v: number) => boolean) =>
    `| ${name} | ${target} | ${value === undefined ? "-" : value.toFixed(2)} | ${value === undefined ? "-" : met(value) ? "yes" : "**no**"} |`;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return [
    `## Index build: ${run.count} full-size synthetic ATL06 granules (release-006 layout)`,
    "",
    `Machine: ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}. ` +
      `Load average (1/5/15 min) at start ${run.loadStart}, at end ${run.loadEnd}.`,
    `Loopback range server in its own process, ${run.latency} ms per request, ` +
      `${run.linkMBps === undefined ? "bandwidth uncapped" : `client link capped at ${run.linkMBps} MB/s (all responses together)`}, ` +
      `told to the index (\`link\`) for its cost model; ${run.concurrency} ` +
      `granules at a time for every contender; median of ${run.reps} run(s) (H5Coro's too; the first rows, geochunks' 1 and 2 threads and H5Coro, interleaved after one round of each not kept). CPU seconds: user + system of the ` +
      "plain Node process running geochunks (its worker threads included), which sets the V8 compiler settings the " +
      "command sets when it starts (cli/v8-flags.ts), as `geochunks index` runs. H5Coro reads the latitude, longitude and delta_time of every " +
      "beam with 4 MiB cache lines and nothing else; geochunks builds the whole store (also every dataset's " +
      "metadata and chunk locations for the hierarchy, footprints and H3 cells). Server CPU s: the range " +
      `server's process (on the same cores) while serving the row, from its memory (the granules and sidecars read once before the runs), each body in one write (${UNCAPPED_READ_CHUNK / 1024} KiB pieces through a capped link). ` +
      "Process CPU s: the whole process tree of the contender from its start (Node or Python start-up and " +
      "imports included, H5Coro's worker processes too), measured alike for both. Store written: seconds from the last granule read to the end (the part files still out of date " +
      "encoded (the others were encoded as the granules' rows came, when the run has more granules than it reads at once), then every file and the manifest written). Cores: those the geochunks process may use; the 1-core row runs it under " +
      "`taskset -c 0` with its default threads (Node sees one core), the range server staying free to use the other; " +
      "over HTTP the 2-core rows share their cores with the range server, so the same pair is also run from local files. " +
      "DMR++: the same granules under other URLs with their DMR++ sidecars beside them (fixtures/dmrpp/make_dmrpp.py), " +
      "as NSIDC publishes them for ICESat-2 granules: the index reads each granule's metadata from its sidecar and " +
      "only the chunks it needs from the file (docs/design/dmrpp.md); the other HTTP rows probe for a sidecar and find none. " +
      `Threads take whole granules: ${run.count} granules on 2 threads ` +
      `cannot run more than ${(run.count / Math.ceil(run.count / 2)).toFixed(2)} times as fast as on 1.`,
    "",
    "| tool | source | threads | cores | seconds | of which store written | CPU s | process CPU s | server CPU s | granules / s | requests / granule | MB / granule |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...table,
    "",
    "| goal | target | value | met |",
    "|---|---|---|---|",
    goal(
      "throughput: h5coro seconds / geochunks seconds (HTTP, no sidecars, fastest thread count)",
      ">= 2",
      h5coro && best ? h5coro.seconds / best.seconds : undefined,
      (v) => v >= 2,
    ),
    goal(
      "throughput with DMR++ sidecars beside the granules (as NSIDC publishes them): h5coro seconds / geochunks seconds (HTTP, fastest thread count)",
      ">= 2",
      h5coro && sidecarBest ? h5coro.seconds / sidecarBest.seconds : undefined,
      (v) => v >= 2,
    ),
    goal(
      "requests per granule (geochunks, HTTP)",
      "<= 30",
      best ? best.requests / run.count : undefined,
      (v) => v <= 30,
    ),
    goal(
      "2 cores against 1: seconds on 1 core (default threads, `taskset -c 0`) / seconds on 2 cores (fastest thread count) (HTTP)",
      ">= 1.7",
      oneCore && best ? oneCore.seconds / best.seconds : undefined,
      (v) => v >= 1.7,
    ),
    goal(
      "2 cores against 1 with DMR++ sidecars (HTTP)",
      ">= 1.7",
      sidecarOneCore && sidecarBest ? sidecarOneCore.seconds / sidecarBest.seconds : undefined,
      (v) => v >= 1.7,
    ),
    goal(
      "2 cores against 1, from local files (nothing else on the cores): seconds on 1 core (default threads, `taskset -c 0`) / seconds on 2 cores (fastest thread count)",
      ">= 1.7",
      localOneCore && localBest ? localOneCore.seconds / localBest.seconds : undefined,
      (v) => v >= 1.7,
    ),
    "",
    `Not a goal: 2 threads against 1 on 2 cores, seconds with 1 / seconds with 2 (HTTP): ${one && two ? (one.seconds / two.seconds).toFixed(2) : "-"}.`,
    "",
    "Not a goal, for reading the seconds on a loaded machine (where a contender of 4 processes gets more " +
      "of the cores than one of 1-2 threads): CPU of the whole process tree, h5coro / geochunks (HTTP, 1 thread): " +
      `${h5coro?.processCpuSeconds && one?.processCpuSeconds ? (h5coro.processCpuSeconds / one.processCpuSeconds).toFixed(2) : "-"}.`,
  ].join("\n");
}

await main();
