/** Query execution: fetch the planned ranges, decode the chunks, keep the points inside, emit batches. */
import type { RecordBatch } from "apache-arrow";
import { mapLimit } from "../concurrency.js";
import { IndexMismatchError, InvalidQueryError } from "../errors.js";
import { decodeChunk, itemSize, toTypedArray } from "../hdf5/index.js";
import type { DecodeSpec, FilterInfo, NumericArray } from "../hdf5/types.js";
import type { DatasetSource, FilterValue, ProductProfile, ResultColumn } from "../products/index.js";
import { chosenColumn, datasetPath } from "../products/index.js";
import { fingerprintChange, fingerprintOf, openSource, withReadStats } from "../source/index.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { pointsInAoi } from "./pip.js";
import {
  type ByteRange,
  type ChunkRead,
  coalesceRanges,
  coordinateVariables,
  type GranulePlan,
  type QuerySpec,
  type ReadPlan,
} from "./plan.js";
import { castArray, type ResultColumnData, resultBatch } from "./result.js";

/** Counters of one query run (the `--stats` object). */
export interface QueryStats {
  granules: number;
  chunks_candidate: number;
  chunks_read: number;
  requests: number;
  bytes_read: number;
  /** Stored size of the requested variables' chunks that hold at least one answer point. */
  bytes_minimal: number;
  rows: number;
  seconds: number;
  /** How candidate chunks were found: "bbox" or "h3" (with the cover's cell count). */
  selection?: string;
  cover_cells?: number;
  /**
   * What the result lacks, one line each, e.g. a variable some granules do not have (subsetted
   * files), whose rows hold nulls for it; absent when there is nothing to say.
   */
  warnings?: string[];
}

/** Options for {@link executePlan}. */
export interface ExecuteOptions {
  /** Array rows by `${granule_id}\u0000${path}`: how to decode each dataset. */
  arrays: ReadonlyMap<string, ArrayRow>;
  /** The product's profile: coordinates, result columns and filters. */
  profile: ProductProfile;
  /**
   * Extra variables (`--vars`), relative to the row group, each a column after the profile's: a
   * 2-D dataset as a list column, `path:k` its column k ({@link parseVar}).
   */
  extras: readonly string[];
  /** The filters to apply and their values, by filter name (only the profile's). */
  filters: Readonly<Record<string, FilterValue>>;
  /**
   * Element types (HDF5 dtype, e.g. "<f4") of extra variables some granules lack: their rows get
   * a column of nulls of this type, so every batch has the same columns.
   */
  missingTypes?: ReadonlyMap<string, string>;
  /** Extra variables that are 2-D datasets read whole: list columns (of nulls where a granule lacks them). */
  listExtras?: ReadonlySet<string>;
  /** Counters updated while running. */
  stats: QueryStats;
  /** Range requests in flight per granule. Default 8. */
  concurrency?: number;
  /** Granules fetched and decoded at the same time. Default {@link DEFAULT_GRANULE_CONCURRENCY}. */
  granuleConcurrency?: number;
  /** Largest gap (bytes) read through when coalescing; default the plan's. */
  maxGap?: number;
  /** Options for opening sources (HTTP headers or fetch, ...). */
  source?: Parameters<typeof openSource>[1];
  signal?: AbortSignal;
}

/** Key of {@link ExecuteOptions.arrays}. */
export const arrayKey = (granuleId: string, path: string) => `${granuleId}\u0000${path}`;

/**
 * Runs a plan: granules are fetched and decoded `granuleConcurrency` at a time, and their batches
 * are yielded in plan order (granule, beam, along-track), one record batch per chunk row that has
 * points inside the AOI. At most that many granules' results are held in memory.
 */
