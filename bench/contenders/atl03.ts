/**
 * The ATL03 benchmark's peers: H5Coro doing what SlideRule's ATL03 subsetter does, and download-then-read with
 * h5wasm and h5py. Every row is a photon, keyed by its granule, beam and segment_id (the multiset of keys is
 * compared with the oracle's). geochunks itself is the same contender as for ATL06 (bench/contenders/geochunks.ts).
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import h5wasm from "h5wasm/node";
import { mapLimit, pointsInAoi, toAoi } from "../../src/index.js";
import { bruteForceAtl03 } from "../../test/support/oracle-atl03.js";
import type { HarnessOptions } from "../lib/harness.js";
import { pythonMissing, runPeer } from "../lib/python.js";
import { digestKeys, rowKey } from "../lib/rows.js";
import { polygonsOf } from "./download.js";
import { H5CORO_LINE, h5coroUnavailable } from "./h5coro.js";
import type { Contender } from "./types.js";

const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
/** The photon-rate variables every contender reads (geochunks' default ATL03 columns come from the same ones). */
const PHOTON_VARS = ["delta_time", "h_ph", "signal_conf_ph", "quality_ph"];
const PEER = "atl03_peer.py";

/** ATL03's oracle: one key per photon of the files inside the AOI (h5wasm + turf). */
export const ATL03_ORACLE: NonNullable<HarnessOptions["oracle"]> = {
  product: "ATL03",
  keys: async (files, geometry) =>
    (await bruteForceAtl03(files, geometry)).map((r) => rowKey(r.granule_id, r.beam, r.segment_id)),
};

export const h5coroAtl03: Contender = {
  name: "h5coro",
  description: `SlideRule's ATL03 subsetting on pure-Python H5Coro over HTTP (${H5CORO_LINE / 1048576} MiB cache lines): whole segment reference photons and counts, then the photon slice`,
  slow: true,
  unavailable: h5coroUnavailable,
  async run(ctx) {
    const answer = await runPeer(
      "h5coro-subset",
      {
        urls: ctx.listed.map((g) => g.url),
        polygons: polygonsOf(ctx.aoi.geometry),
        workers: ctx.granuleConcurrency,
        cache_line_size: H5CORO_LINE,
        h5coro_src: process.env.H5CORO_SRC,
      },
      PEER,
    );
    return { seconds: answer.seconds, rows: async () => answer, versions: answer.versions };
  },
};

type H5File = InstanceType<typeof h5wasm.File>;

function values(file: H5File, path: string): ArrayLike<number> {
  const ds = file.get(path);
  if (!(ds instanceof h5wasm.Dataset)) throw new Error(`${file.filename}: ${path} is not a dataset`);
  const value = ds.value;
  if (!ArrayBuffer.isView(value) || value instanceof DataView)
    throw new Error(`${file.filename}: ${path} is not numeric`);
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
  return value as unknown as ArrayLike<number>;
}

export const downloadH5wasmAtl03: Contender = {
  name: "download-h5wasm",
  description:
    "download whole granules over HTTP into temporary files, read with h5wasm (HDF5 C library), filter",
  slow: true,
  unavailable: async () => undefined,
  async run(ctx) {
    await h5wasm.ready;
    const aoi = toAoi(ctx.aoi.geometry);
    const kept: { granule: string; beam: string; ids: number[] }[] = [];
    // Two at a time: each granule is hundreds of MB and h5wasm holds its arrays in wasm memory.
    await mapLimit(ctx.listed, Math.min(2, ctx.granuleConcurrency), async (g) => {
      const response = await fetch(g.url);
      if (!response.ok || !response.body) throw new Error(`GET ${g.url}: ${response.status}`);
      const tmp = join(ctx.outDir, `download-${g.granule_id}.h5`);
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(tmp));
      const file = new h5wasm.File(tmp, "r");
      try {
        for (const beam of BEAMS) {
          if (!file.get(`${beam}/heights`)) continue;
          const lat = Float64Array.from(values(file, `${beam}/heights/lat_ph`));
          const lon = Float64Array.from(values(file, `${beam}/heights/lon_ph`));
          const mask = pointsInAoi(aoi, lon, lat);
          for (const v of PHOTON_VARS) values(file, `${beam}/heights/${v}`);
          const counts = values(file, `${beam}/geolocation/segment_ph_cnt`);
          const ids = values(file, `${beam}/geolocation/segment_id`);
          const beamKept: number[] = [];
          let photon = 0;
          for (let k = 0; k < counts.length; k++) {
            for (let n = counts[k]!; n > 0; n--, photon++) if (mask[photon]) beamKept.push(ids[k]!);
          }
          kept.push({ granule: g.granule_id, beam, ids: beamKept });
        }
      } finally {
        file.close();
        await rm(tmp, { force: true });
      }
    });
    // Row keys are made after the clock stops, as for geochunks.
    return {
      rows: async () =>
        digestKeys(kept.flatMap(({ granule, beam, ids }) => ids.map((id) => rowKey(granule, beam, id)))),
    };
  },
};

export const downloadH5pyAtl03: Contender = {
  name: "download-h5py",
  description:
    "download whole granules over HTTP into temporary files, read with h5py (Debian python3-h5py), filter",
  slow: true,
  async unavailable() {
    const missing = await pythonMissing(["numpy", "h5py"]);
    return missing && `python3-h5py/python3-numpy not importable (${missing}); apt-get install python3-h5py`;
  },
  async run(ctx) {
    const answer = await runPeer(
      "h5py-download",
      {
        urls: ctx.listed.map((g) => g.url),
        polygons: polygonsOf(ctx.aoi.geometry),
        workers: ctx.granuleConcurrency,
      },
      PEER,
    );
    return { seconds: answer.seconds, rows: async () => answer, versions: answer.versions };
  },
};
