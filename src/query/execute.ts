/** Query execution: fetch the planned ranges, decode the chunks, keep the points inside, emit batches. */
import type { RecordBatch } from "apache-arrow";
import { mapLimit } from "../concurrency.js";
import { IndexMismatchError, InvalidQueryError } from "../errors.js";
import { decodeChunk, itemSize, toTypedArray } from "../hdf5/index.js";
import type { DecodeSpec, FilterInfo, NumericArray } from "../hdf5/types.js";
import { ATL06_COORDINATES, deltaTimeToUnixNs, trackId } from "../products/atl06.js";
import { fingerprintChange, fingerprintOf, openSource, withReadStats } from "../source/index.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { pointsInAoi } from "./pip.js";
import {
  type ByteRange,
  type ChunkRead,
  coalesceRanges,
  type GranulePlan,
  type QuerySpec,
  type ReadPlan,
} from "./plan.js";
import { resultBatch } from "./result.js";

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
  /** Variables read besides coordinates and time, relative to the segment group. */
  variables: readonly string[];
  /**
   * Element types (HDF5 dtype, e.g. "<f4") of variables some granules lack: their rows get a
   * column of nulls of this type, so every batch has the same columns.
   */
  missingTypes?: ReadonlyMap<string, string>;
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
    const coordinates = Object.values(ATL06_COORDINATES) as string[];
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
      const batch = decodeChunkRow(g, read, all, mask, spec, opts);
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
}

/** Parsed decode specs by array row: every chunk row of a dataset shares one. */
const decodeSpecs = new WeakMap<ArrayRow, DecodedArray>();

function decodeSpecOf(opts: ExecuteOptions, granuleId: string, path: string): DecodedArray | undefined {
  const row = opts.arrays.get(arrayKey(granuleId, path));
  if (!row?.chunk_shape) return undefined;
  let decoded = decodeSpecs.get(row);
  if (!decoded) {
    const filters = JSON.parse(row.filters) as FilterInfo[];
    decoded = { row, spec: { path, dtype: row.dtype, chunkShape: row.chunk_shape, filters } };
    decodeSpecs.set(row, decoded);
  }
  return decoded;
}

/** Values of one variable for rows [start, start + count) of a beam, from its stored chunks; fill where none. */
function readVariable(
  f: Fetched,
  a: DecodedArray,
  refs: ChunkRefRow[],
  start: number,
  count: number,
): NumericArray {
  const size = itemSize(a.spec.dtype);
  const raw = new Uint8Array(count * size);
  const fill = JSON.parse(a.row.fill_value) as number | string | null;
  if (typeof fill === "number" && fill !== 0) {
    toTypedArray(raw, a.spec.dtype).fill(fill as never);
  }
  const chunkRows = a.spec.chunkShape[0]!;
  for (const ref of refs) {
    const decoded = decodeChunk(storedBytes(f, ref), a.spec, ref.filter_mask);
    const from = Math.max(start, ref.chunk_start);
    const to = Math.min(start + count, ref.chunk_start + chunkRows);
    if (to <= from) continue;
    raw.set(
      decoded.subarray((from - ref.chunk_start) * size, (to - ref.chunk_start) * size),
      (from - start) * size,
    );
  }
  return toTypedArray(raw, a.spec.dtype);
}

