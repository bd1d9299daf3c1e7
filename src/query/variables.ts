/**
 * A chunk row's datasets from fetched bytes: how each dataset decodes (parsed once per query from its
 * array row), its values over the chunk row's rows, and parent-rate values broadcast to rows.
 */
import { InvalidQueryError } from "../errors.js";
import { itemSize, toTypedArray } from "../hdf5/dtype.js";
import { decodeChunk, decodeChunkOffThread } from "../hdf5/filters.js";
import type { FilterInfo, NumericArray } from "../hdf5/types.js";
import type { ProductProfile } from "../products/index.js";
import { datasetPath } from "../products/index.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { type DecodedArray, type DecodedVariable, parseFill } from "./columns.js";
import { type Fetched, storedBytes } from "./fetch.js";
import type { ChunkRead } from "./plan.js";

/** Key of a query's array rows: `${granule_id}\u0000${path}`. */
export const arrayKey = (granuleId: string, path: string) => `${granuleId}\u0000${path}`;

/**
 * The datasets of one query: array rows by {@link arrayKey}, and their decode specs parsed on first use.
 * One per query run, so nothing outlives it.
 */
export class QueryArrays {
  readonly #rows: ReadonlyMap<string, ArrayRow>;
  readonly #decoded = new Map<string, DecodedArray | undefined>();

  constructor(rows: ReadonlyMap<string, ArrayRow>) {
    this.#rows = rows;
  }

  /** Every array row of the query. */
  rows(): IterableIterator<ArrayRow> {
    return this.#rows.values();
  }

