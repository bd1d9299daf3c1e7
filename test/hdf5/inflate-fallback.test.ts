import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeChunkInto, decodeChunkOffThread } from "../../src/hdf5/filters.js";
import { stopInflateWorker } from "../../src/hdf5/inflate-worker.js";
import type { DecodeSpec } from "../../src/hdf5/types.js";
import { xxhash32 } from "../../src/source/xxhash32.js";

// A file of its own: the worker stopped here stays stopped for this module's later reads.

const DEFLATE = { id: 1, name: "deflate", flags: 1, params: [6] };

function storedChunk(n: number, seed: number) {
  const values = Float64Array.from({ length: n }, (_, i) => seed + i * 1e-3 + Math.cos(i + seed));
  const spec: DecodeSpec = { path: `/v${seed}`, dtype: "<f8", chunkShape: [n], filters: [DEFLATE] };
  return { values: new Uint8Array(values.buffer), bytes: new Uint8Array(deflateSync(values)), spec };
}

describe("chunks when the inflate worker dies", () => {
  it("are inflated and placed on the threadpool: those in flight and those after", async () => {
    const n = 4000;
    const round = async (seed: number, stop: boolean) => {
      const chunks = Array.from({ length: 40 }, (_, k) => storedChunk(n, seed + k));
      const out = new Uint8Array(new SharedArrayBuffer(chunks.length * n * 8));
      const sums: number[] = [];
      const asked = chunks.map((c, k) => {
        const onSum = (sum: number) => (sums[k] = sum);
        if (k % 2) return decodeChunkOffThread(c.bytes, c.spec, 0, "a chunk", onSum);
        const place = () => ({
          shared: out.buffer as SharedArrayBuffer,
          at: k * n * 8,
          from: 0,
          length: n * 8,
        });
        return decodeChunkInto(c.bytes, c.spec, 0, place, "a chunk", onSum)!;
      });
      // Stopped once the batches are on their way: the chunks in flight fail over.
      if (stop) await new Promise((resolve) => setImmediate(resolve)).then(() => stopInflateWorker());
      const got = await Promise.all(asked);
      for (const [k, c] of chunks.entries()) {
        const bytes = k % 2 ? (got[k] as Uint8Array) : out.subarray(k * n * 8, (k + 1) * n * 8);
        expect(
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(c.values),
          `chunk ${k}`,
        ).toBe(true);
        expect(sums[k], `chunk ${k}`).toBe(xxhash32(c.bytes));
      }
    };
    await round(1, true);
    await round(100, false);
  });
});
