/**
 * A year of daily appends through the store's own commit path, and what a selection reads of it:
 * the store that `chunks` files tiled by partition size (parts.ts `chunkTileLevel`) give against
 * another build's (e.g. the earlier `dist` copied to .cache/before/dist).
 *
 *   npx tsx bench/daily-tiles.ts build --dist DIST --store DIR [--days 365] [--granules 213] [--floor N]
 *   npx tsx bench/daily-tiles.ts compact --dist DIST --store DIR
 *   npx tsx bench/daily-tiles.ts measure --store DIR [--latency 20] [--reps 3]
 *
 * `build` commits `--days` batches of `--granules` synthetic granules (fixtures/index/synthetic-index.ts:
 * half over southern Greenland, the rest anywhere; about 18 000 chunk rows a day at 213), one a day
 * from 2023-01-01, with the `Store` of the build in DIST (`--floor` sets its `chunkTileMinRows`).
 * `compact` compacts the store with that build. `measure` prints the manifest's bytes, the store's
 * files and bytes, and for the Greenland AOI and a 5 km box the TypeScript selection's CPU time,
 * requests and bytes read locally and through the loopback range server with `--latency` ms per
 * request (median CPU of `--reps` runs, counts of the last), with a digest of the candidates.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { seededRandom, syntheticBatch } from "../fixtures/index/synthetic-index.js";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { parseAoi } from "../src/query/aoi.js";
import { openLocalStoreReader } from "../src/store/local-reader.js";
import type { StoreBatch } from "../src/store/parts.js";
import type { StoreReader } from "../src/store/reader.js";
import { openRemoteStore } from "../src/store/remote.js";
import { selectChunksParquet } from "../src/store/select-parquet.js";
import { aoiSelection } from "../src/store/selection.js";
import { countedLocal } from "./lib/counted-reader.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dist: { type: "string", default: "dist" },
    store: { type: "string" },
    days: { type: "string", default: "365" },
    granules: { type: "string", default: "213" },
    floor: { type: "string" },
    latency: { type: "string", default: "20" },
    reps: { type: "string", default: "3" },
  },
});
const mode = positionals[0];
if (!values.store) throw new Error("--store DIR is required");
const storeDir = resolve(values.store);
const root = fileURLToPath(new URL("..", import.meta.url));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

/** The `Store` class of a compiled build. */
async function storeClass(dist: string) {
  const mod = await import(pathToFileURL(join(resolve(dist), "store", "store.js")).href);
  return mod.Store as typeof import("../src/store/store.js").Store;
}

/** Pool of synthetic granules the days draw from (two days' worth, so days differ). */
function pool(size: number): StoreBatch[] {
  const random = seededRandom(20231);
  return Array.from({ length: size }, (_, g) => syntheticBatch(g, random, { cycle: 1 }));
}

/** Granule `i` of day `d`: a pool granule under a new id, its times on that day. */
function dayGranule(from: StoreBatch, d: number, i: number, perDay: number): StoreBatch {
  const old = from.granules[0]!.granule_id;
  const id = `D${String(d).padStart(3, "0")}-${String(i).padStart(3, "0")}`;
  const t0 =
    BigInt(Date.UTC(2023, 0, 1) + d * 86_400_000 + Math.floor((i * 86_400_000) / perDay)) * 1_000_000n;
  const rename = (s: string) => id + s.slice(old.length);
  return {
    granules: from.granules.map((g) => ({
      ...g,
      granule_id: id,
      url: `file:///archive/${id}.h5`,
      time_start: t0,
      time_end: t0 + 400_000_000_000n,
    })),
    arrays: from.arrays.map((a) => ({ ...a, granule_id: id })),
    chunks: from.chunks.map((c, k) => ({
      ...c,
      chunk_id: rename(c.chunk_id),
      granule_id: id,
      time_start: t0 + BigInt(k) * 1_000_000_000n,
      time_end: t0 + BigInt(k + 1) * 1_000_000_000n,
    })),
    chunkCells: from.chunkCells.map((c) => ({ ...c, chunk_id: rename(c.chunk_id) })),
  };
}

