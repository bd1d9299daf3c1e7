import { describe, expect, it } from "vitest";
import { createLimiter, fromBytes, withBlockCache, withReadStats } from "../../src/source/index.js";

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

describe("withBlockCache hold", () => {
  it("serves whole blocks of bytes read elsewhere without a request, and ignores partial ones", async () => {
    const bytes = ramp(10_000);
    const { source, stats } = withReadStats(fromBytes(bytes));
    const cached = withBlockCache(source, { blockSize: 1024, maxGap: 0 });
    // Two whole blocks and part of a third, from offset 0; a hold off a block boundary is ignored.
    cached.hold(0, bytes.slice(0, 2500));
    cached.hold(100, bytes.slice(100, 5000));
    expect([...(await cached.read(1000, 48))]).toEqual([...bytes.subarray(1000, 1048)]);
    expect(stats.requests).toBe(0);
    await cached.read(2048, 10);
    expect(stats).toEqual({ requests: 1, bytes: 1024 });
    // The file's last block, shorter than a block, is held whole.
    cached.hold(9216, bytes.slice(9216));
    await cached.size();
    expect([...(await cached.read(9990, 10))]).toEqual([...bytes.subarray(9990)]);
    expect(stats.requests).toBe(1);
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

describe("withBlockCache prefetch", () => {
  /** A source whose reads wait until released, recording each read and how many were in flight. */
  function gatedSource(size: number) {
    const base = fromBytes(ramp(size));
    const reads: number[] = [];
    const waiting: (() => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const source = {
      ...base,
      async read(o: number, l: number) {
        reads.push(o);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((go) => waiting.push(go));
        inFlight--;
        return base.read(o, l);
      },
    };
    /** Lets every read waiting now go on, and waits for the reads they lead to to be sent. */
    const release = async () => {
      for (const go of waiting.splice(0)) go();
      await new Promise((done) => setImmediate(done));
      await new Promise((done) => setImmediate(done));
    };
    return { source, reads, release, maxInFlight: () => maxInFlight };
  }

  it("fetches the named blocks in order, a few at a time, then every byte is served from memory", async () => {
    const gated = gatedSource(10_000);
    const lines = withBlockCache(gated.source, { blockSize: 1000, maxGap: 0, maxRequest: 1000 });
    let done = false;
    const fetched = lines.prefetch([0, 9, 1, 2, 3, 4, 5, 6, 7, 8], 3).then(() => {
      done = true;
    });
    for (let k = 0; k < 6 && !done; k++) await gated.release();
    await fetched;
    // The first three go out together (one request each, in offset order), then one as each returns.
    expect(gated.reads.slice(0, 3)).toEqual([0, 1000, 9000]);
    expect(gated.reads.slice(3)).toEqual([2000, 3000, 4000, 5000, 6000, 7000, 8000]);
    expect(gated.maxInFlight()).toBe(3);
    const before = gated.reads.length;
    expect([...(await lines.read(8990, 20))]).toEqual([...ramp(10_000).subarray(8990, 9010)]);
    expect(gated.reads.length).toBe(before);
  });

  it("does not queue a read's own block behind the blocks fetched ahead, nor fetch a block twice", async () => {
    const gated = gatedSource(10_000);
    const lines = withBlockCache(gated.source, { blockSize: 1000, maxGap: 0, maxRequest: 1000 });
    const fetched = lines.prefetch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
    await new Promise((done) => setImmediate(done));
    const read = lines.read(7500, 10);
    await new Promise((done) => setImmediate(done));
    // The read's block went out beside the two blocks fetched ahead, not after the other seven.
    expect(gated.reads).toEqual([0, 1000, 7000]);
    for (let k = 0; k < 8; k++) await gated.release();
    expect([...(await read)]).toEqual([...ramp(10_000).subarray(7500, 7510)]);
    await fetched;
    expect([...gated.reads].sort((a, b) => a - b)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => k * 1000),
    );
  });

  it("never rejects: a failed block is left for a read to fetch again and report", async () => {
    const base = fromBytes(ramp(4000));
    let failures = 1;
    const flaky = {
      ...base,
      read(o: number, l: number) {
        if (o === 2000 && failures-- > 0) return Promise.reject(new Error("reset by peer"));
        return base.read(o, l);
      },
    };
    const lines = withBlockCache(flaky, { blockSize: 1000, maxGap: 0, maxRequest: 1000 });
    await expect(lines.prefetch([0, 1, 2, 3], 4)).resolves.toBeUndefined();
    expect([...(await lines.read(2000, 3))]).toEqual([2000 & 0xff, 2001 & 0xff, 2002 & 0xff]);
  });

  it("with a shared gate, serves the source that asked first before the next", async () => {
    const a = gatedSource(4000);
    const b = gatedSource(4000);
    const opts = { blockSize: 1000, maxGap: 0, maxRequest: 1000 };
    const gate = createLimiter(2);
    const order: string[] = [];
    const tag = (name: string, gated: ReturnType<typeof gatedSource>) => ({
      ...gated.source,
      read(o: number, l: number) {
        order.push(`${name}${o / 1000}`);
        return gated.source.read(o, l);
      },
    });
    const first = withBlockCache(tag("a", a), opts).prefetch([0, 1, 2, 3], 4, { gate });
    const second = withBlockCache(tag("b", b), opts).prefetch([0, 1, 2, 3], 4, { gate });
    for (let k = 0; k < 6; k++) {
      await a.release();
      await b.release();
    }
    await Promise.all([first, second]);
    // Two at a time, every block of the first source before any of the second.
    expect(order).toEqual(["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3"]);
    expect(a.maxInFlight()).toBe(2);
  });

  it("stops sending once its signal is aborted", async () => {
    const gated = gatedSource(10_000);
    const lines = withBlockCache(gated.source, { blockSize: 1000, maxGap: 0, maxRequest: 1000 });
    const stop = new AbortController();
    const fetched = lines.prefetch([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2, { signal: stop.signal });
    await new Promise((done) => setImmediate(done));
    stop.abort();
    for (let k = 0; k < 3; k++) await gated.release();
    await fetched;
    expect(gated.reads).toEqual([0, 1000]);
  });
});
