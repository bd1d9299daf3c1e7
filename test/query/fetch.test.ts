import { describe, expect, it } from "vitest";
import { fetchRanges, mergeFetched, rangesOfRefs, refsByRange, storedBytes } from "../../src/query/fetch.js";
import { createLimiter } from "../../src/source/limit.js";
import type { ByteSource } from "../../src/source/types.js";
import type { ChunkRefRow } from "../../src/store/schema.js";

/** A source whose byte at offset o is `o & 0xff`, counting reads and the most in flight at once. */
function offsetSource() {
  const seen = { reads: [] as [number, number][], active: 0, most: 0 };
  const source: ByteSource = {
    url: new URL("memory://offsets"),
    size: async () => 1 << 20,
    async read(offset, length) {
      seen.reads.push([offset, length]);
      seen.active++;
      seen.most = Math.max(seen.most, seen.active);
      // Yield to the event loop so that reads overlap as they would over a network.
      await new Promise((resolve) => setImmediate(resolve));
      seen.active--;
      return Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);
    },
  };
  return { source, seen };
}

const ref = (offset: number, size: number): ChunkRefRow => ({
  path: `/gt1l/x/${offset}`,
  chunk_start: 0,
  col_start: 0,
  offset,
  size,
  filter_mask: 0,
});

describe("query fetch", () => {
  it("coalesces refs within the gap and reads each range once through the pool", async () => {
    const refs = [ref(1000, 100), ref(1150, 50), ref(9000, 10), ref(20_000, 300)];
    const ranges = rangesOfRefs(refs, 64);
    expect(ranges).toEqual([
      { offset: 1000, length: 200 },
      { offset: 9000, length: 10 },
      { offset: 20_000, length: 300 },
    ]);
    const { source, seen } = offsetSource();
    const fetched = await fetchRanges(source, ranges, { pool: createLimiter(2) });
    expect(seen.reads).toEqual([
      [1000, 200],
      [9000, 10],
      [20_000, 300],
    ]);
    expect(seen.most).toBe(2);
    // Every ref's bytes are its own offsets: a mis-sliced read would show.
    for (const r of refs) {
      const bytes = storedBytes(fetched, r);
      expect(bytes.length).toBe(r.size);
      expect([...bytes]).toEqual(Array.from({ length: r.size }, (_, i) => (r.offset + i) & 0xff));
    }
  });

  it("one pool bounds the reads of several granules together", async () => {
    const pool = createLimiter(3);
    const a = offsetSource();
    const b = offsetSource();
    const ranges = Array.from({ length: 10 }, (_, i) => ({ offset: i * 100, length: 10 }));
    await Promise.all([fetchRanges(a.source, ranges, { pool }), fetchRanges(b.source, ranges, { pool })]);
    expect(a.seen.reads).toHaveLength(10);
    expect(b.seen.reads).toHaveLength(10);
    expect(Math.max(a.seen.most, b.seen.most)).toBeLessThanOrEqual(3);
    expect(pool.active).toBe(0);
  });

  it("slices refs from two merged rounds whose ranges interleave", async () => {
    const { source } = offsetSource();
    const pool = createLimiter(4);
    const first = await fetchRanges(source, [{ offset: 0, length: 1000 }], { pool });
    const second = await fetchRanges(
      source,
      [
        { offset: 100, length: 50 },
        { offset: 2000, length: 10 },
      ],
      { pool },
    );
    const all = mergeFetched(first, second);
    expect(all.ranges.map((r) => r.offset)).toEqual([0, 100, 2000]);
    // Inside the first round's range although a later range starts before it.
    expect([...storedBytes(all, ref(900, 4))]).toEqual([900 & 0xff, 901 & 0xff, 902 & 0xff, 903 & 0xff]);
    expect([...storedBytes(all, ref(2005, 2))]).toEqual([2005 & 0xff, 2006 & 0xff]);
    expect(() => storedBytes(all, ref(1500, 4))).toThrow("no fetched range holds /gt1l/x/1500 bytes 1500+4");
  });

  it("hands each range to onRange as it arrives, while the others are still in flight", async () => {
    // Reads resolve when told to, in the order the test chooses: the last range first.
    const waiting = new Map<number, () => void>();
    const source: ByteSource = {
      url: new URL("memory://held"),
      size: async () => 1 << 20,
      read: (offset, length) =>
        new Promise((resolve) =>
          waiting.set(offset, () => resolve(Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff))),
        ),
    };
    const ranges = [
      { offset: 0, length: 100 },
      { offset: 1000, length: 100 },
      { offset: 5000, length: 50 },
    ];
    const refs = [ref(10, 20), ref(1000, 40), ref(1050, 50), ref(5000, 50)];
    const byRange = refsByRange(ranges, refs);
    expect(byRange.map((g) => g.map((r) => r.offset))).toEqual([[10], [1000, 1050], [5000]]);
    const seen: { index: number; pending: number; bytes: number[] }[] = [];
    const done = fetchRanges(source, ranges, {
      pool: createLimiter(8),
      onRange(f, index) {
        seen.push({ index, pending: waiting.size, bytes: byRange[index]!.map((r) => storedBytes(f, r)[0]!) });
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect([...waiting.keys()]).toEqual([0, 1000, 5000]);
    for (const offset of [5000, 0, 1000]) {
      const release = waiting.get(offset)!;
      waiting.delete(offset);
      release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    // Each range was handed over with the reads still outstanding then; its refs' bytes were in.
    expect(seen).toEqual([
      { index: 2, pending: 2, bytes: [5000 & 0xff] },
      { index: 0, pending: 1, bytes: [10] },
      { index: 1, pending: 0, bytes: [1000 & 0xff, 1050 & 0xff] },
    ]);
    expect(() => refsByRange(ranges, [ref(90, 20)])).toThrow("no range holds /gt1l/x/90 bytes 90+20");
  });
});
