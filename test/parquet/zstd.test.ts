import { compress } from "@bokuweb/zstd-wasm";
import { decompress } from "fzstd";
import { describe, expect, it } from "vitest";

/*
 * The page codec of the GeoParquet encoder (parquet/zstd.ts). The package's init() instantiates its
 * WebAssembly module anew on each call; two copies of our module in one process (the library and the
 * command's bundle) must share one instantiation, or pages compressed meanwhile come out corrupt.
 */

/** Bytes of `n` float64 values shaped like a result's coordinates (compressible, not trivially). */
function page(seed: number, n = 16_384): Uint8Array {
  const values = new Float64Array(n).map((_, i) => 60 + ((i * 7919 + seed) % 10_007) * 1e-5);
  return new Uint8Array(values.buffer);
}

describe("the zstd page codec", () => {
  it("round-trips pages, also with two copies of the module loaded and initialised one after the other", async () => {
    const first = await import("../../src/parquet/zstd.js");
    // The query string makes a second instance of the same module, as a second copy in a process would be.
    const second = (await import("../../src/parquet/zstd.js?copy" as string)) as typeof first;
    expect(second).not.toBe(first);
    const a = await first.loadZstd();
    const pending = second.loadZstd();
    // Compressed while the second copy initialises.
    const during = [page(1), page(2), page(3)].map((p) => [p, a(p)] as const);
    const b = await pending;
    // And while the event loop turns, as between a result's batches (an instantiation completes then).
    const after: (readonly [Uint8Array, Uint8Array])[] = [];
    for (let i = 0; i < 20; i++) {
      const p = page(10 + i);
      after.push([p, a(p)], [p, b(p)]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const [raw, packed] of [...during, ...after]) {
      expect(packed.length).toBeLessThan(raw.length);
      expect(Buffer.from(decompress(packed)).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it("gives the frames the package's own compress (a context a call) gives, page after page on one context", async () => {
    const codec = await (await import("../../src/parquet/zstd.js")).loadZstd();
    let state = 12345;
    const random = (n: number) =>
      Uint8Array.from({ length: n }, () => {
        state = (state * 1103515245 + 12345) >>> 0;
        return state >>> 24;
      });
    // Large, tiny, empty, incompressible and repetitive pages in turn: a context used before on a
    // larger or different page must not change the next page's frame.
    const pages = [
      page(1, 40_000),
      Uint8Array.of(7),
      new Uint8Array(0),
      random(5000),
      page(2, 100),
      new Uint8Array(300_000).fill(3),
      random(70),
      page(3),
      page(3),
    ];
    for (const [i, p] of pages.entries()) {
      const ours = codec(p);
      expect(Buffer.from(ours).equals(Buffer.from(compress(p, 1))), `page ${i}`).toBe(true);
      expect(Buffer.from(decompress(ours)).equals(Buffer.from(p)), `page ${i}`).toBe(true);
    }
  });
});
