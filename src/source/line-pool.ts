/**
 * Buffers of a granule's whole-file lines, given back once the granule is indexed and handed out again
 * by the HTTP reader for the next response bodies of the same size. An index run takes in every byte
 * of every granule (1.6 GB for 24 full-size ones), and fresh buffers cost page faults and the garbage
 * collections their external memory starts: about a fifth of the run's CPU
 * (docs/design/index-build.md). One pool per thread; an index run empties it when it ends.
 */
import { BufferPool } from "./buffer-pool.js";

/**
 * Bodies of 64 KiB (the smallest line) to 64 MiB in buffers of their exact size (lines repeat theirs;
 * other bodies are not rounded up), at most 256 MiB of free buffers (about four full-size granules'
 * lines). Only buffers a pool handed out come back into it.
 */
/** The smallest line, bytes: a body under it is not worth a pooled buffer. */
export const LINE_MIN_BYTES = 64 * 1024;

const LINE_SIZES = {
  exactSizes: true,
  minBytes: LINE_MIN_BYTES,
  maxBytes: 64 * 2 ** 20,
  maxFreeBytes: 256 * 2 ** 20,
} as const;

/** Lines read on this thread (the plain-TCP HTTP reader of http-socket.ts). */
export const linePool = new BufferPool({
  ...LINE_SIZES,
  // Uninitialised, as the HTTP reader's other bodies: a body is handed out only once every byte is written.
  allocate: (bytes) => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer,
});

/**
 * Lines read by the network thread (http-thread.ts) into shared memory: it writes the body straight
 * into a buffer this thread lends it with the request, so the bytes cross no thread boundary by copy.
 */
export const sharedLinePool = new BufferPool({
  ...LINE_SIZES,
  allocate: (bytes) => new SharedArrayBuffer(bytes),
});

/** Gives a line back to whichever pool lent it (a buffer neither lent is left to the collector). */
export function giveLine(line: ArrayBufferView): void {
  if (line.buffer instanceof SharedArrayBuffer) sharedLinePool.give(line);
  else linePool.give(line);
}

/** Drops the free lines of both pools. */
export function clearLines(): void {
  linePool.clear();
  sharedLinePool.clear();
}
