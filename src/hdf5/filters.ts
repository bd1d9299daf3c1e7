import { inflateSync } from "node:zlib";
import { InvalidHdf5Error, UnsupportedFilterError } from "../errors.js";
import { xxhash32 } from "../source/xxhash32.js";
import { itemSize } from "./dtype.js";
import {
  inflateHeadOffThread,
  inflateInto,
  inflateOffThread,
  type Placement,
  releaseInflated,
} from "./inflate-worker.js";
import type { DecodeSpec, FilterInfo } from "./types.js";

/** HDF5's id of the deflate filter (H5Z_FILTER_DEFLATE). */
const DEFLATE_FILTER_ID = 1;

/** Slack allowed above the chunk size when inflating: a checksum or padding, never a deflate bomb. */
const INFLATE_SLACK_BYTES = 64 * 1024;

/** How error messages name a chunk: text, or a function that builds it when an error is thrown. */
export type ChunkName = string | (() => string);

/**
 * Decodes one stored chunk into the raw element bytes of a full chunk (`product(chunkShape) * itemsize`),
 * undoing the pipeline in reverse order and skipping filters whose bit is set in `filterMask`. `chunk`
 * names the chunk in error messages (default "a chunk").
 * @throws UnsupportedFilterError (naming the filter id and dataset) for filters other than deflate,
 *   shuffle and fletcher32; InvalidHdf5Error for corrupt data, a failed checksum, or a decoded size that
 *   does not match.
 */
export function decodeChunk(
  stored: Uint8Array,
  spec: DecodeSpec,
  filterMask: number,
  chunk: ChunkName = "a chunk",
): Uint8Array {
  const at = pipelineOf(spec, filterMask, chunk);
  let bytes = stored;
  for (let i = spec.filters.length - 1; i >= 0; i--) {
    if (filterMask & (1 << i)) continue;
    const filter = spec.filters[i]!;
    bytes = filter.id === DEFLATE_FILTER_ID ? inflate(bytes, at) : applyReverse(bytes, filter, at);
  }
  return checkSize(bytes, at);
}

/**
 * {@link decodeChunk} with the deflate step on this thread's inflate worker (inflate-worker.ts), which
 * costs the calling thread a copy of the stored chunk rather than a zlib stream per chunk; the same
 * output and errors. For the whole-dataset reads of `readDatasetValues` (the index's coordinates).
 * `onStoredSum`, when given, is called once with the XXH32 of `stored`: taken on the worker when the
 * first step undone is deflate (the worker then holds the stored bytes as they are), else here.
 */
export function decodeChunkOffThread(
  stored: Uint8Array,
  spec: DecodeSpec,
  filterMask: number,
  chunk: ChunkName = "a chunk",
  onStoredSum?: (sum: number) => void,
): Promise<Uint8Array> {
  const onWorker =
    onStoredSum && firstUndone(spec, filterMask)?.id === DEFLATE_FILTER_ID ? onStoredSum : undefined;
  if (onStoredSum && !onWorker) onStoredSum(xxhash32(stored));
  return decodeWith(stored, spec, filterMask, chunk, (bytes, at) =>
    inflateOffThread(bytes, inflateOptions(at), bytes === stored ? onWorker : undefined).catch(
      (err: unknown) => {
        throw corrupt(bytes, at, err);
      },
    ),
  );
}

/**
 * {@link decodeChunkOffThread} for a chunk whose only filter to undo is deflate, with its decoded bytes
 * written by the inflate worker where `place()` says (asked when the chunk is sent to the worker: a
 * whole-dataset read's values, in shared memory) instead of coming back to be copied there: the calling thread
 * neither copies nor holds them. Resolves once they are in place; rejects as decodeChunk throws.
 * Undefined, doing nothing, for a chunk with other filters to undo (decode it with
 * decodeChunkOffThread).
 */
export function decodeChunkInto(
  stored: Uint8Array,
  spec: DecodeSpec,
  filterMask: number,
  place: () => Placement,
  chunk: ChunkName = "a chunk",
  onStoredSum?: (sum: number) => void,
): Promise<void> | undefined {
  if (!onlyDeflate(undoneFilters(spec, filterMask))) return undefined;
  const at = pipelineOf(spec, filterMask, chunk);
  // An error of `place` is the caller's, not the stream's: it goes back as it is.
  let refused: { err: unknown } | undefined;
  const where = () => {
    try {
      return place();
    } catch (err) {
      refused = { err };
      throw err;
    }
  };
  return inflateInto(stored, inflateOptions(at), where, onStoredSum).then(
    (length) => {
      if (length !== at.expected) throw sizeError(length, at);
    },
    (err: unknown) => {
      throw refused?.err === err ? err : corrupt(stored, at, err);
    },
  );
}

