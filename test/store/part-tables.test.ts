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
  encodePartFiles,
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

/**
 * sha256 of the part files of {@link edgeBatch} (split into Hilbert tiles of at least 16 rows) as the
 * encoder wrote them when its output was checked against the Arrow writer's above: faster encodes
 * must write the same bytes.
 */
const EDGE_FILES = [
  "granules - - 5 ea534cf51a3fc6f9fb26e8081901dad98e5bbd3747ee4cdaf7c7c6de5c702828",
  "arrays - - 4500 c84f12f1feb4b318e9eef13ce0b1527f9c31076baf48fdeb74c5e34daf7e2853",
  "chunks product=ATL06/month=1970-01 24 10 935a242ceaab44a2336787dafff992b0e20481c4bc8e110ef7e6ea600d2f69d9",
  "chunk_cells product=ATL06/month=1970-01 24 362 503e1517a6981c9dc7de326180da947e68c8b9c2eac68aa21ecda43241cabf93",
  "chunks product=ATL06/month=1970-01 25 132 df31887bf04811c01433c423e7991dbef5000b9600d781f12fc6f6fa193bf1ef",
  "chunk_cells product=ATL06/month=1970-01 25 4869 f4d7395f3f35c9da4ac2b98805b20f6e1868b672e5673b0747e4c1b1d2d0643b",
  "chunks product=ATL06/month=1970-01 27 176 97e3d7308450206b4f75c854cb7580cc30a47a9152c1ff6cfb43879165dbf56d",
  "chunk_cells product=ATL06/month=1970-01 27 6467 06cdf66c82fb44c252b191e233fa8049bbc950784202af1a65bbcbcdb1108484",
  "chunks product=ATL06/month=1970-01 28 18 1dcac0cb57e2b0bb5c28af9becfde2bd112e3c912ff4d9d42ebeba346ec7fa43",
  "chunk_cells product=ATL06/month=1970-01 28 639 1683aa2b9502abe33a72f60d9fe74ddba541af2a7bf02ad4336160663840e25d",
  "chunks product=ATL06/month=1970-01 44 6 f42e2235d317d20852da1bc8cdf2af8a791a208dae1a3525f09a53da4a9d8b42",
  "chunk_cells product=ATL06/month=1970-01 44 227 a32a35ec1c364cf44d1067a2f24d49bbd8514c77b7ca0bfe3ea75e4c3081e2ee",
  "chunks product=ATL06/month=1970-01 47 72 239c0833cfde2149ab9421d558dd847d4c5501c4dd8f17a7e302d6c1dcbaf3dd",
  "chunk_cells product=ATL06/month=1970-01 47 3006 3a1b459baf1849caa8e72ae5126df734918eb60ab09a10a03029a194e8eb9b24",
  "chunks product=ATL06/month=1970-01 48 6 f1f91f5471ba5b7f61a9243ede82a5701b03fb17adc236d1fa8bc42b93b6ade8",
  "chunk_cells product=ATL06/month=1970-01 48 260 076d81258bdba03f295214f698dad7bb9f6b8a5195bb610c91c5fb35628d5abe",
];

describe("the store's part files, byte for byte", () => {
  it("are the files the encoder wrote before, null rows, empty and null lists and null items included", () => {
    const files = [...encodePartFiles(edgeBatch(), 16)].map(
      (f) => `${f.table} ${f.partition ?? "-"} ${f.tile ?? "-"} ${f.rows} ${f.sha256}`,
    );
    expect(files.length).toBeGreaterThan(4);
    expect(files).toEqual(EDGE_FILES);
  });
});
