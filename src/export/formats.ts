/** Result output formats: names, file extensions, and one entry point that writes any of them. */
import { extname } from "node:path";
import type { RecordBatch, Schema } from "apache-arrow";
import { InvalidQueryError } from "../errors.js";
import type { BboxArray } from "../store/geo.js";
import type { ByteSink } from "./sink.js";

/** A result file format. */
export type OutputFormat = "parquet" | "geojson" | "geojsonl" | "csv" | "fgb" | "gpkg";

/** One output format: its name (the `--format` value), file extensions (first = preferred) and title. */
export interface OutputFormatInfo {
  name: OutputFormat;
  extensions: readonly string[];
  title: string;
}

/** Every output format, in the order help texts list them. */
export const OUTPUT_FORMATS: readonly OutputFormatInfo[] = [
  { name: "parquet", extensions: [".parquet", ".geoparquet"], title: "GeoParquet 1.1" },
  { name: "geojson", extensions: [".geojson", ".json"], title: "GeoJSON FeatureCollection" },
  {
    name: "geojsonl",
    extensions: [".geojsonl", ".ndjson", ".geojsons"],
    title: "newline-delimited GeoJSON",
  },
  { name: "csv", extensions: [".csv"], title: "CSV with lat and lon columns" },
  { name: "fgb", extensions: [".fgb"], title: "FlatGeobuf" },
  { name: "gpkg", extensions: [".gpkg"], title: "GeoPackage" },
];

/** The output path that means standard output. */
export const STDOUT = "-";

/** Formats that can be streamed to standard output (text, written front to back). */
const STREAMABLE: ReadonlySet<OutputFormat> = new Set(["csv", "geojsonl", "geojson"]);

/**
 * Formats written front to back, never going back over bytes already written, so they can be
 * streamed into a {@link ByteSink} (an S3 upload) while the query runs. The others need a file:
 * FlatGeobuf writes its feature count into the header once the last feature is written, and a
 * GeoPackage is a SQLite database, whose pages (the tables, the R-tree) are rewritten in place.
 */
export const SEQUENTIAL_FORMATS: ReadonlySet<OutputFormat> = new Set([
  "parquet",
  "csv",
  "geojson",
  "geojsonl",
]);

function validList(): string {
  return OUTPUT_FORMATS.map((f) => `${f.name} (${f.extensions.join(", ")})`).join(", ");
}

/**
 * The format of an output file: `explicit` when given (a format name, or one of its extensions
 * with or without the dot), otherwise the extension of `path` (case-insensitive).
 * @throws InvalidQueryError naming `path` and listing the valid formats and extensions, for an
 * unknown format name or extension.
 * @example
 * formatOf("out/greenland.fgb"); // "fgb"
 * formatOf("out/result.txt", "ndjson"); // "geojsonl"
 */
export function formatOf(path: string, explicit?: string): OutputFormat {
  if (explicit !== undefined) {
    const wanted = explicit.toLowerCase().replace(/^\./, "");
    const format = OUTPUT_FORMATS.find((f) => f.name === wanted || f.extensions.includes(`.${wanted}`));
    if (!format)
      throw new InvalidQueryError(`${path}: unknown output format "${explicit}"; valid: ${validList()}`);
    if (path === STDOUT && !STREAMABLE.has(format.name)) {
      throw new InvalidQueryError(
        `${path}: ${format.title} cannot be written to standard output; use ${[...STREAMABLE].join(", ")} or a file`,
      );
    }
    return format.name;
  }
  if (path === STDOUT) {
    throw new InvalidQueryError(
      `${path}: standard output needs --format ${[...STREAMABLE].join(", ")} (the other formats need a file)`,
    );
  }
  const ext = extname(path).toLowerCase();
  const format = OUTPUT_FORMATS.find((f) => f.extensions.includes(ext));
  if (format) return format.name;
  const what = ext === "" ? "has no extension" : `has an unknown extension "${ext}"`;
  throw new InvalidQueryError(`${path}: output file ${what}; valid: ${validList()}`);
}

/** Options for {@link writeResult}. */
export interface WriteResultOptions {
  /** Output format. Default: from the extension of the path ({@link formatOf}). */
  format?: OutputFormat;
  /** A bbox containing every point (for a query, the AOI's): GeoParquet `geo` and GeoJSON `bbox`. */
  bbox?: BboxArray;
  /** Schema written when there are no batches at all, so an empty result is a valid empty file. */
  emptySchema?: Schema;
}