export async function* executePlan(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<RecordBatch> {
  const limit = Math.max(1, opts.granuleConcurrency ?? DEFAULT_GRANULE_CONCURRENCY);
  const pending: Promise<RecordBatch[]>[] = [];
  let next = 0;
  const startNext = () => {
    const g = plan.granules[next++]!;
    const run = runGranule(g, spec, opts);
    // Failures surface when this granule's turn comes; until then they must not go unhandled.
    run.catch(() => undefined);
    pending.push(run);
  };
  try {
    while (pending.length < limit && next < plan.granules.length) startNext();
    while (pending.length > 0) {
      opts.signal?.throwIfAborted();
      const batches = await pending.shift()!;
      if (next < plan.granules.length) startNext();
      yield* batches;
    }
  } finally {
    await Promise.allSettled(pending);
  }
}

/** Granules fetched and decoded at the same time by default. */
export const DEFAULT_GRANULE_CONCURRENCY = 4;

/** Fetches a granule in two rounds (coordinates of candidate chunks, then the other variables of the chunks with hits) and decodes its batches. */
async function runGranule(g: GranulePlan, spec: QuerySpec, opts: ExecuteOptions): Promise<RecordBatch[]> {
  opts.signal?.throwIfAborted();
  const opened = await openSource(g.granule.url, opts.source);
  try {
    const { source, stats } = withReadStats(opened);
    const coordinates = coordinateVariables(opts.profile);
    const fetched = await fetchRefs(
      g,
      source,
      opts,
      g.chunks.map((c) => refsOf(c, coordinates)),
    );
    await checkFingerprint(g, opened, opts);
    const hits = g.chunks
      .map((read) => ({ read, mask: coordinateMask(read, fetched, spec, opts) }))
      .filter((h) => h.mask.count > 0);
    const others = (read: ChunkRead) =>
      refsOf(
        read,
        [...read.refs.keys()].filter((v) => !coordinates.includes(v)),
      );
    const more = await fetchRefs(
      g,
      source,
      opts,
      hits.map((h) => others(h.read)),
    );
    const all = mergeFetched(fetched, more);
    const batches: RecordBatch[] = [];
    const minimal = new Map<number, number>();
    for (const { read, mask } of hits) {
      const batch = decodeChunkRow(g, read, all, mask, opts);
      if (!batch) continue;
      batches.push(batch);
      for (const ref of [...read.refs.values()].flat()) minimal.set(ref.offset, ref.size);
    }
    opts.stats.chunks_read += g.chunks.length;
    opts.stats.bytes_minimal += [...minimal.values()].reduce((a, b) => a + b, 0);
    opts.stats.requests += stats.requests;
    opts.stats.bytes_read += stats.bytes;
    opts.stats.granules++;
    return batches;
  } catch (err) {
    // A read past the end or an unexpected body usually means the object changed: say so.
    if (err instanceof IndexMismatchError) throw err;
    await checkFingerprint(g, opened, opts).catch((mismatch: unknown) => {
      if (mismatch instanceof IndexMismatchError) throw mismatch;
    });
    throw err;
  } finally {
    await opened.close();
  }
}

interface Fetched {
  ranges: ByteRange[];
  buffers: Uint8Array[];
}

function refsOf(read: ChunkRead, variables: readonly string[]): ChunkRefRow[] {
  return variables.flatMap((v) => read.refs.get(v) ?? []);
}

/** Reads the coalesced ranges covering `refs`, concurrently. */
async function fetchRefs(
  g: GranulePlan,
  source: ByteSource,
  opts: ExecuteOptions,
  refs: ChunkRefRow[][],
): Promise<Fetched> {
  const ranges = coalesceRanges(
    refs.flat().map((r) => ({ offset: r.offset, length: r.size })),
    opts.maxGap ?? g.maxGap,
  );
  const buffers = await mapLimit(ranges, opts.concurrency ?? 8, (r) => source.read(r.offset, r.length, opts));
  return { ranges, buffers };
}

function mergeFetched(a: Fetched, b: Fetched): Fetched {
  const order = [
    ...a.ranges.map((r, i) => ({ r, buf: a.buffers[i]! })),
    ...b.ranges.map((r, i) => ({ r, buf: b.buffers[i]! })),
  ];
  order.sort((x, y) => x.r.offset - y.r.offset);
  return { ranges: order.map((o) => o.r), buffers: order.map((o) => o.buf) };
}

/** Refuses a file whose size, ETag or mtime differs from what the index recorded. */
async function checkFingerprint(g: GranulePlan, source: ByteSource, opts: ExecuteOptions): Promise<void> {
  const { granule } = g;
  const change = fingerprintChange(granule, await fingerprintOf(source, opts));
  if (change) {
    const name = granule.granule_id;
    throw new IndexMismatchError(name, `${name}: file changed since it was indexed (${change}); re-index it`);
  }
}

/** The stored bytes of one ref, sliced from the fetched range that contains it. */
function storedBytes(f: Fetched, ref: ChunkRefRow): Uint8Array {
  let lo = 0;
  let hi = f.ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f.ranges[mid]!.offset <= ref.offset) lo = mid;
    else hi = mid - 1;
  }
  // After merging two rounds ranges may interleave: step back to one that holds the whole ref.
  while (lo > 0 && f.ranges[lo]!.offset + f.ranges[lo]!.length < ref.offset + ref.size) lo--;
  const range = f.ranges[lo]!;
  const start = ref.offset - range.offset;
  if (start < 0 || start + ref.size > range.length) {
    throw new Error(`internal: no fetched range holds ${ref.path} bytes ${ref.offset}+${ref.size}`);
  }
  return f.buffers[lo]!.subarray(start, start + ref.size);
}

