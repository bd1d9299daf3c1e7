/**
 * The store's own Parquet encoder (parquet/table.ts with part-tables.ts) against the Arrow writer it
 * replaced (apache-arrow and parquet-wasm, kept in arrow-tables.ts): the same batches encoded both
 * ways must read back the same, column by column and value by value, through DuckDB (schema types and
 * rows) and through parquet-wasm's Arrow reader (what compaction reads); footers as hyparquet reads
 * them keep their statistics where the old files had them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetMetadata } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import {
  arraysParquetArrow,
  chunkCellsParquetArrow,
  chunksParquetArrow,
  granulesParquetArrow,
} from "../../src/store/arrow-tables.js";
import { parquetToTable } from "../../src/store/parquet.js";
import {
  arraysParquet,
  chunkCellsParquet,
  chunksParquet,
  granulesParquet,
  loadPartEncoding,
  mergeBatches,
} from "../../src/store/parts.js";
import type { ArrayRow } from "../../src/store/schema.js";

/** Synthetic granules with the edge values every column can hold: nulls, empty lists, null items. */
function edgeBatch() {
  const random = seededRandom(5);
  const batch = mergeBatches(Array.from({ length: 5 }, (_, g) => syntheticBatch(g, random)));
  batch.granules.forEach((g, i) => {
    if (i % 2) Object.assign(g, { etag: null, mtime: null, orbit: null, cycle: null, hierarchy: null });
    else Object.assign(g, { etag: `"e${i}"`, mtime: 1.7e12 + i, hierarchy: `{"groups":[${i}]}` });
  });
  batch.chunks.forEach((c, i) => {
    if (i % 5 === 0) c.h3_cells = [];
    if (i % 7 === 0) c.refs = [];
    if (i % 3 === 0) Object.assign(c, { parent_start: i * 10, parent_count: 4 });
    c.refs.forEach((f, k) => {
      f.checksum = k % 3 === 0 ? null : k % 3 === 1 ? undefined : (i * 7919 + k) >>> 0;
      if (k === 1) f.filter_mask = 0xffffffff;
      if (k === 2) f.offset = 2 ** 40 + k;
    });
  });
  const arrays: ArrayRow[] = batch.granules.flatMap((g) =>
    Array.from({ length: 900 }, (_, k) => ({
      granule_id: g.granule_id,
      path: `/gt${(k % 3) + 1}l/land_ice_segments/v${k % 400}`,
      dtype: k % 2 ? "<f4" : "<f8",
      shape: k % 11 === 0 ? [] : k % 5 ? [140000 + k] : [140000, 2],
      chunk_shape: k % 7 ? [10000 + (k % 3)] : null,
      filters: k % 3 ? "[]" : '[{"id":1,"name":"déflate"}]',
      fill_value: "null",
      attrs: `{"k":${k % 50},"units":"m"}`,
    })),
  );
  return { ...batch, arrays };
}

let db: DuckDBInstance;
let dir: string;
beforeAll(async () => {
  await loadPartEncoding();
  db = await DuckDBInstance.create(":memory:");
  dir = mkdtempSync(join(tmpdir(), "part-tables-"));
});
afterAll(() => {
  db?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** DuckDB's schema and rows of a file. */
async function duck(bytes: Uint8Array, name: string) {
  const file = join(dir, `${name}.parquet`);
  writeFileSync(file, bytes);
  const c = await db.connect();
  const schema = (
    await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)
  ).getRowObjectsJson();
  const rows = (await c.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJson();
  const kv = (
    await c.runAndReadAll(`SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('${file}')`)
  ).getRowObjectsJson();
  c.closeSync();
  return { schema, rows, kv };
}

/** Statistics of each column chunk of each row group, as hyparquet reads the footer. */
function statistics(bytes: Uint8Array) {
  const md = parquetMetadata(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  return md.row_groups.map((g) =>
    g.columns.map((c) => {
      const s = c.meta_data!.statistics;
      return {
        path: c.meta_data!.path_in_schema.join("."),
        min: s?.min_value,
        max: s?.max_value,
        nulls: s?.null_count,
      };
    }),
  );
}

describe("the store's Parquet encoder", () => {
  const batch = edgeBatch();
  const tables = {
    granules: () => [granulesParquet(batch.granules), granulesParquetArrow(batch.granules)],
    arrays: () => [arraysParquet(batch.arrays), arraysParquetArrow(batch.arrays)],
    chunks: () => [chunksParquet(batch.chunks), chunksParquetArrow(batch.chunks)],
    chunk_cells: () => [chunkCellsParquet(batch.chunkCells), chunkCellsParquetArrow(batch.chunkCells)],
  };
  for (const [table, encode] of Object.entries(tables)) {
    it(`writes ${table} files that DuckDB, parquet-wasm and hyparquet read as the Arrow writer's`, async () => {
      const [mine, theirs] = encode();
      const got = await duck(mine!, `${table}-mine`);
      const want = await duck(theirs!, `${table}-arrow`);
      expect(got.schema).toEqual(want.schema);
      expect(got.rows.length).toBeGreaterThan(table === "granules" ? 4 : 400);
      expect(got.rows).toEqual(want.rows);
      expect(got.kv).toEqual(want.kv);
      // parquet-wasm's Arrow reader: the same Arrow schema and values.
      const a = parquetToTable(mine!);
      const b = parquetToTable(theirs!);
      expect(a.schema.toString()).toBe(b.schema.toString());
      const json = (t: typeof a) =>
        JSON.stringify(t.toArray(), (_, v) => (typeof v === "bigint" ? `${v}n` : v));
      expect(json(a)).toBe(json(b));
      // Statistics where the Arrow writer wrote them, with its values.
      const ours = statistics(mine!);
      const before = statistics(theirs!);
      expect(ours.length).toBe(before.length);
      for (const [g, group] of before.entries())
        for (const [c, s] of group.entries()) {
          const o = ours[g]![c]!;
          expect(o.path).toBe(s.path);
          expect([o.path, o.min, o.max]).toEqual([s.path, s.min, s.max]);
          if (s.nulls !== undefined) expect([o.path, o.nulls]).toEqual([s.path, s.nulls]);
        }
    });
  }
});
