/**
 * The store's tables as Arrow tables (the row types of schema.ts), and the `chunks` file of an Arrow
 * table: what the store wrote its part files from before its own encoder (parquet/table.ts,
 * part-tables.ts). Kept for the readers' empty tables (sql.ts, verify.ts), the bulk writers of the
 * benchmarks, and the tests that hold both writers' files equal; the index path loads none of it.
 */
import {
  Table as ArrowTable,
  Binary,
  type Data,
  type DataType,
  Field,
  Float64,
  Int16,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  Struct,
  type Table,
  Timestamp,
  TimeUnit,
  Uint32,
  Uint64,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import {
  binaryData,
  float64Data,
  int32Data,
  int64Data,
  listData,
  structData,
  uint32Data,
  uint64Data,
  utf8Data,
} from "./columns.js";
import { type Bbox, type BboxArray, EMPTY_BBOX, geoMetadata, unionBbox } from "./geo.js";
import { tableToParquet } from "./parquet.js";
import {
  ARRAYS_PAGES,
  ARRAYS_ROW_GROUP_SIZE,
  CELLS_ROW_GROUP_SIZE,
  CHUNKS_PAGES,
  CHUNKS_ROW_GROUP_SIZE,
  GRANULES_PAGES,
  GRANULES_ROW_GROUP_SIZE,
} from "./parts.js";
import type { ArrayRow, ChunkCellRow, ChunkRow, GranuleRow } from "./schema.js";

const nsUtc = () => new Timestamp(TimeUnit.NANOSECOND, "UTC");
const bboxType = () =>
  new Struct(["xmin", "ymin", "xmax", "ymax"].map((k) => new Field(k, new Float64(), false)));
const listOf = (type: ConstructorParameters<typeof Field>[1]) => new List(new Field("item", type, false));
const refType = () =>
  new Struct([
    new Field("path", new Utf8(), false),
    new Field("chunk_start", new Int64(), false),
    new Field("col_start", new Int32(), false),
    new Field("offset", new Int64(), false),
    new Field("size", new Int64(), false),
    new Field("filter_mask", new Uint32(), false),
  ]);

/** One column: `pick` applied to every row, typed as `type`. */
function col<R, T extends DataType>(rows: R[], pick: (row: R) => unknown, type: T): Vector<T> {
  return vectorFromArray(rows.map(pick), type) as Vector<T>;
}

function timestamps(values: bigint[]): Vector {
  return makeVector(makeData({ type: nsUtc(), length: values.length, data: BigInt64Array.from(values) }));
}

/** Arrow table of granule rows. */
export function granulesTable(rows: GranuleRow[]): Table {
  return new ArrowTable({
    granule_id: col(rows, (r) => r.granule_id, new Utf8()),
    url: col(rows, (r) => r.url, new Utf8()),
    size: col(rows, (r) => BigInt(r.size), new Int64()),
    etag: col(rows, (r) => r.etag, new Utf8()),
    mtime: col(rows, (r) => r.mtime, new Float64()),
    product: col(rows, (r) => r.product, new Utf8()),
    release: col(rows, (r) => r.release, new Utf8()),
    orbit: col(rows, (r) => r.orbit, new Int32()),
    track: col(rows, (r) => r.track, new Int32()),
    cycle: col(rows, (r) => r.cycle, new Int16()),
    region: col(rows, (r) => r.region, new Int16()),
    attrs: col(rows, (r) => JSON.stringify(r.attrs), new Utf8()),
    time_start: timestamps(rows.map((r) => r.time_start)),
    time_end: timestamps(rows.map((r) => r.time_end)),
    bbox: col(rows, (r) => r.bbox, bboxType()),
    geometry: col(rows, (r) => r.geometry, new Binary()),
    hierarchy: col(rows, (r) => r.hierarchy ?? null, new Utf8()),
  });
}

/**
 * Arrow table of array rows, its columns built from typed arrays (columns.ts): the same table as
 * Arrow's builders gave (tested byte for byte through Parquet, test/store/table-builders.test.ts):
 * on the 1350 rows of five full-size granules, which the store's writer builds after the last granule
 * is read, 19-32 ms of CPU in a fresh process against 46-75 ms.
 */
export function arraysTable(rows: ArrayRow[]): Table {
  const str = (pick: (r: ArrayRow) => string) => makeVector(utf8Data(rows.map(pick)));
  const shapes = rows.map((r) => r.shape);
  const chunkShapes = rows.map((r) => r.chunk_shape);
  return new ArrowTable({
    granule_id: str((r) => r.granule_id),
    path: str((r) => r.path),
    dtype: str((r) => r.dtype),
    shape: makeVector(listData(listOf(new Int64()), shapes, int64Data(shapes.flat()))),
    chunk_shape: makeVector(
      listData(
        listOf(new Int64()),
        chunkShapes.map((c) => c ?? []),
        int64Data(chunkShapes.flatMap((c) => c ?? [])),
        chunkShapes.map((c) => c !== null),
      ),
    ),
    filters: str((r) => r.filters),
    fill_value: str((r) => r.fill_value),
    attrs: str((r) => r.attrs),
  });
}

/** Arrow table of chunk rows (the GeoParquet `chunks` table), its columns built from typed arrays (columns.ts). */
export function chunksTable(rows: ChunkRow[]): Table {
  const n = rows.length;
  const pick = <V>(f: (r: ChunkRow) => V) => rows.map(f);
  const refs = rows.flatMap((r) => r.refs);
  const bbox = bboxType();
  const ref = refType();
  const float = (f: (b: Bbox) => number) => float64Data(pick((r) => f(r.bbox)));
  const vector = <T extends DataType>(d: Data<T>) => makeVector(d);
  return new ArrowTable({
    chunk_id: vector(utf8Data(pick((r) => r.chunk_id))),
    granule_id: vector(utf8Data(pick((r) => r.granule_id))),
    beam: vector(utf8Data(pick((r) => r.beam))),
    beam_kind: vector(utf8Data(pick((r) => r.beam_kind))),
    row_start: vector(int64Data(pick((r) => r.row_start))),
    row_count: vector(int32Data(pick((r) => r.row_count))),
    parent_start: vector(int64Data(pick((r) => r.parent_start))),
    parent_count: vector(int32Data(pick((r) => r.parent_count))),
    time_start: timestamps(pick((r) => r.time_start)),
    time_end: timestamps(pick((r) => r.time_end)),
    bbox: vector(
      structData(bbox, n, [
        float((b) => b.xmin),
        float((b) => b.ymin),
        float((b) => b.xmax),
        float((b) => b.ymax),
      ]),
    ),
    geometry: vector(binaryData(pick((r) => r.geometry))),
    footprint_error: vector(float64Data(pick((r) => r.footprint_error))),
    h3_cells: vector(
      listData(
        listOf(new Uint64()),
        pick((r) => r.h3_cells),
        uint64Data(rows.flatMap((r) => r.h3_cells)),
      ),
    ),
    refs: vector(
      listData(
        listOf(ref),
        pick((r) => r.refs),
        structData(ref, refs.length, [
          utf8Data(refs.map((f) => f.path)),
          int64Data(refs.map((f) => f.chunk_start)),
          int32Data(refs.map((f) => f.col_start)),
          int64Data(refs.map((f) => f.offset)),
          int64Data(refs.map((f) => f.size)),
          uint32Data(refs.map((f) => f.filter_mask)),
        ]),
      ),
    ),
    // Beside `refs` rather than inside its struct, so parts written before it keep one refs type.
    ref_checksums: vector(
      listData(
        new List(new Field("item", new Uint32(), true)),
        pick((r) => r.refs),
        uint32Data(refs.map((f) => f.checksum ?? null)),
      ),
    ),
  });
}

/** Arrow table of (cell, chunk) pairs, sorted by cell, its columns built from typed arrays (columns.ts). */
export function chunkCellsTable(rows: ChunkCellRow[]): Table {
  const sorted = [...rows].sort((a, b) =>
    a.h3_cell < b.h3_cell ? -1 : a.h3_cell > b.h3_cell ? 1 : a.chunk_id.localeCompare(b.chunk_id),
  );
  return new ArrowTable({
    h3_cell: makeVector(uint64Data(sorted.map((r) => r.h3_cell))),
    chunk_id: makeVector(utf8Data(sorted.map((r) => r.chunk_id))),
  });
}

const toArray = (b: Bbox): BboxArray => [b.xmin, b.ymin, b.xmax, b.ymax];

/**
 * A `chunks` file's bytes from the rows' Arrow table ({@link chunksTable}'s schema) and the union of
 * their bboxes, with the settings of parts.ts `chunksParquet`, for bulk writers that build the columns
 * themselves (bench/store-scale.ts).
 */
export function chunksTableParquet(table: Table, bbox: Bbox): Uint8Array {
  const geo = geoMetadata({
    geometryTypes: ["LineString", "MultiLineString"],
    bbox: toArray(bbox),
    covering: "bbox",
  });
  return tableToParquet(table, { metadata: { geo }, rowGroupSize: CHUNKS_ROW_GROUP_SIZE, ...CHUNKS_PAGES });
}

const byGranule = <T extends { granule_id: string }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => (a.granule_id < b.granule_id ? -1 : a.granule_id > b.granule_id ? 1 : 0));

