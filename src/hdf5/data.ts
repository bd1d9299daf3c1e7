import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import type { DatasetMeta } from "./dataset.js";
import { elementCount } from "./dataspace.js";
import { float16ToFloat32Array, toTypedArray } from "./dtype.js";
import { decodeChunkHead, decodeChunkInto, decodeChunkOffThread } from "./filters.js";
import { readVlenValues } from "./global-heap.js";
import type { Placement } from "./inflate-worker.js";
import { releaseInflated } from "./inflate-worker.js";
import type { MetaReader } from "./reader.js";
import type { ChunkRef, DatasetInfo, DatasetValues, DecodeSpec } from "./types.js";
import type { ValueBuffers } from "./value-buffers.js";
import { decodeElements, decodeFixedString } from "./values.js";

/**
 * Builds what {@link decodeChunk} needs from a dataset's metadata. For unchunked datasets the "chunk" is
 * the whole dataset.
 */
export function decodeSpecOf(info: DatasetInfo): DecodeSpec {
  const { path, dtype, chunkShape, filters } = info;
  return { path, dtype, chunkShape: chunkShape ?? info.shape, filters };
}

/** Rows `[start, stop)` of the first dimension of a dataset (all of it for scalars). */
export interface RowWindow {
  start: number;
  stop: number;
}

/** Options of {@link readDatasetValues}. */
export interface DatasetValuesOptions extends ReadOptions {
  /** Only these rows of the first dimension; default the whole dataset. */
  window?: RowWindow;
  /**
   * Where the values' bytes are written; default a new buffer. Numeric values come back as a view of
   * the buffer taken (unless their bytes had to be swapped or converted), others are decoded from it.
   */
  buffers?: ValueBuffers;
  /**
   * Called with each stored chunk read and decoded whole: its file offset, stored size and XXH32
   * (taken on the inflate worker for deflated chunks), for callers recording chunk checksums.
   */
  onStoredChecksum?: (offset: number, size: number, sum: number) => void;
  /**
   * Only the values at these rows of a one-dimensional dataset, in this order (repeats allowed):
   * values as for the whole dataset, `rows.length` of them. A chunked dataset's chunks are read whole
   * but decoded no further than their last row asked where their filters allow (deflate alone, or
   * none; see `decodeChunkHead`): the first values of a deflated chunk cost a few hundred bytes of
   * inflate. `onStoredChecksum` is called for every chunk read. Ignores `window` and `buffers`.
   */
  rows?: readonly number[];
}

/**
 * Reads and decodes a dataset, or the rows of `window`: numeric, enum and bitfield types as a typed array
 * (host order; half floats as an exact Float32Array), opaque types as raw bytes, fixed- and
 * variable-length strings as strings, compounds as objects, array types as nested arrays,
 * variable-length sequences as arrays, object references as addresses. Only the chunks that overlap
 * the window are read; unallocated parts hold the fill value.
 * @throws UnsupportedHdf5Error for datatypes without a decoding; decode errors from `decodeChunk`.
 */
export async function readDatasetValues(
  meta: MetaReader,
  source: ByteSource,
  ds: DatasetMeta,
  refs: ChunkRef[],
  opts: DatasetValuesOptions = {},
): Promise<DatasetValues> {
  if (opts.rows) return readRowsAt(meta, source, ds, refs, opts.rows, opts);
  const { datatype, dataspace } = ds;
  const window = windowOf(ds, opts.window);
  const count = elementCount(dataspace) === 0 ? 0 : window.shape.reduce((a, b) => a * b, 1);
  checkCount(ds, count);
  // Where the chunks cover the window, every element is written by a chunk: the fill value would only
  // be written over (the coordinates of a full-size granule: 95 MB written twice).
  const covered = ds.layout.kind === "chunked" && chunksCover(refs, ds.info.chunkShape, window);
  const bytes = checkedBytes(count, datatype.size);
  // Made when the first bytes are there to go in, not when they are asked for: the index asks for
  // every beam's coordinates of several granules at once, and most of them wait for their reads
  // (with the buffers made up front, 72 buffers of 1 MB were held at once over 6 full-size granules;
  // made when the first chunk is in, 12).
  let raw: Uint8Array | undefined;
  const output = () => {
    raw ??= filled(count, datatype.size, covered ? undefined : ds.fill, covered, opts.buffers);
    return raw;
  };
  if (count > 0) await readWindowInto(output, bytes, source, ds, { refs, window }, opts);
  return decodeValues(meta, ds, output(), count, opts);
}

