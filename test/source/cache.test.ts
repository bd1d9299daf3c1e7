import { describe, expect, it } from "vitest";
import { fromBytes, withBlockCache, withReadStats } from "../../src/source/index.js";

/** Bytes that encode their own offset, so a mis-sliced read shows. */
function ramp(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
}

describe("withBlockCache read-ahead", () => {
  it("fetches the window after a miss in the same request, so nearby reads cost nothing", async () => {
    const { source, stats } = withReadStats(fromBytes(ramp(100_000)));
    const cached = withBlockCache(source, { blockSize: 1024, maxGap: 0, readAhead: 4096 });
    expect([...(await cached.read(10, 4))]).toEqual([10, 11, 12, 13]);
    expect(stats).toEqual({ requests: 1, bytes: 5 * 1024 });
    expect([...(await cached.read(5000, 2))]).toEqual([5000 & 0xff, 5001 & 0xff]);
    expect(stats.requests).toBe(1);
    await cached.read(5120, 1); // the next miss reads ahead again
    expect(stats).toEqual({ requests: 2, bytes: 10 * 1024 });
  });

  it("stops at the end of the file and at blocks already cached", async () => {
    const { source, stats } = withReadStats(fromBytes(ramp(3000)));
    const cached = withBlockCache(source, { blockSize: 1024, maxGap: 0, readAhead: 64 * 1024 });
    await cached.read(2500, 10);
    expect(stats).toEqual({ requests: 1, bytes: 3000 - 2048 });
    await cached.read(0, 1);
    expect(stats).toEqual({ requests: 2, bytes: 3000 });
  });

  it("reads nothing ahead by default", async () => {
    const { source, stats } = withReadStats(fromBytes(ramp(10_000)));
    await withBlockCache(source, { blockSize: 1000 }).read(0, 10);
    expect(stats.bytes).toBe(1000);
  });
});