/**
 * The first `bytes` decoded bytes of a stored chunk, decoded no further than it takes where the filters
 * allow: a chunk whose only filter to undo is deflate is inflated on the inflate worker until its head
 * is out ({@link inflateHeadOffThread}); one without filters is its stored bytes; others (a shuffle,
 * a checksum) are decoded whole ({@link decodeChunkOffThread}). `onStoredSum` as there.
 * @throws as decodeChunk: InvalidHdf5Error when the chunk decodes to fewer bytes than asked (its
 *   stream is then read whole) or its stream is corrupt where it is read.
 */
export async function decodeChunkHead(
  stored: Uint8Array,
  spec: DecodeSpec,
  filterMask: number,
  bytes: number,
  chunk: ChunkName = "a chunk",
  onStoredSum?: (sum: number) => void,
): Promise<Uint8Array> {
  const undone = undoneFilters(spec, filterMask);
  const at = pipelineOf(spec, filterMask, chunk);
  if (undone.length === 0) {
    onStoredSum?.(xxhash32(stored));
    if (stored.length < bytes) throw sizeError(stored.length, at);
    return stored.subarray(0, bytes);
  }
  if (!onlyDeflate(undone)) {
    return (await decodeChunkOffThread(stored, spec, filterMask, chunk, onStoredSum)).subarray(0, bytes);
  }
  const head = await inflateHeadOffThread(stored, bytes, inflateOptions(at), onStoredSum).catch(
    (err: unknown) => {
      throw corrupt(stored, at, err);
    },
  );
  if (head.length < bytes) throw sizeError(head.length, at);
  return head;
}

/** The filters of the pipeline a stored chunk's mask does not skip. */
function undoneFilters(spec: DecodeSpec, filterMask: number): FilterInfo[] {
  return spec.filters.filter((_, i) => !(filterMask & (1 << i)));
}

/** True when deflate is the one filter to undo. */
function onlyDeflate(undone: readonly FilterInfo[]): boolean {
  return undone.length === 1 && undone[0]!.id === DEFLATE_FILTER_ID;
}

/** The filter undone first on a stored chunk: the pipeline's last one its mask does not skip. */
function firstUndone(spec: DecodeSpec, filterMask: number): FilterInfo | undefined {
  for (let i = spec.filters.length - 1; i >= 0; i--) if (!(filterMask & (1 << i))) return spec.filters[i];
  return undefined;
}

/** The filters of a chunk undone in reverse order, the deflate step by `inflate`. */
async function decodeWith(
  stored: Uint8Array,
  spec: DecodeSpec,
  filterMask: number,
  chunk: ChunkName,
  inflate: (bytes: Uint8Array, at: Pipeline) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const at = pipelineOf(spec, filterMask, chunk);
  let bytes = stored;
  for (let i = spec.filters.length - 1; i >= 0; i--) {
    if (filterMask & (1 << i)) continue;
    const filter = spec.filters[i]!;
    const before = bytes;
    bytes = filter.id === DEFLATE_FILTER_ID ? await inflate(bytes, at) : applyReverse(bytes, filter, at);
    // Inflated bytes a later step copied (unshuffled) are not needed any more: their buffer is used again.
    if (before !== stored && before.buffer !== bytes.buffer) releaseInflated(before);
  }
  return checkSize(bytes, at);
}

interface Pipeline {
  /** How errors name the chunk, built only when one is thrown. */
  readonly where: string;
  /** Element size, bytes. */
  size: number;
  /** Decoded size of a full chunk, bytes. */
  expected: number;
  /** Largest inflated size accepted, bytes. */
  limit: number;
}

/** Checks the filters are supported and describes the chunk for the steps and their errors. */
function pipelineOf(spec: DecodeSpec, filterMask: number, chunk: ChunkName): Pipeline {
  const size = itemSize(spec.dtype);
  const expected = spec.chunkShape.reduce((a, b) => a * b, 1) * size;
  const unsupported = spec.filters.find((f, i) => !(filterMask & (1 << i)) && !DECODED.has(f.id));
  if (unsupported) throw new UnsupportedFilterError(unsupported.id, spec.path);
  return {
    get where() {
      return `${typeof chunk === "string" ? chunk : chunk()} of ${spec.path}`;
    },
    size,
    expected,
    limit: expected + INFLATE_SLACK_BYTES,
  };
}