/**
 * The values at `rows` of a one-dimensional dataset ({@link DatasetValuesOptions.rows}): numeric
 * chunked datasets chunk by chunk, each decoded as far as its last row asked; others read whole and
 * picked from.
 * @throws RangeError for a row outside the dataset; as {@link readDatasetValues} otherwise.
 */
async function readRowsAt(
  meta: MetaReader,
  source: ByteSource,
  ds: DatasetMeta,
  refs: ChunkRef[],
  rows: readonly number[],
  opts: DatasetValuesOptions,
): Promise<DatasetValues> {
  const { datatype, dataspace, info } = ds;
  const n = dataspace.shape.length === 1 ? dataspace.shape[0]! : -1;
  if (n < 0) throw new RangeError(`rows of ${info.path} asked, which is not one-dimensional`);
  for (const row of rows) {
    if (!Number.isInteger(row) || row < 0 || row >= n) {
      throw new RangeError(`row ${row} of ${info.path} asked, outside its ${n} rows`);
    }
  }
  const whole = { ...opts, rows: undefined, window: undefined, buffers: undefined };
  if (!/^[<>|][fiu]\d+$/.test(info.dtype) || ds.layout.kind !== "chunked" || !info.chunkShape) {
    return pickRows(
      await readDatasetValues(meta, source, ds, refs, whole),
      rows,
      datatype.typeClass === 5 ? datatype.size : undefined,
    );
  }
  const size = datatype.size;
  const chunkRows = info.chunkShape[0]!;
  // The places in `rows` of each chunk's rows, by the chunk's first row.
  const asked = new Map<number, number[]>();
  for (const [i, row] of rows.entries()) {
    const first = row - (row % chunkRows);
    const places = asked.get(first);
    if (places) places.push(i);
    else asked.set(first, [i]);
  }
  const refAt = new Map(refs.map((r) => [r.coords[0]!, r]));
  const spec = decodeSpecOf(info);
  const raw = new Uint8Array(rows.length * size);
  const { onStoredChecksum } = opts;
  await Promise.all(
    [...asked].map(async ([first, places]) => {
      const ref = refAt.get(first);
      if (!ref) {
        // Never written: the fill value (zeros without one).
        for (const i of places) if (ds.fill) raw.set(ds.fill.subarray(0, size), i * size);
        return;
      }
      let last = 0;
      for (const i of places) last = Math.max(last, rows[i]! - first);
      const stored = await source.read(ref.offset, ref.size, opts);
      const onSum = onStoredChecksum && ((sum: number) => onStoredChecksum(ref.offset, ref.size, sum));
      const head = await decodeChunkHead(
        stored,
        spec,
        ref.filterMask,
        (last + 1) * size,
        () => chunkLabel(ref),
        onSum,
      );
      for (const i of places) {
        const at = (rows[i]! - first) * size;
        raw.set(head.subarray(at, at + size), i * size);
      }
      releaseInflated(head);
    }),
  );
  return decodeValues(meta, ds, raw, rows.length, opts);
}

/**
 * The values at `rows` of a dataset's values read whole: elements of arrays and typed arrays, or
 * `size` bytes each of opaque values (raw bytes).
 */
function pickRows(values: DatasetValues, rows: readonly number[], opaque: number | undefined): DatasetValues {
  if (Array.isArray(values)) return rows.map((r) => values[r]);
  if (opaque !== undefined) {
    const raw = values as Uint8Array;
    const out = new Uint8Array(rows.length * opaque);
    for (const [i, r] of rows.entries()) out.set(raw.subarray(r * opaque, (r + 1) * opaque), i * opaque);
    return out;
  }
  const typed = values as unknown as ArrayLike<number | bigint> & {
    constructor: new (length: number) => { [i: number]: number | bigint };
  };
  const out = new typed.constructor(rows.length);
  for (const [i, r] of rows.entries()) out[i] = typed[r]!;
  return out as unknown as DatasetValues;
}

