/**
 * A local store reader that counts its reads, for the store benchmarks: each part file opened
 * counts as a read of its footer's tail (64 KiB), then every range its buffer prefetches.
 */
import type { StoreReader } from "../../src/store/reader.js";

/** Counts local reads by wrapping the reader's part buffers (the manifest and footer reads included). */
export function countedLocal(reader: StoreReader, manifestBytes: number) {
  const counts = { requests: 1, bytes: manifestBytes };
  const counted: StoreReader = {
    ...reader,
    products: () => reader.products(),
    async openParts(paths, opts) {
      const parts = await reader.openParts(paths, opts);
      for (const p of parts) {
        counts.requests++;
        counts.bytes += Math.min(64 * 1024, p.buffer.byteLength);
      }
      return parts.map((p) => {
        const prefetch = p.buffer.prefetch.bind(p.buffer);
        return {
          ...p,
          buffer: {
            byteLength: p.buffer.byteLength,
            slice: p.buffer.slice.bind(p.buffer),
            view: p.buffer.view.bind(p.buffer),
            async prefetch(ranges, o) {
              for (const [s, e] of ranges) {
                counts.requests++;
                counts.bytes += e - s;
              }
              return prefetch(ranges, o);
            },
          },
        };
      });
    },
  };
  return { reader: counted, counters: () => counts };
}
