/** Query entry point: plan over a store's index, then stream result batches. */
import type { RecordBatch, Schema } from "apache-arrow";
import { InvalidQueryError } from "../errors.js";
import {
  datasetPath,
  type FilterValue,
  findProfile,
  type ProductProfile,
  registeredProfiles,
  resultColumnNames,
  sourceDatasets,
} from "../products/index.js";
import { arrayOfType, type ResultColumnData, type ResultColumns } from "../result/columns.js";
import type { OpenedSource, SourceOptions } from "../source/index.js";
import { localStoreReader } from "../store/local-reader.js";
import type { StoreReader } from "../store/reader.js";
import type { ArrayRow } from "../store/schema.js";
import { fileMayMatch, selectChunksParquet, variableTypeParquet } from "../store/select-parquet.js";
import {
  aoiSelection,
  type ChunkSelection,
  type SelectedIndex,
  type SelectionMethod,
} from "../store/selection.js";
import type { Store } from "../store/store.js";
import { columnName, dtypeOfColumn, parseVar } from "./columns.js";
import {
  arrayKey,
  type ExecuteOptions,
  executeColumns,
  executePlan,
  type QueryStats,
  WINDOW_POINTS,
} from "./execute.js";
import { coordinateVariables, planQuery, type QuerySpec, queryVariables, type ReadPlan } from "./plan.js";
import type { LinkModel } from "./rounds.js";

export type { Aoi } from "./aoi.js";
export { parseAoi } from "./aoi.js";
export type { QueryStats } from "./execute.js";
export { DEFAULT_QUERY_REQUESTS, POINTS_IN_FLIGHT, WINDOW_POINTS } from "./execute.js";
export { pointInAoi, pointsInAoi } from "./pip.js";
export type { ByteRange, ChunkRead, GranulePlan, QuerySpec, ReadPlan } from "./plan.js";
export { coalesceRanges, DEFAULT_MAX_GAP, planQuery } from "./plan.js";
export type { LinkModel } from "./rounds.js";
export { DEFAULT_LINK_MODEL, firstRoundReads, knownHit, MAX_SPECULATIVE_SHARE } from "./rounds.js";

/** Options for {@link prepareQuery}. */
export interface PrepareOptions {
  /** Largest gap (bytes) read through when coalescing ranges. Default {@link DEFAULT_MAX_GAP}. */
  maxGap?: number;
  /** Range requests in flight at once over the whole query. Default {@link DEFAULT_QUERY_REQUESTS}. */
  requests?: number;
  /**
   * Windows of chunk rows (granules, or parts of large ones) fetched and decoded at the same time at
   * most. Default: as many as {@link POINTS_IN_FLIGHT} candidate points allow.
   */
  granuleConcurrency?: number;
  /**
   * Points a unit of work reads and decodes at most: a granule is read in windows of chunk rows of about
   * this many points, windows of {@link POINTS_IN_FLIGHT} points at a time, which bounds memory. Default
   * {@link WINDOW_POINTS}.
   */
  windowPoints?: number;
  /**
   * The link (latency, bandwidth) the executor's cost model assumes when it chooses one round of
   * requests or two per window. Default {@link DEFAULT_LINK_MODEL}; a latency of 0 always takes two.
   */
  link?: LinkModel;
  /** How candidate chunks are found in the index. Default {@link DEFAULT_SELECTION}. */
  selection?: SelectionMethod;
  /**
   * What finds the candidate chunks: "typescript" reads the part files' statistics and rows
   * (local and remote stores), "duckdb" runs the SQL selection (local stores only; same result).
   * Default: "typescript" for remote stores and for local stores of at most
   * {@link TYPESCRIPT_SELECTION_MAX_BYTES} of chunk part files, else "duckdb".
   */
  selectWith?: "typescript" | "duckdb";
  /** How granules are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  /** Opens a granule's source by its URL instead of opening it with `source` (tests count reads this way). */
  open?: (url: string) => Promise<OpenedSource>;
  signal?: AbortSignal;
}

/** A planned query: inspect `plan`, then iterate `run()` for the result batches. */
export interface PreparedQuery {
  plan: ReadPlan;
  /** Counters, complete once `run()` has been iterated to the end. */
  stats: QueryStats;
  /**
   * Schema of an empty result (the batches of a non-empty one have the same columns); built on
   * demand, as it loads apache-arrow.
   */
  emptySchema(): Promise<Schema>;
  run(): AsyncGenerator<RecordBatch>;
  /**
   * The same batches as `run()`, as plain columns (typed arrays, no apache-arrow loaded), each
   * batch's arrays its own: what the GeoParquet writer thread is sent (export/geoparquet-columns.ts).
   */
  runColumns(): AsyncGenerator<ResultColumns>;
}

