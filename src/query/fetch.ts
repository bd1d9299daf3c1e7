/**
 * Fetching a query's bytes: the refs of a round to coalesced ranges (pure), the ranges to buffers
 * through the query's request pool (I/O), and the one place a chunk's stored bytes are sliced out.
 */
import type { Limiter } from "../source/limit.js";
import type { ByteSource } from "../source/types.js";
import type { ChunkRefRow } from "../store/schema.js";
import { type ByteRange, type ChunkRead, coalesceRanges } from "./plan.js";

/** The bytes of one granule fetched so far: ranges sorted by offset and their buffers, index for index. */
export interface Fetched {
  ranges: ByteRange[];
  buffers: Uint8Array[];
  /** Chunks already decoded (off the main thread), by file offset of their stored bytes. */
  decoded: Map<number, Uint8Array>;
}

/** Options of {@link fetchRanges}. */
export interface FetchOptions {
  /** The query's request pool: every range read runs through it. */
  pool: Limiter;
  signal?: AbortSignal;
  /**
   * Called with range `index` as soon as its bytes are in `fetched.buffers[index]`, while the other
   * ranges are still in flight (their buffers may be unset); the fetch resolves once every call's
   * promise has. Where a round's chunks are checked and decoded as they arrive.
   */
  onRange?: (fetched: Fetched, index: number) => void | Promise<void>;
}

/** The stored chunks of `variables` (names relative to the row group) of one chunk row. */
export function refsOf(read: ChunkRead, variables: readonly string[]): ChunkRefRow[] {
  return variables.flatMap((v) => read.refs.get(v) ?? []);
}

/** The coalesced byte ranges covering `refs` (gap `maxGap` bytes read through), sorted by offset. */
export function rangesOfRefs(refs: readonly ChunkRefRow[], maxGap: number): ByteRange[] {
  return coalesceRanges(
    refs.map((r) => ({ offset: r.offset, length: r.size })),
    maxGap,
  );
}

/**
 * Reads `ranges` (sorted by offset, not overlapping) of `source` concurrently through the pool, calling
 * `onRange` on each as it arrives; rejects with the first failure.
 */
export async function fetchRanges(
  source: ByteSource,
  ranges: readonly ByteRange[],
  opts: FetchOptions,
): Promise<Fetched> {
  const { pool, signal, onRange } = opts;
  const fetched: Fetched = { ranges: [...ranges], buffers: new Array(ranges.length), decoded: new Map() };
  await Promise.all(
    ranges.map(async (r, i) => {
      fetched.buffers[i] = await pool.run(() => source.read(r.offset, r.length, { signal }), signal);
      await onRange?.(fetched, i);
    }),
  );
  return fetched;
}

/**
 * `refs` grouped by the range of `ranges` (sorted by offset, not overlapping) that holds each: entry i
 * lists the refs whose stored bytes lie in range i.
 * @throws Error when no range holds a ref whole (a planning bug, never bad data).
 */
export function refsByRange(ranges: readonly ByteRange[], refs: readonly ChunkRefRow[]): ChunkRefRow[][] {
  const out: ChunkRefRow[][] = ranges.map(() => []);
  for (const ref of refs) {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ranges[mid]!.offset <= ref.offset) lo = mid;
      else hi = mid - 1;
    }
    const range = ranges[lo];
    if (!range || ref.offset < range.offset || ref.offset + ref.size > range.offset + range.length) {
      throw new Error(`internal: no range holds ${ref.path} bytes ${ref.offset}+${ref.size}`);
    }
    out[lo]!.push(ref);
  }
  return out;
}

/** Two rounds' bytes as one, sorted by offset (ranges of different rounds may interleave). */
export function mergeFetched(a: Fetched, b: Fetched): Fetched {
  const order = [
    ...a.ranges.map((r, i) => ({ r, buf: a.buffers[i]! })),
    ...b.ranges.map((r, i) => ({ r, buf: b.buffers[i]! })),
  ];
  order.sort((x, y) => x.r.offset - y.r.offset);
  return {
    ranges: order.map((o) => o.r),
    buffers: order.map((o) => o.buf),
    decoded: new Map([...a.decoded, ...b.decoded]),
  };
}

/**
 * The stored (still encoded) bytes of one chunk, sliced from the fetched range that holds it: the
 * single place where a chunk's bytes arrive in the query, before any decoding.
 * @throws Error when no fetched range holds the whole chunk (a planning bug, never bad data).
 */
export function storedBytes(f: Fetched, ref: ChunkRefRow): Uint8Array {
  let lo = 0;
  let hi = f.ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f.ranges[mid]!.offset <= ref.offset) lo = mid;
    else hi = mid - 1;
  }
  // After merging two rounds ranges may interleave: step back to one that holds the whole ref.
  while (lo > 0 && f.ranges[lo]!.offset + f.ranges[lo]!.length < ref.offset + ref.size) lo--;
  const range = f.ranges[lo];
  const start = range ? ref.offset - range.offset : -1;
  if (!range || start < 0 || start + ref.size > range.length) {
    throw new Error(`internal: no fetched range holds ${ref.path} bytes ${ref.offset}+${ref.size}`);
  }
  return f.buffers[lo]!.subarray(start, start + ref.size);
}
