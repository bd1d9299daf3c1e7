/** Reading many known ranges at once: coalesced requests, then reads served from the fetched bytes. */
import type { ByteSource, ReadOptions } from "./types.js";

/** A byte range of a source. */
export interface Span {
  offset: number;
  length: number;
}

/** Options of {@link withPrefetch}. */
export interface PrefetchOptions extends ReadOptions {
  /** Largest hole between two ranges read through rather than split into two requests, bytes. Default 64 KiB. */
  maxGap?: number;
  /**
   * Ranges are not joined across a multiple of this many bytes. A source that holds its bytes in
   * lines of this size (a block cache of whole-file lines) serves a read inside one line as a view
   * of it, and copies one that spans two: a beam's coordinate block of 2 MB joined across a line
   * cost a 2 MB copy. A single span that crosses one is read on its own. Default: no boundary.
   */
  boundary?: number;
}

/**
 * Unused bytes read through between two wanted ranges by default. The chunks of a group's datasets are
 * usually written one after another (ATL06 latitude, longitude and delta_time of a beam: one ~0.9 MB
 * block), so a small gap turns a request per chunk into one per block; 64 KiB costs under a millisecond
 * at 100 MB/s, far less than one round trip.
 */
export const DEFAULT_PREFETCH_GAP = 64 * 1024;

/**
 * Fetches `spans` of `source` in coalesced requests, all at once, and returns a source that serves any
 * read inside the fetched bytes from memory and sends every other read to `source`.
 */
export async function withPrefetch(
  source: ByteSource,
  spans: readonly Span[],
  opts: PrefetchOptions = {},
): Promise<ByteSource> {
  const ranges = coalesce(spans, opts.maxGap ?? DEFAULT_PREFETCH_GAP, opts.boundary);
  const buffers = await Promise.all(ranges.map((r) => source.read(r.offset, r.length, opts)));
  const holding = (offset: number, length: number) =>
    ranges.findIndex((r) => offset >= r.offset && offset + length <= r.offset + r.length);
  return {
    url: source.url,
    size: (o) => source.size(o),
    async read(offset, length, o) {
      const i = holding(offset, length);
      if (i < 0) return source.read(offset, length, o);
      const start = offset - ranges[i]!.offset;
      return buffers[i]!.subarray(start, start + length);
    },
  };
}

/**
 * Spans merged where the hole between them is at most `maxGap` bytes and the merged range stays
 * between two multiples of `boundary` (when given), in offset order.
 */
function coalesce(spans: readonly Span[], maxGap: number, boundary?: number): Span[] {
  const sorted = spans.filter((s) => s.length > 0).sort((a, b) => a.offset - b.offset);
  const out: Span[] = [];
  const line = (offset: number) => (boundary ? Math.floor(offset / boundary) : 0);
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (
      last &&
      s.offset <= last.offset + last.length + maxGap &&
      line(last.offset) === line(Math.max(last.offset + last.length, s.offset + s.length) - 1)
    ) {
      last.length = Math.max(last.length, s.offset + s.length - last.offset);
    } else out.push({ offset: s.offset, length: s.length });
  }
  return out;
}