/**
 * Default candidate test: "auto" uses the AOI's H3 cover against `chunk_cells` unless the cover
 * would be large (measurement in bench/select.ts and `chooseSelection`) or at most
 * `BBOX_ENOUGH_ROWS` chunk rows meet the AOI's boxes, then bbox statistics.
 */
export const DEFAULT_SELECTION: SelectionMethod = "auto";

/** A store a query reads: an open local {@link Store}, or any {@link StoreReader} (a remote store). */
export type QueryStore = Store | StoreReader;

/** The reader of a query store. */
export function storeReader(store: QueryStore): StoreReader {
  return "openParts" in store ? store : localStoreReader(store);
}

/**
 * Largest local store, in bytes of the chunk part files that may hold candidates (all of a
 * partition's files without recorded summaries), whose candidates are selected in TypeScript by
 * default; DuckDB above. The TypeScript selection starts at once and, since it decodes only the
 * pages holding wanted rows (store/pages.ts), is the cheaper one on every store measured: the
 * command's `query --dry-run` with the Greenland polygon on the 108 186-granule bench store (425 MB
 * of chunk files near the AOI) takes 1.6-1.7 s of CPU and 207 MB in TypeScript against 2.5-2.7 s
 * and 370 MB with DuckDB, the same plan (docs/design/remote-stores.md). Before that page reader the
 * crossing was near 50 MB. DuckDB stays for larger candidate sets than measured, where its native
 * decoding on every core may win.
 */
export const TYPESCRIPT_SELECTION_MAX_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * The engine a query's selection uses: `selectWith` when given, else by the bytes of the chunk part
 * files it may read. With `sel`, files whose bbox and time range, as the manifest records them,
 * cannot match do not count: the TypeScript selection never opens them (on the 8322-granule
 * benchmark store, 0.34 GB of tiled parts, the Greenland polygon took 329 ms of CPU in TypeScript
 * and 350-600 ms with DuckDB, bench/results/store-scale-2026-12-06-b.md).
 */
export function selectionEngine(
  store: QueryStore,
  selectWith: PrepareOptions["selectWith"],
  sel?: ChunkSelection,
): "typescript" | "duckdb" {
  if (selectWith) return selectWith;
  if ("openParts" in store && !store.local) return "typescript";
  let bytes = 0;
  for (const set of store.manifest.parts)
    for (const file of set.files.chunks) {
      const stats = set.stats?.[file];
      if (!sel || fileMayMatch(stats, sel)) bytes += stats?.bytes ?? 0;
    }
  return bytes > TYPESCRIPT_SELECTION_MAX_BYTES ? "duckdb" : "typescript";
}

/** Candidate chunks with the chosen engine. */
async function select(
  store: QueryStore,
  sel: ChunkSelection,
  opts: Pick<PrepareOptions, "selectWith" | "signal">,
): Promise<SelectedIndex> {
  if (selectionEngine(store, opts.selectWith, sel) === "typescript")
    return selectChunksParquet(storeReader(store), sel, { signal: opts.signal });
  if ("openParts" in store && !store.local)
    throw new InvalidQueryError(`${store.dir}: the DuckDB selection reads local stores only`);
  const { selectChunks } = await import("../store/select.js");
  if (!("openParts" in store)) return selectChunks(store, sel);
  // A local folder opened as a reader (the command line, openStore): DuckDB at the reader's snapshot.
  const { Store } = await import("../store/store.js");
  return selectChunks(Store.atSnapshot(store.dir, store.manifest), sel);
}

/**
 * The profile a query over `store` reads: `product` when given, else the store's only product;
 * undefined for a store with no granules and no product named.
 * @throws InvalidQueryError when `product` is not a registered product or not in the store, or
 * when the store holds several products and none is named (the message lists them).
 */
export function queryProfile(
  store: Pick<StoreReader, "dir" | "products">,
  product?: string,
): ProductProfile | undefined {
  const present = store.products();
  if (product !== undefined) {
    const profile = registeredProfiles().find((p) => p.name === product);
    if (!profile) {
      const names = registeredProfiles().map((p) => p.name);
      throw new InvalidQueryError(`product ${product} is not one of ${names.join(", ")}`);
    }
    if (present.length > 0 && !present.includes(product)) {
      throw new InvalidQueryError(
        `${store.dir}: holds no ${product} granules; its products: ${present.join(", ")}`,
      );
    }
    return profile;
  }
  if (present.length > 1) {
    throw new InvalidQueryError(
      `${store.dir}: holds several products (${present.join(", ")}); name the one to query (--product)`,
    );
  }
  return present.length === 1 ? findProfile(present[0]!) : undefined;
}

