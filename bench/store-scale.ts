/**
 * Store scale benchmark: a chunk index built the way the ATL06 archive's would be, synthesised
 * without HDF5, and candidate selection on it for the Greenland AOI and a 5 km box, locally and over
 * the loopback range server with 20 ms per request: wall and CPU time, requests, bytes of the store
 * read, store size per granule, at several store sizes (a measured curve).
 *
 *   npm run bench -- --store-scale [--pool 4161] [--cycles 3] [--measure-at 1,2,3] [--latency 20]
 *                                  [--reps 3] [--out FILE]
 *
 * The default pool is the 4161 granules of the three regions (of 14) that reach the AOIs'
 * latitudes, so the store is as dense as the archive near the AOIs at a quarter of its size per
 * cycle; `--pool 19418` builds whole cycles (about 26 ms of CPU per granule to write).
 *
 * The archive repeats 19 418 distinct granules (1387 reference ground tracks x 14 regions) every
 * 91-day cycle; release 006 holds about 26 cycles (500 000 granules). The store is built the same
 * way: a pool of `--pool` distinct tracks, each beam's chunk rows computed once (bbox, a 64-vertex
 * footprint as the indexer writes, H3 cells, refs), repeated over `--cycles` cycles with each
 * cycle's granule ids and times, one part set per cycle written in bulk with the store's own layout
 * (parts.ts: partitions, Hilbert tiles, row groups, the manifest's file summaries); the `chunk_cells`
 * files are built from typed arrays rather than row objects. Selection is measured after each cycle
 * listed in `--measure-at`, so one build gives the curve. Built into .cache/bench/ (removed first).
 *
 * H3 cells: rows whose bbox meets {@link EXACT_CELLS_BOX} (around both AOIs) get their own cells,
 * from the track sampled every 2 km; every other row carries the cells of the same region, beam and
 * chunk of RGT 1 (same count and spread, so the same bytes, but not its own place: those rows are
 * never candidates of these AOIs, whose bbox test they fail, and a query elsewhere would get wrong
 * H3 answers from this store). Computing every row's own cells costs about 2 ms a row (1.6 M rows a
 * cycle), which would make the build hours again.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Table as ArrowTable, makeData, makeVector, Utf8 } from "apache-arrow";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { bboxOf, footprintError } from "../src/index-builder/geometry.js";
import { antimeridianRuns } from "../src/index-builder/granule.js";
import { parseAoi } from "../src/query/aoi.js";
import type { Bbox } from "../src/store/geo.js";
import { trackCells } from "../src/store/h3.js";
import { openLocalStoreReader } from "../src/store/local-reader.js";
import {
  emptyManifest,
  type Manifest,
  newPartId,
  type PartFileStats,
  type PartSet,
  writeManifest,
} from "../src/store/manifest.js";
import { tableToParquet } from "../src/store/parquet.js";
import {
  arraysParquet,
  CELLS_ROW_GROUP_SIZE,
  chunkFileName,
  chunkFileSummary,
  chunksParquet,
  chunkTiles,
  granulesParquet,
  partitionOf,
} from "../src/store/parts.js";
import type { StoreReader } from "../src/store/reader.js";
import { openRemoteStore } from "../src/store/remote.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "../src/store/schema.js";
import { selectChunksParquet } from "../src/store/select-parquet.js";
import { wkbLineString } from "../src/store/wkb.js";
import { machineInfo } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    "store-scale": { type: "boolean", default: true },
    pool: { type: "string", default: "4161" },
    cycles: { type: "string", default: "3" },
    "measure-at": { type: "string" },
    latency: { type: "string", default: "20" },
    reps: { type: "string", default: "3" },
    out: { type: "string" },
  },
  allowPositionals: false,
});
const POOL = Number(values.pool);
const CYCLES = Number(values.cycles);
const MEASURE_AT = (values["measure-at"] ?? "1,2,3").split(",").map(Number);
const LATENCY = Number(values.latency);
const REPS = Number(values.reps);
const root = fileURLToPath(new URL("..", import.meta.url));
const storeDir = join(root, ".cache", "bench", `store-scale-${POOL}`);

const DEG = Math.PI / 180;
const RGTS = 1387;
const REGIONS = 14;
const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
/** 14 chunk rows of 200 km per beam: a 1/14-orbit granule, as the real ones. */
const CHUNKS = 14;
/** Footprint vertices per chunk row: the indexer's FOOTPRINT_MAX_VERTICES. */
const VERTICES = 64;
/** Track samples per chunk row for the exact H3 cells (2 km apart). */
const CELL_SAMPLES = 100;
/** Rows whose bbox meets this box (lon/lat degrees) get their own H3 cells; see the file comment. */
const EXACT_CELLS_BOX: [number, number, number, number] = [-50, 60, -40, 66];
const VARS = [
  "latitude",
  "longitude",
  "delta_time",
  "h_li",
  "h_li_sigma",
  "atl06_quality_summary",
  "segment_id",
];
const H3_RESOLUTION = 6;

