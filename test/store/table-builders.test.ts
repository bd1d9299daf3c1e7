import type { Table } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { arraysTable, chunkCellsTable } from "../../src/store/arrow-tables.js";
import { tableToParquet } from "../../src/store/parquet.js";
import { ARRAYS_ROW_GROUP_SIZE, mergeBatches } from "../../src/store/parts.js";
import type { ArrayRow, ChunkCellRow } from "../../src/store/schema.js";
import { arraysTableV1, chunkCellsTableV1 } from "./oracle/tables-v1.js";

const random = seededRandom(7);
const batch = mergeBatches(Array.from({ length: 4 }, (_, g) => syntheticBatch(g, random)));

/** Array rows of every shape the index writes: 1-D and 2-D, chunked and not (null chunk shape), odd text. */
const arrayRows: ArrayRow[] = batch.granules.flatMap((g) =>
  ["gt1l", "gt2r", "gt3l"].flatMap((beam) =>
    Array.from({ length: 40 }, (_, k): ArrayRow => {
      const rows = 50_000 + Math.floor(random() * 100_000);
      const chunked = k % 7 !== 3;
      return {
        granule_id: g.granule_id,
        path: `/${beam}/land_ice_segments/v${k}`,
        dtype: k % 5 === 0 ? "<i4" : "<f8",
        shape: k % 11 === 0 ? [rows, 2] : k % 13 === 0 ? [] : [rows],
        chunk_shape: !chunked ? null : k % 11 === 0 ? [10_000, 2] : [10_000],
        filters: chunked ? '[{"id":1,"name":"deflate","flags":0,"params":[6]}]' : "[]",
        fill_value: k % 3 === 0 ? "null" : String(3.4028234663852886e38 * (k % 2 ? 1 : -1)),
        attrs: JSON.stringify({ units: k % 4 ? "m" : "°C é", long_name: `variable ${k} ${"x".repeat(k)}` }),
      };
    }),
  ),
);

/** Cells with ties (one cell in several chunks) and the largest 64-bit values. */
const cellRows: ChunkCellRow[] = [
  ...batch.chunkCells,
  { h3_cell: 0xffff_ffff_ffff_fffen, chunk_id: "b" },
  { h3_cell: 0xffff_ffff_ffff_fffen, chunk_id: "a" },
  { h3_cell: 0n, chunk_id: "z" },
];

/** Every column's values, lists as plain arrays (null stays null). */
const plain = (t: Table) =>
  t.schema.fields.map((f) =>
    [...t.getChild(f.name)!].map((v: unknown) =>
      v !== null && typeof v === "object" && Symbol.iterator in v ? [...(v as Iterable<unknown>)] : v,
    ),
  );

const parquet = (t: Parameters<typeof tableToParquet>[0]) =>
  Buffer.from(tableToParquet(t, { rowGroupSize: ARRAYS_ROW_GROUP_SIZE }));

describe("tables built from typed arrays write what Arrow's builders wrote", () => {
  it("arrays: the same schema and the same Parquet bytes", () => {
    expect(arrayRows.length).toBeGreaterThan(400);
    expect(arrayRows.some((r) => r.chunk_shape === null)).toBe(true);
    for (const rows of [arrayRows, arrayRows.slice(-3), []]) {
      const now = arraysTable(rows);
      const before = arraysTableV1(rows);
      expect(now.schema.fields.map((f) => `${f}:${f.nullable}`)).toEqual(
        before.schema.fields.map((f) => `${f}:${f.nullable}`),
      );
      expect(plain(now)).toEqual(plain(before));
      expect(parquet(now).equals(parquet(before))).toBe(true);
    }
    // A null chunk shape stays null, not an empty list.
    expect(arraysTable(arrayRows).getChild("chunk_shape")!.get(3)).toBeNull();
  });

  it("chunk_cells: the same order and the same Parquet bytes", () => {
    expect(batch.chunkCells.length).toBeGreaterThan(100);
    for (const rows of [cellRows, []]) {
      const now = chunkCellsTable(rows);
      const before = chunkCellsTableV1(rows);
      expect(now.getChild("chunk_id")!.toArray()).toEqual(before.getChild("chunk_id")!.toArray());
      expect(parquet(now).equals(parquet(before))).toBe(true);
    }
    expect(
      chunkCellsTable(cellRows)
        .getChild("chunk_id")!
        .get(cellRows.length - 1),
    ).toBe("b");
  });
});
