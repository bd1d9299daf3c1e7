/**
 * A store part file as the Parquet reader's `AsyncBuffer` (byteLength + async slice), read through a
 * ByteSource: the footer and the column chunks a selection needs are prefetched in few coalesced
 * reads, kept in memory for the query and, for remote stores, in the disk cache.
 */
import type { ByteSource, ReadOptions } from "../source/index.js";
import type { CacheEntry } from "./range-cache.js";

/**
 * Largest gap, bytes, read through to join two wanted column chunks of a part file into one request.
 * The column chunks of one row group lie side by side, so a selection's reads of one group join
 * whole; across groups a 64 KiB gap costs at most ~3 ms at 20 MB/s against a 20 ms round trip.
 */
export const PART_MAX_GAP = 64 * 1024;

/** Bytes read from a part file's end to get its footer in one request (the footer length is in the last 8). */
export const FOOTER_READ_SIZE = 64 * 1024;

/** An `AsyncBuffer` over a part file, with {@link PartBuffer.prefetch} to fetch many ranges at once. */
export interface PartBuffer {
  readonly byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
  /** Fetches the ranges ([start, end) pairs) the buffer does not hold yet, coalesced. */
  prefetch(ranges: readonly [number, number][], opts?: ReadOptions): Promise<void>;
  /**
   * Bytes [start, end) as a view of what the buffer holds in one piece (no copy), or undefined when
   * not held: the page reader (pages.ts) decodes from these, and reads otherwise when undefined.
   */
  view(start: number, end: number): Uint8Array | undefined;
}

interface Held {
  start: number;
  bytes: Uint8Array;
}

const toArrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/**
 * The part file behind `source` (of `size` bytes) as a {@link PartBuffer}; with `cache`, ranges are
 * served from and written to that disk cache entry.
 */
export function partBuffer(
  source: ByteSource,
  size: number,
  opts: { cache?: CacheEntry; maxGap?: number; signal?: AbortSignal } = {},
): PartBuffer {
  const held: Held[] = [];
  const maxGap = opts.maxGap ?? PART_MAX_GAP;
  const inMemory = (start: number, end: number) =>
    held.find((h) => h.start <= start && end <= h.start + h.bytes.length);
  const fetch = async (start: number, end: number, signal?: AbortSignal) => {
    const cached = await opts.cache?.read(start, end);
    const bytes = cached ?? (await source.read(start, end - start, { signal: signal ?? opts.signal }));
    if (!cached) await opts.cache?.write(start, bytes);
    held.push({ start, bytes });
    return bytes;
  };
  return {
    byteLength: size,
    async slice(start, end = size) {
      const h = inMemory(start, end);
      if (h) return toArrayBuffer(h.bytes.subarray(start - h.start, end - h.start));
      return toArrayBuffer(await fetch(start, end));
    },
    view(start, end) {
      const h = inMemory(start, end);
      return h?.bytes.subarray(start - h.start, end - h.start);
    },
    async prefetch(ranges, readOpts) {
      const missing = ranges
        .filter(([s, e]) => e > s && !inMemory(s, e))
        .map(([s, e]) => [Math.max(0, s), Math.min(size, e)] as [number, number])
        .sort((a, b) => a[0] - b[0]);
      const joined: [number, number][] = [];
      for (const r of missing) {
        const last = joined[joined.length - 1];
        // Ranges the disk cache holds are read from it one by one; only network reads are joined.
        if (last && r[0] - last[1] <= maxGap && !opts.cache?.has(r[0], r[1]))
          last[1] = Math.max(last[1], r[1]);
        else joined.push([...r]);
      }
      await Promise.all(joined.map(([s, e]) => fetch(s, e, readOpts?.signal)));
    },
  };
}

/** Reads the footer region of a part buffer (the last {@link FOOTER_READ_SIZE} bytes) in one request. */
export async function prefetchFooter(buffer: PartBuffer, opts?: ReadOptions): Promise<void> {
  const start = Math.max(0, buffer.byteLength - FOOTER_READ_SIZE);
  await buffer.prefetch([[start, buffer.byteLength]], opts);
}