interface DecodedArray {
  spec: DecodeSpec;
  row: ArrayRow;
  /** Elements per row: 1 for 1-D datasets, k for (N, k). */
  width: number;
  /** Stored contiguously: each ref is a raw run of whole rows (no chunk shape, no filter). */
  contiguous: boolean;
}

/** Parsed decode specs by array row: every chunk row of a dataset shares one. */
const decodeSpecs = new WeakMap<ArrayRow, DecodedArray>();

function decodeSpecOf(opts: ExecuteOptions, granuleId: string, path: string): DecodedArray | undefined {
  const row = opts.arrays.get(arrayKey(granuleId, path));
  if (!row || row.shape.length === 0) return undefined;
  let decoded = decodeSpecs.get(row);
  if (!decoded) {
    const contiguous = row.chunk_shape === null;
    const filters = contiguous ? [] : (JSON.parse(row.filters) as FilterInfo[]);
    const width = row.shape.slice(1).reduce((a, b) => a * b, 1);
    const chunkShape = row.chunk_shape ?? row.shape;
    decoded = { row, width, contiguous, spec: { path, dtype: row.dtype, chunkShape, filters } };
    decodeSpecs.set(row, decoded);
  }
  return decoded;
}

/**
 * Values of one variable for rows [start, start + count) of a beam, from its stored chunks, row
 * after row (`width` elements each for a 2-D dataset); fill where no chunk is stored.
 */
