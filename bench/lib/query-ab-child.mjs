// One child of bench/query-ab.ts: a compiled build's query (openStore, query, writeGeoParquet or the plain
// columns kept), one untimed warm-up, then `reps` timed queries; sends wall, process CPU, main-thread time
// (event loop utilisation) and the tail (last response to the end of the call), milliseconds.
// argv: distDir storeDir aoiPath outPath reps mode (file | memory | thread)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dist, storeDir, aoiPath, out, reps, mode] = process.argv.slice(2);
const lib = await import(pathToFileURL(join(dist, "index.js")).href);
const aoi = JSON.parse(readFileSync(aoiPath, "utf8")).geometry;
let lastResponse = 0;
const open = async (url) => {
  const source = await lib.openSource(url, { http: { concurrency: 128 } });
  return {
    url: source.url,
    size: (o) => source.size(o),
    close: () => source.close(),
    async read(offset, length, o) {
      const bytes = await source.read(offset, length, o);
      lastResponse = performance.now();
      return bytes;
    },
  };
};
async function once() {
  const store = await lib.openStore(storeDir);
  const result = store.query({ aoi, open });
  if (mode === "memory") {
    for await (const _ of result.columns());
    return result.stats.rows;
  }
  return lib.writeGeoParquet(result, out, {
    bbox: result.aoi.bbox,
    ...(mode === "thread" ? { thread: true } : {}),
  });
}
await once();
const runs = [];
for (let i = 0; i < Number(reps); i++) {
  await new Promise((done) => setTimeout(done, 50));
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const rows = await once();
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  runs.push({
    wall: end - t0,
    cpu: (cpu.user + cpu.system) / 1000,
    main: performance.eventLoopUtilization(elu0).active,
    tail: end - lastResponse,
    rows,
  });
}
process.send(runs);
