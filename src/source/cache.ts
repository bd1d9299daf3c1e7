import { SourceError } from "../errors.js";
import { checkRange } from "./file.js";
import type { ByteSource, ReadOptions } from "./types.js";

/**
 * Block size of {@link withBlockCache}: HDF5 writers pack metadata into small blocks spread among the
 * data, so one 64 KiB read usually answers many consecutive object-header and B-tree reads.
 */
export const DEFAULT_BLOCK_SIZE = 64 * 1024;

/** Options of {@link withBlockCache}. */
export interface BlockCacheOptions {
  /** Size of the aligned blocks fetched and kept, bytes; default {@link DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
  /** Where blocks are kept, keyed by block index; a plain `Map` (the default) fits. Never evicted here. */
  cache?: Map<number, Promise<Uint8Array>>;
}

/**
 * Serves reads from aligned blocks kept in a cache; missing consecutive blocks are fetched with one read.
 * In-flight blocks are shared, so concurrent readers of the same block cause one request. A failed
 * fetch is forgotten, so a retry reads again. The given source is not modified.
 */
export function withBlockCache(source: ByteSource, opts: BlockCacheOptions = {}): ByteSource {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0)
    throw new RangeError(`invalid block size ${blockSize}`);
  const cache = opts.cache ?? new Map<number, Promise<Uint8Array>>();
  return {
    url: source.url,
    size: (o) => source.size(o),
    async read(offset, length, o) {
      checkRange(offset, length, source.url);
      const size = await source.size(o);
      if (offset + length > size) {
        throw new SourceError(
          `range ${offset}+${length} passes the end of ${source.url.href} (size ${size})`,
          {
            status: 416,
            url: source.url.href,
          },
        );
      }
      if (length === 0) return new Uint8Array(0);
      const first = Math.floor(offset / blockSize);
      const last = Math.floor((offset + length - 1) / blockSize);
      fetchMissing(source, cache, { first, last, blockSize, size }, o);
      const blocks = await Promise.all(range(first, last).map((b) => cache.get(b)!));
      return assemble(blocks, offset - first * blockSize, length);
    },
  };
}

interface BlockSpan {
  first: number;
  last: number;
  blockSize: number;
  size: number;
}

/** Starts one read per run of consecutive missing blocks and stores a promise per block. */
function fetchMissing(
  source: ByteSource,
  cache: Map<number, Promise<Uint8Array>>,
  span: BlockSpan,
  opts: ReadOptions | undefined,
): void {
  let b = span.first;
  while (b <= span.last) {
    if (cache.has(b)) {
      b += 1;
      continue;
    }
    let end = b;
    while (end + 1 <= span.last && !cache.has(end + 1)) end += 1;
    const start = b * span.blockSize;
    const stop = Math.min((end + 1) * span.blockSize, span.size);
    const run = source.read(start, stop - start, opts);
    for (let k = b; k <= end; k++) {
      const from = (k - b) * span.blockSize;
      const block = run.then((bytes) => bytes.subarray(from, Math.min(from + span.blockSize, bytes.length)));
      block.catch(() => cache.delete(k));
      cache.set(k, block);
    }
    b = end + 1;
  }
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Cuts `length` bytes starting `skip` bytes into the concatenation of `blocks`. */
function assemble(blocks: Uint8Array[], skip: number, length: number): Uint8Array {
  if (blocks.length === 1) return blocks[0]!.subarray(skip, skip + length);
  const out = new Uint8Array(length);
  let written = 0;
  for (const block of blocks) {
    const part = block.subarray(skip, skip + (length - written));
    out.set(part, written);
    written += part.length;
    skip = 0;
  }
  return out;
}