async function build(): Promise<void> {
  const Store = await storeClass(values.dist!);
  const days = Number(values.days);
  const perDay = Number(values.granules);
  let c = process.cpuUsage();
  const granules = pool(perDay * 2);
  console.log(`pool of ${granules.length} granules: ${cpuMs(process.cpuUsage(c)).toFixed(0)} ms CPU`);
  const floor = values.floor === undefined ? undefined : Number(values.floor);
  const store = await Store.open(storeDir, { create: true, chunkTileMinRows: floor });
  c = process.cpuUsage();
  const t = performance.now();
  let rows = 0;
  for (let d = 0; d < days; d++) {
    const day = Array.from({ length: perDay }, (_, i) =>
      dayGranule(granules[(d * perDay + i) % granules.length]!, d, i, perDay),
    );
    const batch: StoreBatch = {
      granules: day.flatMap((b) => b.granules),
      arrays: day.flatMap((b) => b.arrays),
      chunks: day.flatMap((b) => b.chunks),
      chunkCells: day.flatMap((b) => b.chunkCells),
    };
    rows += batch.chunks.length;
    await store.commit(batch);
    if ((d + 1) % 30 === 0) console.log(`day ${d + 1}: ${rows} chunk rows, load ${load()}`);
  }
  console.log(
    `${days} commits of ${perDay} granules (${rows} chunk rows): ${cpuMs(process.cpuUsage(c)).toFixed(0)} ms CPU, ` +
      `${(performance.now() - t).toFixed(0)} ms wall, load ${load()}`,
  );
}

async function compact(): Promise<void> {
  const Store = await storeClass(values.dist!);
  const store = await Store.open(storeDir);
  const c = process.cpuUsage();
  const r = await store.compact({ vacuum: true });
  console.log(
    `compact: ${JSON.stringify(r)}, ${cpuMs(process.cpuUsage(c)).toFixed(0)} ms CPU, load ${load()}`,
  );
}

/** Files and bytes under a folder, by top folder. */
async function files(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    count++;
    bytes += (await stat(join(e.parentPath, e.name))).size;
  }
  return { count, bytes };
}

async function select(
  open: () => Promise<{ reader: StoreReader; counters: () => { requests: number; bytes: number } }>,
  aoi: string,
  reps: number,
) {
  const parsed = parseAoi(aoi);
  const cpu: number[] = [];
  const wall: number[] = [];
  let last = { candidates: 0, digest: "", requests: 0, bytes: 0, files: 0 };
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const { reader, counters } = await open();
    const r = await selectChunksParquet(reader, {
      ...aoiSelection(parsed),
      product: "ATL06",
    });
    cpu.push(cpuMs(process.cpuUsage(c)));
    wall.push(performance.now() - t);
    const ids = r.chunks.map((x) => x.chunk_id).sort();
    last = {
      candidates: ids.length,
      digest: createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 12),
      files: new Set(r.chunks.map((x) => x.granule_id)).size,
      ...counters(),
    };
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return { cpuMs: med(cpu), ms: med(wall), ...last };
}

async function measure(): Promise<void> {
  const manifest = await readFile(join(storeDir, "manifest.json"));
  const m = JSON.parse(manifest.toString()) as { parts: { files: Record<string, string[]> }[] };
  const chunkFiles = m.parts.reduce((n, p) => n + p.files.chunks!.length, 0);
  const all = await files(storeDir);
  console.log(
    `store: manifest ${manifest.length} bytes, ${m.parts.length} part sets, ${chunkFiles} chunks files, ` +
      `${all.count} files, ${all.bytes} bytes; load ${load()}`,
  );
  const reps = Number(values.reps);
  const latency = Number(values.latency);
  const server = await startRangeServer({ root: storeDir, latencyMs: latency });
  const aois: [string, string][] = [
    [
      "Greenland AOI",
      JSON.stringify(JSON.parse(await readFile(join(root, "examples", "greenland.geojson"), "utf8"))),
    ],
    ["5 km box", "-45.03,62.79,-44.93,62.83"],
  ];
  console.log("| AOI | where | candidates (digest) | granules | CPU ms | wall ms | requests | bytes read |");
  console.log("|---|---|---|---|---|---|---|---|");
  try {
    for (const [name, aoi] of aois) {
      const local = await select(
        async () => countedLocal(await openLocalStoreReader(storeDir), manifest.length),
        aoi,
        reps,
      );
      const remote = await select(
        async () => {
          server.resetStats();
          const reader = await openRemoteStore(server.url.replace(/\/$/, ""));
          return { reader, counters: () => ({ requests: server.stats.requests, bytes: server.stats.bytes }) };
        },
        aoi,
        reps,
      );
      for (const [where, r] of [
        ["local", local],
        [`HTTP ${latency} ms`, remote],
      ] as const)
        console.log(
          `| ${name} | ${where} | ${r.candidates} (${r.digest}) | ${r.files} | ${r.cpuMs.toFixed(0)} | ${r.ms.toFixed(0)} | ${r.requests} | ${r.bytes} |`,
        );
    }
  } finally {
    await server.close();
  }
  console.log(`load ${load()}`);
}

if (mode === "build") await build();
else if (mode === "compact") await compact();
else if (mode === "measure") await measure();
else throw new Error("mode: build, compact or measure");
