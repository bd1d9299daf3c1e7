import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { parquetMetadata, parquetReadObjects, readOffsetIndex } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquet } from "../../src/export/geoparquet.js";
import { writeGeoParquetColumns } from "../../src/export/geoparquet-columns.js";
import { RESULT_ROW_GROUP_ROWS } from "../../src/export/geoparquet-encoder.js";
import { RESULT_PAGE_BYTES } from "../../src/export/geoparquet-schema.js";
import { resultBatch } from "../../src/result/arrow.js";
import type { ResultColumns } from "../../src/result/columns.js";
import { DEFAULT_ROW_GROUP_SIZE, pw } from "../../src/store/parquet-wasm.js";
import { duckdb } from "../support/results.js";

/*
 * The TypeScript GeoParquet encoder (export/geoparquet-encoder.ts) against the parquet-wasm writer it
 * stands in for: the same rows, schema, statistics and metadata read back by DuckDB, hyparquet and
 * parquet-wasm (arrow-rs) from the two files of the same columns; pages and row groups of the same
 * sizes; the same bytes on the writer thread and on the calling thread.
 */

const dir = mkdtempSync(join(tmpdir(), "geochunks-encoder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BBOX = [-46, 60, -44, 62] as [number, number, number, number];

/** Batch `b` of `rows` rows: every numeric type, nulls, NaN, large unsigned values, string and numeric constants. */
function columnsOf(b: number, rows: number): ResultColumns {
  const at = (i: number) => b * 100_000 + i;
  const valid = new Uint8Array(rows).map((_, i) => (at(i) % 7 === 3 ? 0 : 1));
  return {
    lat: new Float64Array(rows).map((_, i) => 60.5 + at(i) * 1e-6),
    lon: new Float64Array(rows).map((_, i) => -45.5 + ((at(i) * 7919) % 10_007) * 1e-5),
    time: new BigInt64Array(rows).map((_, i) => 1_600_000_000_000_000_000n + BigInt(at(i)) * 1_000_003n),
    columns: [
      {
        name: "h",
        values: new Float32Array(rows).map((_, i) => (at(i) === 5 ? Number.NaN : 2400 + (at(i) % 997) / 8)),
        valid,
      },
      { name: "d", values: new Float64Array(rows).map((_, i) => -1 + (at(i) % 13) * 0.25) },
      { name: "q", values: new Int8Array(rows).map((_, i) => (at(i) % 5) - 2) },
      { name: "s16", values: new Int16Array(rows).map((_, i) => (at(i) % 30_000) - 15_000), valid },
      { name: "seg", values: new Int32Array(rows).map((_, i) => 300_000 + at(i)) },
      { name: "i64", values: new BigInt64Array(rows).map((_, i) => BigInt(at(i)) * -3_000_000_000n), valid },
      { name: "u8", values: new Uint8Array(rows).map((_, i) => 250 + (at(i) % 6)) },
      { name: "u16", values: new Uint16Array(rows).map((_, i) => 65_000 + (at(i) % 500)) },
      { name: "u32", values: new Uint32Array(rows).map((_, i) => 4_000_000_000 + at(i)) },
      {
        name: "u64",
        values: new BigUint64Array(rows).map((_, i) => 18_000_000_000_000_000_000n + BigInt(at(i))),
      },
      { name: "granule_id", type: "utf8", value: `ATL06_G${b % 3}` },
      { name: "beam", type: "utf8", value: b % 4 === 1 ? null : `gt${1 + (b % 3)}l`, nullable: true },
      { name: "rgt", type: "int16", value: 800 + b },
      { name: "cycle", type: "int8", value: b % 2 === 0 ? null : 3, nullable: true },
      { name: "orbit", type: "uint32", value: 3_000_000_000 },
      { name: "count", type: "int64", value: 12 },
    ],
  };
}

/** Batches of these sizes: an empty one, one row, and batches across page and row group ends. */
const SIZES = [3000, 1, 0, 9000, 17, 12_000, 5000, 2500];

async function* columns(): AsyncGenerator<ResultColumns> {
  for (const [b, rows] of SIZES.entries()) yield columnsOf(b, rows);
}

async function* batches() {
  for await (const c of columns()) yield resultBatch(c);
}

const emptySchema = async () => resultBatch(columnsOf(0, 0)).schema;
const ROWS = SIZES.reduce((a, b) => a + b, 0);

/** The file's bytes as an ArrayBuffer of its own. */
function bufferOf(path: string): ArrayBuffer {
  const bytes = readFileSync(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

describe("the TypeScript GeoParquet encoder", () => {
  const mine = join(dir, "mine.parquet");
  const threaded = join(dir, "threaded.parquet");
  const reference = join(dir, "reference.parquet");

  it("writes the rows, schema, statistics and metadata of parquet-wasm's file of the same columns", async () => {
    const opts = { bbox: BBOX, emptySchema, rowGroupSize: 10_000 };
    expect(await writeGeoParquetColumns(columns(), mine, { ...opts, thread: false })).toBe(ROWS);
    expect(await writeGeoParquetColumns(columns(), threaded, opts)).toBe(ROWS);
    await writeGeoParquet(batches(), reference, { bbox: BBOX, rowGroupSize: 10_000, thread: false });
    expect(readFileSync(mine).equals(readFileSync(threaded))).toBe(true);
    // Not parquet-wasm's bytes: the column chunks are the encoder's own.
    expect(readFileSync(mine).equals(readFileSync(reference))).toBe(false);

    // DuckDB: the same rows (NaN included), schema, row groups and key-value metadata.
    const differ = await duckdb(
      `SELECT count(*)::INT AS n FROM ((SELECT * FROM '${mine}' EXCEPT ALL SELECT * FROM '${reference}')
         UNION ALL (SELECT * FROM '${reference}' EXCEPT ALL SELECT * FROM '${mine}'))`,
    );
    expect(differ).toEqual([{ n: 0 }]);
    const [counted] = await duckdb(
      `SELECT count(*)::INT AS n, count(h)::INT AS h, count(beam)::INT AS beam FROM '${mine}'`,
    );
    expect(counted!.n).toBe(ROWS);
    expect(counted!.h).toBeLessThan(ROWS);
    const schema = (f: string) =>
      duckdb(
        `SELECT name, type, converted_type, logical_type::VARCHAR AS logical, repetition_type FROM parquet_schema('${f}')`,
      );
    expect(await schema(mine)).toEqual(await schema(reference));
    const groups = (f: string) =>
      duckdb(
        `SELECT row_group_id, row_group_num_rows, path_in_schema, type, num_values, compression, stats_null_count,
                stats_min_value, stats_max_value, stats_min, stats_max
         FROM parquet_metadata('${f}') WHERE path_in_schema <> 'geometry' ORDER BY row_group_id, column_id`,
      );
    const ours = await groups(mine);
    // lat, lon, time, the 16 columns (geometry left out: parquet-wasm keeps min/max of its WKB, this encoder none).
    expect(ours).toHaveLength(Math.ceil(ROWS / 10_000) * 19);
    expect(ours).toEqual(await groups(reference));
    const kv = (f: string) =>
      duckdb(
        `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${f}') WHERE decode(key) <> 'ARROW:schema'`,
      );
    expect((await kv(mine)).map((r) => r.k)).toEqual(["geo"]);
    expect(await kv(mine)).toEqual(await kv(reference));

    // hyparquet: the same values, row for row (WKB points decoded as GeoJSON).
    const readAll = (f: string) => parquetReadObjects({ file: bufferOf(f), compressors });
    const [a, b] = await Promise.all([readAll(mine), readAll(reference)]);
    expect(a).toHaveLength(ROWS);
    expect(a).toEqual(b);

    // parquet-wasm (arrow-rs) reads the Arrow types back from ARROW:schema: dictionary strings, UTC nanoseconds.
    // intoIPCStream() consumes (frees) the wasm table.
    const arrowOf = (f: string) =>
      tableFromIPC(pw.readParquet(new Uint8Array(readFileSync(f))).intoIPCStream());
    const [ta, tb] = [arrowOf(mine), arrowOf(reference)];
    expect(ta.schema.fields.map(String)).toEqual(tb.schema.fields.map(String));
    expect(String(ta.schema.fields.find((f) => f.name === "beam")!.type)).toMatch(/Dictionary/);
    expect(ta.numRows).toBe(ROWS);
    expect(ta.getChild("u64")!.get(ROWS - 1)).toBe(tb.getChild("u64")!.get(ROWS - 1));
  }, 60_000);

  it("pages at most RESULT_PAGE_BYTES of values and row groups of parquet-wasm's default size", async () => {
    expect(RESULT_ROW_GROUP_ROWS).toBe(DEFAULT_ROW_GROUP_SIZE);
    const out = join(dir, "pages.parquet");
    async function* big() {
      for (let b = 0; b < 7; b++) yield columnsOf(b, 10_000);
    }
    expect(await writeGeoParquetColumns(big(), out, { bbox: BBOX, emptySchema, thread: false })).toBe(70_000);
    const file = bufferOf(out);
    const metadata = parquetMetadata(file);
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([65_536, 4464]);
    for (const name of ["lat", "geometry", "h"]) {
      const chunk = metadata.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!;
      const view = new DataView(file, Number(chunk.offset_index_offset), chunk.offset_index_length!);
      const pages = readOffsetIndex({ view, offset: 0 }).page_locations;
      expect(Number(pages[0]!.offset)).toBe(Number(chunk.meta_data!.data_page_offset));
      const rows = pages.map(
        (p, i) => Number(pages[i + 1]?.first_row_index ?? 65_536n) - Number(p.first_row_index),
      );
      expect(rows.reduce((x, y) => x + y, 0)).toBe(65_536);
      const width = name === "geometry" ? 25 : name === "h" ? 4 : 8;
      expect(rows.length).toBe(Math.ceil((65_536 * width) / RESULT_PAGE_BYTES));
      for (const n of rows) expect(n * width).toBeLessThanOrEqual(RESULT_PAGE_BYTES);
      // Each location is a page: the next one starts where it ends, the last one at the chunk's end.
      const end = Number(chunk.meta_data!.data_page_offset) + Number(chunk.meta_data!.total_compressed_size);
      for (const [i, p] of pages.entries())
        expect(Number(p.offset) + p.compressed_page_size).toBe(Number(pages[i + 1]?.offset ?? end));
    }
    const [sums] = await duckdb(`SELECT count(*)::INT AS n, sum(seg)::BIGINT::VARCHAR AS seg FROM '${out}'`);
    let seg = 0;
    for (let b = 0; b < 7; b++) for (let i = 0; i < 10_000; i++) seg += 300_000 + b * 100_000 + i;
    expect(sums).toEqual({ n: 70_000, seg: String(seg) });
  }, 60_000);

  it("writes a query result's columns through writeGeoParquet, not its record batches", async () => {
    const viaResult = join(dir, "result.parquet");
    const result = {
      [Symbol.asyncIterator]: (): AsyncIterator<never> => {
        throw new Error("the record batches were read");
      },
      columns,
      schema: emptySchema,
    };
    expect(
      await writeGeoParquet(result, viaResult, { bbox: BBOX, rowGroupSize: 10_000, thread: false }),
    ).toBe(ROWS);
    expect(readFileSync(viaResult).equals(readFileSync(mine))).toBe(true);
  });

  it("writes columns that are null on every row, read back as nulls by DuckDB, hyparquet and parquet-wasm", async () => {
    const out = join(dir, "nulls.parquet");
    const nulls = (rows: number): ResultColumns => ({
      lat: new Float64Array(rows).fill(61),
      lon: new Float64Array(rows).fill(-45),
      time: new BigInt64Array(rows),
      columns: [
        { name: "beam", type: "utf8", value: null, nullable: true },
        { name: "cycle", type: "int8", value: null, nullable: true },
        { name: "h", values: new Float32Array(rows), valid: new Uint8Array(rows) },
      ],
    });
    async function* batches() {
      yield nulls(5);
      yield nulls(7);
    }
    const schema = async () => resultBatch(nulls(0)).schema;
    expect(await writeGeoParquetColumns(batches(), out, { emptySchema: schema, thread: false })).toBe(12);
    const [counts] = await duckdb(
      `SELECT count(*)::INT AS n, count(beam)::INT AS beam, count(cycle)::INT AS cycle, count(h)::INT AS h FROM '${out}'`,
    );
    expect(counts).toEqual({ n: 12, beam: 0, cycle: 0, h: 0 });
    const rows = await parquetReadObjects({ file: bufferOf(out), compressors });
    expect(rows.map((r) => [r.beam, r.cycle, r.h])).toEqual(
      Array.from({ length: 12 }, () => [null, null, null]),
    );
    const table = tableFromIPC(pw.readParquet(new Uint8Array(readFileSync(out))).intoIPCStream());
    expect([table.numRows, table.getChild("beam")!.nullCount, table.getChild("h")!.nullCount]).toEqual([
      12, 12, 12,
    ]);
  });

  it("rejects a batch whose columns differ from the first's, leaving no file", async () => {
    const out = join(dir, "bad", "out.parquet");
    async function* bad() {
      yield columnsOf(1, 100);
      const c = columnsOf(2, 100);
      c.columns = c.columns.slice(1);
      yield c;
    }
    await expect(
      writeGeoParquetColumns(bad(), out, { bbox: BBOX, emptySchema, thread: false }),
    ).rejects.toThrow(/result batch has 15 columns, the first had 16/);
    async function* nullInRequired() {
      yield columnsOf(1, 100);
      const c = columnsOf(2, 100);
      c.columns[10] = { name: "granule_id", type: "utf8", value: null };
      yield c;
    }
    await expect(
      writeGeoParquetColumns(nullInRequired(), out, { bbox: BBOX, emptySchema, thread: false }),
    ).rejects.toThrow(/result column granule_id is null in a batch but not nullable/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, "bad")) ? readdirSync(join(dir, "bad")) : []).toEqual([]);
  });
});