/** Most elements decoded into plain values (compounds, strings...) in one read; typed arrays may hold more. */
const MAX_PLAIN_VALUES = 1 << 24;

function checkCount(ds: DatasetMeta, count: number): void {
  const plain = !/^[<>|][fiuV]\d+$/.test(ds.info.dtype);
  if ((count > 0 && ds.datatype.size === 0) || (plain && count > MAX_PLAIN_VALUES)) {
    throw new InvalidHdf5Error(
      `dataset ${ds.info.path} of ${count} elements of ${ds.datatype.size} bytes (${ds.info.dtype}) cannot be read at once`,
    );
  }
}

/** The window as start coordinates and shape over every dimension. */
function windowOf(ds: DatasetMeta, rows: RowWindow | undefined): { start: number[]; shape: number[] } {
  const shape = [...ds.dataspace.shape];
  const start = shape.map(() => 0);
  if (rows && shape.length > 0) {
    const n = shape[0]!;
    const from = Math.min(Math.max(0, rows.start), n);
    start[0] = from;
    shape[0] = Math.max(0, Math.min(rows.stop, n) - from);
  }
  return { start, shape };
}

/** The values' buffer of a read (`bytes` long), made on its first call. */
type Output = () => Uint8Array;

async function readWindowInto(
  output: Output,
  bytes: number,
  source: ByteSource,
  ds: DatasetMeta,
  at: { refs: ChunkRef[]; window: { start: number[]; shape: number[] } },
  opts: DatasetValuesOptions,
): Promise<void> {
  const { layout, datatype, dataspace } = ds;
  const { refs, window } = at;
  const whole = { shape: dataspace.shape, coords: dataspace.shape.map(() => 0) };
  if (layout.kind === "compact") {
    copyChunk(
      output(),
      window,
      { ...whole, bytes: padded(layout.data, datatype.size, dataspace) },
      datatype.size,
    );
  } else if (layout.kind === "contiguous") {
    if (!refs[0]) return;
    const rowBytes = dataspace.shape.slice(1).reduce((a, b) => a * b, 1) * datatype.size;
    const from = (window.start[0] ?? 0) * rowBytes;
    const length = Math.min(bytes, Math.max(0, refs[0].size - from));
    const stored = await source.read(refs[0].offset + from, length, opts);
    output().set(stored);
  } else {
    await readChunksInto(output, source, ds, at, opts);
  }
}

/**
 * True when the chunks of `refs` cover every element of the window: each chunk aligned on the chunk
 * grid and the refs in strictly ascending order of coordinates (so no two are the same chunk), and the
 * elements of the window they hold adding up to the window's. False for anything else, which keeps
 * the fill value under the chunks.
 */
export function chunksCover(
  refs: readonly ChunkRef[],
  chunkShape: readonly number[] | null,
  window: { start: number[]; shape: number[] },
): boolean {
  const rank = window.shape.length;
  if (chunkShape === null || chunkShape.length < rank) return false;
  let total = 1;
  for (let d = 0; d < rank; d++) total *= window.shape[d]!;
  let covered = 0;
  let prev: number[] | undefined;
  for (const ref of refs) {
    const c = ref.coords;
    if (c.length !== rank) return false;
    let n = 1;
    for (let d = 0; d < rank; d++) {
      const size = chunkShape[d]!;
      if (!(size > 0) || c[d]! % size !== 0) return false;
      const lo = Math.max(c[d]!, window.start[d]!);
      const hi = Math.min(c[d]! + size, window.start[d]! + window.shape[d]!);
      n *= Math.max(0, hi - lo);
    }
    if (prev !== undefined && !ascending(prev, c)) return false;
    prev = c;
    covered += n;
  }
  return covered === total;
}

/** True when coordinates `a` come strictly before `b` (row-major). */
function ascending(a: readonly number[], b: readonly number[]): boolean {
  for (let d = 0; d < a.length; d++) if (a[d] !== b[d]) return a[d]! < b[d]!;
  return false;
}

