/**
 * Which granules each part set holds, for the writers that need to know: a commit dropping the
 * rows of re-indexed granules, `repair`, `verify`. Since manifest version 5 the manifest records
 * only each set's granule count and id range; the ids themselves are the `granule_id` column of the
 * set's `granules` files, read here (one column, never `geometry` or `hierarchy`) only for sets
 * whose range can hold a granule being looked for. Part files never change once written, so ids
 * read once stay true for the life of a {@link GranuleIdCache}.
 */
import type { StoreBackend } from "./backend.js";
import { readGranulesColumns } from "./fingerprints.js";
import type { PartSet } from "./manifest.js";

/** Granule ids by part-set id. A plain `Map` serves. */
export type GranuleIdCache = Map<string, readonly string[]>;

/** Records the ids of the part sets that list them (version 3 and 4 manifests, sets just written). */
export function rememberGranuleIds(cache: GranuleIdCache, parts: readonly PartSet[]): void {
  for (const p of parts) if (p.granules !== undefined) cache.set(p.id, p.granules);
}

/**
 * The granule ids of `part`: its own list, the cache's, or its `granules` files' `granule_id`
 * column (fetched first where the store is remote; its `granules` files only), then cached.
 * @throws StoreError naming a `granules` file that cannot be read.
 */
export async function partGranuleIds(
  backend: StoreBackend,
  part: Readonly<PartSet>,
  cache: GranuleIdCache,
): Promise<readonly string[]> {
  if (part.granules !== undefined) return part.granules;
  const known = cache.get(part.id);
  if (known) return known;
  await backend.fetch([
    { ...part, files: { granules: part.files.granules, arrays: [], chunks: [], chunk_cells: [] } },
  ]);
  const ids: string[] = [];
  for (const file of part.files.granules) {
    for (const r of await readGranulesColumns(backend, file, ["granule_id"])) ids.push(String(r.granule_id));
  }
  cache.set(part.id, ids);
  return ids;
}

/**
 * Whether `part` may hold any of `sorted` (granule ids in code-unit order): its list says so, or
 * (version 5) one of them falls inside its recorded id range. False only when it certainly cannot.
 */
export function mayHoldAny(part: Readonly<PartSet>, sorted: readonly string[]): boolean {
  if (part.granules !== undefined) return part.granules.length > 0;
  if (part.granule_count === 0) return false;
  const range = part.granule_range;
  if (!range) return true;
  // The first id at or past the range's start, by binary search.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < range[0]) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! <= range[1];
}

/** Ids in code-unit order (the order of {@link mayHoldAny} and of `granule_range`). */
export function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
