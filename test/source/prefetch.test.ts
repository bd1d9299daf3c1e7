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

describe("withPrefetch at a boundary", () => {
  it("joins no ranges across a multiple of `boundary`, and reads a span crossing one alone", async () => {
    const spans = [
      { offset: 3000, length: 500 },
      { offset: 3600, length: 900 }, // crosses 4096
      { offset: 4600, length: 400 },
      { offset: 5100, length: 100 },
    ];
    const joined = logged(1 << 16);
    await withPrefetch(joined.source, spans, { maxGap: 1024 });
    expect(joined.reads).toEqual([[3000, 2200]]);

    const { source, reads } = logged(1 << 16);
    const pre = await withPrefetch(source, spans, { maxGap: 1024, boundary: 4096 });
    expect(reads).toEqual([
      [3000, 500],
      [3600, 900],
      [4600, 600],
    ]);
    for (const s of spans) expectOffsetBytes(await pre.read(s.offset, s.length), s.offset, s.length);
    expect(reads).toHaveLength(3);
  });
});
