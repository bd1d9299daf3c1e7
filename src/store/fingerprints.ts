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
 * Every visible granule's fingerprint, by granule id: from a version 3 manifest's map, or from the
 * `granules` files of `manifest`'s part sets (fetched through `backend` first where the store is
 * remote: the `granules` files only).
 * @throws StoreError naming a `granules` file that cannot be read.
 */
export async function readFingerprints(
  backend: StoreBackend,
  manifest: Readonly<Manifest>,
): Promise<Map<string, GranuleFingerprint>> {
  if (manifest.granules) return new Map(Object.entries(manifest.granules));
  const { asyncBufferFromFile, parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  await backend.fetch(manifest.parts.map(granulesOnly));
  const out = new Map<string, GranuleFingerprint>();
  for (const part of manifest.parts) {
    const own = new Set(part.granules);
    for (const file of part.files.granules) {
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({
          file: await asyncBufferFromFile(join(backend.dir, file)),
          columns: FINGERPRINT_COLUMNS,
          compressors,
          parsers: PARSERS,
        });
      } catch (err) {
        const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
        throw new StoreError(
          backend.location,
          `${backend.locate(file)}: cannot read granule fingerprints (${why})`,
          {
            cause: err,
          },
        );
      }
      for (const r of rows) {
        const id = String(r.granule_id);
        // A row of a granule its part set no longer lists is not visible (verify names it).
        if (!own.has(id)) continue;
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
  }
  return out;
}
