/**
 * Before/after runs of the index build: two builds of the compiled package (e.g. the earlier `dist`
 * copied to .cache/before/dist, and this one) index the same full-size synthetic granules in turn, in
 * plain Node child processes, over the loopback range server at a fixed latency (or from local files),
 * so both see the same machine load. Prints one line per run: wall and CPU seconds (the child's,
 * worker threads included), seconds after the last granule, requests, MB and the 1-minute load, then
 * the medians. On a shared machine, compare CPU seconds first.
 *
 *   npx tsx bench/index-ab.ts --before .cache/before/dist [--after dist] [--count 6] [--reps 4]
 *     [--latency 20] [--jobs N] [--local] [--segments N (per beam; default full size)]
 */
import { rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFullSizeGranules } from "../fixtures/atl06/generate.js";
import buildIfStale from "../test/support/build.js";
import { type ChildIndexReport, indexInChild } from "./lib/index-run.js";
import { startServerProcess } from "./lib/server.js";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string", default: "dist" },
    count: { type: "string", default: "6" },
    reps: { type: "string", default: "4" },
    latency: { type: "string", default: "20" },
    jobs: { type: "string" },
    local: { type: "boolean", default: false },
    // Segments per beam: the full-size set's granules cut to this length (20000: about 12 MB each).
    segments: { type: "string" },
  },
});
if (!values.before) throw new Error("--before DIR (a build's dist directory) is required");
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");
const builds = { before: resolve(values.before), after: resolve(values.after) };

buildIfStale();
const segments = values.segments === undefined ? undefined : Number(values.segments);
const granuleDir = join(cache, segments === undefined ? "granules" : `granules-ab-${segments}`);
const files = await writeFullSizeGranules(
  granuleDir,
  Number(values.count),
  segments === undefined ? {} : { segmentsPerBeam: segments },
);
const server = await startServerProcess(granuleDir);
await server.preload(files);
const latency = Number(values.latency);
const runs: Record<keyof typeof builds, ChildIndexReport[]> = { before: [], after: [] };
try {
  await server.setLatency(latency);
  const inputs = values.local ? files : files.map((f) => new URL(basename(f), server.url).href);
  const store = join(cache, "ab-store");
  for (let r = 0; r < Number(values.reps); r++) {
    for (const name of ["before", "after"] as const) {
      await rm(store, { recursive: true, force: true });
      const report = await indexInChild({
        inputs,
        store,
        concurrency: 4,
        jobs: values.jobs === undefined ? undefined : Number(values.jobs),
        link: { latencyMs: latency, bytesPerSecond: null },
        dist: builds[name],
      });
      runs[name].push(report);
      console.log(
        `${name}\twall ${report.seconds.toFixed(2)} s\tCPU ${report.cpuSeconds.toFixed(2)} s\t` +
          `after last granule ${report.writeSeconds.toFixed(2)} s\t${report.requests} requests\t` +
          `${(report.bytesRead / 1e6).toFixed(1)} MB\tGC ${report.gc.scavenges} scavenges ` +
          `${report.gc.markCompacts} mark-compacts ${report.gc.ms.toFixed(0)} ms\t` +
          `${report.minorFaults} minor faults\tpeak RSS ${(report.maxRssBytes / 2 ** 20).toFixed(0)} MiB\t` +
          `load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
} finally {
  await server.close();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const name of ["before", "after"] as const)
  console.log(
    `${name} medians: wall ${median(runs[name].map((r) => r.seconds)).toFixed(2)} s, ` +
      `CPU ${median(runs[name].map((r) => r.cpuSeconds)).toFixed(2)} s, ` +
      `scavenges ${median(runs[name].map((r) => r.gc.scavenges))}, ` +
      `mark-compacts ${median(runs[name].map((r) => r.gc.markCompacts))}, ` +
      `minor faults ${median(runs[name].map((r) => r.minorFaults))}, ` +
      `peak RSS ${(median(runs[name].map((r) => r.maxRssBytes)) / 2 ** 20).toFixed(0)} MiB`,
  );