function readVariable(
  f: Fetched,
  a: DecodedArray,
  refs: ChunkRefRow[],
  start: number,
  count: number,
): NumericArray {
  const size = itemSize(a.spec.dtype);
  const { width } = a;
  const raw = new Uint8Array(count * width * size);
  const fill = JSON.parse(a.row.fill_value) as number | string | null;
  if (typeof fill === "number" && fill !== 0) {
    toTypedArray(raw, a.spec.dtype).fill(fill as never);
  }
  const chunkRows = a.spec.chunkShape[0]!;
  // Elements per chunk row along the second dimension (chunks of (N, k) may split k).
  const chunkWidth = a.spec.chunkShape.slice(1).reduce((x, y) => x * y, 1);
  for (const ref of refs) {
    const stored = storedBytes(f, ref);
    // A contiguous dataset's ref is a raw run of whole rows, shorter than the dataset.
    const decoded = a.contiguous ? stored : decodeChunk(stored, a.spec, ref.filter_mask);
    const rows = a.contiguous ? ref.size / (width * size) : chunkRows;
    const from = Math.max(start, ref.chunk_start);
    const to = Math.min(start + count, ref.chunk_start + rows);
    if (to <= from) continue;
    if (chunkWidth === width && ref.col_start === 0) {
      raw.set(
        decoded.subarray((from - ref.chunk_start) * width * size, (to - ref.chunk_start) * width * size),
        (from - start) * width * size,
      );
      continue;
    }
    const cols = Math.min(chunkWidth, width - ref.col_start) * size;
    for (let r = from; r < to; r++) {
      const at = (r - ref.chunk_start) * chunkWidth * size;
      raw.set(decoded.subarray(at, at + cols), ((r - start) * width + ref.col_start) * size);
    }
  }
  return toTypedArray(raw, a.spec.dtype);
}

/** Column `column` of row-major values with `width` elements a row (the values themselves when 1-D). */
function columnOf(values: NumericArray, width: number, column: number | undefined): NumericArray {
  if (width === 1) return values;
  const n = values.length / width;
  const out = new (values.constructor as { new (n: number): NumericArray })(n);
  const c = column ?? 0;
  for (let i = 0; i < n; i++) out[i] = values[i * width + c]!;
  return out;
}

/** A `--vars` name: a dataset path, and a column of a 2-D dataset after a colon (`rh:25`). */
export interface ParsedVar {
  path: string;
  column?: number;
}

/** Splits a `--vars` name into its dataset path and column (`rh:25` is column 25 of `rh`). */
export function parseVar(variable: string): ParsedVar {
  const match = /^(.*):(\d+)$/.exec(variable);
  return match ? { path: match[1]!, column: Number(match[2]) } : { path: variable };
}

/** Column name of a variable: its last path component, with its column appended (`rh:25` is `rh25`). */
export function columnName(variable: string): string {
  const { path, column } = parseVar(variable);
  return `${path.split("/").pop()!}${column ?? ""}`;
}

const fills = new WeakMap<DecodedArray, number | undefined>();

function fillOf(a: DecodedArray): number | undefined {
  if (fills.has(a)) return fills.get(a);
  const fill = parseFill(a);
  fills.set(a, fill);
  return fill;
}

function parseFill(a: DecodedArray): number | undefined {
  const attrs = JSON.parse(a.row.attrs) as Record<string, unknown>;
  const fill = attrs._FillValue;
  const value = Array.isArray(fill) ? fill[0] : fill;
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : undefined;
  return number === undefined || Number.isNaN(number) ? undefined : number;
}

/**
 * Which elements are no data: equal to the dataset's `_FillValue` (any numeric type; float32
 * compared as float32) or, in a float dataset, to one of the product's {@link ProductProfile.noData}.
 * Undefined when nothing can be.
 */
function fillTest(
  a: DecodedArray,
  values: NumericArray,
  profile: ProductProfile,
): ((v: number | bigint) => boolean) | undefined {
  const fill = fillOf(a);
  const isFloat = values instanceof Float32Array || values instanceof Float64Array;
  const narrow = (x: number) => (values instanceof Float32Array ? Math.fround(x) : x);
  const nodata: (number | bigint)[] = [];
  if (fill !== undefined) {
    if (isFloat) nodata.push(narrow(fill));
    else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
      if (Number.isSafeInteger(fill)) nodata.push(BigInt(fill));
    } else nodata.push(fill);
  }
  if (isFloat) for (const value of profile.noData ?? []) nodata.push(narrow(value));
  if (nodata.length === 0) return undefined;
  if (nodata.length === 1) {
    const only = nodata[0]!;
    return (v) => v === only;
  }
  return (v) => nodata.includes(v);
}

