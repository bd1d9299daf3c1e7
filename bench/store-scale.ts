/**
 * Store scale benchmark: a chunk index the size of a large share of the ATL06 archive, synthesised
 * without HDF5, and candidate selection on it for the Greenland AOI and a 5 km box, locally and over
 * the loopback range server with 20 ms per request: time, requests, bytes of the store read, store
 * size per granule.
 *
 *   npm run bench -- --store-scale [--pool 1387] [--cycles 4] [--latency 20] [--rebuild]
 *
 * The archive repeats ~19 400 distinct granules (1387 reference ground tracks x 14 regions) every
 * 91-day cycle, so the store is built the same way: a pool of distinct tracks (`--pool` of them,
 * spread over the globe as the RGTs are), each with its H3 cells computed once, repeated over
 * `--cycles` cycles (three months apart, one commit per cycle). Built once into .cache/bench/ and
 * reused.
 */
import { existsSync } from "node:fs";
import { readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { bboxOf, footprintError, footprintOf } from "../src/index-builder/geometry.js";
import { antimeridianRuns } from "../src/index-builder/granule.js";
import { parseAoi } from "../src/query/aoi.js";
import { trackCells } from "../src/store/h3.js";
import { openLocalStoreReader } from "../src/store/local-reader.js";
import type { StoreBatch } from "../src/store/parts.js";
import type { StoreReader } from "../src/store/reader.js";
import { openRemoteStore } from "../src/store/remote.js";
import type { ChunkRow } from "../src/store/schema.js";
import { selectChunksParquet } from "../src/store/select-parquet.js";
import { Store } from "../src/store/store.js";
import { machineInfo } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    "store-scale": { type: "boolean", default: true },
    pool: { type: "string", default: "1387" },
    cycles: { type: "string", default: "4" },
    latency: { type: "string", default: "20" },
    rebuild: { type: "boolean", default: false },
    out: { type: "string" },
  },
  allowPositionals: false,
});
const POOL = Number(values.pool);
const CYCLES = Number(values.cycles);
const LATENCY = Number(values.latency);
const root = fileURLToPath(new URL("..", import.meta.url));
const storeDir = join(root, ".cache", "bench", `store-scale-${POOL}x${CYCLES}`);

const DEG = Math.PI / 180;
const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
/** 14 chunks of 200 km per beam: a 1/14-orbit granule, as the real ones. */
const CHUNKS = 14;
const POINTS = 100;
const VARS = [
  "latitude",
  "longitude",
  "delta_time",
  "h_li",
  "h_li_sigma",
  "atl06_quality_summary",
  "segment_id",
];

/**
 * The rows of one distinct track (pool entry `p`): the 1387 RGTs' ascending nodes evenly round the
 * globe, the first 1387 entries in the region crossing Greenland's latitudes (from 54 N), the next
 * ones in the following regions of the orbit; so the tracks near the AOIs are as dense as the
 * archive's.
 */
function poolTrack(p: number): Omit<ChunkRow, "granule_id" | "chunk_id" | "time_start" | "time_end">[] {
  const rgt = p % 1387;
  const region = Math.floor(p / 1387) % 14;
  const node = -180 + (rgt * 360) / 1387;
  const u0 = 0.95 + (region * 2 * Math.PI) / 14;
  const rows: Omit<ChunkRow, "granule_id" | "chunk_id" | "time_start" | "time_end">[] = [];
  const n = POINTS * CHUNKS;
  const du = 200 / 6371 / POINTS;
  for (const [b, beam] of BEAMS.entries()) {
    const lon = new Float64Array(n);
    const lat = new Float64Array(n);
    const inc = 92 * DEG;
    const offsetKm = (b >> 1) * 3.3 + (b & 1) * 0.09;
    for (let i = 0; i < n; i++) {
      const u = u0 + i * du;
      lat[i] = Math.asin(Math.sin(u) * Math.sin(inc)) / DEG;
      const l =
        node +
        Math.atan2(Math.sin(u) * Math.cos(inc), Math.cos(u)) / DEG +
        offsetKm / 111 / Math.max(0.1, Math.cos(lat[i]! * DEG));
      lon[i] = ((((l + 180) % 360) + 360) % 360) - 180;
    }
    for (let c = 0; c < CHUNKS; c++) {
      for (const [s, e] of antimeridianRuns(lon, c * POINTS, (c + 1) * POINTS)) {
        const row_start = c * 10000 + (s - c * POINTS) * 100;
        rows.push({
          beam,
          beam_kind: b % 2 === 0 ? "strong" : "weak",
          row_start,
          row_count: (e - s) * 100,
          parent_start: null,
          parent_count: null,
          bbox: bboxOf(lon, lat, s, e),
          geometry: footprintOf(lon, lat, s, e),
          footprint_error: footprintError(lon, lat, s, e),
          h3_cells: trackCells(lon, lat, s, e, 6),
          refs: VARS.map((v, i) => ({
            path: `/${beam}/land_ice_segments/${v}`,
            chunk_start: c * 10000,
            col_start: 0,
            offset: 1e6 + c * 1e5 + i * 1e4 + b * 2e6,
            size: 9000 + ((row_start + i) % 4000),
            filter_mask: 0,
          })),
        });
      }
    }
  }
  return rows;
}

