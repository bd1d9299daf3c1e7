/**
 * Granule fingerprints (url, size, ETag, mtime, product) of a store, for the writers that need them:
 * `index` skipping unchanged inputs and finding duplicates. Since manifest version 4 they are read
 * from the `granules` table, only its five small columns (never `geometry` or `hierarchy`), so a
 * query never pays for them; a version 3 manifest still lists them all and is used as it is.
 */
import { join } from "node:path";
import { StoreError } from "../errors.js";
import type { StoreBackend } from "./backend.js";
import type { GranuleFingerprint, Manifest, PartSet } from "./manifest.js";
import { PARSERS } from "./reader.js";

/** The columns of the `granules` table a fingerprint is made of. */
const FINGERPRINT_COLUMNS = ["granule_id", "url", "size", "etag", "mtime", "product"];

/** A part set reduced to its `granules` files (what {@link StoreBackend.fetch} then downloads). */
function granulesOnly(p: PartSet): PartSet {
  return { ...p, files: { granules: p.files.granules, arrays: [], chunks: [], chunk_cells: [] } };
}

/**
 * Some columns of one `granules` file of the store (path relative to it), already under
 * `backend.dir` (fetched first where the store is remote).
 * @throws StoreError naming the file when it cannot be read.
 */
export async function readGranulesColumns(
  backend: StoreBackend,
  file: string,
  columns: string[],
): Promise<Record<string, unknown>[]> {
  const { asyncBufferFromFile, parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  try {
    return await parquetReadObjects({
      file: await asyncBufferFromFile(join(backend.dir, file)),
      columns,
      compressors,
      parsers: PARSERS,
    });
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new StoreError(backend.location, `${backend.locate(file)}: cannot read granule rows (${why})`, {
      cause: err,
    });
  }
}

/**
 * Every visible granule's fingerprint, by granule id: from a version 3 manifest's map, or from the
 * `granules` files of `manifest`'s part sets (fetched through `backend` first where the store is
 * remote: the `granules` files only). With `ids`, records each part set's granule ids in it.
 * @throws StoreError naming a `granules` file that cannot be read.
 */
export async function readFingerprints(
  backend: StoreBackend,
  manifest: Readonly<Manifest>,
  ids?: Map<string, readonly string[]>,
): Promise<Map<string, GranuleFingerprint>> {
  if (manifest.granules) return new Map(Object.entries(manifest.granules));
  await backend.fetch(manifest.parts.map(granulesOnly));
  const out = new Map<string, GranuleFingerprint>();
  for (const part of manifest.parts) {
    // Version 4 lists the set's granules: a row of one it no longer lists is not visible (verify
    // names it). Version 5 leaves the list to these files.
    const own = part.granules ? new Set(part.granules) : undefined;
    const found: string[] = [];
    for (const file of part.files.granules) {
      for (const r of await readGranulesColumns(backend, file, FINGERPRINT_COLUMNS)) {
        const id = String(r.granule_id);
        if (own && !own.has(id)) continue;
        found.push(id);
        out.set(id, {
          url: String(r.url),
          size: Number(r.size),
          etag: (r.etag as string | null | undefined) ?? null,
          mtime: (r.mtime as number | null | undefined) ?? null,
          product: String(r.product),
          part: part.id,
        });
      }
    }
    if (!own) ids?.set(part.id, found);
  }
  return out;
}
