/**
 * Coalescing-gap benchmark: the Greenland query over full-size synthetic granules served by the
 * loopback range server with injected per-request latency, for several `maxGap` values. Reports
 * wall time (median of 3), requests, bytes read and bytes_read / bytes_minimal.
 *
 *   npx tsx bench/query-gap.ts [--latency 20] [--count 4]
 */
import { readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFullSizeGranules } from "../fixtures/atl06/generate.js";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { index, openStore } from "../src/index.js";

const { values } = parseArgs({
  options: { latency: { type: "string", default: "20" }, count: { type: "string", default: "4" } },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const granuleDir = join(root, ".cache", "bench", "granules");

async function main() {
  const files = await writeFullSizeGranules(granuleDir, Number(values.count));
  const server = await startRangeServer({ root: granuleDir, latencyMs: Number(values.latency) });
  const store = join(root, ".cache", "bench", "gap-store");
  await rm(store, { recursive: true, force: true });
  try {
    await index(
      files.map((f) => new URL(basename(f), server.url).href),
      { store },
    );
    const aoi = await readFile(join(root, "examples", "greenland.geojson"), "utf8");
    const s = await openStore(store);
    const rows = [
      "| maxGap | ms (median of 3) | requests | bytes_read | bytes_read / bytes_minimal | rows |",
      "|---|---|---|---|---|---|",
    ];
    for await (const _ of s.query({ aoi })) {
      // warm-up: first connections, code paths
    }
    for (const maxGap of [0, 4096, 16384, 65536, 262144, 1048576]) {
      const times: number[] = [];
      let last: Record<string, number> = {};
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const result = s.query({ aoi, maxGap });
        for await (const _ of result) {
          // drain
        }
        times.push(performance.now() - t);
        last = result.stats as unknown as Record<string, number>;
      }
      times.sort((a, b) => a - b);
      rows.push(
        `| ${maxGap} | ${times[1]!.toFixed(0)} | ${last.requests} | ${last.bytes_read} | ${(last.bytes_read! / last.bytes_minimal!).toFixed(3)} | ${last.rows} |`,
      );
    }
    console.log(`latency ${values.latency} ms, ${files.length} full-size granules over loopback HTTP`);
    console.log(rows.join("\n"));
  } finally {
    await server.close();
  }
}

await main();