function checkSize(bytes: Uint8Array, at: Pipeline): Uint8Array {
  if (bytes.length !== at.expected) throw sizeError(bytes.length, at);
  return bytes;
}

function sizeError(length: number, at: Pipeline): InvalidHdf5Error {
  return new InvalidHdf5Error(`${at.where} decodes to ${length} bytes; expected ${at.expected}`);
}

/** Filters this reader undoes: deflate, shuffle, fletcher32. */
const DECODED = new Set([1, 2, 3]);

/** Undoes one filter other than deflate. */
function applyReverse(bytes: Uint8Array, filter: FilterInfo, at: Pipeline): Uint8Array {
  if (filter.id === 2) return unshuffle(bytes, filter.params[0] || at.size);
  return verifyFletcher32(bytes, at.where);
}

/**
 * zlib options: output in one buffer the size of a whole chunk (plus a little, so the end of the stream
 * is seen without a second buffer) instead of 16 KiB pieces joined afterwards.
 */
function inflateOptions(at: Pipeline) {
  return { maxOutputLength: at.limit, chunkSize: Math.max(64, at.expected + 64) };
}

function inflate(bytes: Uint8Array, at: Pipeline): Uint8Array {
  try {
    const out = inflateSync(bytes, inflateOptions(at));
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength); // a plain view, not a Buffer
  } catch (err) {
    throw corrupt(bytes, at, err);
  }
}

function corrupt(bytes: Uint8Array, at: Pipeline, cause: unknown): InvalidHdf5Error {
  return new InvalidHdf5Error(`deflate stream of ${at.where} is corrupt (${bytes.length} bytes)`, { cause });
}

/**
 * Undoes HDF5's byte shuffle: byte k of element i was stored at `k * n + i`. Bytes past the last whole
 * element were stored unshuffled and are copied as they are.
 */
export function unshuffle(src: Uint8Array, elementSize: number): Uint8Array {
  if (elementSize <= 1 || src.length < elementSize) return src;
  const n = Math.floor(src.length / elementSize);
  const out = new Uint8Array(src.length);
  if (elementSize === 4 || elementSize === 8) unshuffleWords(src, out, n, elementSize);
  else {
    for (let k = 0; k < elementSize; k++) {
      const plane = k * n;
      for (let i = 0; i < n; i++) out[i * elementSize + k] = src[plane + i]!;
    }
  }
  out.set(src.subarray(n * elementSize), n * elementSize);
  return out;
}

/** Fast path: assembles whole 32-bit words (little-endian host) from four byte planes at a time. */
function unshuffleWords(src: Uint8Array, out: Uint8Array, n: number, elementSize: number): void {
  const words = new Uint32Array(out.buffer, 0, (n * elementSize) / 4);
  const perElement = elementSize / 4;
  for (let w = 0; w < perElement; w++) {
    const p0 = 4 * w * n;
    const p1 = p0 + n;
    const p2 = p1 + n;
    const p3 = p2 + n;
    for (let i = 0; i < n; i++) {
      words[i * perElement + w] =
        src[p0 + i]! | (src[p1 + i]! << 8) | (src[p2 + i]! << 16) | (src[p3 + i]! << 24);
    }
  }
}

/** HDF5's Fletcher-32 over big-endian 16-bit words (odd last byte padded with zero). */
export function fletcher32(data: Uint8Array): number {
  let sum1 = 0;
  let sum2 = 0;
  const words = data.length >> 1;
  for (let i = 0; i < words; ) {
    const end = Math.min(i + 360, words);
    for (; i < end; i++) {
      sum1 += (data[2 * i]! << 8) | data[2 * i + 1]!;
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (data.length & 1) {
    sum1 += data[data.length - 1]! << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  return ((sum2 << 16) | sum1) >>> 0;
}

/** Checks and strips the 4-byte checksum HDF5 appends (little-endian; old files swap its byte pairs). */
function verifyFletcher32(bytes: Uint8Array, where: string): Uint8Array {
  if (bytes.length < 4) throw new InvalidHdf5Error(`fletcher32 ${where} is only ${bytes.length} bytes`);
  const data = bytes.subarray(0, bytes.length - 4);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + data.length, 4).getUint32(0, true);
  const sum = fletcher32(data);
  const swapped = (((sum & 0x00ff00ff) << 8) | ((sum >>> 8) & 0x00ff00ff)) >>> 0;
  if (stored !== sum && stored !== swapped) {
    throw new InvalidHdf5Error(`fletcher32 checksum mismatch in ${where}: stored ${stored}, computed ${sum}`);
  }
  return data;
}
