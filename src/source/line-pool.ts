/**
 * Buffers of a granule's whole-file lines, given back once the granule is indexed and taken again by
 * the HTTP reader for the next response body of the same size. An index run takes in every byte of
 * every granule (1.6 GB for 24 full-size ones), and fresh buffers cost page faults and the garbage
 * collections their external memory starts: about a fifth of the run's CPU
 * (docs/design/index-build.md). One pool per thread; an index run empties it when it ends.
 */

/** Bytes of given-back buffers kept at most, all sizes together: about four full-size granules' lines. */
export const LINE_POOL_BYTES = 256 * 2 ** 20;

/** Buffers smaller than this are neither kept nor taken (the smallest line is 64 KiB). */
export const LINE_POOL_MIN_BYTES = 64 * 1024;

const free = new Map<number, ArrayBuffer[]>();
let kept = 0;
/** Buffers kept and taken again since the thread started (for tests and benchmarks). */
const counts = { given: 0, taken: 0 };

/**
 * Keeps `buffer` for a later body of its size; dropped when the pool is full or the buffer is small.
 * The caller gives up the buffer: nothing may read or write it (or any view of it) afterwards.
 */
export function giveLineBuffer(buffer: ArrayBuffer): void {
  const size = buffer.byteLength;
  if (size < LINE_POOL_MIN_BYTES || kept + size > LINE_POOL_BYTES) return;
  let list = free.get(size);
  if (!list) {
    list = [];
    free.set(size, list);
  }
  list.push(buffer);
  kept += size;
  counts.given += 1;
}

/** A kept buffer of exactly `size` bytes, its contents left from its last use; undefined if none. */
export function takeLineBuffer(size: number): ArrayBuffer | undefined {
  if (size < LINE_POOL_MIN_BYTES) return undefined;
  const buffer = free.get(size)?.pop();
  if (buffer) {
    kept -= size;
    counts.taken += 1;
  }
  return buffer;
}

/** Drops every kept buffer (the end of an index run), and says how many bytes were kept. */
export function drainLinePool(): number {
  const was = kept;
  free.clear();
  kept = 0;
  return was;
}

/** How many buffers this thread's pool has kept and handed out again so far. */
export function linePoolCounts(): { given: number; taken: number } {
  return { ...counts };
}