/** Coordinates of one chunk row and which of its points the query keeps. */
interface Hits {
  lat: Float64Array;
  lon: Float64Array;
  /** ns since the Unix epoch, UTC; only set where `mask` is 1. */
  time: BigInt64Array;
  mask: Uint8Array;
  count: number;
}

interface DecodedVariable {
  a: DecodedArray;
  values: NumericArray;
  /** Rows that have a value (1), for broadcast parent-rate values; absent when all have. */
  valid?: Uint8Array;
}

function decodeVariable(
  f: Fetched,
  read: ChunkRead,
  name: string,
  opts: ExecuteOptions,
): DecodedVariable | undefined {
  const { chunk } = read;
  const a = decodeSpecOf(opts, chunk.granule_id, datasetPath(opts.profile, chunk.beam, name));
  if (!a) return undefined;
  return { a, values: readVariable(f, a, read.refs.get(name) ?? [], chunk.row_start, chunk.row_count) };
}

/** Coordinates as float64 (ATL08 stores float32 latitudes and longitudes). */
function float64Of(values: NumericArray | undefined): Float64Array {
  return values instanceof Float64Array ? values : (castArray(values!, "float64") as Float64Array);
}

/** Decodes a chunk row's coordinates and marks the points inside the AOI and the time range. */
function coordinateMask(read: ChunkRead, f: Fetched, spec: QuerySpec, opts: ExecuteOptions): Hits {
  const { chunk } = read;
  const { coordinates, time: scale } = opts.profile;
  const lat = float64Of(decodeVariable(f, read, coordinates.lat, opts)?.values);
  const lon = float64Of(decodeVariable(f, read, coordinates.lon, opts)?.values);
  const dt = float64Of(decodeVariable(f, read, coordinates.time, opts)?.values);
  const mask = pointsInAoi(spec.aoi, lon, lat);
  const startNs = spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined;
  const endNs = spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined;
  const time = new BigInt64Array(chunk.row_count);
  let count = 0;
  for (let i = 0; i < chunk.row_count; i++) {
    if (!mask[i]) continue;
    const t = scale.toUnixNs(dt[i]!);
    time[i] = t;
    if ((startNs !== undefined && t < startNs) || (endNs !== undefined && t >= endNs)) mask[i] = 0;
    else count++;
  }
  return { lat, lon, time, mask, count };
}

/**
 * The decoded variables of one chunk row as row-rate values, each decoded once however many
 * columns read it. A parent-rate dataset (ATL03 segment variables) is decoded over the chunk row's
 * parent rows and broadcast to every row its parent row spans (rows without one are null).
 */
function variableCache(f: Fetched, read: ChunkRead, opts: ExecuteOptions) {
  const { chunk } = read;
  const cache = new Map<string, DecodedVariable | undefined>();
  const rowsOfBeam = decodeSpecOf(
    opts,
    chunk.granule_id,
    datasetPath(opts.profile, chunk.beam, opts.profile.coordinates.lat),
  )?.row.shape[0];
  let parents: Int32Array | undefined;
  const parentRaw = (name: string) => {
    const a = decodeSpecOf(opts, chunk.granule_id, datasetPath(opts.profile, chunk.beam, name));
    if (!a) return undefined;
    const values = readVariable(f, a, read.refs.get(name) ?? [], chunk.parent_start!, chunk.parent_count!);
    return { a, values };
  };
  const get = (name: string): DecodedVariable | undefined => {
    if (cache.has(name)) return cache.get(name);
    const a = decodeSpecOf(opts, chunk.granule_id, datasetPath(opts.profile, chunk.beam, name));
    let decoded: DecodedVariable | undefined;
    if (a && a.row.shape[0] !== rowsOfBeam && opts.profile.parent && chunk.parent_start !== null) {
      parents ??= parentOfRows(chunk, opts, parentRaw);
      const raw = parentRaw(name)!;
      decoded = broadcast(raw, parents);
    } else {
      decoded = decodeVariable(f, read, name, opts);
    }
    cache.set(name, decoded);
    return decoded;
  };
  return get;
}

