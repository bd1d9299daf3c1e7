/** GeoJSON results (RFC 7946): a FeatureCollection, or one Feature per line (GeoJSON lines). */
import type { RecordBatch } from "apache-arrow";
import type { BboxArray } from "../store/geo.js";
import { writeAtomically } from "./atomic.js";
import {
  type Cell,
  type ColumnKind,
  cellText,
  pointReader,
  propertyColumns,
  type RowWriterOptions,
} from "./columns.js";
import { type TextLayout, writeText } from "./text.js";

/** Options for {@link writeGeoJson} and {@link writeGeoJsonLines}. */
export interface GeoJsonWriteOptions extends RowWriterOptions {
  /** A bbox containing every point, written as the FeatureCollection's `bbox` (the AOI's for a query). */
  bbox?: BboxArray;
}

/** JSON text of one property value: strings quoted, times ISO 8601, lists as arrays, non-finite numbers as null. */
function jsonValue(kind: ColumnKind, value: Cell): string {
  if (value === null) return "null";
  if (kind === "json") return value as string;
  if (typeof value === "number" && !Number.isFinite(value)) return "null";
  const text = cellText(kind, value)!;
  return kind === "string" || kind === "time" ? JSON.stringify(text) : text;
}

/** One Feature per row of `batch`, coordinates [lon, lat], every non-geometry column a property. */
function features(batch: RecordBatch, opts: RowWriterOptions): string[] {
  const columns = propertyColumns(batch, opts.geometryColumn);
  const keys = columns.map((c, i) => `${i === 0 ? "" : ","}${JSON.stringify(c.name)}:`);
  const point = pointReader(batch, opts.geometryColumn);
  const out: string[] = new Array(batch.numRows);
  for (let row = 0; row < batch.numRows; row++) {
    const [x, y] = point(row);
    let props = "";
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      props += keys[i] + jsonValue(c.kind, c.read(row));
    }
    out[row] =
      `{"type":"Feature","geometry":{"type":"Point","coordinates":[${x},${y}]},"properties":{${props}}}`;
  }
  return out;
}

/**
 * Streams record batches into a GeoJSON FeatureCollection at `path` (written under a temporary
 * name, renamed when complete). Times are ISO 8601 UTC with nanoseconds, nulls are null, 64-bit
 * integers are exact JSON numbers.
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder or file cannot be written.
 * @example
 * const rows = await writeGeoJson(store.query({ aoi }), "out.geojson");
 */
export function writeGeoJson(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: GeoJsonWriteOptions = {},
): Promise<number> {
  return writeAtomically(path, (tmp) => writeText(batches, tmp, geoJsonLayout(opts)));
}

/** The text layout of a GeoJSON FeatureCollection. */
export function geoJsonLayout(opts: GeoJsonWriteOptions = {}): TextLayout {
  const bbox = opts.bbox?.every(Number.isFinite) ? `"bbox":${JSON.stringify(opts.bbox)},` : "";
  return {
    head: () => `{"type":"FeatureCollection",${bbox}"features":[\n`,
    rows: (batch, index) => {
      const lines = features(batch, opts);
      return lines.length === 0 ? "" : (index === 0 ? "" : ",\n") + lines.join(",\n");
    },
    tail: () => "\n]}\n",
  };
}

/**
 * Streams record batches as newline-delimited GeoJSON at `path`: one Feature per line, no
 * enclosing collection (GDAL's GeoJSONSeq, `.geojsonl`/`.ndjson`). An empty result is an empty file.
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder or file cannot be written.
 */
export function writeGeoJsonLines(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: RowWriterOptions = {},
): Promise<number> {
  return writeAtomically(path, (tmp) => writeText(batches, tmp, geoJsonLinesLayout(opts)));
}

/** The text layout of newline-delimited GeoJSON. */
export function geoJsonLinesLayout(opts: RowWriterOptions = {}): TextLayout {
  return {
    head: () => "",
    rows: (batch) =>
      features(batch, opts)
        .map((line) => `${line}\n`)
        .join(""),
    tail: () => "",
  };
}
