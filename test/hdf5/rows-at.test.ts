import { deflateSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { DatasetValues } from "../../src/hdf5/index.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import { inflateHead } from "../../src/hdf5/inflate-worker.js";
import { openFileSource } from "../../src/source/index.js";
import { corpusFiles } from "./corpus.js";

/** The rows of a whole read, as `toEqual` compares them exactly (typed arrays by type and bytes). */
function picked(values: DatasetValues, rows: readonly number[]): unknown {
  if (Array.isArray(values)) return rows.map((r) => values[r]);
  const typed = values as unknown as ArrayLike<unknown> & { constructor: { name: string } };
  return { type: typed.constructor.name, values: rows.map((r) => typed[r]) };
}

function comparable(values: DatasetValues): unknown {
  if (Array.isArray(values)) return values;
  const typed = values as unknown as ArrayLike<unknown> & { constructor: { name: string } };
  return { type: typed.constructor.name, values: Array.from(typed) };
}

describe("values at rows (readMany's rowsOf)", () => {
  it("equal the whole read's values at those rows for every one-dimensional dataset of the corpus", async () => {
    let datasets = 0;
    let chunkedDeflated = 0;
    for (const { path, truth } of corpusFiles()) {
      const source = await openFileSource(path);
      try {
        const file = await Hdf5File.open(source);
        for (const [name, ds] of Object.entries(truth.datasets)) {
          if (ds.error !== undefined || ds.shape?.length !== 1 || ds.shape[0] === 0) continue;
          let whole: DatasetValues;
          try {
            whole = await file.read(name);
          } catch {
            continue; // refused whole, refused by rows too (below it would throw the same)
          }
          if (ds.dtype.startsWith("|O") || (whole as { length?: number }).length !== ds.shape[0]) continue;
          const n = ds.shape[0]!;
          const step = ds.chunks?.[0] ?? n;
          // Each chunk's first row, the last row, a row in the middle, and repeats out of order.
          const rows = [0, n - 1, Math.floor(n / 2), 0, n - 1];
          for (let r = step; r < n; r += step) rows.push(r);
          const [got] = await file.readMany([name], { rowsOf: new Map([[name, rows]]) });
          expect({ name, values: comparable(got!) }).toEqual({ name, values: picked(whole, rows) });
          datasets += 1;
          if (ds.layout === "chunked" && ds.filters.some((f) => f.id === 1)) chunkedDeflated += 1;
        }
      } finally {
        await source.close();
      }
    }
    expect(datasets).toBeGreaterThan(50);
    expect(chunkedDeflated).toBeGreaterThan(5);
  });

  it("refuses rows outside the dataset, naming it", async () => {
    const [{ path, truth }] = corpusFiles().filter(({ truth }) =>
      Object.values(truth.datasets).some((d) => d.shape?.length === 1 && d.layout === "chunked"),
    );
    const name = Object.entries(truth.datasets).find(
      ([, d]) => d.shape?.length === 1 && d.layout === "chunked",
    )![0];
    const n = truth.datasets[name]!.shape![0]!;
    const source = await openFileSource(path!);
    try {
      const file = await Hdf5File.open(source);
      for (const row of [-1, n, 0.5]) {
        await expect(file.readMany([name], { rowsOf: new Map([[name, [row]]]) })).rejects.toThrow(
          `row ${row} of ${name} asked, outside its ${n} rows`,
        );
      }
    } finally {
      await source.close();
    }
  });
});

describe("inflateHead", () => {
  it("inflates no more of a stream than its head takes, and the whole stream when it is short", () => {
    const values = Float64Array.from({ length: 10_000 }, (_, i) => 1.5e8 + i * 0.00285 + Math.sin(i) * 1e-7);
    const bytes = new Uint8Array(values.buffer);
    const stored = new Uint8Array(deflateSync(bytes));
    const inputs: number[] = [];
    const inflate = (b: Uint8Array, o: object) => {
      inputs.push(b.length);
      return inflateSync(b, o);
    };
    const head = inflateHead(inflate, stored, 16, 1 << 20);
    expect(Buffer.from(head).equals(Buffer.from(bytes.subarray(0, 16)))).toBe(true);
    // One try on the head plus 1 KiB of the stream: a few hundred bytes inflated of about 80 KB.
    expect(inputs).toEqual([16 + 1024]);
    inputs.length = 0;
    // Half the chunk: more tries, each four times as long, never past the stream.
    const half = inflateHead(inflate, stored, 40_000, 1 << 20);
    expect(Buffer.from(half).equals(Buffer.from(bytes.subarray(0, 40_000)))).toBe(true);
    expect(inputs.every((k, i) => i === 0 || k === Math.min(stored.length, inputs[i - 1]! * 4))).toBe(true);
    expect(inputs.at(-1)).toBeLessThanOrEqual(stored.length);
    // More than the stream holds: all of it, after the whole stream was read.
    inputs.length = 0;
    const all = inflateHead(inflate, stored, 100_000, 1 << 20);
    expect(all.length).toBe(80_000);
    expect(inputs.at(-1)).toBe(stored.length);
  });
});