/**
 * For each row of a chunk row, the index (within the chunk row's parent rows) of the parent row
 * that spans it, or -1.
 */
function parentOfRows(
  chunk: ChunkRead["chunk"],
  opts: ExecuteOptions,
  raw: (name: string) => DecodedVariable | undefined,
): Int32Array {
  const parent = opts.profile.parent!;
  const out = new Int32Array(chunk.row_count).fill(-1);
  const first = raw(parent.first)?.values;
  const count = raw(parent.count)?.values;
  if (!first || !count) {
    throw new InvalidQueryError(
      `${chunk.granule_id}: no ${parent.first} or ${parent.count} to broadcast ${chunk.beam}`,
    );
  }
  const end = chunk.row_start + chunk.row_count;
  for (let k = 0; k < first.length; k++) {
    const n = Number(count[k]!);
    if (!(n > 0)) continue;
    const begin = Number(first[k]!) - parent.base;
    for (let r = Math.max(begin, chunk.row_start); r < Math.min(begin + n, end); r++)
      out[r - chunk.row_start] = k;
  }
  return out;
}

/** Parent-rate values spread to rows through `parents`; rows without a parent row are invalid. */
function broadcast(raw: DecodedVariable, parents: Int32Array): DecodedVariable {
  const { a, values } = raw;
  const { width } = a;
  const out = new (values.constructor as { new (n: number): NumericArray })(parents.length * width);
  const valid = new Uint8Array(parents.length);
  for (let i = 0; i < parents.length; i++) {
    const k = parents[i]!;
    if (k < 0) continue;
    valid[i] = 1;
    for (let c = 0; c < width; c++) out[i * width + c] = values[k * width + c]!;
  }
  return { a, values: out, valid };
}

/**
 * A dataset source's values for every row of the chunk row (its chosen column of a 2-D dataset);
 * undefined when the granule lacks it.
 */
function sourceValues(
  source: DatasetSource,
  get: (path: string) => DecodedVariable | undefined,
  filters: Readonly<Record<string, FilterValue>>,
): DecodedVariable | undefined {
  const decoded = get(source.path);
  if (!decoded) return undefined;
  return {
    values: columnOf(decoded.values, decoded.a.width, chosenColumn(source.column, filters)),
    a: decoded.a,
    valid: decoded.valid,
  };
}

/** Applies the query's filters of the profile to `mask`; returns the rows still kept. */
function applyFilters(
  id: string,
  mask: Uint8Array,
  get: (path: string) => DecodedVariable | undefined,
  opts: ExecuteOptions,
): number {
  for (const filter of opts.profile.filters) {
    if (opts.filters[filter.name] === undefined || opts.filters[filter.name] === false) continue;
    const columns = filter.sources(opts.filters).map((source) => {
      const found = sourceValues(source, get, opts.filters);
      if (!found) throw new InvalidQueryError(`${id}: no ${source.path} for the ${filter.name} filter`);
      return found.values;
    });
    filter.apply(opts.filters, columns, mask);
  }
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

/**
 * Values at the kept rows (`width` elements a row), with a validity mask per element where fill
 * values become nulls and per row where a broadcast value has no parent row.
 */
function keptValues(
  v: DecodedVariable,
  kept: Int32Array,
  profile: ProductProfile,
  width = 1,
): { values: NumericArray; valid?: Uint8Array } {
  const { values, a } = v;
  const n = kept.length * width;
  const picked = new (values.constructor as { new (n: number): NumericArray })(n);
  for (let j = 0; j < kept.length; j++) {
    const from = kept[j]! * width;
    for (let c = 0; c < width; c++) picked[j * width + c] = values[from + c]!;
  }
  const isFill = fillTest(a, picked, profile);
  if (!isFill && !v.valid) return { values: picked };
  const valid = new Uint8Array(n).fill(1);
  if (isFill) for (let i = 0; i < n; i++) if (isFill(picked[i]!)) valid[i] = 0;
  if (v.valid) {
    for (let j = 0; j < kept.length; j++) if (!v.valid[kept[j]!]) valid.fill(0, j * width, (j + 1) * width);
  }
  return { values: picked, valid };
}

/** Row by row sum of `inputs` as float64, null where any input is null. */
function sumOf(
  inputs: readonly { values: NumericArray; valid?: Uint8Array }[],
  n: number,
): { values: Float64Array; valid?: Uint8Array } {
  const values = new Float64Array(n);
  let valid: Uint8Array | undefined;
  for (const input of inputs) {
    for (let i = 0; i < n; i++) values[i]! += Number(input.values[i]!);
    if (!input.valid) continue;
    valid ??= new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) if (!input.valid[i]) valid[i] = 0;
  }
  return { values, valid };
}

