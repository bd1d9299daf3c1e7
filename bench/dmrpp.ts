/**
 * Index build with and without DMR++ sidecars, over the loopback range server: synthetic ATL06
 * granules (release-006 layout, generated once into .cache/bench/dmrpp), sidecars written by
 * fixtures/dmrpp/make_dmrpp.py (Python h5py), each granule indexed with `dmrpp: "off"` and
 * `dmrpp: "auto"`. Reports requests and bytes per granule, seconds, and whether the two stores hold
 * the same chunk rows.
 *
 *   npx tsx bench/dmrpp.ts [--count 2] [--segments 110000] [--latency 20] [--concurrency 2]
 */
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFullSizeGranules } from "../fixtures/atl06/generate.js";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { index } from "../src/index.js";
import { Store } from "../src/store/store.js";
import { writeSidecars } from "./lib/sidecars.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "2" },
    segments: { type: "string", default: "110000" },
    latency: { type: "string", default: "20" },
    concurrency: { type: "string", default: "2" },
  },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench", "dmrpp");

/** The granules and their sidecars, made once per size. */
async function granules(count: number, segments: number): Promise<string[]> {
  const files = await writeFullSizeGranules(join(cache, `granules-${segments}`), count, {
    segmentsPerBeam: segments,
  });
  await writeSidecars(files);
  return files;
}

async function main() {
  const count = Number(values.count);
  const files = await granules(count, Number(values.segments));
  const server = await startRangeServer({ root: join(files[0]!, ".."), latencyMs: Number(values.latency) });
  const urls = files.map((f) => new URL(basename(f), server.url).href);
  const rows: string[][] = [["mode", "requests/granule", "bytes/granule", "seconds", "server requests"]];
  const chunks: Record<string, string> = {};
  try {
    for (const mode of ["off", "auto"] as const) {
      const store = join(cache, `store-${mode}`);
      await rm(store, { recursive: true, force: true });
      server.resetStats();
      const r = await index(urls, { store, dmrpp: mode, concurrency: Number(values.concurrency) });
      rows.push([
        mode,
        (r.requests / count).toFixed(1),
        String(Math.round(r.bytesRead / count)),
        r.seconds.toFixed(2),
        String(server.stats.requests),
      ]);
      // Checksums apart: the HDF5 walk's metadata blocks happen to cover more whole chunks.
      const s = await Store.open(store);
      // In chunk_id order: granules indexed concurrently are stored in the order they finish.
      const described = (await s.chunks())
        .map(({ refs, ...c }) => ({ ...c, refs: refs.map(({ checksum: _k, ...ref }) => ref) }))
        .sort((x, y) => (x.chunk_id < y.chunk_id ? -1 : x.chunk_id > y.chunk_id ? 1 : 0));
      chunks[mode] = JSON.stringify(described, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    }
  } finally {
    await server.close();
  }
  console.log(`${count} granules of ${values.segments} segments per beam, ${values.latency} ms per request`);
  for (const row of rows) console.log(row.map((c) => c.padEnd(18)).join(""));
  console.log(`same chunk rows and refs: ${chunks.off === chunks.auto}`);
}

await main();
