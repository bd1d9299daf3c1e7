/**
 * H5Coro, SlideRule's HDF5 reader (pure Python, from the source checkout named by H5CORO_SRC), doing what
 * SlideRule's ATL06 subsetter does over its HTTP driver: per beam the whole latitude/longitude, a polygon
 * mask, then the matching slice of the other variables (bench/peers/atl06_peer.py).
 */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { pythonMissing, runPeer } from "../lib/python.js";
import { polygonsOf } from "./download.js";
import type { Contender } from "./types.js";

/** H5Coro's default cache line (every miss reads an aligned line of this size), bytes. */
export const H5CORO_LINE = Number(process.env.H5CORO_LINE ?? 0x400000);

/** Why H5Coro cannot run here, or undefined. */
export async function h5coroUnavailable(): Promise<string | undefined> {
  const src = process.env.H5CORO_SRC;
  if (!src) return "H5CORO_SRC is not set (point it at a checkout of github.com/SlideRuleEarth/h5coro)";
  try {
    await access(join(src, "h5coro", "h5coro.py"));
  } catch {
    return `H5CORO_SRC=${src} holds no h5coro/h5coro.py`;
  }
  const missing = await pythonMissing(["numpy", "requests"]);
  return missing && `H5Coro needs python3-numpy and python3-requests (its HTTP driver): ${missing}`;
}

export const h5coro: Contender = {
  name: "h5coro",
  description: `SlideRule's ATL06 subsetting on pure-Python H5Coro over HTTP (${H5CORO_LINE / 1048576} MiB cache lines)`,
  slow: true,
  unavailable: h5coroUnavailable,
  async run(ctx) {
    const answer = await runPeer("h5coro-subset", {
      urls: ctx.listed.map((g) => g.url),
      polygons: polygonsOf(ctx.aoi.geometry),
      workers: ctx.granuleConcurrency,
      cache_line_size: H5CORO_LINE,
      h5coro_src: process.env.H5CORO_SRC,
    });
    return { seconds: answer.seconds, rows: async () => answer, versions: answer.versions };
  },
};
