/** The library API: the command line's capabilities for scripts. */
import type { RecordBatch, Schema, Table } from "apache-arrow";
import { InvalidQueryError, SourceError } from "./errors.js";
import type { IndexOptions, IndexReport } from "./index-builder/index.js";
import type { FilterValue } from "./products/index.js";
import { type Aoi, parseAoi } from "./query/aoi.js";
import {
  type ByteRange,
  checkBeams,
  emptyStats,
  type PreparedQuery,
  prepareQuery,
  type QueryStats,
  queryFilters,
  queryProfile,
  type ReadPlan,
} from "./query/index.js";
import { isoFromNs } from "./query/iso-time.js";
import type { ResultRow } from "./query/rows.js";
import type { ResultColumns } from "./result/columns.js";
import type { SourceOptions } from "./source/index.js";
import type { Bbox } from "./store/geo.js";
import { openLocalStoreReader } from "./store/local-reader.js";
import { isRemoteStore, openRemoteStore } from "./store/remote.js";
import type { ChunkRefRow, ChunkRow, GranuleRow } from "./store/schema.js";
import type { SqlResult } from "./store/sql.js";
import type { Store } from "./store/store.js";
import { polygonOfWkb } from "./store/wkb.js";

/** A query as scripts give it. */
export interface QueryInput {
  /** Area of interest: a parsed {@link Aoi}, GeoJSON (object or text), WKT, or "minx,miny,maxx,maxy". */
  aoi: Aoi | string | object;
  /** Inclusive start of the time range (Date or ISO 8601). */
  start?: Date | string;
  /** Exclusive end of the time range (Date or ISO 8601). */
  end?: Date | string;
  /**
   * The product to query, e.g. "ATL06". Default: the store's only product; required when the
   * store holds several (an InvalidQueryError lists them).
   */
  product?: string;
  /**
   * Beam names of the product (ICESat-2 `gt1l`...`gt3r`) and/or beam kinds (`strong` / `weak`).
   * Default: all. Any other name (`gt4l`, `GT1L`) is refused with an InvalidQueryError.
   */
  beams?: string[];
  /** Extra row-rate variables, relative to the beam's row group (ATL06: `ground_track/x_atc`). */
  vars?: string[];
  /** The product's quality filter (ATL06: `atl06_quality_summary == 0`); the same as `filters: { quality: true }`. Default false. */
  quality?: boolean;
  /** Values of the product's filters by name; a flag's value is `true`. */
  filters?: Record<string, FilterValue>;
  /**
   * Granules (or windows of a large granule) fetched and decoded at the same time at most. Default: as
   * many as 2,097,152 candidate points (four full windows) allow, so a small AOI starts every granule at once.
   */
  granuleConcurrency?: number;
  /** Range requests in flight at once over the whole query, all granules together. Default 128. */
  requests?: number;
  /**
   * Points read and decoded at most per unit of work: a large granule (ATL03: millions of photons per
   * beam) is read in windows of chunk rows of about this many points, which bounds memory. Default 524,288.
   */
  windowPoints?: number;
  /** Largest byte gap read through when coalescing ranges. */
  maxGap?: number;
  /** Candidate chunk test in the index: "bbox", "h3" (the AOI's H3 cover) or "auto" (default). */
  selection?: "bbox" | "h3" | "auto";
  /** How granules are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/**
 * A running query: iterate it for Arrow record batches (rows ordered by granule, beam, time), or
 * collect it with {@link QueryResult.toTable} or {@link QueryResult.toRows}. A result is read once.
 */
export interface QueryResult extends AsyncIterable<RecordBatch> {
  /** The read plan (granules, chunks, byte ranges), computed without reading any granule. */
  plan(): Promise<QueryPlan>;
  /** Counters; complete after iteration ends. */
  readonly stats: QueryStats;
  /** The parsed AOI. */
  readonly aoi: Aoi;
  /** Schema of the result (also valid when it is empty). */
  schema(): Promise<Schema>;
  /**
   * Reads the whole result into one Arrow table (the result's schema when no row matches). Times
   * stay `timestamp[ns, UTC]`, and `geometry` stays WKB.
   */
  toTable(): Promise<Table>;
  /**
   * Reads the whole result as plain objects that `JSON.stringify` accepts: `time` as ISO 8601 UTC
   * text with nanoseconds, no `geometry` (`lon`, `lat` are the point), fill values as null.
   */
  toRows(): Promise<ResultRow[]>;
  /**
   * The result's batches as plain columns (typed arrays and constants, the same rows and columns as
   * the record batches, no apache-arrow loaded), each batch's arrays its own. Iterate either this or
   * the result itself, once. The command streams these to its GeoParquet writer thread.
   */
  columns(): AsyncIterable<ResultColumns>;
}

/**
 * One indexed granule, JSON-serialisable: times as ISO 8601 UTC text (nanoseconds for the
 * granule's span), sizes and counts as numbers, the bounding polygon as GeoJSON.
 */
export interface GranuleInfo {
  granule_id: string;
  url: string;
  /** Bytes. */
  size: number;
  etag: string | null;
  /** Modification time of the file or object when it was indexed (milliseconds), when known. */
  mtime: string | null;
  /** Product, e.g. "ATL06". */
  product: string;
  release: string;
  /** Absolute orbit number, when the product has one. */
  orbit: number | null;
  /** Ground track (ICESat-2 RGT, GEDI track), when known. */
  track: number | null;
  /** Repeat cycle (ICESat-2), null for products without. */
  cycle: number | null;
  /** Granule region of an orbit (ICESat-2 region, GEDI sub-orbit granule), when known. */
  region: number | null;
  /** The product's own granule attributes, e.g. `{ sc_orient: 0 }` for ICESat-2. */
  attrs: Record<string, string | number>;
  time_start: string;
  time_end: string;
  bbox: Bbox;
  /** Bounding polygon of the granule's tracks in lon/lat; null when the index holds none. */
  geometry: { type: "Polygon"; coordinates: number[][][] } | null;
}

/** One chunk row a query reads: an along-track row range of one beam. */
export interface PlannedChunk {
  chunk_id: string;
  granule_id: string;
  beam: string;
  /** The beam's kind in its granule ("strong", "weak"...; "" when unknown). */
  beam_kind: string;
  row_start: number;
  row_count: number;
  time_start: string;
  time_end: string;
  bbox: Bbox;
  /** Largest distance (lon/lat degrees) from any point of the row to its footprint line. */
  footprint_error: number;
  /** Stored chunks by variable (path relative to the beam's row group). */
  refs: Record<string, ChunkRefRow[]>;
}

/** The reads of one granule. */
export interface GranuleReads {
  granule: GranuleInfo;
  /** In result order: beam, then along-track. */
  chunks: PlannedChunk[];
  /** Coalesced byte ranges covering every ref of `chunks`: the most the query reads. */
  ranges: ByteRange[];
  /** Coalescing gap the ranges were made with, bytes. */
  maxGap: number;
}

/** A query's read plan, JSON-serialisable (what `geochunks query --dry-run` summarises). */
export interface QueryPlan {
  granules: GranuleReads[];
  /** Chunk rows of the index whose bbox, time and beam match the query. */
  chunksCandidate: number;
  /** Sum of the lengths of all ranges, bytes. */
  bytes: number;
  /** Number of ranges (one request each). */
  requests: number;
}

/** An open chunk-index store. */
export interface GeochunksStore {
  readonly dir: string;
  /** The indexed granules. */
  granules(): Promise<GranuleInfo[]>;
  /** Starts a polygon query; nothing is read until the result is iterated or planned. */
  query(input: QueryInput): QueryResult;
  /** Runs DuckDB SQL over the views granules, arrays, chunks, chunk_cells. */
  sql(text: string): Promise<SqlResult>;
}

function toDate(value: Date | string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidQueryError(`${what} ${String(value)} is not an ISO 8601 time`);
  return date;
}

function granuleInfo(g: GranuleRow): GranuleInfo {
  return {
    granule_id: g.granule_id,
    url: g.url,
    size: g.size,
    etag: g.etag,
    mtime: g.mtime === null ? null : new Date(g.mtime).toISOString(),
    product: g.product,
    release: g.release,
    orbit: g.orbit,
    track: g.track,
    cycle: g.cycle,
    region: g.region,
    attrs: { ...g.attrs },
    time_start: isoFromNs(g.time_start),
    time_end: isoFromNs(g.time_end),
    bbox: g.bbox,
    geometry: polygonOfWkb(g.geometry) ?? null,
  };
}

function plannedChunk(chunk: ChunkRow, refs: Map<string, ChunkRefRow[]>): PlannedChunk {
  return {
    chunk_id: chunk.chunk_id,
    granule_id: chunk.granule_id,
    beam: chunk.beam,
    beam_kind: chunk.beam_kind,
    row_start: chunk.row_start,
    row_count: chunk.row_count,
    time_start: isoFromNs(chunk.time_start),
    time_end: isoFromNs(chunk.time_end),
    bbox: chunk.bbox,
    footprint_error: chunk.footprint_error,
    refs: Object.fromEntries(refs),
  };
}

function queryPlan(plan: ReadPlan): QueryPlan {
  return {
    granules: plan.granules.map((g) => ({
      granule: granuleInfo(g.granule),
      chunks: g.chunks.map((c) => plannedChunk(c.chunk, c.refs)),
      ranges: g.ranges.map((r) => ({ ...r })),
      maxGap: g.maxGap,
    })),
    chunksCandidate: plan.chunksCandidate,
    bytes: plan.bytes,
    requests: plan.requests,
  };
}

/** Options of {@link toAoi}. */
export interface ToAoiOptions {
  /** CRS of the AOI's coordinates ("EPSG:3413", "EPSG:3031", "EPSG:4326"); default: the GeoJSON crs member, else lon/lat. */
  crs?: string;
}

/** Parses an AOI given in any accepted form. */
export function toAoi(aoi: QueryInput["aoi"], source = "AOI", opts: ToAoiOptions = {}): Aoi {
  if (typeof aoi === "string") return parseAoi(aoi, { source, crs: opts.crs });
  if ("polygons" in aoi && "bbox" in aoi) return aoi as Aoi;
  return parseAoi(JSON.stringify(aoi), { source, crs: opts.crs });
}

/** Options of {@link openStore} for a remote store (`s3://`, `https://`). */
export interface OpenStoreOptions {
  /** How the store's objects are opened: S3 region, endpoint and credentials, HTTP options, token. */
  source?: SourceOptions;
  /**
   * Folder of the disk cache of what was read from a remote store (validated by ETag); default
   * none: ranges are kept in memory, and `sql` and `granules` copy the store's part files into a
   * folder under the system's temporary directory.
   */
  cacheDir?: string;
}

/**
 * Opens the store in `dir` for queries and SQL: a local folder, or a remote store read-only at
 * `s3://bucket/prefix` or `https://host/prefix`. Queries read only the manifest, part footers
 * and the row groups their selection needs; `sql` and `granules` of a remote store copy its part
 * files into the cache first (DuckDB reads local files only here).
 * @throws StoreError when `dir` holds no store.
 * @example
 * const store = await openStore("idx");
 * for await (const batch of store.query({ aoi: "-45.4,62.6,-44.6,63.0" })) console.log(batch.numRows);
 */
export async function openStore(dir: string, opts: OpenStoreOptions = {}): Promise<GeochunksStore> {
  const remote = isRemoteStore(dir) ? await openRemoteStore(dir, opts) : undefined;
  const store = remote ?? (await openLocalStoreReader(dir));
  let local: Promise<Store> | undefined;
  // DuckDB and the Arrow reader need local files: a remote store's parts are mirrored first.
  const whole = () => {
    local ??= (async () => {
      const { Store } = await import("./store/store.js");
      return Store.open(remote ? await remote.mirror() : dir);
    })();
    return local;
  };
  return {
    dir,
    granules: async () => (await (await whole()).granules()).map(granuleInfo),
    sql: async (text) => {
      const { runSql } = await import("./store/sql.js");
      return runSql(await whole(), text);
    },
    query(input) {
      const aoi = toAoi(input.aoi);
      const start = toDate(input.start, "start");
      const end = toDate(input.end, "end");
      if (start && end && end <= start)
        throw new InvalidQueryError(`end ${end.toISOString()} is not after start ${start.toISOString()}`);
      const profile = queryProfile(store, input.product);
      queryFilters(profile, input);
      checkBeams(profile, input.beams);
      let prepared: Promise<PreparedQuery> | undefined;
      const prepare = () => {
        prepared ??= prepareQuery(
          store,
          {
            aoi,
            start,
            end,
            beams: input.beams,
            vars: input.vars,
            product: profile?.name ?? input.product,
            quality: input.quality,
            filters: input.filters,
          },
          input,
        );
        return prepared;
      };
      const stats: QueryStats = emptyStats();
      const result: QueryResult = {
        aoi,
        stats,
        plan: async () => queryPlan((await prepare()).plan),
        schema: async () => (await prepare()).emptySchema(),
        async *[Symbol.asyncIterator]() {
          const q = await prepare();
          try {
            yield* q.run();
          } finally {
            Object.assign(stats, q.stats);
          }
        },
        async *columns() {
          const q = await prepare();
          try {
            yield* q.runColumns();
          } finally {
            Object.assign(stats, q.stats);
          }
        },
        async toTable() {
          const batches: RecordBatch[] = [];
          for await (const batch of result) batches.push(batch);
          const { Table } = await import("apache-arrow");
          return batches.length > 0 ? new Table(batches) : new Table(await result.schema());
        },
        async toRows() {
          const { batchRows } = await import("./query/rows.js");
          const rows: ResultRow[] = [];
          for await (const batch of result) for (const row of batchRows(batch)) rows.push(row);
          return rows;
        },
      };
      return result;
    },
  };
}

/**
 * Indexes granules into a store, creating it when missing. Inputs are what `geochunks index`
 * takes: files, folders (their `.h5` files), globs in the last path component (`"dir/*.h5"`),
 * http(s):// and s3:// URLs, and `@list.txt` files with one input per line.
 * Inputs that cannot be indexed (corrupt, not HDF5, another product, missing) are listed in the
 * report's `skipped`, copies of a granule already indexed in `duplicates`; the good ones are
 * committed.
 * @throws SourceError (404) for a glob that matches nothing or inputs that hold no granule; with
 * `strict`, or when no input could be indexed, the error of the first bad input
 * (NotAGranuleError, InvalidHdf5Error, SourceError naming it).
 * @example
 * const report = await index(["granules/*.h5", "@more.txt"], { store: "idx" });
 * console.log(JSON.stringify(report));
 */
export async function index(inputs: string | readonly string[], opts: IndexOptions): Promise<IndexReport> {
  const given = typeof inputs === "string" ? [inputs] : inputs;
  // The indexer (HDF5 reader, H3, Parquet writer) loads only when a store is built.
  const { expandInputs } = await import("./index-builder/inputs.js");
  const { indexGranules } = await import("./index-builder/index.js");
  const granules = await expandInputs(given);
  if (given.length > 0 && granules.length === 0) {
    const what = given.join(" ");
    throw new SourceError(`no granules found in ${what}`, { status: 404, url: what });
  }
  return indexGranules(granules, opts);
}
