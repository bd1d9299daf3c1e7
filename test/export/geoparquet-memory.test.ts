import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquet } from "../../src/index.js";
import { resultBatch } from "../../src/result/arrow.js";
// The writer's own instance of the Parquet library, whose heap the test measures.
import { pw } from "../../src/store/parquet-wasm.js";
import { duckdb } from "../support/results.js";

/*
 * Writing a large result keeps the Parquet writer's memory flat: the wasm heap must not grow with the
 * rows written (it once kept every batch, 4 GB for a 75 M-photon result).
 */

const dir = mkdtempSync(join(tmpdir(), "geochunks-pq-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* batches(count: number, rows: number) {
  for (let b = 0; b < count; b++) {
    const lat = new Float64Array(rows).map((_, i) => (b * rows + i) * 1e-6);
    const lon = new Float64Array(rows).map((_, i) => -45 + i * 1e-6);
    const time = new BigInt64Array(rows).fill(1_600_000_000_000_000_000n + BigInt(b));
    yield resultBatch({
      lat,
      lon,
      time,
      columns: [
        { name: "h", values: new Float32Array(rows).fill(b) },
        { name: "granule_id", type: "utf8", value: `G${b % 7}` },
      ],
    });
  }
}

describe("GeoParquet writer memory", () => {
  it("stays flat over 1.6 M rows, and DuckDB reads every row back", async () => {
    const out = join(dir, "big.parquet");
    // On the calling thread, whose wasm heap this process can see (the writer thread runs the same code).
    const written = await writeGeoParquet(batches(160, 10_000), out, { thread: false });
    expect(written).toBe(1_600_000);
    // 1.6 M rows of this schema are ~70 MB in Arrow; the writer holds about one row group.
    expect(pw.wasmMemory().buffer.byteLength).toBeLessThan(48 * 2 ** 20);
    const [row] = await duckdb(`SELECT count(*)::INT AS n, sum(h)::DOUBLE AS s FROM read_parquet('${out}')`);
    expect(row).toEqual({ n: 1_600_000, s: (159 * 160 * 10_000) / 2 });
  }, 120_000);
});
