import { describe, expect, it } from "vitest";
import { withPrefetch } from "../../src/source/prefetch.js";
import { withReadStats } from "../../src/source/stats.js";
import type { ByteSource } from "../../src/source/types.js";
import { expectOffsetBytes, offsetBytes } from "./conformance.js";

/** An in-memory source of offset-encoded bytes that logs each read. */
function logged(size: number) {
  const bytes = offsetBytes(size);
  const reads: [number, number][] = [];
  const source: ByteSource = {
    url: new URL("memory://prefetch"),
    size: async () => size,
    async read(offset, length) {
      reads.push([offset, length]);
      return bytes.subarray(offset, offset + length);
    },
  };
  return { source, reads };
}

describe("withPrefetch", () => {
  it("reads the spans in coalesced requests and serves reads inside them from memory", async () => {
    const { source, reads } = logged(1 << 20);
    const spans = [
      { offset: 1000, length: 500 },
      { offset: 1600, length: 400 }, // 100 bytes after the first: joined
      { offset: 200_000, length: 100 }, // far: its own request
      { offset: 5000, length: 0 }, // empty: nothing to read
    ];
    const pre = await withPrefetch(source, spans, { maxGap: 1024 });
    expect(reads).toEqual([
      [1000, 1000],
      [200_000, 100],
    ]);
    const { source: counted, stats } = withReadStats(pre);
    expectOffsetBytes(await counted.read(1600, 400), 1600, 400);
    expectOffsetBytes(await counted.read(1500, 100), 1500, 100); // the gap read through
    expectOffsetBytes(await counted.read(200_050, 50), 200_050, 50);
    expect(reads).toHaveLength(2);
    // Outside the fetched bytes (or across their end): read from the source.
    expectOffsetBytes(await counted.read(1900, 200), 1900, 200);
    expectOffsetBytes(await counted.read(10, 10), 10, 10);
    expect(reads.slice(2)).toEqual([
      [1900, 200],
      [10, 10],
    ]);
    expect(stats.requests).toBe(5);
  });
});
