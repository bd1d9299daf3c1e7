/**
 * Buffers for dataset values, used again once their reader is done with the values. A whole-dataset
 * read writes its elements into one buffer of the dataset's size; when that buffer is fresh memory,
 * every 4 KiB page of it is faulted in and zeroed by the kernel as the chunks are copied in, and its
 * external memory starts garbage collections until it is collected. The index reads each beam's
 * coordinates (about 1 MB per array of a full-size granule, 16 MB per granule) and is done with them
 * once the beam's chunk rows are made: those buffers can go round.
 */

/** Where a read writes its values' bytes (see `readDatasetValues`' `buffers` option). */
export interface ValueBuffers {
  /**
   * A buffer of exactly `bytes` bytes (a view, possibly of a larger ArrayBuffer, from its start), its
   * contents undefined: the read writes every byte before it hands the values out.
   */
  take(bytes: number): Uint8Array;
  /**
   * True when every buffer taken is a view of a SharedArrayBuffer: the inflate worker then writes a
   * plain deflated chunk's values into it itself, and this thread copies none of them.
   */
  readonly shared?: boolean;
}

/**
 * The pool of {@link ValueBuffers} (source/buffer-pool.ts, where the source layer's own pools can use
 * it too).
 */
export {
  BufferPool as ValueBufferPool,
  type BufferPoolOptions as ValueBufferPoolOptions,
} from "../source/buffer-pool.js";
