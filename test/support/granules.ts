/**
 * The granules a store's published manifest makes visible. Since manifest version 5 the manifest
 * records only each part set's granule count and id range; the ids are in the `granules` files,
 * read here the way writers read them (the fingerprints' columns).
 */
import { type OpenStoreOptions, Store } from "../../src/store/store.js";

/** Sorted ids of the granules visible in the store at `location` (a folder or `s3://` prefix). */
export async function visibleGranules(location: string, opts: OpenStoreOptions = {}): Promise<string[]> {
  const store = await Store.open(location, opts);
  return [...(await store.fingerprints()).keys()].sort();
}
