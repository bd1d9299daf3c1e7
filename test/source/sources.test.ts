import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { SourceError } from "../../src/errors.js";
import { runs } from "../../src/source/cache.js";
import {
  fromBytes,
  openFileSource,
  openSource,
  withBlockCache,
  withReadStats,
} from "../../src/source/index.js";
import { describeByteSource, expectOffsetBytes, offsetBytes } from "./conformance.js";

const dir = mkdtempSync(join(tmpdir(), "geochunks-sources-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function writeTemp(bytes: Uint8Array): string {
  const path = join(dir, `source-${files++}.bin`);
  writeFileSync(path, bytes);
  return path;
}

describeByteSource("file", async (bytes) => {
  const source = await openFileSource(writeTemp(bytes));
  return { source, close: () => source.close() };
});

describeByteSource("memory", async (bytes) => ({ source: fromBytes(bytes), close: async () => {} }));

describeByteSource("block cache over memory", async (bytes) => ({
  source: withBlockCache(fromBytes(bytes), { blockSize: 1000, maxGap: 3000 }),
  close: async () => {},
}));

describeByteSource("openSource on a path", async (bytes) => {
  const source = await openSource(writeTemp(bytes));
  return { source, close: () => source.close() };
});

describe("file source", () => {
  it("throws SourceError 404 for a missing file", async () => {
    const err = await openFileSource(join(dir, "missing.h5")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).status).toBe(404);
    expect((err as SourceError).message).toMatch(/missing\.h5 not found/);
  });

  it("has a file: URL and fails with SourceError after close", async () => {
    const path = writeTemp(offsetBytes(10));
    const source = await openFileSource(path);
    expect(source.url.href).toBe(pathToFileURL(path).href);
    await source.close();
    await expect(source.read(0, 4)).rejects.toBeInstanceOf(SourceError);
  });
});

describe("openSource", () => {
  it("opens file: URLs", async () => {
    const path = writeTemp(offsetBytes(300));
    const source = await openSource(pathToFileURL(path).href);
    expectOffsetBytes(await source.read(250, 50), 250, 50);
    await source.close();
  });

  it("says clearly that a scheme is unknown", async () => {
    for (const url of ["gs://bucket/key.h5"]) {
      const err = await openSource(url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).message).toMatch(/scheme gs: of gs:\/\/bucket\/key.h5 is unknown/);
      expect((err as SourceError).url).toBe(url);
    }
  });
});

describe("withReadStats", () => {
  it("counts requests and requested bytes, passing reads through unchanged", async () => {
    const { source, stats } = withReadStats(fromBytes(offsetBytes(1000), "memory:stats"));
    expect(source.url.href).toBe("memory:stats");
    expectOffsetBytes(await source.read(10, 20), 10, 20);
    expectOffsetBytes(await source.read(500, 300), 500, 300);
    await expect(source.read(990, 20)).rejects.toBeInstanceOf(SourceError);
    expect(stats).toEqual({ requests: 3, bytes: 340 });
    expect(await source.size()).toBe(1000);
  });
});

describe("withBlockCache", () => {
  it("joins sorted blocks into runs across gaps of at most maxGap blocks", () => {
    expect(runs([1, 2, 5, 9, 10, 20], 2)).toEqual([
      [1, 5],
      [9, 10],
      [20, 20],
    ]);
    expect(runs([1, 2, 5], 0)).toEqual([
      [1, 2],
      [5, 5],
    ]);
    expect(runs([], 3)).toEqual([]);
  });

  it("answers repeated reads from the cache", async () => {
    const { source: counted, stats } = withReadStats(fromBytes(offsetBytes(10_000)));
    const cached = withBlockCache(counted, { blockSize: 1024, maxGap: 0 });
    expectOffsetBytes(await cached.read(100, 50), 100, 50);
    expectOffsetBytes(await cached.read(200, 800), 200, 800);
    expect(stats).toEqual({ requests: 1, bytes: 1024 });
    expectOffsetBytes(await cached.read(1000, 100), 1000, 100); // spans blocks 0 and 1
    expect(stats).toEqual({ requests: 2, bytes: 2048 });
  });

  it("batches concurrent reads into gap-limited runs", async () => {
    const { source: counted, stats } = withReadStats(fromBytes(offsetBytes(100_000)));
    const cached = withBlockCache(counted, { blockSize: 1000, maxGap: 2000 });
    // blocks 0, 2, 5 (gap 1 block, then gap 2 blocks -> one run 0..5) and 50 (far -> own run)
    const reads = [0, 2000, 5000, 50_000].map((at) => cached.read(at + 10, 100));
    const starts = [0, 2000, 5000, 50_000];
    for (const [i, bytes] of (await Promise.all(reads)).entries())
      expectOffsetBytes(bytes, starts[i]! + 10, 100);
    expect(stats).toEqual({ requests: 2, bytes: 7000 });
    expectOffsetBytes(await cached.read(3000, 2000), 3000, 2000); // gap blocks were kept
    expect(stats.requests).toBe(2);
  });

  it("clips the last block at the end of the source", async () => {
    const { source: counted, stats } = withReadStats(fromBytes(offsetBytes(2500)));
    const cached = withBlockCache(counted, { blockSize: 1000 });
    expectOffsetBytes(await cached.read(2400, 100), 2400, 100);
    expect(stats.bytes).toBe(500);
  });

  it("forgets failed fetches so that a retry reads again", async () => {
    let fail = true;
    const inner = fromBytes(offsetBytes(5000));
    const flaky = {
      ...inner,
      url: inner.url,
      read: (o: number, l: number) =>
        fail ? Promise.reject(new SourceError("boom", { status: 503, url: "memory:x" })) : inner.read(o, l),
    };
    const cached = withBlockCache(flaky, { blockSize: 1000 });
    await expect(cached.read(10, 10)).rejects.toThrow("boom");
    fail = false;
    expectOffsetBytes(await cached.read(10, 10), 10, 10);
  });

  it("accepts a shared Map as its cache", async () => {
    const map = new Map<number, Promise<Uint8Array>>();
    const { source: counted, stats } = withReadStats(fromBytes(offsetBytes(5000)));
    await withBlockCache(counted, { blockSize: 1000, cache: map }).read(0, 10);
    await withBlockCache(counted, { blockSize: 1000, cache: map }).read(5, 10);
    expect(map.size).toBe(1);
    expect(stats.requests).toBe(1);
  });
});
