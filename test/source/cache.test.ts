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

describe("withBlockCache lines", () => {
  it("splits a run of wanted lines into requests of maxRequest bytes, and merges misses of one line", async () => {
    const reads: [number, number][] = [];
    const base = fromBytes(ramp(10_000));
    const counted = {
      ...base,
      read(o: number, l: number) {
        reads.push([o, l]);
        return base.read(o, l);
      },
    };
    const lines = withBlockCache(counted, { blockSize: 1000, maxGap: 0, maxRequest: 2000 });
    // One read over five lines, and three reads inside the third line, issued together.
    const got = await Promise.all([
      lines.read(500, 4000),
      lines.read(2100, 3),
      lines.read(2200, 3),
      lines.read(2900, 2),
    ]);
    expect(reads).toEqual([
      [0, 2000],
      [2000, 2000],
      [4000, 1000],
    ]);
    expect([...got[0]!.subarray(0, 3)]).toEqual([500 & 0xff, 501 & 0xff, 502 & 0xff]);
    expect([...got[3]!]).toEqual([2900 & 0xff, 2901 & 0xff]);
    await lines.read(4999, 1); // served from memory
    expect(reads).toHaveLength(3);
  });
});
