/**
 * The store's part-file encode alone, on the rows of a real index run: the full-size synthetic
 * granules are indexed once (from local files, kept in .cache/bench/part-encode-store), their rows read
 * back from the part set and split by granule, then the part files are encoded again and again in this
 * process by the encoder of `--src` (default this checkout's src; e.g. an earlier one extracted with
 * `git archive`), two ways:
 *
 * - `whole`: `encodePartFiles` of the merged batch, as a commit without files encoded ahead;
 * - `ahead`: the schedule of an index run (`PartEncoderState`): each granule's rows taken in input
 *   order, groups encoded ahead between them until none is due, then `finish` of all inputs.
 *
 * Prints CPU milliseconds (process.cpuUsage, this thread and V8's helpers) of the first run of each
 * (cold code) and the median of the rest, by table for `whole`, the groups and rows `ahead` encoded,
 * and whether every file is byte for byte the file the index run wrote (sha256 against the manifest).
 *
 *   npx tsx bench/part-encode.ts [--src DIR] [--count 6] [--reps 30] [--only whole|ahead]
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { writeFullSizeGranules } from "../fixtures/atl06/generate.js";
import { indexGranules } from "../src/index-builder/index.js";
import { type Manifest, readManifest } from "../src/store/manifest.js";
import type * as Encoder from "../src/store/part-encoder.js";
import type * as Parts from "../src/store/parts.js";
import { readPartSet, type StoreBatch } from "../src/store/parts.js";

const { values } = parseArgs({
  options: {
    src: { type: "string", default: "src" },
    count: { type: "string", default: "6" },
    reps: { type: "string", default: "30" },
    only: { type: "string" },
  },
});
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");
const count = Number(values.count);
const reps = Number(values.reps);

const granuleDir = join(cache, "granules");
const files = await writeFullSizeGranules(granuleDir, count);
const store = join(cache, `part-encode-store-${count}`);
if (!existsSync(join(store, "manifest.json"))) await indexGranules(files, { store, concurrency: 4, jobs: 1 });
const manifest = (await readManifest(store)) as Manifest;
if (manifest.parts.length !== 1) throw new Error(`${store}: expected one part set`);
const part = manifest.parts[0]!;
const merged = await readPartSet(store, part, () => true);
// One batch per granule, in the order of the run's inputs.
const ids = files.map((f) => f.split("/").pop()!.replace(/\.h5$/, ""));
const inputs: StoreBatch[] = ids.map((id) => ({
  granules: merged.granules.filter((r) => r.granule_id === id),
  arrays: merged.arrays.filter((r) => r.granule_id === id),
  chunks: merged.chunks.filter((r) => r.granule_id === id),
  chunkCells: merged.chunkCells.filter((r) => r.chunk_id.startsWith(id)),
}));
const expected = new Set(Object.values(part.stats ?? {}).map((s) => s.sha256));

const srcDir = pathToFileURL(`${resolve(values.src)}/`);
const parts = (await import(new URL("store/parts.js", srcDir).href)) as typeof Parts;
const encoder = (await import(new URL("store/part-encoder.js", srcDir).href)) as typeof Encoder;
await parts.loadPartEncoding();
const batch = parts.mergeBatches(inputs);

const cpuMs = (f: () => void) => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const load = () => loadavg()[0]!.toFixed(1);
let same = true;
const check = (fs: readonly Parts.EncodedPartFile[]) => {
  if (fs.length !== expected.size || fs.some((f) => !expected.has(f.sha256))) same = false;
};

console.log(
  `${count} granules: ${batch.granules.length} granules rows, ${batch.arrays.length} arrays rows, ` +
    `${batch.chunks.length} chunks rows (${batch.chunks.reduce((n, c) => n + c.refs.length, 0)} refs), ` +
    `${batch.chunkCells.length} chunk_cells rows; src ${values.src}`,
);
if (values.only !== "ahead") {
  const byTable: Record<string, number[]> = {};
  const totals: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const out: Parts.EncodedPartFile[] = [];
    const times: Record<string, number> = {};
    const it = parts.encodePartFiles(batch);
    for (;;) {
      let next: IteratorResult<Parts.EncodedPartFile> | undefined;
      const ms = cpuMs(() => {
        next = it.next();
      });
      if (next!.done) break;
      out.push(next!.value);
      times[next!.value.table] = (times[next!.value.table] ?? 0) + ms;
    }
    check(out);
    const total = Object.values(times).reduce((a, b) => a + b, 0);
    if (r === 0) {
      console.log(`whole, first run: ${total.toFixed(1)} ms CPU (load ${load()})`);
      continue;
    }
    totals.push(total);
    for (const [t, ms] of Object.entries(times)) {
      byTable[t] ??= [];
      byTable[t].push(ms);
    }
  }
  const tables = Object.entries(byTable)
    .map(([t, ms]) => `${t} ${median(ms).toFixed(1)}`)
    .join(", ");
  console.log(`whole, median of ${reps}: ${median(totals).toFixed(1)} ms CPU (${tables}) (load ${load()})`);
}
if (values.only !== "whole") {
  const totals: number[] = [];
  let encodes = { groups: 0, rows: 0 };
  for (let r = 0; r <= reps; r++) {
    const state = new encoder.PartEncoderState();
    let out: Parts.EncodedPartFile[] = [];
    const ms = cpuMs(() => {
      inputs.forEach((b, i) => {
        state.add(i, b);
        while (state.encodeAhead());
      });
      out = state.finish(inputs.map((_, i) => i)).files;
    });
    check(out);
    encodes = state.encodes;
    if (r === 0) console.log(`ahead, first run: ${ms.toFixed(1)} ms CPU (load ${load()})`);
    else totals.push(ms);
  }
  console.log(
    `ahead, median of ${reps}: ${median(totals).toFixed(1)} ms CPU, ${encodes.groups} groups of ` +
      `${encodes.rows} rows encoded (load ${load()})`,
  );
}
console.log(same ? "every file as the index run wrote it (sha256)" : "FILES DIFFER from the index run's");
if (!same) process.exitCode = 1;