type PoolRow = Omit<ChunkRow, "granule_id" | "chunk_id" | "time_start" | "time_end">;

/** Points of beam `b` of pool track `p` along its orbit, `n` per chunk row, from chunk `c0` to `c1`. */
function trackPoints(p: number, b: number, n: number, c0: number, c1: number) {
  const rgt = p % RGTS;
  const region = Math.floor(p / RGTS) % REGIONS;
  const node = -180 + (rgt * 360) / RGTS;
  const u0 = 0.95 + (region * 2 * Math.PI) / REGIONS;
  const count = n * (c1 - c0);
  const lon = new Float64Array(count);
  const lat = new Float64Array(count);
  const inc = 92 * DEG;
  const offsetKm = (b >> 1) * 3.3 + (b & 1) * 0.09;
  const du = 200 / 6371 / n;
  for (let i = 0; i < count; i++) {
    const u = u0 + (c0 * n + i) * du;
    lat[i] = Math.asin(Math.sin(u) * Math.sin(inc)) / DEG;
    const l =
      node +
      Math.atan2(Math.sin(u) * Math.cos(inc), Math.cos(u)) / DEG +
      offsetKm / 111 / Math.max(0.1, Math.cos(lat[i]! * DEG));
    lon[i] = ((((l + 180) % 360) + 360) % 360) - 180;
  }
  return { lon, lat };
}

const meets = (b: Bbox, [x0, y0, x1, y1]: [number, number, number, number]) =>
  b.xmin <= x1 && b.xmax >= x0 && b.ymin <= y1 && b.ymax >= y0;

/** Cells of RGT 1's rows by (region, beam, chunk, run), the donors of rows away from the AOIs. */
const donors = new Map<string, bigint[]>();

/** The chunk rows of pool track `p`: 6 beams x 14 chunk rows, split at the antimeridian. */
function poolTrack(p: number): PoolRow[] {
  const rows: PoolRow[] = [];
  const region = Math.floor(p / RGTS) % REGIONS;
  for (const [b, beam] of BEAMS.entries()) {
    // One more vertex than segments, so each chunk row's footprint ends where the next begins.
    const v = trackPoints(p, b, VERTICES - 1, 0, CHUNKS);
    for (let c = 0; c < CHUNKS; c++) {
      const first = c * (VERTICES - 1);
      const last = Math.min(v.lon.length, first + VERTICES);
      for (const [k, [s, e]] of antimeridianRuns(v.lon, first, last).entries()) {
        const bbox = bboxOf(v.lon, v.lat, s, e);
        const xy: number[] = [];
        for (let i = s; i < e; i++) xy.push(v.lon[i]!, v.lat[i]!);
        if (xy.length === 2) xy.push(xy[0]!, xy[1]!);
        const key = `${region}/${b}/${c}/${k}`;
        let cells = donors.get(key);
        if (!cells || meets(bbox, EXACT_CELLS_BOX)) {
          const t = trackPoints(p, b, CELL_SAMPLES, c, c + 1);
          cells = trackCells(t.lon, t.lat, 0, CELL_SAMPLES, H3_RESOLUTION);
          if (!donors.has(key)) donors.set(key, cells);
        }
        const row_start = c * 10000 + Math.round(((s - first) * 10000) / (VERTICES - 1));
        rows.push({
          beam,
          beam_kind: b % 2 === 0 ? "strong" : "weak",
          row_start,
          row_count: Math.max(1, Math.round(((e - s) * 10000) / (VERTICES - 1))),
          parent_start: null,
          parent_count: null,
          bbox,
          geometry: wkbLineString(xy),
          footprint_error: footprintError(v.lon, v.lat, s, e),
          h3_cells: cells,
          refs: VARS.map((name, i) => ({
            path: `/${beam}/land_ice_segments/${name}`,
            chunk_start: c * 10000,
            col_start: 0,
            offset: 1e6 + c * 1e5 + i * 1e4 + b * 2e6,
            size: 9000 + ((row_start + i) % 4000),
            filter_mask: 0,
            // The indexer records checksums of the coordinate chunks it reads.
            checksum: i < 3 ? (p * 7919 + c * 131 + i) >>> 0 : null,
          })),
        });
      }
    }
  }
  return rows;
}

