import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Storage } from "@earthmover/icechunk-wasm32-wasi";

/*
 * A read-only Storage of the official Icechunk wasm build over a repository folder. The build calls
 * the backend error-first (`(null, args)`), which its type declarations do not say; a missing object
 * is an error whose message contains "ObjectNotFound", as in its own fetch storage.
 */

async function bytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    throw new Error(`ObjectNotFound: ${path}`);
  }
}

const etagOf = async (path: string) => String((await stat(path)).mtimeMs);

/** A read-only Icechunk Storage over the repository folder `root`. */
export function folderStorage(root: string): Storage {
  const readOnly = async () => {
    throw new Error("read-only storage");
  };
  const backend = {
    canWrite: async () => false,
    getObjectRange: async (_err: null, a: { path: string; rangeStart?: number; rangeEnd?: number }) => {
      const data = await bytes(join(root, a.path));
      return {
        data: data.subarray(a.rangeStart ?? 0, a.rangeEnd ?? data.length),
        version: { etag: await etagOf(join(root, a.path)) },
      };
    },
    putObject: readOnly,
    copyObject: readOnly,
    deleteBatch: readOnly,
    listObjects: async (_err: null, prefix: string) => {
      const dir = join(root, prefix);
      const names = await readdir(dir).catch(() => [] as string[]);
      return Promise.all(
        names.map(async (id) => {
          const s = await stat(join(dir, id));
          return { id, createdAt: s.mtime, sizeBytes: s.size };
        }),
      );
    },
    getObjectLastModified: async (_err: null, path: string) => (await stat(join(root, path))).mtime,
    getObjectConditional: async (_err: null, a: { path: string; previousVersion?: { etag?: string } }) => {
      const data = await bytes(join(root, a.path));
      const etag = await etagOf(join(root, a.path));
      if (a.previousVersion?.etag === etag) return { kind: "on_latest_version" };
      return { kind: "modified", data, newVersion: { etag } };
    },
  };
  // @ts-expect-error: the declarations omit the error-first argument every callback receives.
  return Storage.newCustom(backend);
}

/** A zarrita store over the store of an Icechunk read-only view (zarrita keys start with "/"). */
export function zarritaStore(store: { get(key: string): Promise<Uint8Array | null> }) {
  return { get: async (key: string) => (await store.get(key.slice(1))) ?? undefined };
}