/**
 * The query's filter values for `profile`: `filters`, plus `quality` as the `quality` filter.
 * @throws InvalidQueryError for a filter the product does not offer.
 */
export function queryFilters(
  profile: ProductProfile | undefined,
  spec: Pick<QuerySpec, "filters" | "quality">,
): Record<string, FilterValue> {
  const values: Record<string, FilterValue> = { ...spec.filters };
  if (spec.quality) values.quality = true;
  for (const [name, value] of Object.entries(values)) {
    if (value === false) continue;
    if (profile?.filters.some((f) => f.name === name)) continue;
    const offered = profile?.filters.map((f) => f.name).join(", ") || "none";
    throw new InvalidQueryError(
      `filter ${name} is not offered for ${profile?.name ?? "an empty store"} (its filters: ${offered})`,
    );
  }
  return values;
}

/**
 * Checks `--beams` names against the product's beams and beam kinds.
 * @throws InvalidQueryError naming the first unknown one and the accepted names.
 */
export function checkBeams(profile: ProductProfile | undefined, beams: readonly string[] | undefined): void {
  if (!profile) return;
  const names: readonly string[] = [...profile.beams, ...profile.beamKinds];
  for (const beam of beams ?? []) {
    if (names.includes(beam)) continue;
    const hint =
      names.includes(beam.toLowerCase()) || names.includes(beam.toUpperCase())
        ? " (names are case-sensitive)"
        : "";
    throw new InvalidQueryError(`beam ${beam} is not one of ${names.join(", ")}${hint}`);
  }
}

/**
 * The parent rate's index datasets (first row, row count) when the query reads parent-rate
 * values: a profile column or filter of kind "parent", or an extra variable outside the row group
 * (`../geolocation/...`).
 */
function parentIndex(profile: ProductProfile, extras: readonly string[]): string[] {
  if (!profile.parent) return [];
  const sources = [
    ...profile.columns.flatMap((c) => (typeof c === "string" ? [] : sourceDatasets(c.source))),
    ...profile.filters.flatMap((f) => f.sources({})),
  ];
  const used = sources.some((s) => s.kind === "parent") || extras.some((v) => v.startsWith("../"));
  return used ? [profile.parent.first, profile.parent.count] : [];
}

/** Datasets (relative to the row group) the profile's columns and the active filters read. */
function profileVariables(profile: ProductProfile, filters: Readonly<Record<string, FilterValue>>): string[] {
  const names: string[] = [];
  for (const c of profile.columns)
    if (typeof c !== "string") for (const source of sourceDatasets(c.source)) names.push(source.path);
  for (const f of profile.filters) {
    if (filters[f.name] === undefined || filters[f.name] === false) continue;
    for (const source of f.sources(filters)) names.push(source.path);
  }
  return names;
}

/**
 * The variables of a query (relative to the row group): `defaults` (the profile's columns and active
 * filters), `extras` (its extra variables, not repeating a result column) and `variables` (what the
 * executor reads: coordinates first, then the others and the parent index when needed).
 */
function queryVariableSets(
  profile: ProductProfile,
  spec: Pick<QuerySpec, "vars" | "filters" | "quality">,
): { defaults: string[]; extras: string[]; variables: string[] } {
  const defaults = profileVariables(profile, queryFilters(profile, spec));
  // A variable the result already has (a coordinate, a profile column of that name) is not repeated.
  const names = new Set(resultColumnNames(profile));
  const skip = new Set(coordinateVariables(profile));
  const extras = [...new Set((spec.vars ?? []).filter((v) => !skip.has(v) && !names.has(columnName(v))))];
  const extraPaths = extras.map((v) => parseVar(v).path);
  const variables = queryVariables(profile, [
    ...defaults,
    ...extraPaths,
    ...parentIndex(profile, extraPaths),
  ]);
  return { defaults, extras, variables };
}

/**
 * Dataset paths, in every beam of the profile, of the variables a query reads: the only `arrays`
 * rows its executor, its check of extra variables and of variables missing from subsetted granules
 * look up, so its selection reads no others ({@link ChunkSelection.arrayPaths}).
 */
