import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataType, type RecordBatch } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquetToSink } from "../../src/export/geoparquet.js";
import { writeGeoParquet } from "../../src/index.js";
import { resultBatch } from "../../src/result/arrow.js";
import { duckdb } from "../support/results.js";

/*
 * GeoParquet written on the writer thread: the repeated string columns as Arrow dictionaries in the
 * batches and Parquet dictionaries in the file, the same bytes as encoding on the calling thread,
 * and a failing result leaves nothing behind.
 */

const dir = mkdtempSync(join(tmpdir(), "geochunks-pq-thread-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batch(b: number, rows: number): RecordBatch {
  const lat = new Float64Array(rows).map((_, i) => 60 + (b * rows + i) * 1e-5);
  const lon = new Float64Array(rows).map((_, i) => -45 + i * 1e-5);
  const time = new BigInt64Array(rows).fill(1_600_000_000_000_000_000n + BigInt(b));
  return resultBatch({
    lat,
    lon,
    time,
    columns: [
      { name: "h", values: new Float32Array(rows).fill(b + 0.5) },
      { name: "granule_id", type: "utf8", value: `ATL06_G${b % 3}.h5` },
      { name: "beam", type: "utf8", value: b % 2 === 0 ? "gt1l" : null, nullable: true },
      { name: "rgt", type: "int16", value: 100 + b },
    ],
  });
}

async function* batches(count: number, rows: number, failAt = -1): AsyncGenerator<RecordBatch> {
  for (let b = 0; b < count; b++) {
    if (b === failAt) throw new Error(`granule ${b} failed`);
    yield batch(b, rows);
  }
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("GeoParquet on the writer thread", () => {
  it("gets the repeated strings as Dictionary<Int16, Utf8> and writes them as Parquet dictionaries", async () => {
    const first = batch(0, 3);
    for (const name of ["granule_id", "beam"]) {
      const type = first.schema.fields.find((f) => f.name === name)!.type;
      expect(DataType.isDictionary(type) && DataType.isUtf8(type.dictionary), name).toBe(true);
      expect(String(type)).toBe("Dictionary<Int16, Utf8>");
    }
    // The same dictionary id in every batch: the batches share one schema.
    expect(batch(1, 2).schema.fields[5]!.type).toEqual(first.schema.fields[5]!.type);
    const out = join(dir, "dict.parquet");
    expect(await writeGeoParquet(batches(40, 500), out, { thread: true })).toBe(20_000);
    const encodings = await duckdb(
      `SELECT path_in_schema AS c, string_agg(DISTINCT encodings, ';') AS e
       FROM parquet_metadata('${out}') GROUP BY c`,
    );
    const byColumn = Object.fromEntries(encodings.map((r) => [r.c as string, r.e as string]));
    for (const name of ["granule_id", "beam"]) expect(byColumn[name]).toContain("RLE_DICTIONARY");
    for (const name of ["lat", "lon", "h"]) expect(byColumn[name]).not.toContain("DICTIONARY");
    const rows = await duckdb(
      `SELECT granule_id, beam, count(*)::INT AS n, min(h)::DOUBLE AS h, min(rgt)::INT AS rgt
       FROM read_parquet('${out}') GROUP BY ALL ORDER BY granule_id, beam NULLS LAST`,
    );
    expect(rows).toEqual([
      { granule_id: "ATL06_G0.h5", beam: "gt1l", n: 3500, h: 0.5, rgt: 100 },
      { granule_id: "ATL06_G0.h5", beam: null, n: 3500, h: 3.5, rgt: 103 },
      { granule_id: "ATL06_G1.h5", beam: "gt1l", n: 3000, h: 4.5, rgt: 104 },
      { granule_id: "ATL06_G1.h5", beam: null, n: 3500, h: 1.5, rgt: 101 },
      { granule_id: "ATL06_G2.h5", beam: "gt1l", n: 3500, h: 2.5, rgt: 102 },
      { granule_id: "ATL06_G2.h5", beam: null, n: 3000, h: 5.5, rgt: 105 },
    ]);
  }, 60_000);

  it("writes the same bytes as encoding on the calling thread", async () => {
    const threaded = join(dir, "threaded.parquet");
    const here = join(dir, "here.parquet");
    const bbox = [-45, 60, -44, 61] as [number, number, number, number];
    await writeGeoParquet(batches(30, 700), threaded, { bbox, thread: true });
    await writeGeoParquet(batches(30, 700), here, { bbox });
    expect(sha256(threaded)).toBe(sha256(here));
  }, 60_000);

  it("rejects with the result's error, stops pulling batches and leaves no file or temporary", async () => {
    const folder = mkdtempSync(join(dir, "fail-"));
    let pulled = 0;
    async function* counted(): AsyncGenerator<RecordBatch> {
      for await (const b of batches(50, 400, 20)) {
        pulled += 1;
        yield b;
      }
    }
    const failed = await writeGeoParquet(counted(), join(folder, "out.parquet"), { thread: true }).catch(
      (e: unknown) => e,
    );
    expect((failed as Error).message).toBe("granule 20 failed");
    expect(pulled).toBe(20);
    expect(readdirSync(folder)).toEqual([]);
  }, 60_000);

  it("writes one file after another on the kept thread, also after a failed file and side by side", async () => {
    const bbox = [-45, 60, -44, 61] as [number, number, number, number];
    const here = join(dir, "again-here.parquet");
    await writeGeoParquet(batches(12, 300), here, { bbox });
    // A failed file ends its thread; the next files get a thread of their own or the kept one.
    const failed = join(dir, "again-failed.parquet");
    await expect(writeGeoParquet(batches(12, 300, 5), failed, { bbox, thread: true })).rejects.toThrow(
      "granule 5 failed",
    );
    const outs = [0, 1, 2].map((i) => join(dir, `again-${i}.parquet`));
    expect(await writeGeoParquet(batches(12, 300), outs[0]!, { bbox, thread: true })).toBe(3600);
    const both = outs.slice(1).map((out) => writeGeoParquet(batches(12, 300), out, { bbox, thread: true }));
    expect(await Promise.all(both)).toEqual([3600, 3600]);
    for (const out of outs) expect(sha256(out)).toBe(sha256(here));
    const rows = await duckdb(`SELECT count(*)::INT AS n FROM read_parquet('${outs[2]}')`);
    expect(rows).toEqual([{ n: 3600 }]);
  }, 60_000);

  it("streams into a byte sink from the thread the bytes of the file, waiting on a slow sink; a failing sink fails it", async () => {
    const bbox = [-45, 60, -44, 61] as [number, number, number, number];
    const file = join(dir, "sink-file.parquet");
    await writeGeoParquet(batches(30, 700), file, { bbox, thread: true });
    for (const thread of [true, false, undefined]) {
      const pieces: Buffer[] = [];
      let writing = 0;
      let most = 0;
      const sink = {
        async write(bytes: Uint8Array) {
          writing += 1;
          most = Math.max(most, writing);
          await new Promise((resolve) => setImmediate(resolve));
          pieces.push(Buffer.from(bytes));
          writing -= 1;
        },
      };
      expect(await writeGeoParquetToSink(batches(30, 700), sink, { bbox, thread }), String(thread)).toBe(
        21_000,
      );
      expect(createHash("sha256").update(Buffer.concat(pieces)).digest("hex"), String(thread)).toBe(
        sha256(file),
      );
      // One piece at a time: the thread waits for the sink before handing over the next.
      expect(most, String(thread)).toBe(1);
    }
    let pulled = 0;
    async function* counted(): AsyncGenerator<RecordBatch> {
      for await (const b of batches(200, 1000)) {
        pulled += 1;
        yield b;
      }
    }
    const failing = { write: async () => Promise.reject(new Error("upload refused")) };
    await expect(writeGeoParquetToSink(counted(), failing, { bbox, thread: true })).rejects.toThrow(
      "upload refused",
    );
    // It stopped pulling the result once the sink failed (the first piece is the first row group).
    expect(pulled).toBeLessThan(200);
    // And the next file still writes, on a new or kept thread.
    expect(
      await writeGeoParquet(batches(30, 700), join(dir, "after-sink.parquet"), { bbox, thread: true }),
    ).toBe(21_000);
    expect(sha256(join(dir, "after-sink.parquet"))).toBe(sha256(file));
  }, 60_000);

  it("by default writes a small result here and a large one on a thread, the same bytes either way", async () => {
    const bbox = [-45, 60, -44, 61] as [number, number, number, number];
    for (const [count, rows] of [
      [3, 100],
      [40, 1000],
    ] as const) {
      const byDefault = join(dir, `default-${count}.parquet`);
      const here = join(dir, `here-${count}.parquet`);
      expect(await writeGeoParquet(batches(count, rows), byDefault, { bbox })).toBe(count * rows);
      await writeGeoParquet(batches(count, rows), here, { bbox, thread: false });
      expect(sha256(byDefault)).toBe(sha256(here));
    }
  }, 60_000);
});