/** Compact data shorter than the dataspace is padded with zeros (as the HDF5 library reads it). */
function padded(data: Uint8Array, size: number, space: DatasetMeta["dataspace"]): Uint8Array {
  const total = elementCount(space) * size;
  if (data.length >= total) return data;
  const out = new Uint8Array(total);
  out.set(data);
  return out;
}

async function readChunksInto(
  output: Output,
  source: ByteSource,
  ds: DatasetMeta,
  at: { refs: ChunkRef[]; window: { start: number[]; shape: number[] } },
  opts: DatasetValuesOptions,
): Promise<void> {
  const { window } = at;
  // everything but plain numbers is decoded from raw element bytes afterwards
  const dtype = /^[<>|][fiu]\d+$/.test(ds.info.dtype) ? ds.info.dtype : `|V${ds.datatype.size}`;
  const spec = { ...decodeSpecOf(ds.info), dtype };
  const wanted = at.refs.filter((ref) =>
    ref.coords.every(
      (c, d) => c < window.start[d]! + window.shape[d]! && c + spec.chunkShape[d]! > window.start[d]!,
    ),
  );
  const { onStoredChecksum } = opts;
  await Promise.all(
    wanted.map(async (ref) => {
      const stored = await source.read(ref.offset, ref.size, opts);
      // Inflated on the thread's inflate worker: the thread keeps parsing and computing meanwhile,
      // and pays a copy per chunk rather than a zlib stream.
      const onSum = onStoredChecksum && ((sum: number) => onStoredChecksum(ref.offset, ref.size, sum));
      // Values in shared memory get a plain deflated chunk's bytes from the worker: no copy here.
      const placing =
        opts.buffers?.shared === true &&
        window.shape.length === 1 &&
        decodeChunkInto(
          stored,
          spec,
          ref.filterMask,
          () => placementOf(output(), window, ref.coords[0]!, spec.chunkShape[0]!, ds.datatype.size),
          () => chunkLabel(ref),
          onSum,
        );
      if (placing) return placing;
      const chunk = await decodeChunkOffThread(stored, spec, ref.filterMask, () => chunkLabel(ref), onSum);
      copyChunk(
        output(),
        window,
        { bytes: chunk, shape: spec.chunkShape, coords: ref.coords },
        ds.datatype.size,
      );
      releaseInflated(chunk);
    }),
  );
}

/**
 * Where the inflate worker writes the part of a one-dimensional chunk whose first row is `first` that
 * lies in the window, in the window's values `out` (shared memory: `ValueBuffers.shared`).
 */
function placementOf(
  out: Uint8Array,
  window: { start: number[]; shape: number[] },
  first: number,
  chunkRows: number,
  itemSize: number,
): Placement {
  if (!(out.buffer instanceof SharedArrayBuffer)) {
    throw new TypeError("ValueBuffers.shared is set, but a buffer taken is not a SharedArrayBuffer");
  }
  const start = window.start[0]!;
  const lo = Math.max(first, start);
  const hi = Math.max(lo, Math.min(first + chunkRows, start + window.shape[0]!));
  return {
    shared: out.buffer,
    at: out.byteOffset + (lo - start) * itemSize,
    from: (lo - first) * itemSize,
    length: (hi - lo) * itemSize,
  };
}

/** How error messages name a chunk: its coordinates and file offset. */
function chunkLabel(ref: ChunkRef): string {
  return `chunk [${ref.coords}] at offset ${ref.offset}`;
}

/** A decoded chunk placed at `coords` (element coordinates of its first element). */
export interface PlacedChunk {
  bytes: Uint8Array;
  shape: number[];
  coords: number[];
}

/**
 * Copies the part of a decoded chunk that lies inside a window of the dataset into the window's
 * row-major buffer. `window` is the dataset's shape (window at the origin) or `{ start, shape }`.
 */
