/**
 * How fast this machine decodes the stored chunks a query reads: the library's own `decodeChunk`
 * (node:zlib's inflate and the filters after it, what the query's inflate worker runs) over every
 * chunk of the given datasets of a few granules, on one thread, timed by this process's CPU. The
 * benchmark turns it into the least CPU any reader of bytes_minimal needs here (floor.ts `decodeBound`).
 */
import { decodeSpecOf } from "../../src/hdf5/index.js";
import { decodeChunk, Hdf5File, openSource } from "../../src/index.js";

/** Stored bytes decoded, and the least CPU seconds one pass over them took. */
export interface InflateRate {
  /** Stored (compressed) bytes of the chunks decoded in one pass. */
  bytes: number;
  chunks: number;
  /** CPU seconds of the fastest pass. */
  cpuSeconds: number;
  /** bytes / cpuSeconds. */
  bytesPerCpuSecond: number;
}

/**
 * Decodes every chunk of `datasets` (paths below each of `beams`, e.g. "land_ice_segments/h_li") of
 * `files` (local granules) `passes` times and keeps the fastest pass. Beams a granule lacks are skipped.
 * @throws when no chunk was found (the rate would mean nothing).
 */
export async function measureInflateRate(
  files: readonly string[],
  beams: readonly string[],
  datasets: readonly string[],
  passes = 3,
): Promise<InflateRate> {
  const stored: { bytes: Uint8Array; spec: ReturnType<typeof decodeSpecOf>; mask: number }[] = [];
  for (const file of files) {
    const source = await openSource(file);
    try {
      const h5 = await Hdf5File.open(source);
      for (const beam of beams) {
        for (const dataset of datasets) {
          const path = `/${beam}/${dataset}`;
          if ((await h5.kindOf(path)) !== "dataset") continue;
          const info = await h5.dataset(path);
          if (!info?.chunkShape) continue;
          const spec = decodeSpecOf(info);
          for (const ref of await h5.chunkRefs(path)) {
            // A copy of its own: the reader's bytes are not kept past the source.
            const bytes = (await source.read(ref.offset, ref.size)).slice();
            stored.push({ bytes, spec, mask: ref.filterMask });
          }
        }
      }
    } finally {
      await source.close();
    }
  }
  if (stored.length === 0) throw new Error(`no chunk of ${datasets.join(", ")} in ${files.join(", ")}`);
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < passes; pass++) {
    const cpu = process.cpuUsage();
    for (const s of stored) decodeChunk(s.bytes, s.spec, s.mask);
    const used = process.cpuUsage(cpu);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  const bytes = stored.reduce((sum, s) => sum + s.bytes.length, 0);
  return { bytes, chunks: stored.length, cpuSeconds: best, bytesPerCpuSecond: bytes / best };
}
