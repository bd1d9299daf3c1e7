/** The cheap check every reader makes of a local part file before reading it: there, and of the recorded size. */
import type { Stats } from "node:fs";
import { stat } from "node:fs/promises";
import { relative, sep } from "node:path";
import { StoreError } from "../errors.js";
import { type Manifest, readManifest } from "./manifest.js";

/**
 * Checks that the part file at `path` (absolute, inside `dir`) exists with the size `manifest`
 * records for it (a `stat`).
 * @returns the file's stats (its identity for the readers that keep it, local-reader.ts).
 * @throws StoreError naming the file: missing (saying when the store has moved on since `manifest`
 * and the part was retired and removed), resized, or unreadable.
 */
export async function checkPartFile(dir: string, manifest: Readonly<Manifest>, path: string): Promise<Stats> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (!(st instanceof Error)) {
    const rel = relative(dir, path).split(sep).join("/");
    const want = manifest.parts.find((p) => p.stats?.[rel])?.stats?.[rel];
    if (want && st.size !== want.bytes) {
      throw new StoreError(
        dir,
        `${path}: part file is ${st.size} bytes but the manifest records ${want.bytes}: it was truncated, ` +
          `extended or replaced; run geochunks verify --store ${dir}`,
      );
    }
    return st;
  }
  if (st.code !== "ENOENT") {
    throw new StoreError(dir, `${path}: cannot read the part file (${st.code})`, { cause: st });
  }
  const now = await readManifest(dir).catch(() => undefined);
  const gen = (m: Readonly<Manifest> | undefined) => m?.generation ?? 0;
  const later =
    now && gen(now) !== gen(manifest)
      ? `; the store has moved on (generation ${gen(manifest)} -> ${gen(now)}) and the part was retired and removed: reopen the store`
      : "";
  throw new StoreError(dir, `${path}: part file listed in the manifest is missing${later}`, { cause: st });
}
