/** Where a result's bytes go when they go somewhere other than a local file (an S3 upload). */

/**
 * A sequential byte sink: bytes are written front to back, never rewritten. `write` resolves when the
 * bytes may be reused and the sink is ready for more, so a writer awaiting it is held back by a slow
 * sink (memory stays bounded by what the sink buffers).
 */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}
