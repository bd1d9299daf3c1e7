/** `index --verify`: re-reads the recorded chunks of granules that look unchanged and compares checksums. */
import { mapLimit } from "../concurrency.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import { xxhash32 } from "../source/xxhash32.js";
import type { Store } from "../store/store.js";

/** One stored chunk with the checksum recorded at index time. */
export interface RecordedChunk {
  path: string;
  offset: number;
  size: number;
  checksum: number;
}

/** Reads at the same time while verifying one granule. */
const VERIFY_CONCURRENCY = 8;

/**
 * The chunks with a recorded checksum of every granule of the store, by granule id (each stored
 * chunk once). Granules indexed before checksums were recorded have none.
 */
export async function recordedChunks(store: Store): Promise<Map<string, RecordedChunk[]>> {
  const out = new Map<string, Map<number, RecordedChunk>>();
  for (const chunk of await store.chunks()) {
    const byOffset = out.get(chunk.granule_id) ?? new Map<number, RecordedChunk>();
    out.set(chunk.granule_id, byOffset);
    for (const ref of chunk.refs) {
      if (ref.checksum == null || byOffset.has(ref.offset)) continue;
      byOffset.set(ref.offset, {
        path: ref.path,
        offset: ref.offset,
        size: ref.size,
        checksum: ref.checksum,
      });
    }
  }
  return new Map([...out].map(([id, byOffset]) => [id, [...byOffset.values()]]));
}

/**
 * Why the granule in `source` is not the one whose chunks were recorded (the first chunk whose
 * bytes now have another checksum, or cannot be read), or undefined when every chunk matches.
 */
export async function chunkChange(
  source: ByteSource,
  chunks: readonly RecordedChunk[],
  opts: ReadOptions = {},
): Promise<string | undefined> {
  const found = await mapLimit(chunks, VERIFY_CONCURRENCY, async (c) => {
    let bytes: Uint8Array;
    try {
      bytes = await source.read(c.offset, c.size, opts);
    } catch (err) {
      return `chunk of ${c.path} at byte ${c.offset} is no longer readable (${(err as Error).message})`;
    }
    const sum = xxhash32(bytes);
    return sum === c.checksum ? undefined : `chunk of ${c.path} at byte ${c.offset} has another checksum`;
  });
  return found.find((reason) => reason !== undefined);
}
