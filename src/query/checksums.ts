/** The query's check that the chunks it decodes are the bytes the index recorded. */
import { fileURLToPath } from "node:url";
import { IndexMismatchError } from "../errors.js";
import { xxhash32 } from "../source/xxhash32.js";
import type { ChunkRefRow, GranuleRow } from "../store/schema.js";
import { type Fetched, storedBytes } from "./fetch.js";

const hex = (n: number) => n.toString(16).padStart(8, "0");

/**
 * Compares the XXH32 of every fetched ref that has a recorded checksum with it, before anything
 * decodes them; every ref lies inside one of the fetched ranges.
 * @throws IndexMismatchError naming the granule, its file and the chunk when the bytes differ:
 * the file was edited after it was indexed (its size and mtime kept), and decoding it could give
 * wrong rows.
 */
export function checkChunkChecksums(
  granule: Pick<GranuleRow, "granule_id" | "url">,
  refs: readonly ChunkRefRow[],
  fetched: Fetched,
): void {
  for (const ref of refs) {
    if (ref.checksum == null) continue;
    const sum = xxhash32(storedBytes(fetched, ref));
    if (sum === ref.checksum) continue;
    const name = granule.granule_id;
    const file = granule.url.startsWith("file:") ? fileURLToPath(granule.url) : granule.url;
    throw new IndexMismatchError(
      name,
      `${name}: file changed since it was indexed (${file}: chunk of ${ref.path} at byte ${ref.offset} has checksum ${hex(sum)}, indexed ${hex(ref.checksum)}); re-index it`,
    );
  }
}
