/**
 * A disk cache of the byte ranges read from remote store files, keyed by URL and validated by ETag:
 * a second query of a remote store reads its footers and row groups from here. One folder per URL
 * (`<root>/<sha256 of the URL>/`) holds `data`, a sparse file of the object's size with the fetched
 * ranges written at their offsets, and `meta.json`: `{url, etag, size, ranges}`. An entry whose ETag
 * or size differs from the object's is dropped and refilled.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** What `meta.json` holds. */
interface EntryMeta {
  url: string;
  etag: string;
  size: number;
  /** Fetched byte ranges, [start, end), sorted and disjoint. */
  ranges: [number, number][];
}

/** The cached bytes of one version of one object. */
export interface CacheEntry {
  /** The bytes of [start, end) when the cache holds all of them, else undefined. */
  read(start: number, end: number): Promise<Uint8Array | undefined>;
  /** Records bytes fetched at `start` (best effort: a full disk only costs a later refetch). */
  write(start: number, bytes: Uint8Array): Promise<void>;
  /** Whether the cache holds all of [start, end). */
  has(start: number, end: number): boolean;
}

/** The folder of a URL's entry under `root`. */
export function entryFolder(root: string, url: string): string {
  return join(root, createHash("sha256").update(url).digest("hex").slice(0, 32));
}

/**
 * The cache entry of `url` at version `etag` (size `size`), created empty when the cache holds
 * another version or nothing.
 */
export async function openCacheEntry(
  root: string,
  url: string,
  version: { etag: string; size: number },
): Promise<CacheEntry> {
  const dir = entryFolder(root, url);
  const metaPath = join(dir, "meta.json");
  const dataPath = join(dir, "data");
  let meta = await readFile(metaPath, "utf8")
    .then((t) => JSON.parse(t) as EntryMeta)
    .catch(() => undefined);
  if (!meta || meta.url !== url || meta.etag !== version.etag || meta.size !== version.size) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    meta = { url, etag: version.etag, size: version.size, ranges: [] };
  }
  const current = meta;
  // Writes of one entry are chained, so meta.json always lists bytes already in `data`.
  let chain: Promise<void> = Promise.resolve();
  const has = (start: number, end: number) =>
    current.ranges.some(([s, e]) => s <= start && end <= e) || start === end;
  return {
    has,
    async read(start, end) {
      if (!has(start, end)) return undefined;
      const handle = await open(dataPath, "r").catch(() => undefined);
      if (!handle) return undefined;
      try {
        const out = new Uint8Array(end - start);
        const { bytesRead } = await handle.read(out, 0, out.length, start);
        return bytesRead === out.length ? out : undefined;
      } finally {
        await handle.close();
      }
    },
    write(start, bytes) {
      chain = chain.then(async () => {
        try {
          const handle = await open(dataPath, "a+").then(async (h) => {
            await h.close();
            return open(dataPath, "r+");
          });
          try {
            await handle.write(bytes, 0, bytes.length, start);
          } finally {
            await handle.close();
          }
          current.ranges = mergeRange(current.ranges, [start, start + bytes.length]);
          const tmp = `${metaPath}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
          await writeFile(tmp, JSON.stringify(current));
          await rename(tmp, metaPath);
        } catch {
          // A cache that cannot be written (full disk, read-only folder) only costs a refetch later.
        }
      });
      return chain;
    },
  };
}

/** `ranges` with [start, end) added, merged with any range it touches. */
export function mergeRange(ranges: readonly [number, number][], add: [number, number]): [number, number][] {
  const out: [number, number][] = [];
  let [start, end] = add;
  for (const [s, e] of ranges) {
    if (e < start || s > end) out.push([s, e]);
    else {
      start = Math.min(start, s);
      end = Math.max(end, e);
    }
  }
  out.push([start, end]);
  return out.sort((a, b) => a[0] - b[0]);
}
