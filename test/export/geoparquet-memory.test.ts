import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquet } from "../../src/index.js";
import { resultBatch } from "../../src/result/arrow.js";
import type { ResultColumns } from "../../src/result/columns.js";
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

  it("holds one row group, not the file's pages, when it writes a query result's columns", async () => {
    // A query result as writeGeoParquet takes it (its rows as plain columns), encoded by the TypeScript
    // encoder on this thread, so this process's array buffers are the encoder's.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const rows = 16_384;
    const BATCHES = 160;
    const held: number[] = [];
    let seed = 1;
    const noise = () => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      const high = seed / 2 ** 32;
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return high + seed / 2 ** 64;
    };
    async function* columns(): AsyncGenerator<ResultColumns> {
      for (let b = 0; b < BATCHES; b++) {
        // The first sample after 16 row groups, the others over the last 8 (see below).
        if (b === 16 || b >= BATCHES - 8) {
          gc();
          held.push(process.memoryUsage().arrayBuffers);
        }
        // Values that zstd cannot shrink much, so that every page the encoder kept would show.
        yield {
          lat: new Float64Array(rows).map(() => 60 + noise()),
          lon: new Float64Array(rows).map(() => -45 + noise()),
          time: new BigInt64Array(rows).fill(1_600_000_000_000_000_000n + BigInt(b) * 1_000_000_000n),
          columns: [{ name: "h", values: new Float32Array(rows).map(() => noise() * 3000) }],
        };
      }
    }
    const result = {
      columns,
      schema: () => Promise.reject(new Error("not empty")),
      [Symbol.asyncIterator]: () => {
        throw new Error("written from its columns");
      },
    };
    const out = join(dir, "columns.parquet");
    const written = await writeGeoParquet(result as never, out, { thread: false, rowGroupSize: rows });
    expect(written).toBe(BATCHES * rows);
    // 136-143 row groups pass between the first sample and the last eight: an encoder that kept every
    // page for the footer held 9-12 MB more at each of them (the file's pages, compressed); this one
    // 8-157 KB. The least of the eight is compared: the process's array buffers also count other
    // threads' (a collection here frees only this thread's), which once made a single sample 4.3 MB
    // higher.
    expect(Math.min(...held.slice(1)) - held[0]!).toBeLessThan(4 * 2 ** 20);
    const [row] = await duckdb(
      `SELECT count(*)::INT AS n, count(DISTINCT time)::INT AS t FROM read_parquet('${out}')`,
    );
    expect(row).toEqual({ n: BATCHES * rows, t: BATCHES });
  }, 120_000);
});
