import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquet } from "../../src/export/geoparquet.js";
import { hasUsedWriterThread, warmWriterThread } from "../../src/export/writer-threads.js";
import { resultBatch } from "../../src/result/arrow.js";
import { duckdb } from "../support/results.js";

/*
 * A writer thread started ahead of a write (the query command starts one while its first requests
 * are in flight) takes the next result from its first batch, however small, and goes back idle for
 * the one after. The bytes are those of encoding here, read back by DuckDB.
 */

const dir = mkdtempSync(join(tmpdir(), "geochunks-warm-thread-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batch(b: number, rows: number): RecordBatch {
  return resultBatch({
    lat: new Float64Array(rows).map((_, i) => 60 + (b * rows + i) * 1e-5),
    lon: new Float64Array(rows).map((_, i) => -45 + i * 1e-5),
    time: new BigInt64Array(rows).fill(1_600_000_000_000_000_000n + BigInt(b)),
    columns: [{ name: "h", values: new Float32Array(rows).fill(b + 0.5) }],
  });
}

async function* batches(count: number, rows: number): AsyncGenerator<RecordBatch> {
  for (let b = 0; b < count; b++) yield batch(b, rows);
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("a GeoParquet writer thread started ahead", () => {
  it("takes the next result, small or large, with the bytes of encoding here", async () => {
    const bbox = [-45, 60, -44, 61] as [number, number, number, number];
    warmWriterThread();
    expect(hasUsedWriterThread()).toBe(false);
    const cases = [
      { count: 3, rows: 100 },
      { count: 40, rows: 1000 },
    ];
    for (const { count, rows } of cases) {
      const byDefault = join(dir, `default-${count}.parquet`);
      const here = join(dir, `here-${count}.parquet`);
      expect(await writeGeoParquet(batches(count, rows), byDefault, { bbox })).toBe(count * rows);
      // The thread finished this file and is idle again: it was used, not only started.
      expect(hasUsedWriterThread(), `${count * rows} rows`).toBe(true);
      await writeGeoParquet(batches(count, rows), here, { bbox, thread: false });
      expect(sha256(byDefault)).toBe(sha256(here));
      const read = await duckdb(`SELECT count(*)::INT AS n, sum(h)::DOUBLE AS h FROM '${byDefault}'`);
      expect(read[0]).toEqual({ n: count * rows, h: rows * ((count * (count - 1)) / 2 + 0.5 * count) });
    }
  }, 60_000);
});
