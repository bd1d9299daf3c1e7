/** Checksums of the stored chunks the indexer read anyway, recorded in the chunk rows' refs. */
import type { RecordedReads } from "../source/record.js";
import type { StoreBatch } from "../store/parts.js";

/**
 * Sets `checksum` on every ref of the batch's chunk rows whose stored bytes the indexer read whole
 * (the coordinate chunks, and any other chunk read while indexing): XXH32 of those bytes, which
 * every query reading that chunk compares before decoding it. Other refs keep a null checksum.
 * Reading nothing more, it costs one hash pass over bytes already in memory.
 */
export function recordChunkChecksums(batch: StoreBatch, recorded: RecordedReads): void {
  for (const chunk of batch.chunks) {
    for (const ref of chunk.refs) ref.checksum = recorded.checksumOf(ref.offset, ref.size) ?? null;
  }
}
