import { describe, expect, it } from "vitest";
import { InvalidHdf5Error } from "../../src/errors.js";
import { readDatasetValues } from "../../src/hdf5/data.js";
import type { DatasetMeta } from "../../src/hdf5/dataset.js";
import type { DatasetValues, ValueBuffers } from "../../src/hdf5/index.js";
import { Hdf5File, ValueBufferPool } from "../../src/hdf5/index.js";
import type { MetaReader } from "../../src/hdf5/reader.js";
import { openFileSource } from "../../src/source/index.js";
import { corpusFiles } from "./corpus.js";

/** Values in a form `toEqual` compares exactly: typed arrays as their type and bytes. */
function comparable(values: DatasetValues): unknown {
  if (!ArrayBuffer.isView(values)) return values;
  return {
    type: values.constructor.name,
    bytes: Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** Buffers full of 0xab, as a pool's buffer used before would be; in shared memory when `shared`. */
class DirtyBuffers implements ValueBuffers {
  taken = 0;
  constructor(readonly shared = false) {}
  take(bytes: number): Uint8Array {
    this.taken += 1;
    return new Uint8Array(this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)).fill(0xab);
  }
}

describe("values read into given buffers", () => {
  it("equal the values read into new buffers for every dataset of the corpus, fill values included", async () => {
    const dirty = new DirtyBuffers();
    // In shared memory, the inflate worker writes plain deflated chunks' values itself.
    const dirtyShared = new DirtyBuffers(true);
    // Tiny buffers pooled too, so that buffers go round between the corpus' small datasets.
    const pool = new ValueBufferPool({ minBytes: 1 });
    const sharedPool = new ValueBufferPool({ minBytes: 1, shared: true });
    let datasets = 0;
    let filled = 0;
    for (const { path, truth } of corpusFiles()) {
      const source = await openFileSource(path);
      try {
        const file = await Hdf5File.open(source);
        for (const [name, ds] of Object.entries(truth.datasets)) {
          if (ds.error !== undefined || ds.values === undefined || ds.values === null) continue;
          let expected: unknown;
          try {
            expected = comparable(await file.read(name));
          } catch {
            continue; // datasets this reader refuses are refused the same way with buffers (below)
          }
          for (const buffers of [dirty, dirtyShared]) {
            const [intoDirty] = await file.readMany([name], { buffers });
            const shared = buffers.shared;
            expect({ name, shared, values: comparable(intoDirty!) }).toEqual({
              name,
              shared,
              values: expected,
            });
          }
          for (const buffers of [pool, sharedPool]) {
            for (let round = 0; round < 2; round++) {
              const [pooled] = await file.readMany([name], { buffers });
              const shared = buffers.shared;
              expect({ name, shared, round, values: comparable(pooled!) }).toEqual({
                name,
                shared,
                round,
                values: expected,
              });
              if (ArrayBuffer.isView(pooled)) buffers.give(pooled);
            }
          }
          datasets += 1;
          if (name === "/layouts/chunked_fill" || name === "/layouts/contiguous_unwritten") filled += 1;
        }
      } finally {
        await source.close();
      }
    }
    expect(datasets).toBeGreaterThan(100);
    // Partly written chunked and never written contiguous datasets: their fill values were written
    // over the dirty bytes.
    expect(filled).toBeGreaterThanOrEqual(2);
    expect(dirty.taken).toBeGreaterThan(100);
    expect(dirtyShared.taken).toBe(dirty.taken);
  });
});

describe("buffers said to be shared that are not", () => {
  it("fail the read with one error, not the process", async () => {
    const liar: ValueBuffers = { shared: true, take: (bytes) => new Uint8Array(bytes) };
    const { path, truth } = corpusFiles().find(({ truth }) =>
      Object.values(truth.datasets).some(
        (d) =>
          d.shape?.length === 1 && d.layout === "chunked" && d.filters.length === 1 && d.filters[0]!.id === 1,
      ),
    )!;
    const name = Object.entries(truth.datasets).find(
      ([, d]) =>
        d.shape?.length === 1 && d.layout === "chunked" && d.filters.length === 1 && d.filters[0]!.id === 1,
    )![0];
    const source = await openFileSource(path);
    try {
      const file = await Hdf5File.open(source);
      await expect(file.readMany([name], { buffers: liar })).rejects.toThrow(
        "ValueBuffers.shared is set, but a buffer taken is not a SharedArrayBuffer",
      );
    } finally {
      await source.close();
    }
  });
});

describe("ValueBufferPool", () => {
  it("hands a buffer given back out again, never while it is lent, and ignores others", () => {
    const pool = new ValueBufferPool({ minBytes: 1024, maxBytes: 1 << 20, maxFreeBytes: 8192 });
    const a = pool.take(3000);
    const b = pool.take(3000);
    expect(a.length).toBe(3000);
    expect(a.buffer.byteLength).toBe(4096);
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(new Float64Array(a.buffer, 0, 375));
    pool.give(a); // a second time: ignored
    pool.give(new Uint8Array(4096)); // not the pool's: ignored
    expect(pool.freeBytes).toBe(4096);
    const c = pool.take(2100);
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(2100);
    expect(pool.take(2100).buffer).not.toBe(a.buffer);
    // Outside the pooled sizes: plain buffers of the length asked, never kept.
    const small = pool.take(10);
    const large = pool.take((1 << 20) + 1);
    expect([small.buffer.byteLength, large.buffer.byteLength]).toEqual([10, (1 << 20) + 1]);
    pool.give(small);
    pool.give(large);
    expect(pool.freeBytes).toBe(0);
    // At most maxFreeBytes kept.
    for (const x of [b, c, pool.take(3000), pool.take(3000)]) pool.give(x);
    expect(pool.freeBytes).toBe(8192);
    pool.clear();
    expect(pool.freeBytes).toBe(0);
  });
});

describe("a dataset too large to read at once", () => {
  it("is refused before any byte is read, its buffer made lazily or not", async () => {
    const n = 2 ** 29; // 4 GiB of float64
    const ds = {
      info: { path: "/big", dtype: "<f8", shape: [n], chunkShape: null, filters: [] },
      datatype: { typeClass: 1, size: 8, dtype: "<f8", littleEndian: true, signed: true, stringPad: 0 },
      dataspace: { kind: "simple", shape: [n], maxshape: [n] },
      layout: { kind: "contiguous", address: 0, size: n * 8 },
      fill: undefined,
    } as unknown as DatasetMeta;
    let reads = 0;
    const source = {
      url: new URL("file:///big.h5"),
      size: async () => n * 8,
      read: async (_offset: number, length: number) => {
        reads += 1;
        return new Uint8Array(Math.min(length, 16));
      },
    };
    for (const buffers of [undefined, new DirtyBuffers()]) {
      await expect(
        readDatasetValues(
          {} as MetaReader,
          source,
          ds,
          [{ offset: 0, size: n * 8, coords: [0], filterMask: 0 }],
          {
            buffers,
          },
        ),
      ).rejects.toThrow(InvalidHdf5Error);
    }
    expect(reads).toBe(0);
  });
});