const CYCLE_NS = 91n * 86_400n * 10n ** 9n;
const START_NS = 1_546_300_800n * 10n ** 9n; // 2019-01-01

/** The part set of one cycle: every pool track as a granule of that cycle. */
function cycleBatch(pool: ReturnType<typeof poolTrack>[], cycle: number): StoreBatch {
  const batch: StoreBatch = { granules: [], arrays: [], chunks: [], chunkCells: [] };
  for (const [p, rows] of pool.entries()) {
    const id = `ATL06_C${String(cycle).padStart(2, "0")}_P${String(p).padStart(6, "0")}`;
    const t0 = START_NS + BigInt(cycle) * CYCLE_NS + BigInt(p) * 400_000_000_000n;
    let bbox = { xmin: 180, ymin: 90, xmax: -180, ymax: -90 };
    for (const r of rows) {
      const chunk_id = `${id}/${r.beam}/${r.row_start}`;
      const k = BigInt(r.row_start) * 2_857_000n;
      batch.chunks.push({
        ...r,
        chunk_id,
        granule_id: id,
        time_start: t0 + k,
        time_end: t0 + k + 28_570_000_000n,
      });
      for (const h3_cell of r.h3_cells) batch.chunkCells.push({ h3_cell, chunk_id });
      bbox = {
        xmin: Math.min(bbox.xmin, r.bbox.xmin),
        ymin: Math.min(bbox.ymin, r.bbox.ymin),
        xmax: Math.max(bbox.xmax, r.bbox.xmax),
        ymax: Math.max(bbox.ymax, r.bbox.ymax),
      };
    }
    batch.granules.push({
      granule_id: id,
      url: `s3://archive/ATL06/006/${id}.h5`,
      size: 5e7,
      etag: `"${p.toString(16)}-${cycle}"`,
      mtime: null,
      product: "ATL06",
      release: "006",
      orbit: null,
      track: (p % 1387) + 1,
      cycle,
      region: Math.floor(p / 1387) % 14,
      attrs: { sc_orient: cycle % 2 },
      time_start: t0,
      time_end: t0 + 40n * 10n ** 12n,
      bbox,
      geometry: new Uint8Array(),
    });
    for (const beam of BEAMS)
      for (const v of VARS)
        batch.arrays.push({
          granule_id: id,
          path: `/${beam}/land_ice_segments/${v}`,
          dtype: v === "atl06_quality_summary" ? "|i1" : v === "segment_id" ? "<i4" : "<f8",
          shape: [140000],
          chunk_shape: [10000],
          filters: '[{"id":2,"name":"shuffle","params":[8]},{"id":1,"name":"deflate","params":[6]}]',
          fill_value: "3.4028234663852886e+38",
          attrs: '{"units":"meters"}',
        });
  }
  return batch;
}

async function build(): Promise<number> {
  if (values.rebuild) await rm(storeDir, { recursive: true, force: true });
  if (existsSync(join(storeDir, "manifest.json"))) return 0;
  const t0 = performance.now();
  const pool = Array.from({ length: POOL }, (_, p) => poolTrack(p));
  console.log(`pool of ${POOL} tracks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const store = await Store.open(storeDir, { create: true });
  for (let c = 0; c < CYCLES; c++) {
    await store.commit(cycleBatch(pool, c + 1));
    console.log(`cycle ${c + 1}/${CYCLES} committed at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return (performance.now() - t0) / 1000;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, String(f)));
    if (s.isFile()) total += s.size;
  }
  return total;
}

/** Times one selection (median of `reps`), with the requests and bytes of the last run. */
async function measure(
  open: () => Promise<{ reader: StoreReader; counters: () => { requests: number; bytes: number } }>,
  aoi: string,
  reps: number,
) {
  const parsed = parseAoi(aoi);
  const times: number[] = [];
  let last = { candidates: 0, method: "", requests: 0, bytes: 0 };
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const { reader, counters } = await open();
    const r = await selectChunksParquet(reader, {
      bboxes: parsed.polygons.map((p) => p.bbox),
      polygons: parsed.polygons.map((p) => p.rings),
      product: "ATL06",
    });
    times.push(performance.now() - t);
    last = { candidates: r.chunks.length, method: r.method, ...counters() };
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, ...last };
}

