import type { ByteSource } from "./types.js";

/** Counters kept by {@link withReadStats}. */
export interface ReadStats {
  /**
   * Requests sent: HTTP requests (retries and size probes included) for sources that count their
   * transfers, else the number of `read` calls.
   */
  requests: number;
  /**
   * Bytes read: body bytes received over the wire for sources that count their transfers (a server
   * that ignores ranges sends whole objects, and they are counted whole), else the sum of the
   * requested lengths.
   */
  bytes: number;
}

/** Transfer counters a source keeps of its own (HTTP and S3 sources: `stats`). */
type TransferCounters = () => { requests: number; bytes: number };

function transferCountersOf(source: ByteSource): TransferCounters | undefined {
  const counted = source as ByteSource & { stats?: unknown };
  const probe = counted.stats as { requests?: unknown; bytes?: unknown } | undefined;
  if (typeof probe?.requests !== "number" || typeof probe.bytes !== "number") return undefined;
  return () => counted.stats as { requests: number; bytes: number };
}

/**
 * Counts the reads that pass through a source, without changing them. A source that counts its own
 * transfers (HTTP, S3) is measured by those counters instead, from the moment it is wrapped: the
 * bytes that really arrived and the requests that really left, whoever asked for them.
 * @example const { source, stats } = withReadStats(await openFileSource(path));
 */
export function withReadStats(source: ByteSource): { source: ByteSource; stats: ReadStats } {
  const transfers = transferCountersOf(source);
  const stats: ReadStats = transfers ? sinceNow(transfers) : { requests: 0, bytes: 0 };
  const wrapped: ByteSource = {
    url: source.url,
    size: (opts) => source.size(opts),
    read(offset, length, opts) {
      if (!transfers) {
        stats.requests += 1;
        stats.bytes += length;
      }
      return source.read(offset, length, opts);
    },
  };
  return { source: wrapped, stats };
}

/** Live counters: what `transfers` counted since this call. */
function sinceNow(transfers: TransferCounters): ReadStats {
  const start = { ...transfers() };
  return {
    get requests() {
      return transfers().requests - start.requests;
    },
    get bytes() {
      return transfers().bytes - start.bytes;
    },
  };
}
