/**
 * `--store` as a local folder or a remote store (`s3://bucket/prefix`, `https://host/prefix`), and
 * the cache folder remote stores are read through (the only place that reads its environment).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import type { SourceOptions } from "../source/index.js";
import type { OptionSpec } from "./program.js";

/** Environment variable naming the cache folder (before `XDG_CACHE_HOME`). */
export const CACHE_DIR_ENV = "GEOCHUNKS_CACHE_DIR";

/** The `--cache-dir` option of the commands that read stores. */
export const CACHE_OPTION: OptionSpec = {
  flags: "--cache-dir <dir>",
  meaning:
    "cache of what was read from remote stores (ranges keyed by URL, checked by ETag; mirrored parts for sql, describe, exports)",
  default: `${CACHE_DIR_ENV}, else $XDG_CACHE_HOME/geochunks, else ~/.cache/geochunks`,
  example: "--cache-dir /scratch/geochunks-cache",
};

/** What `--store` accepts, for the help of every command that reads a store. */
export const STORE_MEANING = "the store: a folder, or read-only s3://bucket/prefix or https://host/prefix";

/**
 * The cache folder: `--cache-dir`, else `GEOCHUNKS_CACHE_DIR`, else `$XDG_CACHE_HOME/geochunks`,
 * else `~/.cache/geochunks` (the XDG base directory default).
 */
export function cacheDirOf(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): string {
  if (flag) return flag;
  if (env[CACHE_DIR_ENV]) return env[CACHE_DIR_ENV]!;
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec ignores relative values.
  return join(xdg?.startsWith("/") ? xdg : join(home, ".cache"), "geochunks");
}

/** Whether `--store` names a remote store. */
export function isRemoteLocation(location: string): boolean {
  return /^(s3|https?):\/\//i.test(location);
}

/**
 * A local folder holding the store `location`: the folder itself, or for a remote store a mirror of
 * its current snapshot in the cache (part files fetched once, refetched when their ETag changes).
 */
export async function localStoreFolder(
  location: string,
  opts: { source: SourceOptions; cacheDir: string },
): Promise<string> {
  if (!isRemoteLocation(location)) return location;
  const { openRemoteStore } = await import("../store/remote.js");
  const remote = await openRemoteStore(location, opts);
  return remote.mirror();
}
