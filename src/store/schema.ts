/** Row types of the store's tables (DESIGN §2) and their Arrow encodings. */
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
import type { GranuleAttributes } from "../products/index.js";
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
import type { Bbox } from "./geo.js";

/**
 * One indexed file: its identity as its product profile reads it (generic `orbit`, `track`,
 * `cycle`, `region`, and the profile's own `attrs`, stored as a JSON object), where it is and what
 * version of it was indexed. Times are nanoseconds since the Unix epoch, UTC.
 */
export interface GranuleRow extends GranuleAttributes {
  url: string;
  size: number;
  etag: string | null;
  /** Modification time of a local file, ms since the Unix epoch. */
  mtime: number | null;
  time_start: bigint;
  time_end: bigint;
  bbox: Bbox;
  /** WKB Polygon of the granule's bounding polygon. */
  geometry: Uint8Array;
  /**
   * JSON of the granule's groups and of the datasets the `arrays` table does not list
   * (`GranuleHierarchy` of store/hierarchy.ts); null for granules indexed before the column existed.
   */
  hierarchy?: string | null;
}

/** One HDF5 dataset of an indexed granule: what a query needs to decode its chunks. */
export interface ArrayRow {
  granule_id: string;
  path: string;
  dtype: string;
  shape: number[];
  chunk_shape: number[] | null;
  /** JSON list of {id, name, flags, params}. */
  filters: string;
  /** JSON of the fill value (bigint as string), "null" when undefined. */
  fill_value: string;
  /** JSON object of the dataset attributes. */
  attrs: string;
}

/** Where one stored chunk of one dataset lives. */
export interface ChunkRefRow {
  path: string;
  /** First row (along-track element) of the stored chunk. */
  chunk_start: number;
  /** First element of the stored chunk along the second dimension (0 for 1-D datasets and full-width chunks). */
  col_start: number;
  offset: number;
  size: number;
  filter_mask: number;
  /**
   * XXH32 of the chunk's stored bytes, recorded at index time for the chunks the index read (the
   * coordinate chunks); null or absent when not recorded (other chunks, stores older than the
   * `ref_checksums` column).
   */
  checksum?: number | null;
}

/** One along-track row range of one beam: the unit of spatial selection. */
export interface ChunkRow {
  chunk_id: string;
  granule_id: string;
  /** Beam group name (`gt1l`, `BEAM0101`). */
  beam: string;
  /** The beam's class in its granule ("strong", "weak", "full", "coverage"; "" when unknown), for `--beams`. */
  beam_kind: string;
  row_start: number;
  row_count: number;
  /**
   * First row and number of rows at the product's parent rate (ATL03 20 m segments) that the
   * chunk row's rows belong to; null for products without one. Parent-rate refs cover these rows.
   */
  parent_start: number | null;
  parent_count: number | null;
  time_start: bigint;
  time_end: bigint;
  bbox: Bbox;
  /** WKB LineString (or MultiLineString when split at the antimeridian) footprint. */
  geometry: Uint8Array;
  /** Largest distance (lon/lat degrees) from any point of the row to the footprint line. */
  footprint_error: number;
  h3_cells: bigint[];
  refs: ChunkRefRow[];
}

/** One (H3 cell, chunk) pair; the table is sorted by cell. */
export interface ChunkCellRow {
  h3_cell: bigint;
  chunk_id: string;
}

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
