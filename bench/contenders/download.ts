/**
 * download-then-read: fetch each listed granule whole over HTTP into a temporary file, read the beams with
 * an HDF5 library (h5wasm here; h5py in the Python peer), keep the points inside the AOI.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { mapLimit, pointsInAoi, toAoi } from "../../src/index.js";
import { pythonMissing, runPeer } from "../lib/python.js";
import { digestKeys, rowKey } from "../lib/rows.js";
import type { Contender } from "./types.js";

const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
const OTHERS = ["delta_time", "h_li", "h_li_sigma", "atl06_quality_summary", "segment_id"];

type H5File = InstanceType<typeof h5wasm.File>;

function numbers(file: H5File, path: string): ArrayLike<number> {
  const ds = file.get(path);
  if (!(ds instanceof h5wasm.Dataset)) throw new Error(`${file.filename}: ${path} is not a dataset`);
  const value = ds.value;
  if (!ArrayBuffer.isView(value) || value instanceof DataView || value instanceof BigInt64Array)
    throw new Error(`${file.filename}: ${path} is not a numeric array`);
  if (value instanceof BigUint64Array) throw new Error(`${file.filename}: ${path} is 64-bit`);
  return value;
}

export const downloadH5wasm: Contender = {
  name: "download-h5wasm",
  description: "download whole granules over HTTP, read with h5wasm (HDF5 C library), filter",
  slow: true,
  unavailable: async () => undefined,
  async run(ctx) {
    await h5wasm.ready;
    const aoi = toAoi(ctx.aoi.geometry);
    const keys: string[] = [];
    await mapLimit(ctx.listed, ctx.granuleConcurrency, async (g) => {
      const response = await fetch(g.url);
      if (!response.ok) throw new Error(`GET ${g.url}: ${response.status}`);
      const tmp = join(ctx.outDir, `download-${g.granule_id}.h5`);
      await writeFile(tmp, new Uint8Array(await response.arrayBuffer()));
      const file = new h5wasm.File(tmp, "r");
      try {
        for (const beam of BEAMS) {
          if (!file.get(`${beam}/land_ice_segments`)) continue;
          const read = (v: string) => numbers(file, `${beam}/land_ice_segments/${v}`);
          const lat = Float64Array.from(read("latitude"));
          const lon = Float64Array.from(read("longitude"));
          const mask = pointsInAoi(aoi, lon, lat);
          const columns = new Map(OTHERS.map((v) => [v, read(v)]));
          const segmentId = columns.get("segment_id")!;
          for (let i = 0; i < mask.length; i++)
            if (mask[i]) keys.push(rowKey(g.granule_id, beam, segmentId[i]!));
        }
      } finally {
        file.close();
        await rm(tmp, { force: true });
      }
    });
    return { rows: async () => digestKeys(keys) };
  },
};

/** The AOI's polygons as lists of GeoJSON rings, for the Python peers. */
export function polygonsOf(geometry: { type: string; coordinates: unknown }): unknown {
  return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
}

export const downloadH5py: Contender = {
  name: "download-h5py",
  description:
    "download whole granules over HTTP into temporary files, read with h5py (Debian python3-h5py), filter",
  slow: true,
  async unavailable() {
    const missing = await pythonMissing(["numpy", "h5py"]);
    return missing && `python3-h5py/python3-numpy not importable (${missing}); apt-get install python3-h5py`;
  },
  async run(ctx) {
    const answer = await runPeer("h5py-download", {
      urls: ctx.listed.map((g) => g.url),
      polygons: polygonsOf(ctx.aoi.geometry),
      workers: ctx.granuleConcurrency,
    });
    return { seconds: answer.seconds, rows: async () => answer, versions: answer.versions };
  },
};