/** A column of n nulls of an HDF5 dtype. */
function nullColumn(
  name: string,
  dtype: string,
  n: number,
  metadata?: Record<string, string>,
): ResultColumnData {
  return {
    name,
    values: toTypedArray(new Uint8Array(n * itemSize(dtype)), dtype),
    valid: new Uint8Array(n),
    metadata,
  };
}

/** numpy dtypes of the numeric column types, for columns of nulls. */
const DTYPES: Readonly<Record<string, string>> = {
  float64: "<f8",
  float32: "<f4",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
};

/** The numpy dtype of a column type ("<f4" for float32); undefined for utf8. */
export function dtypeOfColumn(type: ResultColumn["type"]): string | undefined {
  return DTYPES[type];
}

/** A list column of n null rows with `width` elements of an HDF5 dtype (for a granule that lacks it). */
function nullList(name: string, dtype: string, n: number, width: number): ResultColumnData {
  return {
    name,
    values: toTypedArray(new Uint8Array(n * width * itemSize(dtype)), dtype),
    width,
    rowValid: new Uint8Array(n),
  };
}

/** Elements per row of a dataset in the store, from any granule (2-D list columns). */
function widthOf(opts: ExecuteOptions, path: string): number {
  const paths = new Set(opts.profile.beams.map((beam) => datasetPath(opts.profile, beam, path)));
  for (const row of opts.arrays.values()) {
    if (paths.has(row.path)) return row.shape.slice(1).reduce((x, y) => x * y, 1);
  }
  return 1;
}

/** One profile column of a chunk row's kept rows. */
function profileColumn(
  column: ResultColumn,
  ctx: { get: (path: string) => DecodedVariable | undefined; kept: Int32Array; opts: ExecuteOptions },
): ResultColumnData | undefined {
  const { get, kept, opts } = ctx;
  const n = kept.length;
  const metadata = column.metadata?.(opts.filters);
  const dtype = dtypeOfColumn(column.type);
  const source = column.source;
  if (source.kind === "beam") throw new Error(`internal: ${column.name} is a per-beam column`);
  if (source.kind === "sum") {
    const inputs = source.of.map((input) => sourceValues(input, get, opts.filters));
    if (inputs.some((input) => input === undefined)) return nullColumn(column.name, "<f8", n, metadata);
    const kepts = inputs.map((input) => keptValues(input!, kept, opts.profile));
    const sum = sumOf(kepts, n);
    const values = column.type === "float64" ? sum.values : castArray(sum.values, column.type as "float32");
    return { name: column.name, values, valid: sum.valid, metadata };
  }
  if (column.list) {
    const decoded = get(source.path);
    if (!decoded)
      return dtype === undefined ? undefined : nullList(column.name, dtype, n, widthOf(opts, source.path));
    const { width } = decoded.a;
    const { values, valid } = keptValues({ a: decoded.a, values: decoded.values }, kept, opts.profile, width);
    const type = column.type === "utf8" ? undefined : column.type;
    return {
      name: column.name,
      values: type ? castArray(values, type) : values,
      width,
      valid,
      rowValid: decoded.valid && rowsOf(decoded.valid, kept),
      metadata,
    };
  }
  const found = sourceValues(source, get, opts.filters);
  if (!found) return dtype === undefined ? undefined : nullColumn(column.name, dtype, n, metadata);
  const { values, valid } = keptValues(found, kept, opts.profile);
  const type = column.type === "utf8" ? undefined : column.type;
  return { name: column.name, values: type ? castArray(values, type) : values, valid, metadata };
}

