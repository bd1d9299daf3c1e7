/**
 * The cost model that decides how a remote granule's HDF5 metadata is read: in small blocks (few
 * bytes, many requests) or in lines of a sixteenth of the file (few requests, the whole file), and
 * which holes between the blocks wanted in one round are read through.
 */
import type { BlockCacheOptions } from "../source/index.js";

/** What reads cost on the link a granule is read over. */
export interface LinkModel {
  /** Time to the first byte of a response, milliseconds. */
  latencyMs: number;
  /** Bytes per second the client receives, all its requests together; `Infinity` for no cap. */
  bytesPerSecond: number;
  /** Client CPU per request (sending it, taking in its response), milliseconds. */
  requestCpuMs: number;
  /** Client CPU per megabyte received (the HTTP client, copies, garbage), milliseconds. */
  megabyteCpuMs: number;
  /** Requests one source keeps in flight at once (more wait for a free slot). */
  inFlight: number;
}

/**
 * The link the index assumes for a remote granule unless told otherwise: 20 ms to the first byte (an
 * object store in the same region), 100 MB/s (a cloud VM; a laptop has about 25 MB/s), 16 requests in
 * flight (the HTTP source's default), and the client CPU measured with bench/index-build.ts over the
 * loopback server: about 1.4 ms per request and 5 ms per megabyte (5 full-size granules read both ways
 * in one run: 341 requests and 16.4 MB per granule against 19 and 67.7 MB cost 0.95 s more CPU).
 */
export const DEFAULT_LINK: LinkModel = {
  latencyMs: 20,
  bytesPerSecond: 100e6,
  requestCpuMs: 1.4,
  megabyteCpuMs: 5,
  inFlight: 16,
};

/** Milliseconds one more request costs when it is sent in a round with others: its CPU and its share of a wave. */
function requestMs(link: LinkModel): number {
  return link.requestCpuMs + link.latencyMs / Math.max(1, link.inFlight);
}

/** Milliseconds one more byte costs: its transfer and the client CPU to take it in. */
function byteMs(link: LinkModel): number {
  return 1000 / link.bytesPerSecond + link.megabyteCpuMs / 1e6;
}

/**
 * The largest hole between two ranges wanted in the same round that is cheaper to read through than
 * to ask for in a request of its own, bytes. A request sent in a round with others costs no round trip
 * of its own, only its client CPU and its share of a wave of requests (latency / in flight); a hole
 * costs its transfer and the client CPU to take it in. About 180 KB at the default link, 60 KB at
 * 25 MB/s, 530 KB with no cap.
 */
export function worthReadingGap(link: LinkModel): number {
  return Math.floor(requestMs(link) / byteMs(link));
}

/**
 * Aligned block of the metadata cache of a remote granule read in blocks, bytes. Measured on a
 * full-size granule (simulated remote source): 4 KiB blocks with 16 KiB read-ahead took 338 requests,
 * 16.5 MB and 10 dependent rounds; 16 KiB blocks without read-ahead 242 requests, 16.2 MB, 8 rounds.
 */
export const REMOTE_METADATA_BLOCK = 16 * 1024;

/**
 * Metadata line of a remote granule read in lines, bytes, at most: a sixteenth of the file, between
 * {@link REMOTE_METADATA_MIN_LINE} and this. Release-006 granules keep each dataset's header and chunk
 * B-tree beside its data (metadata in every MiB of the file), so lines read the whole file in about 19
 * requests and 2 rounds.
 */
export const REMOTE_METADATA_LINE = 4 * 1024 * 1024;

/** Smallest metadata line, bytes (a small file gets lines of a sixteenth of it). */
export const REMOTE_METADATA_MIN_LINE = 64 * 1024;

/**
 * Largest remote file that may be read in lines, bytes. Larger files (ATL03 and GEDI granules of
 * gigabytes, whose metadata is sparser) are always read in blocks: lines would read most of them.
 */
export const REMOTE_LINED_FILE_LIMIT = 256 * 1024 * 1024;

/**
 * What reading a release-006 granule's metadata in blocks costs, per byte of the file: the index of a
 * full-size synthetic ATL06 granule (68.2 MB) read 16.2 MB (0.24 of it, 11 MB of which are the
 * coordinate chunks) in 242 requests (3.6 per MB) and 8 dependent rounds; in lines, 19 requests and 2
 * rounds for the whole file (the size and the sidecar probe, then every line at once: job.ts fetches
 * them ahead; 5 rounds when the metadata walk asked for them).
 */
export const BLOCK_READ_SHAPE = { bytesPerByte: 0.24, requestsPerMB: 3.6, rounds: 8, linedRounds: 2 };

/** How a granule's metadata is read, and the cache options that do it. */
export interface MetadataReads {
  /** `blocks`: small blocks, few bytes; `lines`: lines of a sixteenth of the file, few requests. */
  kind: "blocks" | "lines";
  cache: BlockCacheOptions;
}

/** Estimated milliseconds of reading a granule of `size` bytes in blocks and in lines over `link`. */
export function readCosts(size: number, link: LinkModel): { blocks: number; lines: number } {
  const mb = size / 1e6;
  const shape = BLOCK_READ_SHAPE;
  const blocks =
    size * shape.bytesPerByte * byteMs(link) +
    mb * shape.requestsPerMB * requestMs(link) +
    shape.rounds * link.latencyMs;
  const lines = size * byteMs(link) + 19 * requestMs(link) + shape.linedRounds * link.latencyMs;
  return { blocks, lines };
}

/**
 * How the HDF5 metadata of a granule of `size` bytes at `url` is read: local files keep the reader's
 * defaults (a read costs no round trip, undefined here); a remote one is read in lines when
 * {@link readCosts} says they cost less over `link` (a fast link with a high latency) and the file is
 * at most {@link REMOTE_LINED_FILE_LIMIT}, else in blocks whose holes up to {@link worthReadingGap} are
 * read through.
 */
export function metadataReads(
  url: URL,
  size: number,
  link: LinkModel = DEFAULT_LINK,
): MetadataReads | undefined {
  const remote = url.protocol === "http:" || url.protocol === "https:" || url.protocol === "s3:";
  if (!remote) return undefined;
  const costs = readCosts(size, link);
  if (size <= REMOTE_LINED_FILE_LIMIT && costs.lines < costs.blocks) {
    const sixteenth = 2 ** Math.ceil(Math.log2(Math.max(1, size / 16)));
    const line = Math.min(REMOTE_METADATA_LINE, Math.max(REMOTE_METADATA_MIN_LINE, sixteenth));
    return { kind: "lines", cache: { blockSize: line, maxGap: 0, readAhead: 0, maxRequest: line } };
  }
  return blockReads(link);
}

/** Metadata read in {@link REMOTE_METADATA_BLOCK} blocks, holes up to {@link worthReadingGap} read through. */
export function blockReads(link: LinkModel = DEFAULT_LINK): MetadataReads {
  return {
    kind: "blocks",
    cache: { blockSize: REMOTE_METADATA_BLOCK, readAhead: 0, maxGap: worthReadingGap(link) },
  };
}
