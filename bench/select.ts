/**
 * Index selection benchmark: bbox row-group pruning versus the AOI's H3 cover against
 * `chunk_cells`, on a large synthetic store (no HDF5 involved: chunk rows from simulated
 * ICESat-2 ground tracks). Reports chunks selected and milliseconds per method and AOI.
 *
 *   npx tsx bench/select.ts [--granules 600]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { seededRandom, syntheticBatch } from "../fixtures/index/synthetic-index.js";
import { parseAoi } from "../src/query/aoi.js";
import { mergeBatches } from "../src/store/parts.js";
import { type SelectionMethod, selectChunks } from "../src/store/select.js";
import { aoiSelection } from "../src/store/selection.js";
import { Store } from "../src/store/store.js";

const { values } = parseArgs({ options: { granules: { type: "string", default: "600" } } });
const GRANULES = Number(values.granules);
async function main() {
  const dir = await mkdtemp(join(tmpdir(), "geochunks-select-"));
  const random = seededRandom(42);
  try {
    const t0 = performance.now();
    const store = await Store.open(dir, { create: true });
    const batches = Array.from({ length: GRANULES }, (_, g) => syntheticBatch(g, random));
    await store.commit(mergeBatches(batches));
    const chunkCount = batches.reduce((s, b) => s + b.chunks.length, 0);
    console.log(
      `store: ${GRANULES} granules, ${chunkCount} chunks, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const aois: [string, string][] = [
      ["greenland (40 km box)", "-45.38,62.63,-44.62,62.98"],
      ["small (5 km box)", "-45.05,62.78,-44.95,62.83"],
      ["diagonal strip", "POLYGON ((-50 60, -49 60, -40 66, -41 66, -50 60))"],
      ["large (600 km box)", "-50,60,-38,66"],
    ];
    const rows: string[] = ["| AOI | method | chunks selected | ms (median of 5) |", "|---|---|---|---|"];
    for (const [name, text] of aois) {
      const aoi = parseAoi(text);
      for (const method of ["bbox", "h3"] as SelectionMethod[]) {
        const times: number[] = [];
        let selected = 0;
        for (let i = 0; i < 5; i++) {
          const s = performance.now();
          const r = await selectChunks(store, {
            ...aoiSelection(aoi),
            method,
          });
          times.push(performance.now() - s);
          selected = r.chunks.length;
        }
        times.sort((a, b) => a - b);
        rows.push(`| ${name} | ${method} | ${selected} | ${times[2]!.toFixed(0)} |`);
      }
    }
    console.log(rows.join("\n"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
