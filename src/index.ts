/**
 * geochunks: spatially indexed chunk references for ICESat-2 HDF5 granules.
 *
 * @example
 * import { index, openStore, writeGeoParquet } from "geochunks";
 * await index(["granules/*.h5"], { store: "idx" });
 * const store = await openStore("idx");
 * const result = store.query({ aoi: "-45.4,62.6,-44.6,63.0" });
 * await writeGeoParquet(result, "out.parquet", { bbox: result.aoi.bbox });
 * await writeResult(store.query({ aoi: "-45.4,62.6,-44.6,63.0" }), "out/points.gpkg");
 * const rows = await store.query({ aoi: "-45.4,62.6,-44.6,63.0", beams: ["strong"] }).toRows();
 * await exportKerchunk("idx", { out: "refs.json", aoi: "-45.4,62.6,-44.6,63.0" });
 * await exportIcechunk("idx", { repo: "out/repo.icechunk" });
 * await exportStac("idx", { out: "stac/collection.json", items: "stac/items" });
 */
export type {
  GeochunksStore,
  GranuleInfo,
  GranuleReads,
  OpenStoreOptions,
  PlannedChunk,
  QueryInput,
  QueryPlan,
  QueryResult,
  ToAoiOptions,
} from "./api.js";
export { index, openStore, toAoi } from "./api.js";
export type {
  ExportIcechunkOptions,
  ExportKerchunkOptions,
  ExportReport,
  ExportSelection,
  ExportStacOptions,
} from "./api-exports.js";
export { DEFAULT_INLINE_THRESHOLD, exportIcechunk, exportKerchunk, exportStac } from "./api-exports.js";
export { mapLimit } from "./concurrency.js";
export type { GeochunksErrorName } from "./errors.js";
export {
  IndexMismatchError,
  InvalidAoiError,
  InvalidHdf5Error,
  InvalidQueryError,
  isGeochunksError,
  NotAGranuleError,
  SourceError,
  StoreError,
  UnsupportedFilterError,
  UnsupportedHdf5Error,
} from "./errors.js";
export type { OutputFormat, OutputFormatInfo, WriteResultOptions } from "./export/formats.js";
export { formatOf, OUTPUT_FORMATS, writeResult } from "./export/formats.js";
export type { WriteGeoParquetOptions } from "./export/geoparquet.js";
export { writeGeoParquet } from "./export/geoparquet.js";
export type { IcechunkCommit } from "./export/icechunk/repository.js";
export type { VirtualStoreInfo } from "./export/stac.js";
export type {
  AttrValue,
  ChunkRef,
  DatasetInfo,
  DecodeSpec,
  FilterInfo,
  InspectReport,
  NumericArray,
} from "./hdf5/index.js";
export { decodeChunk, Hdf5File, inspectHdf5 } from "./hdf5/index.js";
export type {
  DmrppMode,
  DuplicateInput,
  GranuleStatus,
  IndexOptions,
  IndexProgress,
  IndexReport,
  LinkModel,
  SkippedInput,
} from "./index-builder/index.js";
export type { PlotPlanOptions, PlotReport, PlotResultOptions } from "./plot/index.js";

import type * as Plot from "./plot/index.js";

/**
 * Draws a query's read plan (see plot/index.ts); the plotting code (d3, some 120 modules) loads on the
 * first call, not with the package.
 */
export async function plotPlan(...args: Parameters<typeof Plot.plotPlan>): ReturnType<typeof Plot.plotPlan> {
  return (await import("./plot/index.js")).plotPlan(...args);
}

/** Draws a query result file (see plot/index.ts); the plotting code loads on the first call. */
export async function plotResult(
  ...args: Parameters<typeof Plot.plotResult>
): ReturnType<typeof Plot.plotResult> {
  return (await import("./plot/index.js")).plotResult(...args);
}
export type { Aoi, ByteRange, QuerySpec, QueryStats, ReadPlan } from "./query/index.js";
export { coalesceRanges, parseAoi, planQuery, pointsInAoi } from "./query/index.js";
export type { ResultRow } from "./query/rows.js";
export type { ResultColumnData, ResultColumns } from "./result/columns.js";
export type { ByteSource, ReadOptions } from "./source/index.js";
export { openSource, withReadStats } from "./source/index.js";
export type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "./store/schema.js";
export type { SqlResult } from "./store/sql.js";
