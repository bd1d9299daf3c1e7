/**
 * Child process of the index-build benchmark: one `index` run of the compiled package in plain Node, as
 * users run it. Plain JavaScript, so that neither this process nor its worker threads load the
 * TypeScript loader the benchmark itself runs under (a worker thread inherits the parent's `--import`
 * flags, and every module it loads would go through the loader's hooks). Prints one JSON line: the
 * report's seconds, requests and bytes, the CPU seconds (user + system) of the process, its worker
 * threads included, over the run, and the seconds from the last granule read to the end (the store
 * written), and the calling thread's garbage collections over the run (scavenges, mark-compacts and
 * their milliseconds, from `gc` performance entries) with the process's minor page faults and its peak
 * resident memory.
 *
 *   node bench/lib/index-child.mjs '{"inputs": [...], "store": DIR, "concurrency": 4, "jobs": 2, "link": {...}, "dist": DIR, "v8": "command"}'
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const args = JSON.parse(process.argv[2] ?? "{}");
// `dist`: another build of the package (a directory holding its index.js), for before/after runs.
const dist = args.dist ? pathToFileURL(`${args.dist}/`) : new URL("../../dist/", import.meta.url);
// `v8`: "command" (default) sets the V8 compiler settings `geochunks index` sets when it starts
// (cli/v8-flags.ts, before the package's code loads), so the run is the command's; "node" keeps
// node's defaults, as a long-running process embedding the library has them.
if ((args.v8 ?? "command") === "command") await import(new URL("cli/v8-flags.js", dist).href);
const { index } = await import(new URL("index.js", dist).href);
// JSON has no Infinity: an uncapped link comes as null.
const link = args.link && {
  ...args.link,
  bytesPerSecond: args.link.bytesPerSecond ?? Number.POSITIVE_INFINITY,
};
const gc = { scavenges: 0, markCompacts: 0, ms: 0 };
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = entry.detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges += 1;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.markCompacts += 1;
    gc.ms += entry.duration;
  }
});
observer.observe({ entryTypes: ["gc"] });
const faults = process.resourceUsage().minorPageFault;
const cpu = process.cpuUsage();
let lastGranule = performance.now();
const report = await index(args.inputs, {
  store: args.store,
  concurrency: args.concurrency,
  jobs: args.jobs,
  link,
  onProgress: () => {
    lastGranule = performance.now();
  },
});
const used = process.cpuUsage(cpu);
const minorFaults = process.resourceUsage().minorPageFault - faults;
// Entries still queued are delivered on a later turn.
await new Promise((resolve) => setImmediate(resolve));
observer.disconnect();
// After the last granule is read: merging the rows, encoding the part files not encoded yet, writing the store.
const writeSeconds = (performance.now() - lastGranule) / 1000;
console.log(
  JSON.stringify({
    seconds: report.seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    requests: report.requests,
    bytesRead: report.bytesRead,
    chunks: report.chunks,
    writeSeconds,
    gc,
    minorFaults,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
