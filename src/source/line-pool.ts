/**
 * Buffers of a granule's whole-file lines, given back once the granule is indexed and handed out again
 * by the HTTP reader for the next response bodies of the same size. An index run takes in every byte
 * of every granule (1.6 GB for 24 full-size ones), and fresh buffers cost page faults and the garbage
 * collections their external memory starts: about a fifth of the run's CPU
 * (docs/design/index-build.md). One pool per thread; an index run empties it when it ends.
 */
import { BufferPool } from "./buffer-pool.js";

/**
 * The pool: bodies of 64 KiB (the smallest line) to 64 MiB in buffers of their exact size (lines repeat
 * theirs; other bodies are not rounded up), at most 256 MiB of free buffers (about four full-size
 * granules' lines). Only buffers it handed out come back into it.
 */
export const linePool = new BufferPool({
  exactSizes: true,
  minBytes: 64 * 1024,
  maxBytes: 64 * 2 ** 20,
  maxFreeBytes: 256 * 2 ** 20,
  // Uninitialised, as the HTTP reader's other bodies: a body is handed out only once every byte is written.
  allocate: (bytes) => Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer,
});
