/** Query execution: fetch the planned ranges, decode the chunks, keep the points inside, emit batches. */
import type { RecordBatch } from "apache-arrow";
import { mapLimit } from "../concurrency.js";
import { IndexMismatchError, InvalidQueryError } from "../errors.js";
import { decodeChunk, itemSize, toTypedArray } from "../hdf5/index.js";
import type { FilterInfo, NumericArray } from "../hdf5/types.js";
import type { FilterValue, ProductProfile } from "../products/index.js";
import { datasetPath } from "../products/index.js";
import {
  fingerprintChange,
  fingerprintOf,
  type OpenedSource,
  openSource,
  withReadStats,
} from "../source/index.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { checkChunkChecksums } from "./checksums.js";
import {
  type DecodedArray,
  type DecodedVariable,
  extraColumn,
  profileColumn,
  sourceValues,
} from "./columns.js";
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
  /** Points per window of chunk rows ({@link windowsOf}). Default {@link WINDOW_POINTS}. */
  windowPoints?: number;
  /** Largest gap (bytes) read through when coalescing; default the plan's. */
  maxGap?: number;
  /** Options for opening sources (HTTP headers or fetch, ...). */
  source?: Parameters<typeof openSource>[1];
  signal?: AbortSignal;
}

/** Key of {@link ExecuteOptions.arrays}. */
export const arrayKey = (granuleId: string, path: string) => `${granuleId}\u0000${path}`;

/**
 * Points one unit of work holds at most: a granule's chunk rows are read and decoded in windows of about
 * this many points (a single larger chunk row is a window of its own). A query over a small AOI reads a
 * granule in one window, so in two rounds; a query over a whole ATL03 granule (tens of millions of photons)
 * holds only `granuleConcurrency` windows at a time instead of whole granules.
 */
export const WINDOW_POINTS = 1 << 19;

/** A granule's chunk rows in windows of at most `limit` points each (in order). */
export function windowsOf(chunks: readonly ChunkRead[], limit = WINDOW_POINTS): ChunkRead[][] {
  const windows: ChunkRead[][] = [];
  let current: ChunkRead[] = [];
  let points = 0;
  for (const read of chunks) {
    if (current.length > 0 && points + read.chunk.row_count > limit) {
      windows.push(current);
      current = [];
      points = 0;
    }
    current.push(read);
    points += read.chunk.row_count;
  }
  if (current.length > 0) windows.push(current);
  return windows;
}

/** A granule's source, opened by its first window and closed after its last. */
interface OpenedGranule {
  /** Set when the granule's first window starts. */
  source?: Promise<OpenedSource>;
  /** Windows not yet finished. */
  remaining: number;
  /** Whether the fingerprint has been checked (by the first window to read coordinates). */
  checked?: Promise<void>;
  /** Offsets of the stored chunks already counted in `bytes_minimal` (windows may share parent chunks). */
  counted: Set<number>;
}

/**
 * Runs a plan: granules are read in windows of chunk rows ({@link windowsOf}), `granuleConcurrency`
 * windows fetched and decoded at a time, and their batches are yielded in plan order (granule, beam,
 * along-track), one record batch per chunk row that has points inside the AOI. At most that many
 * windows' results are held in memory, whatever the size of a granule.
 */
export async function* executePlan(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<RecordBatch> {
  const limit = Math.max(1, opts.granuleConcurrency ?? DEFAULT_GRANULE_CONCURRENCY);
  const units = plan.granules.flatMap((g) => {
    const windows = g.chunks.length === 0 ? [[]] : windowsOf(g.chunks, opts.windowPoints);
    const opened: OpenedGranule = { remaining: windows.length, counted: new Set() };
    return windows.map((chunks, i) => ({ g, chunks, opened, first: i === 0 }));
  });
  const pending: Promise<RecordBatch[]>[] = [];
  let next = 0;
  const startNext = () => {
    const unit = units[next++]!;
    if (unit.first) {
      unit.opened.source = openSource(unit.g.granule.url, opts.source);
      unit.opened.source.catch(() => undefined);
    }
    const run = runWindow(unit.g, unit.chunks, unit.opened, unit.first, spec, opts);
    // Failures surface when this window's turn comes; until then they must not go unhandled.
    run.catch(() => undefined);
    pending.push(run);
  };
  try {
    while (pending.length < limit && next < units.length) startNext();
    while (pending.length > 0) {
      opts.signal?.throwIfAborted();
      const batches = await pending.shift()!;
      if (next < units.length) startNext();
      yield* batches;
    }
  } finally {
    await Promise.allSettled(pending);
    // Windows never started (an error or an early return): close the sources their granule opened.
    for (const unit of units.slice(next)) {
      const { opened } = unit;
      if (opened.source && opened.remaining > 0) {
        opened.remaining = 0;
        await opened.source.then((s) => s.close()).catch(() => undefined);
      }
    }
  }
}

/** Granules fetched and decoded at the same time by default. */
export const DEFAULT_GRANULE_CONCURRENCY = 4;

/**
 * Fetches one window of a granule's chunk rows in two rounds (coordinates of its candidate chunks, then
 * the other variables of the chunks with hits) and decodes its batches.
 */
async function runWindow(
  g: GranulePlan,
  chunks: ChunkRead[],
  opened: OpenedGranule,
  first: boolean,
  spec: QuerySpec,
  opts: ExecuteOptions,
): Promise<RecordBatch[]> {
  const raw = await opened.source!;
  try {
    opts.signal?.throwIfAborted();
    const { source, stats } = withReadStats(raw);
    const coordinates = coordinateVariables(opts.profile);
    const fetched = await fetchRefs(
      g,
      source,
      opts,
      chunks.map((c) => refsOf(c, coordinates)),
    );
    opened.checked ??= checkFingerprint(g, raw, opts);
    await opened.checked;
    const hits = chunks
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
    for (const { read, mask } of hits) {
      const batch = decodeChunkRow(g, read, all, mask, opts);
      if (!batch) continue;
      batches.push(batch);
      for (const ref of [...read.refs.values()].flat()) {
        if (opened.counted.has(ref.offset)) continue;
        opened.counted.add(ref.offset);
        opts.stats.bytes_minimal += ref.size;
      }
    }
    opts.stats.chunks_read += chunks.length;
    opts.stats.requests += stats.requests;
    opts.stats.bytes_read += stats.bytes;
    if (first) opts.stats.granules++;
    return batches;
  } catch (err) {
    // A read past the end, an unexpected body or a chunk checksum that differs usually means the
    // object changed: say so, by its size or mtime when those tell.
    await checkFingerprint(g, raw, opts).catch((mismatch: unknown) => {
      if (mismatch instanceof IndexMismatchError) throw mismatch;
    });
    throw err;
  } finally {
    if (--opened.remaining === 0) await raw.close();
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
  checkChunkChecksums(g.granule, refs.flat(), { ranges, buffers });
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

/** Coordinates of one chunk row and which of its points the query keeps. */
interface Hits {
  lat: Float64Array;
  lon: Float64Array;
  /** ns since the Unix epoch, UTC; only set where `mask` is 1. */
  time: BigInt64Array;
  mask: Uint8Array;
  count: number;
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
