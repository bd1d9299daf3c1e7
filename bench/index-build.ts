/**
 * Index-build benchmark on full-size synthetic ATL06 granules (release-006 layout, 110 000
 * segments per beam, ~68 MB each), generated once into .cache/bench/granules:
 * granules per second, bytes read per granule (against file size and against the
 * latitude/longitude/delta_time chunks), requests, and store size against data size.
 *
 *   npx tsx bench/index-build.ts [--count 4] [--concurrency 2]
 */
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fullSizeGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import { index } from "../src/index.js";

const { values } = parseArgs({
  options: { count: { type: "string", default: "4" }, concurrency: { type: "string", default: "2" } },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");

async function dirSize(dir: string): Promise<number> {
  let sum = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, String(name)));
    if (info.isFile()) sum += info.size;
  }
  return sum;
}

async function main() {
  const count = Number(values.count);
  const granuleDir = join(cache, "granules");
  await mkdir(granuleDir, { recursive: true });
  const t0 = performance.now();
  const files: string[] = [];
  for (const opts of fullSizeGranuleSet(count))
    files.push(await writeSyntheticAtl06(granuleDir, { ...opts, reuse: true }));
  console.log(`${count} full-size granules ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const store = join(cache, "index-store");
  await rm(store, { recursive: true, force: true });
  const r = await index(files, { store, concurrency: Number(values.concurrency) });
  const data = r.bytesTotal;
  const storeBytes = await dirSize(store);
  const rows = [
    ["granules", String(files.length)],
    ["granules per second", (files.length / r.seconds).toFixed(2)],
    ["seconds", r.seconds.toFixed(2)],
    ["bytes read per granule", String(Math.round(r.bytesRead / files.length))],
    ["bytes read / file size", (r.bytesRead / data).toFixed(4)],
    ["bytes read / lat+lon+time chunk bytes", (r.bytesRead / r.bytesCoordinates).toFixed(3)],
    ["requests per granule", (r.requests / files.length).toFixed(0)],
    ["chunk rows", String(r.chunks)],
    ["store size / data size", (storeBytes / data).toFixed(5)],
    ["store bytes", String(storeBytes)],
    ["node", process.version],
  ];
  console.log(["| measure | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n"));
}

await main();