export function copyChunk(
  out: Uint8Array,
  window: number[] | { start: number[]; shape: number[] },
  chunk: PlacedChunk,
  itemSize: number,
): void {
  const shape = Array.isArray(window) ? window : window.shape;
  const start = Array.isArray(window) ? window.map(() => 0) : window.start;
  const rank = shape.length;
  if (rank === 0) {
    out.set(chunk.bytes.subarray(0, itemSize));
    return;
  }
  const lo = shape.map((_, d) => Math.max(chunk.coords[d]!, start[d]!));
  const hi = shape.map((n, d) => Math.min(chunk.coords[d]! + chunk.shape[d]!, start[d]! + n));
  if (lo.some((l, d) => l >= hi[d]!)) return;
  const rowBytes = (hi[rank - 1]! - lo[rank - 1]!) * itemSize;
  const index = [...lo];
  for (;;) {
    let src = 0;
    let dst = 0;
    for (let d = 0; d < rank; d++) {
      src = src * chunk.shape[d]! + index[d]! - chunk.coords[d]!;
      dst = dst * shape[d]! + index[d]! - start[d]!;
    }
    out.set(chunk.bytes.subarray(src * itemSize, src * itemSize + rowBytes), dst * itemSize);
    if (!advance(index, lo, hi)) return;
  }
}

/** Steps a row-major index over all but the last dimension within [lo, hi); false when done. */
function advance(index: number[], lo: number[], hi: number[]): boolean {
  for (let d = index.length - 2; d >= 0; d--) {
    index[d]! += 1;
    if (index[d]! < hi[d]!) return true;
    index[d] = lo[d]!;
  }
  return false;
}

/** Turns raw element bytes into values according to the datatype class. */
async function decodeValues(
  meta: MetaReader,
  ds: DatasetMeta,
  raw: Uint8Array,
  count: number,
  opts: ReadOptions,
): Promise<DatasetValues> {
  const { datatype } = ds;
  const cls = datatype.typeClass;
  if (/^[<>|][fiu]\d+$/.test(ds.info.dtype) && (cls <= 1 || cls === 4 || cls === 8)) {
    if (cls === 1 && datatype.size === 2) return float16ToFloat32Array(raw, datatype.littleEndian);
    return toTypedArray(raw, ds.info.dtype);
  }
  if (cls === 5) return raw;
  if (cls === 3) return splitStrings(raw, datatype.size, datatype.stringPad);
  if (cls === 9) return readVlenValues(meta, raw, count, datatype, opts);
  if (cls === 6 || cls === 7 || cls === 10) return decodeElements(raw, datatype, count);
  throw new UnsupportedHdf5Error(
    "datatype",
    `dataset ${ds.info.path} has datatype ${ds.info.dtype}, which cannot be decoded`,
  );
}

/**
 * A buffer of `count` elements, each set to `fill` (zeros when undefined), or left as it is when
 * `covered` (every byte is about to be written); from `buffers` when given.
 */
function filled(
  count: number,
  size: number,
  fill: Uint8Array | undefined,
  covered: boolean,
  buffers: ValueBuffers | undefined,
): Uint8Array {
  const total = checkedBytes(count, size);
  if (!buffers) return fillWith(new Uint8Array(total), size, fill);
  const out = buffers.take(total);
  if (covered) return out;
  // A taken buffer holds whatever it held last.
  out.fill(0);
  return fillWith(out, size, fill);
}

/**
 * Bytes of `count` elements of `size` bytes, checked before anything is read.
 * @throws InvalidHdf5Error above 2 GiB.
 */
function checkedBytes(count: number, size: number): number {
  const total = count * size;
  if (!Number.isSafeInteger(total) || total > 2 ** 31) {
    throw new InvalidHdf5Error(`dataset of ${count} elements of ${size} bytes is too large to read at once`);
  }
  return total;
}

/** `out`, all zeros, with each element set to `fill` (left as it is when undefined or zero). */
function fillWith(out: Uint8Array, size: number, fill: Uint8Array | undefined): Uint8Array {
  const total = out.length;
  if (total === 0 || !fill?.some((b) => b !== 0)) return out;
  out.set(fill.subarray(0, Math.min(size, total)));
  // doubling copies: log2(count) calls instead of one per element
  for (let done = size; done < total; done *= 2) out.copyWithin(done, 0, Math.min(done, total - done));
  return out;
}

function splitStrings(raw: Uint8Array, size: number, pad: number): string[] {
  const count = size === 0 ? 0 : raw.length / size;
  return Array.from({ length: count }, (_, i) =>
    decodeFixedString(raw.subarray(i * size, (i + 1) * size), pad),
  );
}
