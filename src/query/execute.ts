/** Query execution: fetch the planned ranges, decode the chunks, keep the points inside, emit batches. */
import type { RecordBatch } from "apache-arrow";
import { mapLimit } from "../concurrency.js";
import { IndexMismatchError } from "../errors.js";
import { decodeChunk, itemSize, toTypedArray } from "../hdf5/index.js";
import type { DecodeSpec, FilterInfo, NumericArray } from "../hdf5/types.js";
import { ATL06_COORDINATES, deltaTimeToUnixNs, parseAtl06Name, trackId } from "../products/atl06.js";
import { fingerprintChange, fingerprintOf, openSource, withReadStats } from "../source/index.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { pointsInAoi } from "./pip.js";
import type { ByteRange, ChunkRead, GranulePlan, QuerySpec, ReadPlan } from "./plan.js";
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
}

/** Options for {@link executePlan}. */
export interface ExecuteOptions {
  /** Array rows by `${granule_id}\u0000${path}`: how to decode each dataset. */
  arrays: ReadonlyMap<string, ArrayRow>;
  /** Variables read besides coordinates and time, relative to the segment group. */
  variables: readonly string[];
  /** Counters updated while running. */
  stats: QueryStats;
  /** Range requests in flight per granule. Default 8. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Key of {@link ExecuteOptions.arrays}. */
export const arrayKey = (granuleId: string, path: string) => `${granuleId}\u0000${path}`;

/** Runs a plan, yielding one record batch per chunk row that has points inside the AOI. */
export async function* executePlan(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<RecordBatch> {
  for (const g of plan.granules) {
    opts.signal?.throwIfAborted();
    const fetched = await fetchGranule(g, opts);
    opts.stats.granules++;
    for (const read of g.chunks) {
      const batch = decodeChunkRow(g, read, fetched, spec, opts);
      if (batch) yield batch;
    }
  }
}

interface Fetched {
  ranges: ByteRange[];
  buffers: Uint8Array[];
}

async function fetchGranule(g: GranulePlan, opts: ExecuteOptions): Promise<Fetched> {
  const opened = await openSource(g.granule.url);
  try {
    const { source, stats } = withReadStats(opened);
    await checkFingerprint(g, opened, opts);
    const buffers = await mapLimit(g.ranges, opts.concurrency ?? 8, (r) =>
      source.read(r.offset, r.length, opts),
    );
    opts.stats.requests += stats.requests;
    opts.stats.bytes_read += stats.bytes;
    return { ranges: g.ranges, buffers };
  } finally {
    await opened.close();
  }
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
  const range = f.ranges[lo]!;
  const start = ref.offset - range.offset;
  return f.buffers[lo]!.subarray(start, start + ref.size);
}

interface DecodedArray {
  spec: DecodeSpec;
  row: ArrayRow;
}

function decodeSpecOf(opts: ExecuteOptions, granuleId: string, path: string): DecodedArray | undefined {
  const row = opts.arrays.get(arrayKey(granuleId, path));
  if (!row?.chunk_shape) return undefined;
  const filters = JSON.parse(row.filters) as FilterInfo[];
  return { row, spec: { path, dtype: row.dtype, chunkShape: row.chunk_shape, filters } };
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

function fillOf(a: DecodedArray): number | undefined {
  const attrs = JSON.parse(a.row.attrs) as Record<string, unknown>;
  const fill = attrs._FillValue;
  const value = Array.isArray(fill) ? fill[0] : fill;
  return typeof value === "number" ? value : typeof value === "string" ? Number(value) : undefined;
}

function decodeChunkRow(
  g: GranulePlan,
  read: ChunkRead,
  f: Fetched,
  spec: QuerySpec,
  opts: ExecuteOptions,
): RecordBatch | undefined {
  const { chunk } = read;
  const id = chunk.granule_id;
  const columns = new Map<string, { a: DecodedArray; values: NumericArray }>();
  for (const [name, refs] of read.refs) {
    const a = decodeSpecOf(opts, id, `/${chunk.beam}/land_ice_segments/${name}`);
    if (!a) continue;
    columns.set(name, { a, values: readVariable(f, a, refs, chunk.row_start, chunk.row_count) });
  }
  opts.stats.chunks_read++;
  const lat = columns.get(ATL06_COORDINATES.lat)?.values as Float64Array;
  const lon = columns.get(ATL06_COORDINATES.lon)?.values as Float64Array;
  const dt = columns.get(ATL06_COORDINATES.time)?.values as Float64Array;
  const mask = pointsInAoi(spec.aoi, lon, lat);
  const startNs = spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined;
  const endNs = spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined;
  const time = new BigInt64Array(chunk.row_count);
  let n = 0;
  for (let i = 0; i < chunk.row_count; i++) {
    if (!mask[i]) continue;
    time[i] = deltaTimeToUnixNs(dt[i]!);
    if ((startNs !== undefined && time[i]! < startNs) || (endNs !== undefined && time[i]! >= endNs))
      mask[i] = 0;
    else n++;
  }
  if (n === 0) return undefined;
  opts.stats.bytes_minimal += [...read.refs.values()].flat().reduce((s, r) => s + r.size, 0);
  opts.stats.rows += n;
  const pick = <T extends NumericArray>(values: T): T => {
    const out = new (values.constructor as { new (n: number): T })(n);
    for (let i = 0, j = 0; i < values.length; i++) if (mask[i]) out[j++] = values[i]!;
    return out;
  };
  const vars = [...columns]
    .filter(([name]) => !Object.values(ATL06_COORDINATES).includes(name as never))
    .map(([name, { a, values }]) => {
      const picked = pick(values);
      const fill = fillOf(a);
      const isFloat = picked instanceof Float32Array || picked instanceof Float64Array;
      if (fill === undefined || !isFloat) return { name: columnName(name), values: picked };
      const valid = new Uint8Array(n);
      const fill32 = picked instanceof Float32Array ? Math.fround(fill) : fill;
      for (let i = 0; i < n; i++) valid[i] = picked[i] === fill32 ? 0 : 1;
      return { name: columnName(name), values: picked, valid };
    });
  const name = parseAtl06Name(id);
  return resultBatch({
    lat: pick(lat),
    lon: pick(lon),
    time: pick(time),
    granule_id: id,
    beam: chunk.beam,
    track_id: trackId(name?.trackField ?? `${g.granule.rgt}`, chunk.beam),
    rgt: g.granule.rgt,
    cycle: g.granule.cycle,
    spot: chunk.spot,
    vars,
  });
}
