/** GeoParquet 1.1 `geo` file metadata. */

/** A bounding box in lon/lat degrees: [xmin, ymin, xmax, ymax]. */
export type BboxArray = [number, number, number, number];

/** A bounding box as the store's `bbox` struct column. */
export interface Bbox {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** Options for {@link geoMetadata}. */
export interface GeoMetadataOptions {
  /** Name of the WKB geometry column. Default "geometry". */
  column?: string;
  /** GeoParquet geometry type names, e.g. ["Point"]; [] = unknown. */
  geometryTypes: string[];
  /** Bounding box of all geometries; omitted when the file is empty. */
  bbox?: BboxArray;
  /** Name of a root-level bbox struct column {xmin, ymin, xmax, ymax} to declare as covering. */
  covering?: string;
}

/**
 * The `geo` key-value metadata of a GeoParquet 1.1 file with one WKB column in OGC:CRS84. The CRS
 * is omitted (the spec default), because DuckDB rejects string CRS values.
 */
export function geoMetadata(opts: GeoMetadataOptions): string {
  const column = opts.column ?? "geometry";
  const meta: Record<string, unknown> = { encoding: "WKB", geometry_types: opts.geometryTypes };
  if (opts.bbox?.every(Number.isFinite)) meta.bbox = opts.bbox;
  if (opts.covering) {
    const c = opts.covering;
    meta.covering = { bbox: { xmin: [c, "xmin"], ymin: [c, "ymin"], xmax: [c, "xmax"], ymax: [c, "ymax"] } };
  }
  return JSON.stringify({ version: "1.1.0", primary_column: column, columns: { [column]: meta } });
}

/** Smallest bbox containing both (either may be empty: all-infinite). */
export function unionBbox(a: Bbox, b: Bbox): Bbox {
  return {
    xmin: Math.min(a.xmin, b.xmin),
    ymin: Math.min(a.ymin, b.ymin),
    xmax: Math.max(a.xmax, b.xmax),
    ymax: Math.max(a.ymax, b.ymax),
  };
}

/** The empty bbox, identity of {@link unionBbox}. */
export const EMPTY_BBOX: Readonly<Bbox> = Object.freeze({
  xmin: Number.POSITIVE_INFINITY,
  ymin: Number.POSITIVE_INFINITY,
  xmax: Number.NEGATIVE_INFINITY,
  ymax: Number.NEGATIVE_INFINITY,
});
