/**
 * The benchmark: geochunks against no-index (chunk references only), H5Coro (SlideRule's reader) and
 * download-then-read (h5wasm, h5py), on the same full-size synthetic ATL06 granules served by a loopback
 * range server with injected per-request latency. See bench/README.md.
 *
 *   npm run bench                    # 24 granules through Greenland + 4 elsewhere; 0, 20, 60 ms
 *   npm run bench -- --quick         # smoke run: 4 + 1 granules, 20 ms, 1 run, Greenland only
 *   npm run bench -- --bandwidth 50  # cap each response at 50 MB/s
 *
 * Options: --crossing N --far N --latency 0,20,60 --reps N (geochunks, no-index; default 3) --slow-reps N
 * (h5coro, downloads; default 1) --aoi greenland,concave --concurrency N --bandwidth MB/s --index-latency 0
 * --no-index-build --no-rss --out DIR. Env: H5CORO_SRC (h5coro checkout), H5CORO_LINE
 * (its cache line, bytes), PYTHON.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { downloadH5py, downloadH5wasm } from "./contenders/download.js";
import { geochunks } from "./contenders/geochunks.js";
import { H5CORO_LINE, h5coro, h5coroUnavailable } from "./contenders/h5coro.js";
import { noIndex } from "./contenders/no-index.js";
import { type BenchAoi, CONCAVE_AOI, greenlandAoi, WORLD_AOI } from "./lib/aois.js";
import { ensureArchive } from "./lib/archive.js";
import { runHarness } from "./lib/harness.js";
import { type BenchReport, checkGoals, markdownReport, svgChart } from "./lib/report.js";
import { machineInfo } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    crossing: { type: "string" },
    far: { type: "string" },
    latency: { type: "string" },
    reps: { type: "string" },
    "slow-reps": { type: "string" },
    "index-latency": { type: "string" },
    aoi: { type: "string" },
    concurrency: { type: "string", default: "4" },
    bandwidth: { type: "string" },
    "no-index-build": { type: "boolean", default: false },
    "no-rss": { type: "boolean", default: false },
    out: { type: "string" },
  },
});

const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");
const quick = values.quick;

async function main() {
  const machine = machineInfo();
  const crossing = Number(values.crossing ?? (quick ? 4 : 24));
  const far = Number(values.far ?? (quick ? 1 : 4));
  const latencies = (values.latency ?? (quick ? "20" : "0,20,60")).split(",").map(Number);
  const reps = Number(values.reps ?? (quick ? 1 : 3));
  const slowReps = Number(values["slow-reps"] ?? 1);
  const indexLatencies = values["no-index-build"]
    ? []
    : (values["index-latency"] ?? String(latencies[0])).split(",").map(Number);
  const concurrency = Number(values.concurrency);
  const bytesPerSecond = values.bandwidth ? Number(values.bandwidth) * 1e6 : undefined;
  const greenland = await greenlandAoi(root);
  const known: Record<string, BenchAoi> = { greenland, concave: CONCAVE_AOI };
  const aois = (values.aoi ?? "greenland").split(",").map((name) => {
    const aoi = known[name];
    if (!aoi) throw new Error(`unknown AOI ${name}; known: ${Object.keys(known).join(", ")}`);
    return aoi;
  });
  const granuleDir = join(cache, "granules");
  const t0 = performance.now();
  const files = await ensureArchive(granuleDir, {
    crossing,
    far,
    onGenerate: (name) => console.log(`generating ${name}`),
  });
  console.log(`${files.length} granules ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const contenders = [geochunks, noIndex, h5coro, downloadH5wasm, downloadH5py];
  const h5coroMissing = await h5coroUnavailable();
  const result = await runHarness({
    granuleDir,
    files,
    latencies,
    bytesPerSecond,
    reps,
    slowReps,
    aois,
    contenders,
    granuleConcurrency: concurrency,
    workDir: join(cache, quick ? "run-quick" : "run"),
    indexLatencies,
    h5coroLatLon: h5coroMissing ? undefined : { src: process.env.H5CORO_SRC!, line: H5CORO_LINE },
    rssAoi: values["no-rss"] ? undefined : WORLD_AOI,
    log: (line) => console.log(line),
  });
  const date = new Date().toISOString().slice(0, 10);
  const report: BenchReport = {
    date,
    mode: quick ? "quick" : "full",
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(
      " ",
    ),
    machine,
    loadAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
    source: "HTTP/1.1 range requests to a loopback server (127.0.0.1), files read from the page cache",
    granuleConcurrency: concurrency,
    reps,
    slowReps,
    latencies,
    bytesPerSecond: bytesPerSecond ?? null,
    contenders: contenders
      .filter((c) => !result.skipped.some((s) => s.contender === c.name))
      .map((c) => ({ name: c.name, description: c.description })),
    result,
    goals: checkGoals(result, latencies),
  };
  const outDir = values.out ?? (quick ? join(cache, "results") : join(root, "bench", "results"));
  await mkdir(outDir, { recursive: true });
  const base = join(outDir, quick ? `${date}-quick` : date);
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