const CYCLE_NS = 91n * 86_400n * 10n ** 9n;
const START_NS = 1_538_352_000n * 10n ** 9n; // 2018-10-01, the first ATL06 cycle's start
const GRANULE_NS = (CYCLE_NS * 1000n) / BigInt(RGTS * REGIONS) / 1000n;

/** The granule id of pool track `p` in `cycle`, in the producer's form (ATL06_<start>_<rgt><cycle><region>_006_01). */
function granuleId(p: number, cycle: number, t0: bigint): string {
  const iso = new Date(Number(t0 / 1_000_000n)).toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const rgt = String((p % RGTS) + 1).padStart(4, "0");
  const region = String((Math.floor(p / RGTS) % REGIONS) + 1).padStart(2, "0");
  return `ATL06_${iso}_${rgt}${String(cycle).padStart(2, "0")}${region}_006_01`;
}

/** Granule, array and chunk rows of one cycle (chunk rows share the pool's nested values). */
function cycleRows(pool: readonly PoolRow[][], cycle: number) {
  const granules: GranuleRow[] = [];
  const arrays: ArrayRow[] = [];
  const chunks: ChunkRow[] = [];
  for (const [p, rows] of pool.entries()) {
    const t0 = START_NS + BigInt(cycle - 1) * CYCLE_NS + BigInt(p) * GRANULE_NS;
    const id = granuleId(p, cycle, t0);
    let bbox = { xmin: 180, ymin: 90, xmax: -180, ymax: -90 };
    for (const r of rows) {
      const k = BigInt(r.row_start) * 2_857_000n;
      chunks.push({
        ...r,
        chunk_id: `${id}/${r.beam}/${r.row_start}`,
        granule_id: id,
        time_start: t0 + k,
        time_end: t0 + k + BigInt(r.row_count) * 2_857_000n,
      });
      bbox = {
        xmin: Math.min(bbox.xmin, r.bbox.xmin),
        ymin: Math.min(bbox.ymin, r.bbox.ymin),
        xmax: Math.max(bbox.xmax, r.bbox.xmax),
        ymax: Math.max(bbox.ymax, r.bbox.ymax),
      };
    }
    granules.push({
      granule_id: id,
      url: `s3://archive/ATL06/006/${id}.h5`,
      size: 5e7,
      etag: `"${p.toString(16)}-${cycle}"`,
      mtime: null,
      product: "ATL06",
      release: "006",
      orbit: null,
      track: (p % RGTS) + 1,
      cycle,
      region: (Math.floor(p / RGTS) % REGIONS) + 1,
      attrs: { sc_orient: cycle % 2 },
      time_start: t0,
      time_end: t0 + GRANULE_NS,
      bbox,
      geometry: new Uint8Array(),
    });
    for (const beam of BEAMS)
      for (const v of VARS)
        arrays.push({
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
  return { granules, arrays, chunks };
}

/**
 * The `chunk_cells` table of some chunk rows from typed arrays, sorted by cell: the same rows as
 * `chunkCellsTable` (schema.ts) without a row object per cell (60 per chunk row). Sorting packs a
 * resolution-6 cell's 25 varying bits (base cell and six digits) and the entry's index into one
 * float64 (bits 27-51; below them a resolution-6 index holds only 7s).
 */
function cellsTable(chunks: readonly ChunkRow[]) {
  let n = 0;
  for (const c of chunks) n += c.h3_cells.length;
  const keys = new Float64Array(n);
  const cells = new BigUint64Array(n);
  const owner = new Int32Array(n);
  let i = 0;
  for (const [r, c] of chunks.entries())
    for (const cell of c.h3_cells) {
      cells[i] = cell;
      owner[i] = r;
      keys[i] = Number((cell >> 27n) & 0x1ffffffn) * 2 ** 27 + i;
      i++;
    }
  if (n >= 2 ** 27) throw new Error(`${n} cells in one file: more than the sort key holds`);
  keys.sort();
  const ids = chunks.map((c) => Buffer.from(c.chunk_id));
  const sortedCells = new BigUint64Array(n);
  const offsets = new Int32Array(n + 1);
  let bytes = 0;
  for (let k = 0; k < n; k++) bytes += ids[owner[keys[k]! % 2 ** 27]!]!.length;
  const data = new Uint8Array(bytes);
  for (let k = 0, at = 0; k < n; k++) {
    const j = keys[k]! % 2 ** 27;
    sortedCells[k] = cells[j]!;
    const id = ids[owner[j]!]!;
    data.set(id, at);
    at += id.length;
    offsets[k + 1] = at;
  }
  return new ArrowTable({
    h3_cell: makeVector(sortedCells),
    chunk_id: makeVector(makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data })),
  });
}

/** Writes one cycle's part set in the store's layout; returns it with its fingerprints. */
async function writeCycle(pool: readonly PoolRow[][], cycle: number) {
  const { granules, arrays, chunks } = cycleRows(pool, cycle);
  const id = newPartId();
  const part: PartSet = {
    id,
    files: { granules: [], arrays: [], chunks: [], chunk_cells: [] },
    granules: granules.map((g) => g.granule_id),
    products: ["ATL06"],
    stats: {},
  };
  const put = async (file: string, bytes: Uint8Array, rows: number, extra: Partial<PartFileStats> = {}) => {
    await mkdir(dirname(join(storeDir, file)), { recursive: true });
    await writeFile(join(storeDir, file), bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    part.stats![file] = { bytes: bytes.length, rows, sha256, ...extra };
  };
  const gfile = `granules/part-${id}.parquet`;
  await put(gfile, granulesParquet(granules), granules.length);
  part.files.granules.push(gfile);
  const afile = `arrays/part-${id}.parquet`;
  await put(afile, arraysParquet(arrays), arrays.length);
  part.files.arrays.push(afile);
  const monthOf = new Map(granules.map((g) => [g.granule_id, partitionOf(g)]));
  const byMonth = new Map<string, ChunkRow[]>();
  for (const c of chunks) {
    const m = monthOf.get(c.granule_id)!;
    if (!byMonth.has(m)) byMonth.set(m, []);
    byMonth.get(m)!.push(c);
  }
  for (const [partition, rows] of byMonth) {
    for (const { tile, rows: tiled } of chunkTiles(rows)) {
      const cfile = chunkFileName("chunks", partition, id, tile);
      await put(cfile, chunksParquet(tiled), tiled.length, chunkFileSummary(tiled));
      part.files.chunks.push(cfile);
      const cells = cellsTable(tiled);
      const hfile = chunkFileName("chunk_cells", partition, id, tile);
      await put(hfile, tableToParquet(cells, { rowGroupSize: CELLS_ROW_GROUP_SIZE }), cells.numRows);
      part.files.chunk_cells.push(hfile);
    }
  }
  return { part, granules };
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, String(f)));
    if (s.isFile()) total += s.size;
  }
  return total;
}