/** A row mask at the kept rows. */
function rowsOf(mask: Uint8Array, kept: Int32Array): Uint8Array {
  const out = new Uint8Array(kept.length);
  for (let j = 0; j < kept.length; j++) out[j] = mask[kept[j]!]!;
  return out;
}

/** One `--vars` column of a chunk row's kept rows: a value, a chosen column, or a 2-D dataset's rows as lists. */
function extraColumn(
  name: string,
  ctx: { get: (path: string) => DecodedVariable | undefined; kept: Int32Array; opts: ExecuteOptions },
): ResultColumnData | undefined {
  const { get, kept, opts } = ctx;
  const n = kept.length;
  const { path, column } = parseVar(name);
  const list = opts.listExtras?.has(name) ?? false;
  const decoded = get(path);
  if (!decoded) {
    const dtype = opts.missingTypes?.get(name);
    if (dtype === undefined) return undefined;
    return list
      ? nullList(columnName(name), dtype, n, widthOf(opts, path))
      : nullColumn(columnName(name), dtype, n);
  }
  if (list && column === undefined) {
    const { width } = decoded.a;
    const kv = keptValues({ a: decoded.a, values: decoded.values }, kept, opts.profile, width);
    return { name: columnName(name), ...kv, width, rowValid: decoded.valid && rowsOf(decoded.valid, kept) };
  }
  const found = sourceValues({ kind: "dataset", path, column }, get, opts.filters)!;
  return { name: columnName(name), ...keptValues(found, kept, opts.profile) };
}

function decodeChunkRow(
  g: GranulePlan,
  read: ChunkRead,
  f: Fetched,
  hits: Hits,
  opts: ExecuteOptions,
): RecordBatch | undefined {
  const { chunk } = read;
  const id = chunk.granule_id;
  const get = variableCache(f, read, opts);
  const { mask } = hits;
  const n = applyFilters(id, mask, get, opts);
  if (n === 0) return undefined;
  opts.stats.rows += n;
  // Gather through the kept indices: n steps per column instead of a full chunk row each.
  const kept = new Int32Array(n);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) kept[j++] = i;
  const ctx = { get, kept, opts };
  const columns: ResultColumnData[] = [];
  for (const column of opts.profile.columns) {
    if (column === "granule_id") columns.push({ name: column, type: "utf8", value: id });
    else if (column === "product") columns.push({ name: column, type: "utf8", value: g.granule.product });
    else if (column === "beam") columns.push({ name: column, type: "utf8", value: chunk.beam });
    else if (column.source.kind === "beam") {
      const value = column.source.value(g.granule, chunk.beam);
      columns.push({ name: column.name, type: column.type, value, nullable: column.nullable ?? false });
    } else {
      const data = profileColumn(column, ctx);
      if (data) columns.push(data);
    }
  }
  for (const name of opts.extras) {
    const data = extraColumn(name, ctx);
    if (data) columns.push(data);
  }
  const pick = <T extends NumericArray>(values: T): T => {
    const out = new (values.constructor as { new (n: number): T })(n);
    for (let j = 0; j < n; j++) out[j] = values[kept[j]!]!;
    return out;
  };
  return resultBatch({ lat: pick(hits.lat), lon: pick(hits.lon), time: pick(hits.time), columns });
}
