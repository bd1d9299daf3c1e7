/** An exclusive lock file, so concurrent writers of one store take turns at the manifest. */

import { open, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { StoreError } from "../errors.js";

/** Name of the lock file inside a store directory. */
export const LOCK_NAME = "manifest.lock";

/** How long a writer waits for another to finish its commit before giving up. Default 120 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

/** True when the lock's holder is a process of this host that no longer exists. */
function isStale(info: LockInfo): boolean {
  if (info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as LockInfo;
  } catch {
    // Missing (just released) or half-written by its creator: treat as held, look again.
    return undefined;
  }
}

/**
 * Runs `fn` holding the store's lock. The lock is a file created exclusively; a lock left by a
 * crashed process of this host is broken. Waits with backoff up to `timeoutMs`.
 * @throws StoreError when the lock stays held by a live writer for `timeoutMs`.
 */
export async function withStoreLock<T>(
  dir: string,
  fn: () => Promise<T>,
  timeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<T> {
  const path = join(dir, LOCK_NAME);
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    try {
      const handle = await open(path, "wx");
      const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      await handle.writeFile(JSON.stringify(info));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = await readLock(path);
      if (holder && isStale(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        const who = holder
          ? `process ${holder.pid} on ${holder.host} since ${holder.since}`
          : "another writer";
        throw new StoreError(
          dir,
          `${dir}: store is locked by ${who}; retry later or remove ${LOCK_NAME} if no writer runs`,
        );
      }
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(wait * 2, 500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
