/**
 * Chooses the query's request pool size: the Greenland polygon over 24 granules of the subsetted size
 * (20,000 segments per beam, ~13 MB each) behind the loopback range server with latency, one query per
 * pool size, reporting wall time, client CPU, requests and bytes. `DEFAULT_QUERY_REQUESTS` in
 * src/query/execute.ts comes from this table (docs/design/query.md).
 *
 *   npx tsx bench/query-pool.ts [--granules 24] [--latency 20,60] [--pools 8,32,64,128,256] [--reps 3]
 */
import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  DEFAULT_SEGMENTS_PER_BEAM,
  fullSizeGranuleSet,
  nominalStart,
  writeSyntheticAtl06,
} from "../fixtures/atl06/generate.js";
import { index, openStore, writeGeoParquet } from "../src/index.js";
import { startServerProcess } from "./lib/server.js";

const { values } = parseArgs({
  options: {
    granules: { type: "string", default: "24" },
    latency: { type: "string", default: "20,60" },
    pools: { type: "string", default: "4x32,8,32,64,128,256" },
    reps: { type: "string", default: "3" },
    segments: { type: "string", default: String(DEFAULT_SEGMENTS_PER_BEAM) },
  },
});
const segments = Number(values.segments);
const root = join(process.cwd(), ".cache/bench", `pool-${segments}`);
const granuleDir = join(root, "granules");
await mkdir(granuleDir, { recursive: true });
const files: string[] = [];
for (const o of fullSizeGranuleSet(Number(values.granules))) {
  const start = nominalStart(o.rgt, o.cycle, o.through!.lat, o.ascending ?? true, segments);
  files.push(await writeSyntheticAtl06(granuleDir, { ...o, start, segmentsPerBeam: segments, reuse: true }));
}
const server = await startServerProcess(granuleDir);
await server.preload(files);
const storeDir = join(root, "store");
await rm(storeDir, { recursive: true, force: true });
const urls = files.map((f) => server.url + f.split("/").pop()!);
await index(urls, { store: storeDir, concurrency: 4 });
const aoi = JSON.parse(readFileSync("examples/greenland.geojson", "utf8")).geometry;
const out = join(root, "out.parquet");

console.log("| latency ms | pool | wall s (median) | client CPU s | requests | bytes |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (const latency of values.latency.split(",").map(Number)) {
  await server.setLatency(latency);
  // "4x32": four windows at a time sharing 32 requests, as the executor ran before the pool (four
  // granules with 8 requests each).
  for (const pool of values.pools.split(",")) {
    const [windows, inFlight] = pool.includes("x") ? pool.split("x").map(Number) : [undefined, Number(pool)];
    const walls: number[] = [];
    let cpu = 0;
    let requests = 0;
    let bytes = 0;
    for (let rep = 0; rep < Number(values.reps); rep++) {
      const store = await openStore(storeDir);
      await server.resetStats();
      const before = process.cpuUsage();
      const started = performance.now();
      const result = store.query({ aoi, requests: inFlight, granuleConcurrency: windows });
      await writeGeoParquet(result, out, {});
      walls.push((performance.now() - started) / 1000);
      const used = process.cpuUsage(before);
      cpu += (used.user + used.system) / 1e6;
      const stats = await server.stats();
      requests = stats.requests;
      bytes = stats.bytes;
    }
    walls.sort((a, b) => a - b);
    const median = walls[walls.length >> 1]!;
    const reps = Number(values.reps);
    console.log(
      `| ${latency} | ${pool} | ${median.toFixed(3)} | ${(cpu / reps).toFixed(3)} | ${requests} | ${bytes} |`,
    );
  }
}
await server.close();
