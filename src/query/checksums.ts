/** The query's check that the chunks it decodes are the bytes the index recorded. */
import { fileURLToPath } from "node:url";
import { IndexMismatchError } from "../errors.js";
import { xxhash32 } from "../source/xxhash32.js";
import type { ChunkRefRow, GranuleRow } from "../store/schema.js";
import type { ByteRange } from "./plan.js";

const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Compares the XXH32 of every fetched ref that has a recorded checksum with it. `ranges` are the
 * coalesced, non-overlapping ranges read, sorted by offset, and `buffers` their bytes; every ref
 * lies inside one of them.
 * @throws IndexMismatchError naming the granule, its file and the chunk when the bytes differ:
 * the file was edited after it was indexed (its size and mtime kept), and decoding it could give
 * wrong rows.
 */
export function checkChunkChecksums(
  granule: Pick<GranuleRow, "granule_id" | "url">,
  refs: readonly ChunkRefRow[],
  fetched: { ranges: readonly ByteRange[]; buffers: readonly Uint8Array[] },
): void {
  for (const ref of refs) {
    if (ref.checksum == null) continue;
    const bytes = bytesOf(fetched, ref);
    if (!bytes) continue;
    const sum = xxhash32(bytes);
    if (sum === ref.checksum) continue;
    const name = granule.granule_id;
    const file = granule.url.startsWith("file:") ? fileURLToPath(granule.url) : granule.url;
    throw new IndexMismatchError(
      name,
      `${name}: file changed since it was indexed (${file}: chunk of ${ref.path} at byte ${ref.offset} has checksum ${hex(sum)}, indexed ${hex(ref.checksum)}); re-index it`,
    );
  }
}

/** The bytes of `ref` out of the fetched range that holds it (binary search by offset). */
function bytesOf(
  f: { ranges: readonly ByteRange[]; buffers: readonly Uint8Array[] },
  ref: ChunkRefRow,
): Uint8Array | undefined {
  let lo = 0;
  let hi = f.ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (f.ranges[mid]!.offset <= ref.offset) lo = mid + 1;
    else hi = mid;
  }
  const k = lo - 1;
  const range = f.ranges[k];
  if (!range) return undefined;
  const start = ref.offset - range.offset;
  if (start + ref.size > range.length) return undefined;
  return f.buffers[k]!.subarray(start, start + ref.size);
}
