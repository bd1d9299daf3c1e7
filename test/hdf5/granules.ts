import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Folder of the real ATL06 granules, beside the repository (never copied into it). */
export const GRANULE_DIR = fileURLToPath(new URL("../../../shared/data/atl06/", import.meta.url));

/** Paths of the real granules, or [] when the folder is absent. */
export function realGranules(): string[] {
  if (!existsSync(GRANULE_DIR)) return [];
  return readdirSync(GRANULE_DIR)
    .filter((name) => name.endsWith(".h5"))
    .sort()
    .map((name) => `${GRANULE_DIR}${name}`);
}

/** Message for describe.skipIf when the granules are missing. */
export const MISSING_GRANULES = `real ATL06 granules not found in ${GRANULE_DIR}: skipping`;

/** Path of the committed h5py truth for a granule. */
export function truthPath(granule: string): string {
  const stem = granule.split("/").pop()!.replace(/\.h5$/, "");
  return fileURLToPath(new URL(`../../fixtures/truth/${stem}.truth.json`, import.meta.url));
}
