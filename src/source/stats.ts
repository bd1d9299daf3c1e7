import type { ByteSource } from "./types.js";

/** Counters kept by {@link withReadStats}. */
export interface ReadStats {
  /** Number of `read` calls made. */
  requests: number;
  /** Sum of the requested lengths, bytes. */
  bytes: number;
}

/**
 * Counts the reads that pass through a source, without changing them.
 * @example const { source, stats } = withReadStats(await openFileSource(path));
 */
export function withReadStats(source: ByteSource): { source: ByteSource; stats: ReadStats } {
  const stats: ReadStats = { requests: 0, bytes: 0 };
  const wrapped: ByteSource = {
    url: source.url,
    size: (opts) => source.size(opts),
    read(offset, length, opts) {
      stats.requests += 1;
      stats.bytes += length;
      return source.read(offset, length, opts);
    },
  };
  return { source: wrapped, stats };
}
