/** Query entry point: plan over a store's index, then stream result batches. */
import type { RecordBatch, Schema } from "apache-arrow";
import { InvalidQueryError } from "../errors.js";
import { ATL06_COORDINATES, ATL06_DEFAULT_VARS, segmentGroup } from "../products/atl06.js";
import type { SourceOptions } from "../source/index.js";
import type { ArrayRow } from "../store/schema.js";
import { type SelectionMethod, segmentVariableType, selectChunks } from "../store/select.js";
import type { Store } from "../store/store.js";
import { arrayKey, executePlan, type QueryStats } from "./execute.js";
import { planQuery, type QuerySpec, queryVariables, type ReadPlan } from "./plan.js";
import { resultBatch } from "./result.js";

export type { Aoi } from "./aoi.js";
export { parseAoi } from "./aoi.js";
export type { QueryStats } from "./execute.js";
export { pointInAoi, pointsInAoi } from "./pip.js";
export type { ByteRange, ChunkRead, GranulePlan, QuerySpec, ReadPlan } from "./plan.js";
export { coalesceRanges, DEFAULT_MAX_GAP, planQuery } from "./plan.js";

/** Options for {@link prepareQuery}. */
export interface PrepareOptions {
  /** Largest gap (bytes) read through when coalescing ranges. Default {@link DEFAULT_MAX_GAP}. */
  maxGap?: number;
  /** Range requests in flight per granule. Default 8. */
  concurrency?: number;
  /** Granules fetched and decoded at the same time. Default 4. */
  granuleConcurrency?: number;
  /** How candidate chunks are found in the index. Default {@link DEFAULT_SELECTION}. */
  selection?: SelectionMethod;
  /** How granules are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/** A planned query: inspect `plan`, then iterate `run()` for the result batches. */
export interface PreparedQuery {
  plan: ReadPlan;
  /** Counters, complete once `run()` has been iterated to the end. */
  stats: QueryStats;
  /** Schema of an empty result (the batches of a non-empty one have the same columns). */
  emptySchema: Schema;
  run(): AsyncGenerator<RecordBatch>;
}

/**
 * Default candidate test: "auto" uses the AOI's H3 cover against `chunk_cells` unless the cover
 * would be large, then bbox statistics (measurement in bench/select.ts and `chooseSelection`).
 */
export const DEFAULT_SELECTION: SelectionMethod = "auto";

/** Loads the store's index and plans the query; no granule is read until `run()`. */
export async function prepareQuery(
  store: Store,
  spec: QuerySpec,
  opts: PrepareOptions = {},
): Promise<PreparedQuery> {
  const started = performance.now();
  const { granules, chunks, arrays, method, coverCells } = await selectChunks(store, {
    bboxes: spec.aoi.polygons.map((p) => p.bbox),
    polygons: spec.aoi.polygons.map((p) => p.rings),
    start: spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined,
    end: spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined,
    beams: spec.beams,
    method: opts.selection ?? DEFAULT_SELECTION,
  });
  const variables = queryVariables(ATL06_DEFAULT_VARS, spec.vars);
  const plan = planQuery({ granules, chunks }, spec, { variables, maxGap: opts.maxGap });
  const stats: QueryStats = {
    granules: 0,
    chunks_candidate: plan.chunksCandidate,
    chunks_read: 0,
    requests: 0,
    bytes_read: 0,
    bytes_minimal: 0,
    rows: 0,
    seconds: 0,
    selection: method,
    ...(coverCells === undefined ? {} : { cover_cells: coverCells }),
  };
  const byKey = new Map(arrays.map((a) => [arrayKey(a.granule_id, a.path), a]));
  const missing = await missingVariables(store, plan, byKey, variables, spec.vars ?? []);
  if (missing.warnings.length > 0) stats.warnings = missing.warnings;
  return {
    plan,
    stats,
    emptySchema: emptySchema(spec.vars ?? []),
    async *run() {
      try {
        yield* executePlan(plan, spec, {
          arrays: byKey,
          variables,
          missingTypes: missing.types,
          stats,
          concurrency: opts.concurrency,
          granuleConcurrency: opts.granuleConcurrency,
          maxGap: opts.maxGap,
          source: opts.source,
          signal: opts.signal,
        });
      } finally {
        stats.seconds = (performance.now() - started) / 1000;
      }
    },
  };
}

/** Types of the default variables, for granules that lack one (subsetted files). */
const DEFAULT_TYPES: Readonly<Record<string, string>> = {
  h_li: "<f4",
  h_li_sigma: "<f4",
  atl06_quality_summary: "<i1",
  segment_id: "<i4",
};

/**
 * Variables some of the granules read lack (files subsetted to fewer variables): each gets a
 * column of nulls in their rows, of its type in the other granules, and one warning naming them.
 * @throws InvalidQueryError for an extra variable no granule of the store has (a typo, most likely).
 */
async function missingVariables(
  store: Store,
  plan: ReadPlan,
  arrays: ReadonlyMap<string, ArrayRow>,
  variables: readonly string[],
  extra: readonly string[],
): Promise<{ types: Map<string, string>; warnings: string[] }> {
  const types = new Map<string, string>();
  const warnings: string[] = [];
  const coordinates: readonly string[] = Object.values(ATL06_COORDINATES);
  for (const v of variables.filter((name) => !coordinates.includes(name))) {
    const lacking: string[] = [];
    let dtype: string | undefined;
    for (const g of plan.granules) {
      const rows = [...new Set(g.chunks.map((c) => c.chunk.beam))].map((beam) =>
        arrays.get(arrayKey(g.granule.granule_id, `${segmentGroup(beam)}/${v}`)),
      );
      dtype ??= rows.find((r) => r !== undefined)?.dtype;
      if (rows.some((r) => r === undefined)) lacking.push(g.granule.granule_id);
    }
    if (lacking.length === 0) continue;
    dtype ??= extra.includes(v) ? await segmentVariableType(store, v) : DEFAULT_TYPES[v];
    if (dtype === undefined) {
      throw new InvalidQueryError(`variable ${v} is not a per-segment dataset of any indexed granule`);
    }
    types.set(v, dtype);
    warnings.push(
      `variable ${v} is missing from ${lacking.length} of ${plan.granules.length} granules read ` +
        `(null in their rows): ${lacking.join(", ")}`,
    );
  }
  return { types, warnings };
}

/** Result schema with no rows; extra variables default to float64 when no granule tells their type. */
function emptySchema(extra: readonly string[]): Schema {
  const none = new Float64Array(0);
  return resultBatch({
    lat: none,
    lon: none,
    time: new BigInt64Array(0),
    granule_id: "",
    beam: "",
    track_id: "",
    rgt: 0,
    cycle: 0,
    spot: 0,
    vars: [
      { name: "h_li", values: new Float32Array(0) },
      { name: "h_li_sigma", values: new Float32Array(0) },
      { name: "atl06_quality_summary", values: new Int8Array(0) },
      { name: "segment_id", values: new Int32Array(0) },
      ...extra.map((v) => ({ name: v.split("/").pop()!, values: none })),
    ],
  }).schema;
}
