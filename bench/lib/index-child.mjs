/**
 * Child process of the index-build benchmark: one `index` run of the compiled package in plain Node, as
 * users run it. Plain JavaScript, so that neither this process nor its worker threads load the
 * TypeScript loader the benchmark itself runs under (a worker thread inherits the parent's `--import`
 * flags, and every module it loads would go through the loader's hooks). Prints one JSON line: the
 * report's seconds, requests and bytes, the CPU seconds (user + system) of the process, its worker
 * threads included, over the run, and the seconds from the last granule read to the end (the store
 * written).
 *
 *   node bench/lib/index-child.mjs '{"inputs": [...], "store": DIR, "concurrency": 4, "jobs": 2, "link": {...}, "dist": DIR}'
 */
import { pathToFileURL } from "node:url";

const args = JSON.parse(process.argv[2] ?? "{}");
// `dist`: another build of the package (a directory holding its index.js), for before/after runs.
const dist = args.dist ? pathToFileURL(`${args.dist}/`) : new URL("../../dist/", import.meta.url);
const { index } = await import(new URL("index.js", dist).href);
// JSON has no Infinity: an uncapped link comes as null.
const link = args.link && {
  ...args.link,
  bytesPerSecond: args.link.bytesPerSecond ?? Number.POSITIVE_INFINITY,
};
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
  }),
);
