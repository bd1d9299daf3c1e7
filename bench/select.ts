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
import { bboxOf, footprintOf } from "../src/index-builder/geometry.js";
import { parseAoi } from "../src/query/aoi.js";
import { trackCells } from "../src/store/h3.js";
import type { StoreBatch } from "../src/store/parts.js";
import { type SelectionMethod, selectChunks } from "../src/store/select.js";
import { Store } from "../src/store/store.js";

const { values } = parseArgs({ options: { granules: { type: "string", default: "600" } } });
const GRANULES = Number(values.granules);
const CHUNKS_PER_BEAM = 14;
const POINTS_PER_CHUNK = 100; // every 100th 20 m segment: 2 km spacing, finer than resolution-6 cells
const DEG = Math.PI / 180;

/** Points of a great-circle track of inclination 92 degrees from argument of latitude u0. */
function track(node: number, u0: number, n: number, du: number, offsetKm: number) {
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  const inc = 92 * DEG;
  for (let i = 0; i < n; i++) {
    const u = u0 + i * du;
    const y = Math.sin(u) * Math.sin(inc);
    lat[i] = Math.asin(y) / DEG;
    const l =
      node +
      Math.atan2(Math.sin(u) * Math.cos(inc), Math.cos(u)) / DEG +
      offsetKm / 111 / Math.max(0.1, Math.cos(lat[i]! * DEG));
    lon[i] = ((((l + 180) % 360) + 360) % 360) - 180;
  }
  return { lon, lat };
}

function syntheticBatch(g: number, random: () => number): StoreBatch {
  const id = `G${String(g).padStart(6, "0")}`;
  // Half the granules pass over southern Greenland, the rest anywhere.
  const greenland = g % 2 === 0;
  const node = greenland ? -40.6 + (random() - 0.5) * 0.8 : random() * 360 - 180;
  const u0 = greenland ? 0.95 + random() * 0.1 : random() * 2 * Math.PI;
  const batch: StoreBatch = { granules: [], arrays: [], chunks: [], chunkCells: [] };
  const du = 200 / 6371 / POINTS_PER_CHUNK; // 200 km per chunk
  for (const [b, beam] of ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"].entries()) {
    const { lon, lat } = track(
      node,
      u0,
      POINTS_PER_CHUNK * CHUNKS_PER_BEAM,
      du,
      (b >> 1) * 3.3 + (b & 1) * 0.09,
    );
    for (let c = 0; c < CHUNKS_PER_BEAM; c++) {
      const s = c * POINTS_PER_CHUNK;
      const e = s + POINTS_PER_CHUNK;
      const chunkId = `${id}/${beam}/${c * 10000}`;
      const cells = trackCells(lon, lat, s, e, 6);
      batch.chunks.push({
        chunk_id: chunkId,
        granule_id: id,
        beam,
        spot: b + 1,
        strong: b % 2 === 0,
        row_start: c * 10000,
        row_count: 10000,
        time_start: BigInt(g) * 10n ** 12n,
        time_end: BigInt(g) * 10n ** 12n + 10n ** 9n,
        bbox: bboxOf(lon, lat, s, e),
        geometry: footprintOf(lon, lat, s, e),
        h3_cells: cells,
        refs: [
          "latitude",
          "longitude",
          "delta_time",
          "h_li",
          "h_li_sigma",
          "atl06_quality_summary",
          "segment_id",
        ].map((v, i) => ({
          path: `/${beam}/land_ice_segments/${v}`,
          chunk_start: c * 10000,
          offset: 1e6 + c * 1e5 + i * 1e4,
          size: 9000,
          filter_mask: 0,
        })),
      });
      for (const h3_cell of cells) batch.chunkCells.push({ h3_cell, chunk_id: chunkId });
    }
  }
  const bbox = batch.chunks.reduce(
    (a, c) => ({
      xmin: Math.min(a.xmin, c.bbox.xmin),
      ymin: Math.min(a.ymin, c.bbox.ymin),
      xmax: Math.max(a.xmax, c.bbox.xmax),
      ymax: Math.max(a.ymax, c.bbox.ymax),
    }),
    { xmin: 180, ymin: 90, xmax: -180, ymax: -90 },
  );
  batch.granules.push({
    granule_id: id,
    url: `file:///archive/${id}.h5`,
    size: 5e7,
    etag: null,
    mtime: 0,
    product: "ATL06",
    release: "006",
    rgt: (g % 1387) + 1,
    cycle: 1 + (g % 20),
    region: 3,
    sc_orient: 0,
    time_start: 0n,
    time_end: 1n,
    bbox,
    geometry: new Uint8Array([1, 3, 0, 0, 0, 0, 0, 0, 0]),
  });
  return batch;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "geochunks-select-"));
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  try {
    const t0 = performance.now();
    const store = await Store.open(dir, { create: true });
    const batches = Array.from({ length: GRANULES }, (_, g) => syntheticBatch(g, random));
    const { mergeBatches } = await import("../src/store/parts.js");
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
            bboxes: aoi.polygons.map((p) => p.bbox),
            polygons: aoi.polygons.map((p) => p.rings),
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
