/**
 * Result-writing benchmark: the Greenland query over subsetted-size synthetic ATL06 granules (20,000
 * segments per beam, ~12 MB, read from local files), its record batches kept in memory, then written
 * to GeoParquet several times. Reports the rows, the Arrow result's bytes per row, and per write the
 * wall time, the process CPU and the main thread's CPU (Linux /proc; a writer worker's CPU is the
 * difference).
 *
 *   npx tsx bench/writer.ts [--count 8] [--reps 3] [--dist] [--thread]
 *
 * `--dist` runs the compiled package (`npm run build`) instead of the TypeScript source, as the
 * command line does (a writer thread started from source loads its module through tsx); `--thread`
 * encodes on the writer thread (`thread: true`).
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Data, RecordBatch } from "apache-arrow";
import { ensureArchive } from "./lib/archive.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "8" },
    reps: { type: "string", default: "3" },
    dist: { type: "boolean", default: false },
    thread: { type: "boolean", default: false },
  },
});
const { index, openStore, writeGeoParquet } = (await import(
  values.dist ? "../dist/index.js" : "../src/index.js"
)) as typeof import("../src/index.js");
const root = fileURLToPath(new URL("..", import.meta.url));
const granuleDir = join(root, ".cache", "bench", "granules-20000");
const work = join(root, ".cache", "bench", "writer");

/** Bytes of the buffers of one Arrow column (a dictionary counted once per batch). */
function dataBytes(data: Data): number {
  let bytes = 0;
  for (const buffer of [data.values, data.valueOffsets, data.nullBitmap, data.typeIds]) {
    if (buffer) bytes += (buffer as ArrayBufferView).byteLength;
  }
  for (const child of data.children) bytes += dataBytes(child);
  for (const d of data.dictionary?.data ?? []) bytes += dataBytes(d);
  return bytes;
}

/** CPU seconds of the main thread (utime + stime of its /proc task entry). */
async function mainThreadCpu(): Promise<number> {
  const stat = await readFile(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function* replay(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  for (const batch of batches) yield batch;
}

async function main() {
  const files = await ensureArchive(granuleDir, {
    crossing: Number(values.count),
    far: 0,
    segmentsPerBeam: 20_000,
  });
  const store = join(work, "store");
  await rm(work, { recursive: true, force: true });
  await index(files, { store });
  const aoi = await readFile(join(root, "examples", "greenland.geojson"), "utf8");
  const s = await openStore(store);
  const batches: RecordBatch[] = [];
  for await (const batch of s.query({ aoi })) batches.push(batch);
  const rows = batches.reduce((n, b) => n + b.numRows, 0);
  const bytes = batches.reduce((n, b) => n + dataBytes(b.data), 0);
  console.log(`${files.length} granules, ${rows} rows in ${batches.length} batches`);
  console.log(`Arrow result: ${bytes} bytes, ${(bytes / rows).toFixed(1)} bytes per row`);
  const perColumn = batches[0]!.schema.fields.map((f, i) => {
    const b = batches.reduce((n, batch) => n + dataBytes(batch.data.children[i]!), 0);
    return `${f.name} ${(b / rows).toFixed(1)}`;
  });
  console.log(`bytes per row by column: ${perColumn.join(", ")}`);
  const out = join(work, "out.parquet");
  for (let rep = 0; rep <= Number(values.reps); rep++) {
    const cpu = process.cpuUsage();
    const main = await mainThreadCpu();
    const t = performance.now();
    await writeGeoParquet(replay(batches), out, { thread: values.thread });
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const mainUsed = (await mainThreadCpu()) - main;
    const { size } = await import("node:fs/promises").then((fs) => fs.stat(out));
    console.log(
      `${rep === 0 ? "first" : `rep ${rep}`}: wall ${(wall / 1000).toFixed(2)} s, CPU ${((used.user + used.system) / 1e6).toFixed(2)} s, main thread ${mainUsed.toFixed(2)} s, file ${size} bytes`,
    );
  }
}

await main();
