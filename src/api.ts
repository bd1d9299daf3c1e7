/** The library API: the command line's capabilities for scripts. */
import type { RecordBatch } from "apache-arrow";
import { InvalidQueryError } from "./errors.js";
import { type IndexOptions, type IndexReport, indexGranules } from "./index-builder/index.js";
import { type Aoi, parseAoi } from "./query/aoi.js";
import { type PreparedQuery, prepareQuery, type QueryStats, type ReadPlan } from "./query/index.js";
import type { SourceOptions } from "./source/index.js";
import type { GranuleRow } from "./store/schema.js";
import { runSql, type SqlResult } from "./store/sql.js";
import { Store } from "./store/store.js";

/** A query as scripts give it. */
export interface QueryInput {
  /** Area of interest: a parsed {@link Aoi}, GeoJSON (object or text), WKT, or "minx,miny,maxx,maxy". */
  aoi: Aoi | string | object;
  /** Inclusive start of the time range (Date or ISO 8601). */
  start?: Date | string;
  /** Exclusive end of the time range (Date or ISO 8601). */
  end?: Date | string;
  /** Beam names (`gt1l`...) and/or `strong` / `weak`. Default: all. */
  beams?: string[];
  /** Extra per-segment variables, relative to `land_ice_segments` (e.g. `ground_track/x_atc`). */
  vars?: string[];
  /** Keep only best-quality segments (`atl06_quality_summary == 0`). Default false. */
  quality?: boolean;
  /** Granules fetched and decoded at the same time. Default 4. */
  granuleConcurrency?: number;
  /** Largest byte gap read through when coalescing ranges. */
  maxGap?: number;
  /** Candidate chunk test in the index: "bbox", "h3" (the AOI's H3 cover) or "auto" (default). */
  selection?: "bbox" | "h3" | "auto";
  /** How granules are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/** A running query: iterate it for Arrow record batches (rows ordered by granule, beam, time). */
export interface QueryResult extends AsyncIterable<RecordBatch> {
  /** The read plan (granules, chunks, byte ranges), computed without reading any granule. */
  plan(): Promise<ReadPlan>;
  /** Counters; complete after iteration ends. */
  readonly stats: QueryStats;
  /** The parsed AOI. */
  readonly aoi: Aoi;
  /** Schema of the result (also valid when it is empty). */
  schema(): Promise<PreparedQuery["emptySchema"]>;
}

/** An open chunk-index store. */
export interface GeochunksStore {
  readonly dir: string;
  /** The indexed granules. */
  granules(): Promise<GranuleRow[]>;
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

/**
 * Opens the store in `dir` for queries and SQL.
 * @throws StoreError when `dir` holds no store.
 * @example
 * const store = await openStore("idx");
 * for await (const batch of store.query({ aoi: "-45.4,62.6,-44.6,63.0" })) console.log(batch.numRows);
 */
export async function openStore(dir: string): Promise<GeochunksStore> {
  const store = await Store.open(dir);
  return {
    dir,
    granules: () => store.granules(),
    sql: (text) => runSql(store, text),
    query(input) {
      const aoi = toAoi(input.aoi);
      const start = toDate(input.start, "start");
      const end = toDate(input.end, "end");
      if (start && end && end <= start)
        throw new InvalidQueryError(`end ${end.toISOString()} is not after start ${start.toISOString()}`);
      let prepared: Promise<PreparedQuery> | undefined;
      const prepare = () => {
        prepared ??= prepareQuery(
          store,
          { aoi, start, end, beams: input.beams, vars: input.vars, quality: input.quality },
          input,
        );
        return prepared;
      };
      const stats: QueryStats = {
        granules: 0,
        chunks_candidate: 0,
        chunks_read: 0,
        requests: 0,
        bytes_read: 0,
        bytes_minimal: 0,
        rows: 0,
        seconds: 0,
      };
      return {
        aoi,
        stats,
        plan: async () => (await prepare()).plan,
        schema: async () => (await prepare()).emptySchema,
        async *[Symbol.asyncIterator]() {
          const q = await prepare();
          try {
            yield* q.run();
          } finally {
            Object.assign(stats, q.stats);
          }
        },
      };
    },
  };
}

/**
 * Indexes granules (paths or URLs) into a store, creating it when missing.
 * @example
 * await index(["ATL06_20230816161508_08782002_006_02.h5"], { store: "idx" });
 */
export function index(inputs: readonly string[], opts: IndexOptions): Promise<IndexReport> {
  return indexGranules(inputs, opts);
}
