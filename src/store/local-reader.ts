/** The {@link StoreReader} of a store in a local folder: part files read with positioned reads. */
import type { Stats } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StoreError } from "../errors.js";
import type { ByteSource } from "../source/index.js";
import { type Manifest, manifestProducts, readManifest } from "./manifest.js";
import { type PartBuffer, partBuffer } from "./part-buffer.js";
import { checkPartFile } from "./part-check.js";
import { checkPartRows, type PartFile, readPartFooter, recordedStats, type StoreReader } from "./reader.js";

/**
 * A byte source over a local file, opened while reads are under way and closed when the last ends
 * (no handle to close afterwards): the coalesced reads a selection issues at once share one open,
 * where each opened and closed the file before (a third of the file system calls of a selection).
 */
function fileSource(path: string, size: number): ByteSource {
  let handle: Promise<FileHandle> | undefined;
  let reading = 0;
  return {
    url: pathToFileURL(path),
    size: async () => size,
    async read(offset, length) {
      reading++;
      handle ??= open(path, "r");
      const opened = handle;
      try {
        const out = new Uint8Array(length);
        const { bytesRead } = await (await opened).read(out, 0, length, offset);
        return out.subarray(0, bytesRead);
      } finally {
        if (--reading === 0) {
          handle = undefined;
          await opened.then(
            (h) => h.close(),
            () => undefined,
          );
        }
      }
    },
  };
}

/** An opened part file kept between queries, with the identity of the file it was read from. */
interface OpenedPart {
  /** `size:mtime:ctime:inode` of the file when opened: any rewrite of it changes one of them. */
  identity: string;
  /** The footer, parsed once; the buffer keeps the bytes read (footer region, pages) for later queries. */
  part: Promise<PartFile>;
  /** {@link keptBytes} of the file. */
  bytes: number;
}

/**
 * Part files opened by earlier queries of this process, by absolute path, least recently used first.
 * A store's part files are written once under fresh names, so the footer, the offset indexes and
 * pages read of one (and the dictionaries decoded from them, kept with its footer) serve every later
 * query; each query still checks the file's identity against a `stat` and the manifest's size and
 * row count, so a file replaced, resized or retired is read anew.
 */
const opened = new Map<string, OpenedPart>();
/** Part files kept at most in {@link opened}. */
const OPENED_MAX_FILES = 64;
/** Largest part file whose read bytes are kept (bigger ones keep their footer only). */
const OPENED_MAX_BYTES = 16 * 1024 * 1024;
/** Most bytes of part files whose read bytes are kept, all together. */
const OPENED_MAX_TOTAL = 64 * 1024 * 1024;

/** Bytes of a kept part file counted against {@link OPENED_MAX_TOTAL}. */
const keptBytes = (size: number) => (size <= OPENED_MAX_BYTES ? size : 0);

/** Drops the least recently used part files past the bounds. */
function evictOpened(): void {
  let total = 0;
  for (const e of opened.values()) total += e.bytes;
  for (const [name, e] of opened) {
    if (opened.size <= OPENED_MAX_FILES && total <= OPENED_MAX_TOTAL) break;
    opened.delete(name);
    total -= e.bytes;
  }
}

const identityOf = (st: Stats) => `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;

/**
 * A query's view of a kept buffer: its reads take the query's abort signal (the buffer itself has
 * none, since it outlives the query that opened it).
 */
function withSignal(buffer: PartBuffer, signal: AbortSignal | undefined): PartBuffer {
  if (!signal) return buffer;
  return {
    byteLength: buffer.byteLength,
    slice: (start, end) => {
      signal.throwIfAborted();
      return buffer.slice(start, end);
    },
    prefetch: (ranges, opts) => buffer.prefetch(ranges, { ...opts, signal: opts?.signal ?? signal }),
    view: (start, end) => buffer.view(start, end),
  };
}

/**
 * The part file `path` of the store in `dir` (absolute `name`): the one kept from an earlier query
 * when the file is the same one, else read (footer first) and kept.
 */
async function openPart(
  dir: string,
  manifest: Readonly<Manifest>,
  path: string,
  name: string,
  opts: { signal?: AbortSignal } | undefined,
  st: Stats,
): Promise<PartFile> {
  const identity = identityOf(st);
  let entry = opened.get(name);
  if (entry?.identity !== identity) {
    const buffer = partBuffer(fileSource(name, st.size), st.size);
    // Read without this query's signal: the footer serves every query waiting for it.
    const part = readPartFooter(dir, { path, name, buffer }, undefined);
    entry = { identity, part, bytes: keptBytes(st.size) };
    // A failed read (aborted, damaged file) is not kept.
    part.catch(() => {
      if (opened.get(name) === entry) opened.delete(name);
    });
  }
  // Most recently used last; the oldest dropped past the bound.
  opened.delete(name);
  opened.set(name, entry);
  evictOpened();
  const kept = await entry.part;
  // The row count is checked against this query's manifest, which may record another.
  checkPartRows(dir, kept, recordedStats(manifest, path));
  // A large file's pages are not kept: a fresh buffer per query, the footer kept.
  if (entry.bytes === 0)
    return { ...kept, path, buffer: partBuffer(fileSource(name, st.size), st.size, opts) };
  // Values decoded from a kept file's bytes may be kept with its footer (select-parquet.ts).
  return { ...kept, path, buffer: withSignal(kept.buffer, opts?.signal), kept: true };
}

/** The reader of the store in `dir` at the manifest snapshot `manifest`. */
function readerOf(dir: string, manifest: Readonly<Manifest>): StoreReader {
  return {
    dir,
    manifest,
    local: true,
    products: () => manifestProducts(manifest),
    async openParts(paths, opts) {
      const files = paths.map((p) => join(dir, p));
      // Checked together; the first bad file in manifest order is the one reported. The check's `stat`
      // is the file's identity for the kept part files.
      const checks = await Promise.allSettled(files.map((f) => checkPartFile(dir, manifest, f)));
      const failed = checks.find((c) => c.status === "rejected");
      if (failed) throw failed.reason;
      return Promise.all(
        paths.map((path, i) =>
          openPart(dir, manifest, path, files[i]!, opts, (checks[i] as PromiseFulfilledResult<Stats>).value),
        ),
      );
    },
  };
}

/** The reader of an open local store, at its manifest snapshot. */
export function localStoreReader(store: { dir: string; manifest: Readonly<Manifest> }): StoreReader {
  return readerOf(store.dir, store.manifest);
}

/**
 * Opens the store in the folder `dir` for reading (its manifest only; no Parquet library loaded).
 * @throws StoreError when there is no store there or it is not a geochunks store of this version.
 */
export async function openLocalStoreReader(dir: string): Promise<StoreReader> {
  const manifest = await readManifest(dir);
  if (manifest) return readerOf(dir, manifest);
  throw await noStoreError(dir);
}

/** The error for a folder without a manifest: "no such store", or "not a geochunks store" when it exists. */
export async function noStoreError(dir: string): Promise<StoreError> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  return new StoreError(
    dir,
    `${dir}: ${exists ? "no manifest.json: not a geochunks store" : "no such store"}`,
  );
}