/**
 * Prepares the writer of `format` ahead of its rows: for GeoParquet, starts a writer thread now
 * (writer-threads.ts), for a one-off command whose result is written once the
 * query's rows arrive. Other formats have nothing to prepare.
 */
export async function warmWriter(format: OutputFormat): Promise<void> {
  if (format === "parquet") (await import("./writer-threads.js")).warmWriterThread();
}

/**
 * Streams query result batches into `path` in one of the {@link OUTPUT_FORMATS}; `path` "-" is
 * standard output (CSV, GeoJSON or GeoJSON lines, given by `format`). The parent
 * folder is created; the file is written under a temporary name in that folder and renamed when
 * complete, so a failure leaves neither a partial file nor the temporary one. Memory is bounded by
 * one batch.
 * @returns the number of rows written.
 * @throws InvalidQueryError for an unknown format or extension, an output folder that cannot be
 * created, or an output path that is a folder or cannot be written.
 * @example
 * const result = store.query({ aoi });
 * const rows = await writeResult(result, "out/greenland.gpkg", { bbox: result.aoi.bbox });
 */
export async function writeResult(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: WriteResultOptions = {},
): Promise<number> {
  const format = formatOf(path, opts.format);
  const rowOpts = { emptySchema: opts.emptySchema };
  // Each writer (and its library: parquet-wasm, flatgeobuf, SQLite) loads only when its format is asked for.
  if (path === STDOUT) {
    const { csvLayout } = await import("./csv.js");
    const { geoJsonLayout, geoJsonLinesLayout } = await import("./geojson.js");
    const { writeTextToStream } = await import("./text.js");
    const layout =
      format === "csv"
        ? csvLayout(rowOpts)
        : format === "geojson"
          ? geoJsonLayout({ ...rowOpts, bbox: opts.bbox })
          : geoJsonLinesLayout(rowOpts);
    return writeTextToStream(batches, process.stdout, layout);
  }
  switch (format) {
    case "parquet":
      return (await import("./geoparquet.js")).writeGeoParquet(batches, path, {
        bbox: opts.bbox,
        emptySchema: opts.emptySchema,
      });
    case "geojson":
      return (await import("./geojson.js")).writeGeoJson(batches, path, { ...rowOpts, bbox: opts.bbox });
    case "geojsonl":
      return (await import("./geojson.js")).writeGeoJsonLines(batches, path, rowOpts);
    case "csv":
      return (await import("./csv.js")).writeCsv(batches, path, rowOpts);
    case "fgb":
      return (await import("./flatgeobuf.js")).writeFlatGeobuf(batches, path, rowOpts);
    case "gpkg":
      return (await import("./geopackage.js")).writeGeoPackage(batches, path, rowOpts);
  }
}

/**
 * Streams query result batches into `sink` in one of the {@link SEQUENTIAL_FORMATS} (`opts.format`),
 * the same bytes {@link writeResult} writes to a file. Memory is bounded by one batch and what the
 * sink buffers.
 * @returns the number of rows written.
 * @throws InvalidQueryError for a format that needs a file (FlatGeobuf, GeoPackage).
 */
export async function writeResultToSink(
  batches: AsyncIterable<RecordBatch>,
  sink: ByteSink,
  opts: WriteResultOptions & { format: OutputFormat },
): Promise<number> {
  const rowOpts = { emptySchema: opts.emptySchema };
  const text = async () => (await import("./text.js")).writeTextToSink;
  switch (opts.format) {
    case "parquet":
      return (await import("./geoparquet.js")).writeGeoParquetToSink(batches, sink, {
        bbox: opts.bbox,
        emptySchema: opts.emptySchema,
      });
    case "csv":
      return (await text())(batches, sink, (await import("./csv.js")).csvLayout(rowOpts));
    case "geojson":
      return (await text())(
        batches,
        sink,
        (await import("./geojson.js")).geoJsonLayout({ ...rowOpts, bbox: opts.bbox }),
      );
    case "geojsonl":
      return (await text())(batches, sink, (await import("./geojson.js")).geoJsonLinesLayout(rowOpts));
    default:
      throw new InvalidQueryError(`${opts.format}: this format is written to a file, not streamed`);
  }
}