/** Column name of a variable: its last path component. */
export function columnName(variable: string): string {
  return variable.split("/").pop()!;
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
  return typeof value === "number" ? value : typeof value === "string" ? Number(value) : undefined;
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

function decodeVariable(f: Fetched, read: ChunkRead, name: string, opts: ExecuteOptions) {
  const { chunk } = read;
  const a = decodeSpecOf(opts, chunk.granule_id, `/${chunk.beam}/land_ice_segments/${name}`);
  if (!a) return undefined;
  return { a, values: readVariable(f, a, read.refs.get(name) ?? [], chunk.row_start, chunk.row_count) };
}

/** Decodes a chunk row's coordinates and marks the points inside the AOI and the time range. */
function coordinateMask(read: ChunkRead, f: Fetched, spec: QuerySpec, opts: ExecuteOptions): Hits {
  const { chunk } = read;
  const lat = decodeVariable(f, read, ATL06_COORDINATES.lat, opts)?.values as Float64Array;
  const lon = decodeVariable(f, read, ATL06_COORDINATES.lon, opts)?.values as Float64Array;
  const dt = decodeVariable(f, read, ATL06_COORDINATES.time, opts)?.values as Float64Array;
  const mask = pointsInAoi(spec.aoi, lon, lat);
  const startNs = spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined;
  const endNs = spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined;
  const time = new BigInt64Array(chunk.row_count);
  let count = 0;
  for (let i = 0; i < chunk.row_count; i++) {
    if (!mask[i]) continue;
    const t = deltaTimeToUnixNs(dt[i]!);
    time[i] = t;
    if ((startNs !== undefined && t < startNs) || (endNs !== undefined && t >= endNs)) mask[i] = 0;
    else count++;
  }
  return { lat, lon, time, mask, count };
}

/** The QA flag that marks a segment as best quality. */
const BEST_QUALITY = 0;

function decodeChunkRow(
  g: GranulePlan,
  read: ChunkRead,
  f: Fetched,
  hits: Hits,
  spec: QuerySpec,
  opts: ExecuteOptions,
): RecordBatch | undefined {
  const { chunk } = read;
  const id = chunk.granule_id;
  const coordinates = Object.values(ATL06_COORDINATES) as string[];
  const columns = [...read.refs.keys()]
    .filter((name) => !coordinates.includes(name))
    .map((name) => ({ name, decoded: decodeVariable(f, read, name, opts) }));
  const { mask } = hits;
  let n = hits.count;
  if (spec.quality) {
    const flags = columns.find((c) => c.name === "atl06_quality_summary")?.decoded?.values;
    if (!flags) throw new InvalidQueryError(`${id}: no atl06_quality_summary for the quality filter`);
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] && flags[i] !== BEST_QUALITY) {
        mask[i] = 0;
        n--;
      }
    }
  }
  if (n === 0) return undefined;
  opts.stats.rows += n;
  // Gather through the kept indices: n steps per column instead of a full chunk row each.
  const kept = new Int32Array(n);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) kept[j++] = i;
  const pick = <T extends NumericArray>(values: T): T => {
    const out = new (values.constructor as { new (n: number): T })(n);
    for (let j = 0; j < n; j++) out[j] = values[kept[j]!]!;
    return out;
  };
  const vars = columns.flatMap(({ name, decoded }) => {
    if (!decoded) {
      const dtype = opts.missingTypes?.get(name);
      if (dtype === undefined) return [];
      const values = toTypedArray(new Uint8Array(n * itemSize(dtype)), dtype);
      return [{ name: columnName(name), values, valid: new Uint8Array(n) }];
    }
    const picked = pick(decoded.values);
    const fill = fillOf(decoded.a);
    const isFloat = picked instanceof Float32Array || picked instanceof Float64Array;
    if (fill === undefined || !isFloat) return [{ name: columnName(name), values: picked }];
    const valid = new Uint8Array(n);
    const fill32 = picked instanceof Float32Array ? Math.fround(fill) : fill;
    for (let i = 0; i < n; i++) valid[i] = picked[i] === fill32 ? 0 : 1;
    return [{ name: columnName(name), values: picked, valid }];
  });
  return resultBatch({
    lat: pick(hits.lat),
    lon: pick(hits.lon),
    time: pick(hits.time),
    granule_id: id,
    beam: chunk.beam,
    track_id: trackId(trackField(g.granule), chunk.beam),
    rgt: g.granule.rgt,
    cycle: g.granule.cycle,
    spot: chunk.spot,
    vars,
  });
}

/** The `RRRRCCGG` field of a granule, from its indexed metadata (never its file name). */
export function trackField(g: { rgt: number; cycle: number; region: number }): string {
  return `${String(g.rgt).padStart(4, "0")}${String(g.cycle).padStart(2, "0")}${String(g.region).padStart(2, "0")}`;
}
