/**
 * Child process of the memory measurement: one geochunks query written to GeoParquet, then the process's
 * peak resident set size. Prints one JSON line.
 *
 *   node --import tsx bench/lib/rss-child.ts STORE AOI.json OUT.parquet CONCURRENCY
 */
import { readFile, stat } from "node:fs/promises";
import { openStore, writeGeoParquet } from "../../src/index.js";

const [storeDir, aoiPath, out, concurrency] = process.argv.slice(2);
const t0 = performance.now();
const store = await openStore(storeDir!);
const result = store.query({
  aoi: JSON.parse(await readFile(aoiPath!, "utf8")),
  granuleConcurrency: Number(concurrency ?? 4),
});
const rows = await writeGeoParquet(result, out!, {
  bbox: result.aoi.bbox,
  emptySchema: await result.schema(),
});
const seconds = (performance.now() - t0) / 1000;
const status = await readFile("/proc/self/status", "utf8").catch(() => "");
const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
console.log(
  JSON.stringify({
    rows,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    vmHwmBytes: hwm ? Number(hwm[1]) * 1024 : null,
    parquetBytes: (await stat(out!)).size,
    stats: result.stats,
  }),
);
