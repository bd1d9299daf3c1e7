/** The {@link StoreReader} of a store in a local folder: part files read with positioned reads. */
import { type FileHandle, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StoreError } from "../errors.js";
import type { ByteSource } from "../source/index.js";
import { type Manifest, manifestProducts, readManifest } from "./manifest.js";
import { partBuffer } from "./part-buffer.js";
import { checkPartFile } from "./part-check.js";
import { type PartFile, readPartFooter, recordedStats, type StoreReader } from "./reader.js";

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

/** The reader of the store in `dir` at the manifest snapshot `manifest`. */
function readerOf(dir: string, manifest: Readonly<Manifest>): StoreReader {
  return {
    dir,
    manifest,
    local: true,
    products: () => manifestProducts(manifest),
    async openParts(paths, opts) {
      const files = paths.map((p) => join(dir, p));
      // Checked together; the first bad file in manifest order is the one reported.
      const checks = await Promise.allSettled(files.map((f) => checkPartFile(dir, manifest, f)));
      const failed = checks.find((c) => c.status === "rejected");
      if (failed) throw failed.reason;
      return Promise.all(
        paths.map(async (path, i): Promise<PartFile> => {
          const name = files[i]!;
          const size = (await stat(name)).size;
          const buffer = partBuffer(fileSource(name, size), size, { signal: opts?.signal });
          return readPartFooter(dir, { path, name, buffer }, recordedStats(manifest, path), opts);
        }),
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
