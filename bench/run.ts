/**
 * The benchmark: geochunks against no-index (chunk references only), H5Coro (SlideRule's reader) and
 * download-then-read (h5wasm, h5py), on the same full-size synthetic ATL06 (or ATL03) granules served by a
 * loopback range server with injected per-request latency. See bench/README.md.
 *
 *   npm run bench                    # 24 granules through Greenland + 4 elsewhere; 0, 20, 60 ms
 *   npm run bench -- --quick         # smoke run: 4 + 1 granules, 20 ms, 1 run, Greenland only
 *   npm run bench -- --bandwidth 50  # cap each response at 50 MB/s
 *   npm run bench -- --link 25       # a laptop's link: 25 MB/s shared by every response (100: a cloud VM)
 *   npm run bench -- --segments 20000  # granules of the subsetted size (~12 MB) instead of full size (~68 MB)
 *   npm run bench -- --product atl03 # ATL03 photons: 4 + 1 granules of 4 M photons per strong beam; 20, 60 ms
 *   npm run bench -- --archive 200   # the many-year archive: 200 distinct granules over the Greenland box,
 *                                    # 20 and 60 ms, set beside SlideRule's published 28.8 s
 *
 * Options: --crossing N --far N --latency 0,20,60 --reps N (geochunks, no-index; default 3) --slow-reps N
 * (h5coro, downloads; default --reps in the full run, 1 with --quick) --aoi greenland,concave --concurrency N --bandwidth MB/s --index-latency 20 (default; the goal's latency)
 * --no-index-build --no-rss --link MB/s --segments N --out DIR --product atl06|atl03 --photons N (ATL03 photons per strong beam)
 * --contenders a,b (only these contenders, e.g. geochunks,geochunks-memory,download-h5py). Env: H5CORO_SRC (h5coro checkout), H5CORO_LINE
 * (its cache line, bytes), PYTHON.
 *
 *   npm run bench -- --store-scale   # the store scale benchmark instead (bench/store-scale.ts: an
 *                                    # archive-like chunk index, selection locally and over HTTP at 20 ms)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FULL_SEGMENTS_PER_BEAM } from "../fixtures/atl06/generate.js";
import { DEFAULT_QUERY_REQUESTS } from "../src/query/index.js";
import { ATL03_ORACLE, downloadH5pyAtl03, downloadH5wasmAtl03, h5coroAtl03 } from "./contenders/atl03.js";
import { downloadH5py, downloadH5wasm } from "./contenders/download.js";
import { geochunks } from "./contenders/geochunks.js";
import { geochunksCli } from "./contenders/geochunks-cli.js";
import { geochunksMemory } from "./contenders/geochunks-memory.js";
import { H5CORO_LINE, h5coro, h5coroUnavailable } from "./contenders/h5coro.js";
import { ATL06_QUERY_DATASETS, BEAMS, noIndex } from "./contenders/no-index.js";
import type { Contender } from "./contenders/types.js";
import { type BenchAoi, CONCAVE_AOI, greenlandAoi, WORLD_AOI } from "./lib/aois.js";
import {
  ARCHIVE_SEGMENTS_PER_BEAM,
  ARCHIVE_TRACKS,
  BENCH_ATL03_PHOTONS,
  ensureArchive,
  ensureAtl03Archive,
  ensureManyYearArchive,
} from "./lib/archive.js";
import { runFloors } from "./lib/floor.js";
import { type HarnessOptions, runHarness } from "./lib/harness.js";
import { measureInflateRate } from "./lib/inflate-rate.js";
import { type BenchReport, checkGoals, markdownReport, SLIDERULE_GREENLAND, svgChart } from "./lib/report.js";
import { machineInfo } from "./lib/stats.js";

if (process.argv.includes("--store-scale")) {
  // A benchmark of its own, with its own options (bench/store-scale.ts).
  await import("./store-scale.js");
  process.exit(0);
}

/** Latency of the index build's goal (>= 2x H5Coro's throughput over HTTP at 20 ms), its default here. */
const INDEX_GOAL_LATENCY_MS = 20;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    product: { type: "string", default: "atl06" },
    photons: { type: "string" },
    crossing: { type: "string" },
    far: { type: "string" },
    latency: { type: "string" },
    reps: { type: "string" },
    "slow-reps": { type: "string" },
    "index-latency": { type: "string" },
    aoi: { type: "string" },
    concurrency: { type: "string", default: "4" },
    bandwidth: { type: "string" },
    link: { type: "string" },
    segments: { type: "string" },
    archive: { type: "string" },
    "no-index-build": { type: "boolean", default: false },
    "no-rss": { type: "boolean", default: false },
    out: { type: "string" },
    contenders: { type: "string" },
  },
});

