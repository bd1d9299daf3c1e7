/**
 * How many rounds of requests a window of chunk rows takes: a cost model (latency x rounds against
 * bytes / bandwidth) decides which chunk rows have their other variables read in the first round,
 * beside the coordinates, instead of in a second round once the coordinates have been tested. Pure.
 */
import type { ChunkRefRow } from "../store/schema.js";
import { footprintParts } from "./footprint.js";
import { pointInAoi } from "./pip.js";
import type { ChunkRead, QuerySpec } from "./plan.js";

/** What a query assumes of its link to the granules when it chooses between one round and two. */
export interface LinkModel {
  /** Time to the first byte of a request, milliseconds. */
  latencyMs: number;
  /** Bytes per second the link carries. */
  bytesPerSecond: number;
}

/**
 * The default link: 20 ms to the first byte (an object store from a VM in its region; H5Coro's S3
 * figure is 60 ms) and 100 MB/s (a cloud VM; a laptop has about 25 MB/s). A second round costs one
 * latency; reading a chunk row's other variables that turn out unused costs their bytes / bandwidth.
 */
export const DEFAULT_LINK_MODEL: LinkModel = { latencyMs: 20, bytesPerSecond: 100e6 };

/**
 * Largest share of a window's first-round bytes that chunk rows not known to hold an answer may add
 * to it: their other variables are read early only when, even if none of them holds an answer, they
 * use at most half of the 10% over bytes_minimal the benchmark allows (`bytes_read / bytes_minimal`
 * <= 1.10); the coordinates of candidates without answers need the rest.
 */
export const MAX_SPECULATIVE_SHARE = 0.05;

/** Nanoseconds since the Unix epoch of a date. */
const toNs = (d: Date) => BigInt(d.getTime()) * 1_000_000n;

/**
 * Whether a chunk row surely holds an answer point: a vertex of its footprint (the footprint line
 * keeps actual points of the chunk) is inside the AOI, and its whole time range is inside the
 * query's. False says only "not known", never "no answer".
 */
export function knownHit(read: ChunkRead, spec: Pick<QuerySpec, "aoi" | "start" | "end">): boolean {
  const { chunk } = read;
  if (spec.start && chunk.time_start < toNs(spec.start)) return false;
  if (spec.end && chunk.time_end >= toNs(spec.end)) return false;
  for (const xy of footprintParts(chunk.geometry) ?? []) {
    for (let i = 0; i < xy.length; i += 2) if (pointInAoi(spec.aoi, xy[i]!, xy[i + 1]!)) return true;
  }
  return false;
}

/** Stored bytes of refs. */
function bytesOf(refs: readonly ChunkRefRow[]): number {
  let n = 0;
  for (const r of refs) n += r.size;
  return n;
}

/**
 * The chunk rows of a window whose other variables (`others(read)`) are read in the first round.
 * A known hit ({@link knownHit}) is read early whenever a round costs any latency: its other
 * variables will be read anyway, so reading them now costs no byte and may save the second round.
 * The other candidates are read early as a group when, even if none held an answer, their bytes
 * cost less time than the second round they save (bytes / bandwidth < latency) and add at most
 * {@link MAX_SPECULATIVE_SHARE} to the first round's bytes; otherwise they wait for their coordinates.
 */
export function firstRoundReads(
  chunks: readonly ChunkRead[],
  spec: Pick<QuerySpec, "aoi" | "start" | "end">,
  opts: {
    coordinates: (read: ChunkRead) => readonly ChunkRefRow[];
    others: (read: ChunkRead) => readonly ChunkRefRow[];
    link?: LinkModel;
  },
): Set<ChunkRead> {
  const link = opts.link ?? DEFAULT_LINK_MODEL;
  const early = new Set<ChunkRead>();
  if (!(link.latencyMs > 0)) return early;
  const unknown: ChunkRead[] = [];
  let firstBytes = 0;
  for (const read of chunks) {
    firstBytes += bytesOf(opts.coordinates(read));
    if (knownHit(read, spec)) {
      early.add(read);
      firstBytes += bytesOf(opts.others(read));
    } else unknown.push(read);
  }
  let speculative = 0;
  for (const read of unknown) speculative += bytesOf(opts.others(read));
  const seconds = speculative / link.bytesPerSecond;
  if (seconds * 1000 < link.latencyMs && speculative <= MAX_SPECULATIVE_SHARE * firstBytes)
    for (const read of unknown) early.add(read);
  return early;
}
