/**
 * The `arrays` and `chunk_cells` tables as Arrow's own builders (`vectorFromArray`) built them before
 * schema.ts built them from typed arrays: the reference the new builders are compared with, byte for
 * byte through Parquet.
 */
import {
  Table as ArrowTable,
  Field,
  Int64,
  List,
  type Table,
  Uint64,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import type { ArrayRow, ChunkCellRow } from "../../../src/store/schema.js";

const listOf = (type: ConstructorParameters<typeof Field>[1]) => new List(new Field("item", type, false));

export function arraysTableV1(rows: ArrayRow[]): Table {
  const str = (pick: (r: ArrayRow) => string) => vectorFromArray(rows.map(pick), new Utf8());
  return new ArrowTable({
    granule_id: str((r) => r.granule_id),
    path: str((r) => r.path),
    dtype: str((r) => r.dtype),
    shape: vectorFromArray(
      rows.map((r) => r.shape.map(BigInt)),
      listOf(new Int64()),
    ),
    chunk_shape: vectorFromArray(
      rows.map((r) => r.chunk_shape?.map(BigInt) ?? null),
      listOf(new Int64()),
    ),
    filters: str((r) => r.filters),
    fill_value: str((r) => r.fill_value),
    attrs: str((r) => r.attrs),
  });
}

export function chunkCellsTableV1(rows: ChunkCellRow[]): Table {
  const sorted = [...rows].sort((a, b) =>
    a.h3_cell < b.h3_cell ? -1 : a.h3_cell > b.h3_cell ? 1 : a.chunk_id.localeCompare(b.chunk_id),
  );
  return new ArrowTable({
    h3_cell: vectorFromArray(
      sorted.map((r) => r.h3_cell),
      new Uint64(),
    ),
    chunk_id: vectorFromArray(
      sorted.map((r) => r.chunk_id),
      new Utf8(),
    ),
  });
}