/** parts.ts `granulesParquet`'s file through Arrow and parquet-wasm, as the store wrote it before. */
export function granulesParquetArrow(granules: readonly GranuleRow[]): Uint8Array {
  const bbox = granules.reduce((acc, g) => unionBbox(acc, g.bbox), EMPTY_BBOX);
  return tableToParquet(granulesTable(byGranule(granules)), {
    metadata: { geo: geoMetadata({ geometryTypes: ["Polygon"], bbox: toArray(bbox), covering: "bbox" }) },
    rowGroupSize: GRANULES_ROW_GROUP_SIZE,
    statisticsColumns: ["granule_id"],
    ...GRANULES_PAGES,
  });
}

/** parts.ts `arraysParquet`'s file through Arrow and parquet-wasm, as the store wrote it before. */
export function arraysParquetArrow(arrays: readonly ArrayRow[]): Uint8Array {
  return tableToParquet(arraysTable(byGranule(arrays)), {
    rowGroupSize: ARRAYS_ROW_GROUP_SIZE,
    statisticsColumns: ["granule_id", "path"],
    ...ARRAYS_PAGES,
  });
}

/** parts.ts `chunksParquet`'s file through Arrow and parquet-wasm, as the store wrote it before. */
export function chunksParquetArrow(chunks: readonly ChunkRow[]): Uint8Array {
  const bbox = chunks.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  return chunksTableParquet(chunksTable([...chunks]), bbox);
}

/** parts.ts `chunkCellsParquet`'s file through Arrow and parquet-wasm, as the store wrote it before. */
export function chunkCellsParquetArrow(cells: readonly ChunkCellRow[]): Uint8Array {
  return tableToParquet(chunkCellsTable([...cells]), { rowGroupSize: CELLS_ROW_GROUP_SIZE });
}