interface Measured {
  ms: number;
  cpuMs: number;
  candidates: number;
  method: string;
  requests: number;
  bytes: number;
}

/** Times one selection (median of `reps` runs, wall and CPU), with the requests and bytes of the last. */
async function measure(
  open: () => Promise<{ reader: StoreReader; counters: () => { requests: number; bytes: number } }>,
  aoi: string,
  reps: number,
): Promise<Measured> {
  const parsed = parseAoi(aoi);
  const runs: { ms: number; cpuMs: number }[] = [];
  let last = { candidates: 0, method: "", requests: 0, bytes: 0 };
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const { reader, counters } = await open();
    const r = await selectChunksParquet(reader, {
      bboxes: parsed.polygons.map((p) => p.bbox),
      polygons: parsed.polygons.map((p) => p.rings),
      product: "ATL06",
    });
    const used = process.cpuUsage(cpu);
    runs.push({ ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 });
    last = { candidates: r.chunks.length, method: r.method, ...counters() };
  }
  runs.sort((a, b) => a.ms - b.ms);
  return { ...runs[Math.floor(runs.length / 2)]!, ...last };
}

/** Counts local reads by wrapping the reader's part buffers (the manifest and footer reads included). */
function countedLocal(reader: StoreReader, manifestBytes: number) {
  const counts = { requests: 1, bytes: manifestBytes };
  const counted: StoreReader = {
    ...reader,
    products: () => reader.products(),
    async openParts(paths, opts) {
      const parts = await reader.openParts(paths, opts);
      for (const p of parts) {
        counts.requests++;
        counts.bytes += Math.min(64 * 1024, p.buffer.byteLength);
      }
      return parts.map((p) => {
        const prefetch = p.buffer.prefetch.bind(p.buffer);
        return {
          ...p,
          buffer: {
            byteLength: p.buffer.byteLength,
            slice: p.buffer.slice.bind(p.buffer),
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

const AOIS: [string, string][] = [
  ["Greenland AOI", join(root, "examples", "greenland.geojson")],
  ["5 km box", "-45.03,62.79,-44.93,62.83"],
];

/** Selection figures of the store as it is now, one table row per AOI and place. */
async function measureStore(
  cycles: number,
  buildSeconds: number,
  buildCpuSeconds: number,
): Promise<string[]> {
  const bytes = await sizeOf(storeDir);
  const granules = POOL * cycles;
  const manifest = (await openLocalStoreReader(storeDir)).manifest;
  const chunkFiles = manifest.parts.reduce((s, p) => s + p.files.chunks.length, 0);
  const lines = [
    `### ${granules} granules (${cycles} cycle${cycles > 1 ? "s" : ""} of ${POOL})`,
    "",
    `Store: ${(bytes / 1e9).toFixed(2)} GB, ${(bytes / granules / 1024).toFixed(1)} KiB per granule, ` +
      `${chunkFiles} chunks files; built in ${buildSeconds.toFixed(0)} s (${buildCpuSeconds.toFixed(0)} s CPU).`,
    "",
    "| AOI | where | method | candidates | ms (median) | CPU ms | requests | bytes read | % of store |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const server = await startRangeServer({ root: storeDir, latencyMs: LATENCY });
  try {
    for (const [name, aoi] of AOIS) {
      const text = aoi.startsWith("/") ? JSON.stringify(JSON.parse(await readText(aoi))) : aoi;
      const manifestBytes = (await stat(join(storeDir, "manifest.json"))).size;
      const local = await measure(
        async () => countedLocal(await openLocalStoreReader(storeDir), manifestBytes),
        text,
        REPS,
      );
      const remote = await measure(
        async () => {
          server.resetStats();
          const store = await openRemoteStore(server.url.replace(/\/$/, ""));
          return {
            reader: store,
            counters: () => ({ requests: server.stats.requests, bytes: server.stats.bytes }),
          };
        },
        text,
        REPS,
      );
      for (const [where, m] of [
        ["local", local],
        [`HTTP, ${LATENCY} ms`, remote],
      ] as const)
        lines.push(
          `| ${name} | ${where} | ${m.method} | ${m.candidates} | ${m.ms.toFixed(0)} | ${m.cpuMs.toFixed(0)} | ${m.requests} | ${m.bytes} | ${((100 * m.bytes) / bytes).toFixed(3)} |`,
        );
    }
  } finally {
    await server.close();
  }
  return lines;
}

async function readText(path: string): Promise<string> {
  return (await import("node:fs/promises")).readFile(path, "utf8");
}

async function main() {
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(storeDir, { recursive: true });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const pool: PoolRow[][] = [];
  for (let p = 0; p < POOL; p++) pool.push(poolTrack(p));
  const poolSeconds = (performance.now() - t0) / 1000;
  console.log(
    `pool of ${POOL} tracks (${pool.reduce((s, r) => s + r.length, 0)} chunk rows) in ${poolSeconds.toFixed(1)} s`,
  );
  const manifest: Manifest = { ...emptyManifest(H3_RESOLUTION), generation: 0 };
  const sections: string[] = [];
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const { part } = await writeCycle(pool, cycle);
    manifest.parts.push(part);
    manifest.generation = (manifest.generation ?? 0) + 1;
    manifest.updated = new Date().toISOString();
    await writeManifest(storeDir, manifest);
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    console.log(`cycle ${cycle}/${CYCLES} committed at ${seconds.toFixed(1)} s`);
    if (MEASURE_AT.includes(cycle)) {
      const lines = await measureStore(cycle, seconds, (used.user + used.system) / 1e6);
      console.log(lines.join("\n"));
      sections.push(...lines, "");
    }
  }
  const m = machineInfo();
  const text = [
    `## Store scale: pool ${POOL}, ${CYCLES} cycles`,
    "",
    `\`npm run bench -- --store-scale --pool ${POOL} --cycles ${CYCLES} --measure-at ${MEASURE_AT.join(",")}\`; pool computed in ${poolSeconds.toFixed(0)} s. ` +
      "Times include opening the store (manifest) each run; CPU ms is the process's user + system time. " +
      "Local requests are coalesced reads of part files (footers included); over HTTP, every request the server saw " +
      "(manifest, one probe per part, ranges), no disk cache.",
    `Machine: ${m.cpus} x ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, load average ${m.loadAverage.join(" ")} (shared with other work).`,
    "",
    ...sections,
  ].join("\n");
  console.log(text);
  if (values.out) await writeFile(values.out, `${text}\n`);
}

await main();
