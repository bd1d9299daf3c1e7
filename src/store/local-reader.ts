/** The {@link StoreReader} of a store in a local folder: part files read with positioned reads. */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ByteSource } from "../source/index.js";
import { partBuffer } from "./part-buffer.js";
import { type PartFile, readPartFooter, recordedStats, type StoreReader } from "./reader.js";
import type { Store } from "./store.js";

/** A byte source over a local file that opens it for each read (no handle to close afterwards). */
function fileSource(path: string, size: number): ByteSource {
  return {
    url: pathToFileURL(path),
    size: async () => size,
    async read(offset, length) {
      const handle = await open(path, "r");
      try {
        const out = new Uint8Array(length);
        const { bytesRead } = await handle.read(out, 0, length, offset);
        return out.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

/** The reader of an open local store: sizes checked with `stat` ({@link Store.checkFile}), footers read. */
export function localStoreReader(store: Store): StoreReader {
  return {
    dir: store.dir,
    manifest: store.manifest,
    products: () => store.products(),
    async openParts(paths, opts) {
      const files = paths.map((p) => join(store.dir, p));
      // Checked together; the first bad file in manifest order is the one reported.
      const checks = await Promise.allSettled(files.map((f) => store.checkFile(f)));
      const failed = checks.find((c) => c.status === "rejected");
      if (failed) throw failed.reason;
      const { stat } = await import("node:fs/promises");
      return Promise.all(
        paths.map(async (path, i): Promise<PartFile> => {
          const name = files[i]!;
          const size = (await stat(name)).size;
          const buffer = partBuffer(fileSource(name, size), size, { signal: opts?.signal });
          return readPartFooter(store.dir, { path, name, buffer }, recordedStats(store.manifest, path), opts);
        }),
      );
    },
  };
}