/** Counts local reads by wrapping the reader's part buffers. */
function countedLocal(reader: StoreReader) {
  const counts = { requests: 0, bytes: 0 };
  const counted: StoreReader = {
    ...reader,
    products: () => reader.products(),
    async openParts(paths, opts) {
      const parts = await reader.openParts(paths, opts);
      // The footer read of each part (one request of at most 64 KiB, made while opening it).
      for (const p of parts) {
        counts.requests++;
        counts.bytes += Math.min(64 * 1024, p.buffer.byteLength);
      }
      return parts.map((p) => {
        const slice = p.buffer.slice.bind(p.buffer);
        const prefetch = p.buffer.prefetch.bind(p.buffer);
        return {
          ...p,
          buffer: {
            byteLength: p.buffer.byteLength,
            slice,
            async prefetch(ranges, o) {
              for (const [s, e] of ranges) {
                counts.requests++;
                counts.bytes += e - s;
              }
              return prefetch(ranges, o);
            },
          },
        };
      });
    },
  };
  return { reader: counted, counters: () => counts };
}

async function main() {
  const built = await build();
  const granules = POOL * CYCLES;
  const bytes = await sizeOf(storeDir);
  const reader = await openLocalStoreReader(storeDir);
  const chunkRows = reader.manifest.parts.reduce(
    (s, p) =>
      s +
      Object.entries(p.stats ?? {})
        .filter(([f]) => f.startsWith("chunks/"))
        .reduce((a, [, v]) => a + v.rows, 0),
    0,
  );
  const greenland = JSON.stringify(
    JSON.parse(
      await (await import("node:fs/promises")).readFile(join(root, "examples", "greenland.geojson"), "utf8"),
    ),
  );
  const aois: [string, string][] = [
    ["Greenland AOI (40 km box)", greenland],
    ["5 km box", "-45.03,62.79,-44.93,62.83"],
  ];
  const server = await startRangeServer({ root: storeDir, latencyMs: LATENCY });
  const lines = [
    `# Store scale: candidate selection on a ${granules}-granule ATL06 chunk index`,
    "",
    `Built by \`npm run bench -- --store-scale --pool ${POOL} --cycles ${CYCLES}\` (${built > 0 ? `built in ${built.toFixed(0)} s` : "reused from .cache/bench"}).`,
    `Store: ${granules} granules (${POOL} distinct tracks x ${CYCLES} cycles), ${chunkRows} chunk rows, ` +
      `${(bytes / 1e6).toFixed(1)} MB: ${(bytes / granules / 1024).toFixed(1)} KiB per granule ` +
      `(${(((bytes / granules) * 500_000) / 1e9).toFixed(1)} GB at 500 000 granules).`,
    "",
    "| AOI | where | selection | candidates | ms (median) | requests | bytes read | % of store |",
    "|---|---|---|---|---|---|---|---|",
  ];
  try {
    for (const [name, aoi] of aois) {
      const local = await measure(async () => countedLocal(await openLocalStoreReader(storeDir)), aoi, 5);
      const remote = await measure(
        async () => {
          server.resetStats();
          const store = await openRemoteStore(`${server.url.replace(/\/$/, "")}`);
          return {
            reader: store,
            counters: () => ({ requests: server.stats.requests, bytes: server.stats.bytes }),
          };
        },
        aoi,
        3,
      );
      for (const [where, m] of [
        ["local", local],
        [`HTTP, ${LATENCY} ms`, remote],
      ] as const) {
        lines.push(
          `| ${name} | ${where} | ${m.method} | ${m.candidates} | ${m.ms.toFixed(0)} | ${m.requests} | ${m.bytes} | ${((100 * m.bytes) / bytes).toFixed(2)} |`,
        );
      }
    }
  } finally {
    await server.close();
  }
  const m = machineInfo();
  lines.push(
    "",
    `Local requests are coalesced reads of the part files (footers included); over HTTP, every request the server saw (manifest, one probe per part, ranges), no disk cache.`,
    `Machine: ${m.cpus} x ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load average ${m.loadAverage.join(" ")} (shared with other work).`,
  );
  const text = `${lines.join("\n")}\n`;
  console.log(text);
  if (values.out) await writeFile(values.out, text);
}

await main();