export function queryArrayPaths(
  profile: ProductProfile,
  spec: Pick<QuerySpec, "vars" | "filters" | "quality">,
): string[] {
  return arrayPaths(profile, queryVariableSets(profile, spec));
}

/** {@link queryArrayPaths} from the query's variable sets. */
function arrayPaths(
  profile: ProductProfile,
  { defaults, variables }: { defaults: readonly string[]; variables: readonly string[] },
): string[] {
  const names = [...new Set([...variables, ...defaults.map((v) => parseVar(v).path)])];
  return [...new Set(profile.beams.flatMap((beam) => names.map((v) => datasetPath(profile, beam, v))))];
}

/** Loads the store's index and plans the query; no granule is read until `run()`. */
export async function prepareQuery(
  store: QueryStore,
  spec: QuerySpec,
  opts: PrepareOptions = {},
): Promise<PreparedQuery> {
  const started = performance.now();
  const profile = queryProfile(store, spec.product);
  const filters = queryFilters(profile, spec);
  checkBeams(profile, spec.beams);
  if (!profile) return emptyQuery(started, spec.vars ?? []);
  const reader = storeReader(store);
  const sets = queryVariableSets(profile, spec);
  const { defaults, extras, variables } = sets;
  const { granules, chunks, arrays, method, coverCells } = await select(
    store,
    {
      ...aoiSelection(spec.aoi),
      start: spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined,
      end: spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined,
      beams: spec.beams,
      beamKinds: profile.beamKinds,
      product: profile.name,
      method: opts.selection ?? DEFAULT_SELECTION,
      arrayPaths: arrayPaths(profile, sets),
    },
    opts,
  );
  const plan = planQuery({ granules, chunks }, spec, { profile, variables, maxGap: opts.maxGap });
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
  const listExtras = checkExtras(profile, arrays, extras);
  const missing = await missingVariables(reader, { profile, plan, arrays: byKey }, defaults, extras);
  if (missing.warnings.length > 0) stats.warnings = missing.warnings;
  /** The batches, with the query's seconds set once they end (or stop). */
  async function* timed<T>(batches: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* batches;
    } finally {
      stats.seconds = (performance.now() - started) / 1000;
    }
  }
  const execution = (): ExecuteOptions => ({
    arrays: byKey,
    profile,
    extras,
    filters,
    missingTypes: missing.types,
    listExtras,
    stats,
    requests: opts.requests,
    granuleConcurrency: opts.granuleConcurrency,
    windowPoints: opts.windowPoints,
    maxGap: opts.maxGap,
    link: opts.link,
    source: opts.source,
    open: opts.open,
    signal: opts.signal,
  });
  return {
    plan,
    stats,
    emptySchema: () => emptySchema(profile, { extras, listExtras, filters }),
    run: () => timed(executePlan(plan, spec, execution())),
    runColumns: () => timed(executeColumns(plan, spec, execution())),
  };
}

/** Statistics of a query that has read nothing yet. */
export function emptyStats(): QueryStats {
  return {
    granules: 0,
    chunks_candidate: 0,
    chunks_read: 0,
    requests: 0,
    bytes_read: 0,
    bytes_minimal: 0,
    rows: 0,
    seconds: 0,
  };
}

/** A query over a store with no granules: no rows, the shared columns. */
function emptyQuery(started: number, extra: readonly string[]): PreparedQuery {
  const stats = emptyStats();
  return {
    plan: { granules: [], chunksCandidate: 0, bytes: 0, requests: 0 },
    stats,
    emptySchema: () => emptySchema(undefined, { extras: extra }),
    async *run() {
      stats.seconds = (performance.now() - started) / 1000;
      yield* [];
    },
    async *runColumns() {
      stats.seconds = (performance.now() - started) / 1000;
      yield* [];
    },
  };
}

/**
 * Checks extra variables against the datasets of the store: a 2-D (N, k) dataset becomes a list
 * column, `path:k` picks its column k; more dimensions are refused.
 * @returns the extra variables that are list columns.
 * @throws InvalidQueryError naming the variable and its shape: more than two dimensions, or a
 * column past the dataset's width or of a one-dimensional dataset.
 */