const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");
const quick = values.quick;

/** What differs between the products benchmarked. */
interface ProductBench {
  name: string;
  crossing: number;
  far: number;
  latencies: string;
  contenders: Contender[];
  archive: string;
  oracle?: HarnessOptions["oracle"];
  /** H5Coro reads the index's lat/lon/time arrays too (ATL06 only). */
  latLonPeer: boolean;
  goals: Parameters<typeof checkGoals>[2];
  /**
   * The datasets below each beam that geochunks' query reads, whose decode rate the run measures for
   * the least time any reader needs here (floor.ts `decodeBound`); none: no such bound.
   */
  decodeDatasets?: readonly string[];
  files(dir: string, crossing: number, far: number): Promise<string[]>;
}

/** Granules whose chunks the decode rate is measured on (about 11 MB stored at 12 MB, 62 MB at full size). */
const DECODE_RATE_GRANULES = 4;

/** Granules of the many-year archive over the Greenland box (`--archive N`), else undefined. */
const archiveCount = values.archive ? Number(values.archive) : undefined;
const segments = values.segments
  ? Number(values.segments)
  : archiveCount
    ? ARCHIVE_SEGMENTS_PER_BEAM
    : FULL_SEGMENTS_PER_BEAM;
const fullSize = segments === FULL_SEGMENTS_PER_BEAM;

const ATL06_BENCH: ProductBench = {
  name: "ATL06",
  crossing: quick ? 4 : 24,
  far: quick ? 1 : 4,
  latencies: quick ? "20" : "0,20,60",
  contenders: [geochunks, geochunksMemory, geochunksCli, noIndex, h5coro, downloadH5wasm, downloadH5py],
  archive: fullSize
    ? "full-size synthetic ATL06 granules (release-006 layout)"
    : `synthetic ATL06 granules of ${segments.toLocaleString("en")} segments per beam (release-006 layout)`,
  latLonPeer: true,
  goals: {},
  decodeDatasets: ATL06_QUERY_DATASETS,
  files: (dir, crossing, far) =>
    ensureArchive(dir, {
      crossing,
      far,
      segmentsPerBeam: segments,
      onGenerate: (name) => console.log(`generating ${name}`),
    }),
};

/**
 * The many-year archive: hundreds of distinct granules crossing the Greenland box over the years of
 * SlideRule's published run, queried with the box (bench/lib/archive.ts `manyYearGranuleSet`).
 */
const ARCHIVE_BENCH: ProductBench = {
  name: "ATL06",
  crossing: archiveCount ?? 0,
  far: 0,
  latencies: "20,60",
  // download-h5wasm moves the same bytes as download-h5py, more slowly: one download contender is enough.
  contenders: [geochunks, noIndex, h5coro, downloadH5py],
  archive: `distinct synthetic ATL06 granules of ${segments.toLocaleString("en")} segments per beam (release-006 layout) crossing the Greenland box on ${ARCHIVE_TRACKS} repeat tracks, one pass per track and 91-day cycle from January 2019`,
  latLonPeer: true,
  goals: {},
  decodeDatasets: ATL06_QUERY_DATASETS,
  files: (dir, crossing) =>
    ensureManyYearArchive(dir, {
      count: crossing,
      segmentsPerBeam: segments,
      onGenerate: (name) => console.log(`generating ${name}`),
    }),
};

