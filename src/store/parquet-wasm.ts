/**
 * The one module that imports the Parquet library (parquet-wasm), with the writer properties of
 * the files written through it (results with list columns, kerchunk references; the store's part
 * files are written by parquet/table.ts, with the same settings as `ParquetWriteOptions` below).
 * It loads no Arrow library, so the GeoParquet writer thread
 * (export/geoparquet-worker.ts) encodes with the same settings without loading apache-arrow;
 * store/parquet.ts adds the Arrow tables.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as pw from "parquet-wasm/esm";

// The package's ES module build, given its WebAssembly bytes, rather than its CommonJS build for
// node: node scans a CommonJS module's source for its exports before an ES module can import it,
// and for this 101 kB file that doubled the library's load, 64-94 ms of CPU against 32-36 ms (new
// process, bytes read and module compiled included), in every process and writer thread that loads
// it. Same WebAssembly file, same API.
pw.initSync({
  module: readFileSync(createRequire(import.meta.url).resolve("parquet-wasm/esm/parquet_wasm_bg.wasm")),
});

export { pw };

/** Options for writing Parquet. */
export interface ParquetWriteOptions {
  /** File key-value metadata, e.g. `geo` for GeoParquet. */
  metadata?: Record<string, string>;
  /** Maximum rows per row group. Default 65 536, small enough for bbox statistics to prune. */
  rowGroupSize?: number;
  /**
   * Columns to dictionary-encode; when given, every other column is written plainly. Dictionary
   * pages cost more than half the write time of a float-heavy result and make it larger under
   * zstd (measured on a 259 542-row Greenland result: 1330 ms / 11.6 MB with dictionaries
   * everywhere, 543 ms / 9.1 MB without), so results keep them only for repeated strings.
   */
  dictionaryColumns?: readonly string[];
  /**
   * Top-level columns that get min/max statistics; when given, no other column has any. Every
   * column's statistics are in the footer of every row group, and a reader parses the whole
   * footer: long JSON strings (`attrs`, `filters`, `hierarchy`) would make it large for nothing.
   * Default: statistics on every column.
   */
  statisticsColumns?: readonly string[];
  /**
   * Largest data page, bytes before compression (the library's default is 1 MiB). Each column
   * chunk's offset index lists its pages, so a reader that wants a few rows of a row group reads and
   * decodes only the pages holding them; small pages make that cheap. A page closes at the first
   * check past this size, and the checks come every {@link ParquetWriteOptions.pageCheckRows} rows.
   * Dictionary-encoded columns page only their indices: list a column in `plainColumns` (or leave
   * it out of `dictionaryColumns`) for its values to be paged.
   */
  pageBytes?: number;
  /** Rows written between two page-size checks (the library's default, 1024, when not given). */
  pageCheckRows?: number;
  /** Top-level columns written without a dictionary while the others keep theirs. */
  plainColumns?: readonly string[];
  /**
   * Top-level columns without statistics while the others keep theirs: a WKB `geometry` column's
   * min and max (the writer's truncated prefixes of footprints, about 140 bytes a row group) sit in
   * every row group's footer entry, which every reader parses, and prune nothing.
   */
  noStatisticsColumns?: readonly string[];
}

/** Default rows per row group: DuckDB prunes by row-group min/max, so spatially sorted small groups skip most data. */
export const DEFAULT_ROW_GROUP_SIZE = 65_536;

/** Writer properties of every Parquet file the project writes. */
export function writerProperties(opts: ParquetWriteOptions): pw.WriterProperties {
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setMaxRowGroupSize(opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy("geochunks");
  if (opts.metadata) builder = builder.setKeyValueMetadata(new Map(Object.entries(opts.metadata)));
  if (opts.statisticsColumns) {
    builder = builder.setStatisticsEnabled(pw.EnabledStatistics.None);
    for (const column of opts.statisticsColumns)
      builder = builder.setColumnStatisticsEnabled(column, pw.EnabledStatistics.Chunk);
  }
  if (opts.dictionaryColumns) {
    builder = builder.setDictionaryEnabled(false);
    for (const column of opts.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  }
  for (const column of opts.noStatisticsColumns ?? [])
    builder = builder.setColumnStatisticsEnabled(column, pw.EnabledStatistics.None);
  for (const column of opts.plainColumns ?? []) builder = builder.setColumnDictionaryEnabled(column, false);
  if (opts.pageBytes !== undefined) builder = builder.setDataPageSizeLimit(opts.pageBytes);
  if (opts.pageCheckRows !== undefined) builder = builder.setWriteBatchSize(opts.pageCheckRows);
  return builder.build();
}