function checkExtras(
  profile: ProductProfile,
  arrays: readonly ArrayRow[],
  extras: readonly string[],
): Set<string> {
  const lists = new Set<string>();
  for (const v of extras) {
    const { path, column } = parseVar(v);
    const paths = new Set(profile.beams.map((beam) => datasetPath(profile, beam, path)));
    const row = arrays.find((a) => paths.has(a.path));
    if (!row) continue;
    const shape = row.shape.join(" x ");
    if (row.shape.length > 2) {
      throw new InvalidQueryError(
        `variable ${path} has ${row.shape.length} dimensions (${shape}); vars takes datasets of one or two`,
      );
    }
    if (column !== undefined && (row.shape.length < 2 || column >= row.shape[1]!)) {
      throw new InvalidQueryError(`variable ${v}: ${path} (${shape}) has no column ${column}`);
    }
    if (row.shape.length === 2 && column === undefined) lists.add(v);
  }
  return lists;
}

/** numpy dtypes of the profile's dataset columns, for granules that lack one (subsetted files). */
function defaultTypes(profile: ProductProfile): Map<string, string> {
  const types = new Map<string, string>();
  for (const c of profile.columns) {
    if (typeof c === "string") continue;
    // The inputs of a computed column are read as float64 when a granule lacks them.
    const dtype = dtypeOfColumn(c.source.kind === "sum" ? "float64" : c.type);
    for (const source of sourceDatasets(c.source)) if (dtype !== undefined) types.set(source.path, dtype);
  }
  return types;
}

/**
 * Variables some of the granules read lack (files subsetted to fewer variables): each gets a
 * column of nulls in their rows, of its type in the other granules, and one warning naming them.
 * @throws InvalidQueryError for an extra variable no granule of the store has (a typo, most likely).
 */
async function missingVariables(
  store: StoreReader,
  q: { profile: ProductProfile; plan: ReadPlan; arrays: ReadonlyMap<string, ArrayRow> },
  defaults: readonly string[],
  extras: readonly string[],
): Promise<{ types: Map<string, string>; warnings: string[] }> {
  const { profile, plan, arrays } = q;
  const types = new Map<string, string>();
  const warnings: string[] = [];
  const declared = defaultTypes(profile);
  for (const v of [...new Set([...defaults, ...extras])]) {
    const lacking: string[] = [];
    let dtype: string | undefined;
    const { path } = parseVar(v);
    for (const g of plan.granules) {
      const rows = [...new Set(g.chunks.map((c) => c.chunk.beam))].map((beam) =>
        arrays.get(arrayKey(g.granule.granule_id, datasetPath(profile, beam, path))),
      );
      dtype ??= rows.find((r) => r !== undefined)?.dtype;
      if (rows.some((r) => r === undefined)) lacking.push(g.granule.granule_id);
    }
    if (lacking.length === 0) continue;
    const paths = profile.beams.map((beam) => datasetPath(profile, beam, path));
    dtype ??= extras.includes(v) ? await variableTypeParquet(store, paths) : declared.get(v);
    if (dtype === undefined) {
      throw new InvalidQueryError(
        `variable ${v} is not a per-${profile.rowNoun[0]} dataset of any indexed granule`,
      );
    }
    types.set(v, dtype);
    warnings.push(
      `variable ${v} is missing from ${lacking.length} of ${plan.granules.length} granules read ` +
        `(null in their rows): ${lacking.join(", ")}`,
    );
  }
  return { types, warnings };
}

/**
 * Result schema with no rows: the profile's columns (the shared ones alone without a profile);
 * extra variables default to float64 when no granule tells their type.
 */
async function emptySchema(
  profile: ProductProfile | undefined,
  q: {
    extras: readonly string[];
    listExtras?: ReadonlySet<string>;
    filters?: Readonly<Record<string, FilterValue>>;
  },
): Promise<Schema> {
  const none = new Float64Array(0);
  const columns: ResultColumnData[] = [];
  for (const c of profile?.columns ?? (["granule_id", "product", "beam"] as const)) {
    if (typeof c === "string") columns.push({ name: c, type: "utf8", value: "" });
    else if (c.type === "utf8") columns.push({ name: c.name, type: "utf8", value: "", nullable: c.nullable });
    else if (c.source.kind === "beam")
      columns.push({ name: c.name, type: c.type, value: 0, nullable: c.nullable });
    else {
      const metadata = c.metadata?.(q.filters ?? {});
      const width = c.list ? 1 : undefined;
      columns.push({
        name: c.name,
        values: arrayOfType(c.type, 0),
        valid: new Uint8Array(0),
        width,
        metadata,
      });
    }
  }
  for (const v of q.extras) {
    columns.push({ name: columnName(v), values: none, width: q.listExtras?.has(v) ? 1 : undefined });
  }
  const { resultBatch } = await import("../result/arrow.js");
  return resultBatch({ lat: none, lon: none, time: new BigInt64Array(0), columns }).schema;
}
