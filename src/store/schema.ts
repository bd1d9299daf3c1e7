/** Row types of the store's tables (DESIGN §2); their Parquet columns are in part-tables.ts. */
import type { GranuleAttributes } from "../products/index.js";
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