const photons = Number(values.photons ?? (quick ? 500_000 : BENCH_ATL03_PHOTONS));
const ATL03_BENCH: ProductBench = {
  name: "ATL03",
  crossing: quick ? 2 : 4,
  far: 1,
  latencies: quick ? "20" : "20,60",
  contenders: [geochunks, h5coroAtl03, downloadH5wasmAtl03, downloadH5pyAtl03],
  archive: `synthetic ATL03 granules (releases 006 and 007 in turn; ${photons.toLocaleString("en")} photons per strong beam, a quarter per weak beam)`,
  oracle: ATL03_ORACLE,
  latLonPeer: false,
  goals: { indexShare: 0.005, rssBytes: 2 * 2 ** 30 },
  files: (dir, crossing, far) =>
    ensureAtl03Archive(dir, {
      crossing,
      far,
      photonsPerStrongBeam: photons,
      onGenerate: (name) => console.log(`generating ${name}`),
    }),
};

async function main() {
  const machine = machineInfo();
  const product = archiveCount
    ? ARCHIVE_BENCH
    : { atl06: ATL06_BENCH, atl03: ATL03_BENCH }[values.product.toLowerCase()];
  if (!product) throw new Error(`unknown --product ${values.product}; known: atl06, atl03`);
  if (archiveCount !== undefined && values.product.toLowerCase() !== "atl06")
    throw new Error("--archive is an ATL06 archive: drop --product");
  const crossing = Number(values.crossing ?? product.crossing);
  const far = Number(values.far ?? product.far);
  const latencies = (values.latency ?? product.latencies).split(",").map(Number);
  const reps = Number(values.reps ?? (quick ? 1 : 3));
  // The full run, whose rows are committed and judge the goals, times every contender as often (one
  // run of H5Coro varied by 10-20 % on a quiet machine); a quick run once.
  const slowReps = Number(values["slow-reps"] ?? (quick ? 1 : reps));
  const indexLatencies = values["no-index-build"]
    ? []
    : // The index-build goal is set at 20 ms (an object store in the region); other latencies on request.
      (values["index-latency"] ?? String(INDEX_GOAL_LATENCY_MS)).split(",").map(Number);
  const concurrency = Number(values.concurrency);
  const bytesPerSecond = values.bandwidth ? Number(values.bandwidth) * 1e6 : undefined;
  const linkBytesPerSecond = values.link ? Number(values.link) * 1e6 : undefined;
  const greenland = await greenlandAoi(root);
  const known: Record<string, BenchAoi> = { greenland, concave: CONCAVE_AOI };
  const aois = (values.aoi ?? "greenland").split(",").map((name) => {
    const aoi = known[name];
    if (!aoi) throw new Error(`unknown AOI ${name}; known: ${Object.keys(known).join(", ")}`);
    return aoi;
  });
  const granuleDir = join(
    cache,
    archiveCount
      ? `archive-${segments}`
      : product.name === "ATL06"
        ? fullSize
          ? "granules"
          : `granules-${segments}`
        : `granules-${product.name.toLowerCase()}`,
  );
  const t0 = performance.now();
  const files = await product.files(granuleDir, crossing, far);
  console.log(`${files.length} granules ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Measured before the server starts, on otherwise idle cores: the rate of one thread.
  const decodeRate = product.decodeDatasets
    ? {
        ...(await measureInflateRate(files.slice(0, DECODE_RATE_GRANULES), BEAMS, product.decodeDatasets)),
        granules: Math.min(files.length, DECODE_RATE_GRANULES),
        datasets: [...product.decodeDatasets],
      }
    : undefined;
  if (decodeRate)
    console.log(
      `decode rate: ${(decodeRate.bytesPerCpuSecond / 1e6).toFixed(0)} MB of stored chunks per CPU second (${decodeRate.chunks} chunks)`,
    );
  const only = values.contenders?.split(",");
  const unknown = only?.filter((name) => !product.contenders.some((c) => c.name === name));
  if (unknown?.length) throw new Error(`unknown --contenders ${unknown.join(", ")}`);
  const contenders = only ? product.contenders.filter((c) => only.includes(c.name)) : product.contenders;
  const h5coroMissing = product.latLonPeer ? await h5coroUnavailable() : "ATL06 only";
  const result = await runHarness({
    granuleDir,
    files,
    latencies,
    bytesPerSecond,
    linkBytesPerSecond,
    reps,
    slowReps,
    aois,
    contenders,
    granuleConcurrency: concurrency,
    workDir: join(
      cache,
      `${archiveCount ? `run-archive${archiveCount}` : product.name === "ATL06" ? "run" : `run-${product.name.toLowerCase()}`}${fullSize ? "" : `-${segments}`}${quick ? "-quick" : ""}`,
    ),
    oracle: product.oracle,
    indexLatencies,
    h5coroLatLon: h5coroMissing ? undefined : { src: process.env.H5CORO_SRC!, line: H5CORO_LINE },
    // The whole-world query of hundreds of granules would take minutes: the archive run leaves it out.
    rssAoi: values["no-rss"] || archiveCount ? undefined : WORLD_AOI,
    // Elapsed time on every line: what dominates a long run.
    log: (line) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${line}`),
  });
  const date = new Date().toISOString().slice(0, 10);
  const floors = runFloors(result.rows, {
    bytesPerSecond,
    linkBytesPerSecond,
    pool: DEFAULT_QUERY_REQUESTS,
    cores: machine.cpus,
    listedBytes: new Map(result.aois.map((a) => [a.name, a.listedBytes])),
    decodeBytesPerCpuSecond: decodeRate?.bytesPerCpuSecond,
  });
  const report: BenchReport = {
    date,
    product: product.name,
    archive: product.archive,
    mode: quick ? "quick" : "full",
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(
      " ",
    ),
    machine,
    loadAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
    runSeconds: Number(((performance.now() - t0) / 1000).toFixed(0)),
    source: `HTTP/1.1 range requests to a loopback server (127.0.0.1, its own process) that holds the granules in memory (read once before the runs) and writes ${bytesPerSecond || linkBytesPerSecond ? "each body in 16 KiB pieces paced by the caps" : "each body in one write"}`,
    granuleConcurrency: concurrency,
    reps,
    slowReps,
    latencies,
    bytesPerSecond: bytesPerSecond ?? null,
    linkBytesPerSecond: linkBytesPerSecond ?? null,
    floors,
    decodeRate,
    contenders: contenders
      .filter((c) => !result.skipped.some((s) => s.contender === c.name))
      .map((c) => ({ name: c.name, description: c.description })),
    result,
    goals: checkGoals(result, latencies, { ...product.goals, floors, linkBytesPerSecond }),
    ...(archiveCount ? { sliderule: SLIDERULE_GREENLAND } : {}),
  };
  const outDir = values.out ?? (quick ? join(cache, "results") : join(root, "bench", "results"));
  await mkdir(outDir, { recursive: true });
  const suffix = archiveCount
    ? `-archive${archiveCount}`
    : product.name === "ATL06"
      ? ""
      : `-${product.name.toLowerCase()}`;
  const sized = fullSize ? "" : `-${segments}`;
  const linked = linkBytesPerSecond ? `-link${values.link}` : "";
  const base = join(outDir, `${date}${suffix}${sized}${linked}${quick ? "-quick" : ""}`);
  const { storeDir: _storeDir, ...portable } = result;
  await writeFile(`${base}.json`, `${JSON.stringify({ ...report, result: portable }, null, 2)}\n`);
  const markdown = markdownReport(report);
  await writeFile(`${base}.md`, `${markdown}\n`);
  await writeFile(`${base}.svg`, svgChart(report));
  console.log(`\n${markdown}\nwritten ${base}.{json,md,svg}`);
  const wrong = result.rows.filter((r) => !r.matchesOracle);
  if (wrong.length > 0) {
    console.error(
      `rows differ from the oracle: ${wrong.map((r) => `${r.contender} ${r.aoi} ${r.latency} ms`).join(", ")}`,
    );
    process.exitCode = 1;
  }
}

await main();