  /** How to decode dataset `path` of a granule; undefined when the granule lacks it or it is a scalar. */
  get(granuleId: string, path: string): DecodedArray | undefined {
    const key = arrayKey(granuleId, path);
    if (this.#decoded.has(key)) return this.#decoded.get(key);
    const row = this.#rows.get(key);
    const decoded = row && row.shape.length > 0 ? decodedArrayOf(row) : undefined;
    this.#decoded.set(key, decoded);
    return decoded;
  }
}

function decodedArrayOf(row: ArrayRow): DecodedArray {
  const contiguous = row.chunk_shape === null;
  const filters = contiguous ? [] : (JSON.parse(row.filters) as FilterInfo[]);
  const width = row.shape.slice(1).reduce((a, b) => a * b, 1);
  const chunkShape = row.chunk_shape ?? row.shape;
  const spec = { path: row.path, dtype: row.dtype, chunkShape, filters };
  const decoded: DecodedArray = { row, width, contiguous, spec, fill: undefined };
  decoded.fill = parseFill(decoded);
  return decoded;
}

/**
 * The decoded bytes of rows [start, start + count) when one chunk, already decoded, holds them all
 * with whole rows: a view, no copy (a chunk row of ICESat-2 products is usually exactly one chunk of
 * each dataset). Undefined otherwise.
 */
function wholeChunkView(
  f: Fetched,
  a: DecodedArray,
  refs: readonly ChunkRefRow[],
  start: number,
  count: number,
): Uint8Array | undefined {
  const ref = refs.length === 1 ? refs[0]! : undefined;
  if (!ref || a.contiguous || ref.col_start !== 0) return undefined;
  const chunkWidth = a.spec.chunkShape.slice(1).reduce((x, y) => x * y, 1);
  const decoded = f.decoded.get(ref.offset);
  if (!decoded || chunkWidth !== a.width) return undefined;
  const rowBytes = a.width * itemSize(a.spec.dtype);
  const from = (start - ref.chunk_start) * rowBytes;
  const to = from + count * rowBytes;
  return from >= 0 && to <= decoded.length ? decoded.subarray(from, to) : undefined;
}

/**
 * Values of one variable for rows [start, start + count) of a beam, from its stored chunks, row
 * after row (`width` elements each for a 2-D dataset); fill where no chunk is stored. The values
 * may be a view into a decoded chunk that other chunk rows read too: callers never write into them.
 */
export function readVariable(
  f: Fetched,
  a: DecodedArray,
  refs: readonly ChunkRefRow[],
  start: number,
  count: number,
): NumericArray {
  const size = itemSize(a.spec.dtype);
  const { width } = a;
  const whole = wholeChunkView(f, a, refs, start, count);
  if (whole) return toTypedArray(whole, a.spec.dtype);
  const raw = new Uint8Array(count * width * size);
  const fill = JSON.parse(a.row.fill_value) as number | string | null;
  if (typeof fill === "number" && fill !== 0) {
    toTypedArray(raw, a.spec.dtype).fill(fill as never);
  }
  const chunkRows = a.spec.chunkShape[0]!;
  // Elements per chunk row along the second dimension (chunks of (N, k) may split k).
  const chunkWidth = a.spec.chunkShape.slice(1).reduce((x, y) => x * y, 1);
  for (const ref of refs) {
    // A contiguous dataset's ref is a raw run of whole rows, shorter than the dataset.
    const decoded = a.contiguous
      ? storedBytes(f, ref)
      : (f.decoded.get(ref.offset) ?? decodeChunk(storedBytes(f, ref), a.spec, ref.filter_mask));
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

/**
 * Decodes the filtered chunks of `refs` (of granule `granuleId`) into `f.decoded` on this thread's
 * inflate worker (hdf5/inflate-worker.ts; the returned promise, if any, resolves when they are in).
 * Called on each range as it arrives (`FetchOptions.onRange`), so a round's chunks inflate on another
 * core while this thread takes in the round's other responses, tests points and builds columns: the
 * query's main thread is its critical path, and inflating there took a third of it (docs/design/query.md).
 * Chunks of datasets the query has no array row for are left to the synchronous path of
 * {@link readVariable}.
 */
export function decodeRefs(
  f: Fetched,
  refs: readonly ChunkRefRow[],
  granuleId: string,
  arrays: QueryArrays,
): Promise<void> | undefined {
  const waits: Promise<void>[] = [];
  // Refs repeated in `refs` (chunk rows sharing a chunk) are decoded once.
  const started = new Set<number>();
  for (const ref of refs) {
    const a = arrays.get(granuleId, ref.path);
    if (!a || a.contiguous || f.decoded.has(ref.offset) || started.has(ref.offset)) continue;
    started.add(ref.offset);
    waits.push(
      decodeChunkOffThread(storedBytes(f, ref), a.spec, ref.filter_mask).then((bytes) => {
        f.decoded.set(ref.offset, bytes);
      }),
    );
  }
  return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
}

/** What reading a chunk row's variables needs: the query's datasets and the product's profile. */
export interface VariableContext {
  arrays: QueryArrays;
  profile: ProductProfile;
}

/** One variable of a chunk row over its rows; undefined when the granule lacks the dataset. */
export function decodeVariable(
  f: Fetched,
  read: ChunkRead,
  name: string,
  ctx: VariableContext,
): DecodedVariable | undefined {
  const { chunk } = read;
  const a = ctx.arrays.get(chunk.granule_id, datasetPath(ctx.profile, chunk.beam, name));
  if (!a) return undefined;
  return { a, values: readVariable(f, a, read.refs.get(name) ?? [], chunk.row_start, chunk.row_count) };
}

/**
 * The decoded variables of one chunk row as row-rate values, each decoded once however many
 * columns read it. A parent-rate dataset (ATL03 segment variables) is decoded over the chunk row's
 * parent rows and broadcast to every row its parent row spans (rows without one are null).
 */
export function variableCache(
  f: Fetched,
  read: ChunkRead,
  ctx: VariableContext,
): (name: string) => DecodedVariable | undefined {
  const { chunk } = read;
  const { arrays, profile } = ctx;
  const cache = new Map<string, DecodedVariable | undefined>();
  const arrayOf = (name: string) => arrays.get(chunk.granule_id, datasetPath(profile, chunk.beam, name));
  const rowsOfBeam = arrayOf(profile.coordinates.lat)?.row.shape[0];
  let parents: Int32Array | undefined;
  const parentRaw = (name: string) => {
    const a = arrayOf(name);
    if (!a) return undefined;
    const values = readVariable(f, a, read.refs.get(name) ?? [], chunk.parent_start!, chunk.parent_count!);
    return { a, values };
  };
  return (name: string): DecodedVariable | undefined => {
    if (cache.has(name)) return cache.get(name);
    const a = arrayOf(name);
    let decoded: DecodedVariable | undefined;
    if (a && a.row.shape[0] !== rowsOfBeam && profile.parent && chunk.parent_start !== null) {
      parents ??= parentOfRows(chunk, profile, parentRaw);
      decoded = broadcast(parentRaw(name)!, parents);
    } else {
      decoded = decodeVariable(f, read, name, ctx);
    }
    cache.set(name, decoded);
    return decoded;
  };
}

/**
 * For each row of a chunk row, the index (within the chunk row's parent rows) of the parent row
 * that spans it, or -1.
 */
function parentOfRows(
  chunk: ChunkRead["chunk"],
  profile: ProductProfile,
  raw: (name: string) => DecodedVariable | undefined,
): Int32Array {
  const parent = profile.parent!;
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
