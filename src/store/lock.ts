/**
 * The store's writer lock, `manifest.lock`: concurrent writers of one store take turns at the
 * manifest. The lock appears with its contents in one step (a temporary file, flushed, then
 * hard-linked into place), so it is never empty or half-written; it is broken only under a
 * second hard link (`manifest.lock.break`) that excludes other breakers, and only if it is still
 * the very file (inode) found stale. See docs/design/store.md.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { StoreBusyError } from "../errors.js";
import { processGone, temporaryName, trackTemporary } from "./temporaries.js";

/** Name of the lock file inside a store directory. */
export const LOCK_NAME = "manifest.lock";

/** Name of the hard link a breaker holds while it removes a stale lock. */
const BREAK_NAME = `${LOCK_NAME}.break`;

/** How long a writer waits for another to finish its commit before giving up. Default 120 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/**
 * How often a holder touches its lock (ms). A holder on another host (a shared file system) cannot
 * be asked whether its process lives, so its lock counts as stale once untouched for
 * {@link HEARTBEAT_STALE_MS}.
 */
export const HEARTBEAT_MS = 2_000;

/** Age (ms) after which an untouched lock of another host, or an unreadable one, is stale. */
export const HEARTBEAT_STALE_MS = 15_000;

/**
 * Age (ms) after which a lock with no readable contents is stale. Locks this version writes are
 * never empty; an empty one was left by an older writer or a file system that lost the data.
 */
const UNREADABLE_STALE_MS = 2_000;

/** What a lock file says about its holder. */
export interface LockInfo {
  /** Random token of this acquisition. */
  owner: string;
  host: string;
  pid: number;
  /** ISO 8601 time the lock was taken. */
  since: string;
}

/** Options for {@link withStoreLock}. */
export interface LockOptions {
  /** Give up after this long (ms). Default {@link DEFAULT_LOCK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

const isCode = (err: unknown, code: string) => (err as NodeJS.ErrnoException).code === code;
const unique = () => randomBytes(6).toString("hex");

async function readInfo(path: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, "utf8")) as LockInfo;
    return typeof info.pid === "number" && typeof info.host === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Why the lock at `path` (with stats `st`) is stale, or undefined when its holder may live. */
function staleReason(info: LockInfo | undefined, mtimeMs: number): string | undefined {
  const age = Date.now() - mtimeMs;
  if (!info) return age > UNREADABLE_STALE_MS ? "unreadable" : undefined;
  if (info.host === hostname()) return processGone(info.pid) ? `process ${info.pid} is gone` : undefined;
  return age > HEARTBEAT_STALE_MS ? `untouched for ${Math.round(age / 1000)} s` : undefined;
}

/** True when the lock file at `path` names `owner` (read synchronously, for a signal handler). */
function ownedBy(path: string, owner: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as LockInfo).owner === owner;
  } catch {
    return false;
  }
}

/**
 * Creates the lock with its contents in one step; undefined when another holds it, else the function
 * that stops tracking it. The lock is tracked as a temporary before it is linked into place (removed on
 * an interrupt only while it names this owner): an interrupt between the link and the caller taking
 * over would otherwise leave it behind.
 */
async function tryCreate(dir: string, info: LockInfo): Promise<(() => void) | undefined> {
  const lockPath = join(dir, LOCK_NAME);
  const tmp = temporaryName(lockPath, info.owner);
  const untrackTmp = trackTemporary(tmp);
  const untrack = trackTemporary(lockPath, (p) => ownedBy(p, info.owner));
  try {
    const handle = await open(tmp, "wx");
    try {
      await handle.writeFile(JSON.stringify(info));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(tmp, lockPath);
    return untrack;
  } catch (err) {
    untrack();
    if (isCode(err, "EEXIST")) return undefined;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
    untrackTmp();
  }
}

/**
 * Removes the lock if, and only if, it is still the stale file found: the breaker first links the
 * lock's file as `manifest.lock.break` (only one breaker can), checks that both names are one
 * inode and that its holder is still stale, then moves the lock aside and deletes it, restoring
 * it should it turn out to be another file. A break link left by a killed breaker is removed once
 * it no longer names the current lock or is older than {@link UNREADABLE_STALE_MS}.
 */
async function breakStale(dir: string): Promise<void> {
  const lockPath = join(dir, LOCK_NAME);
  const breakPath = join(dir, BREAK_NAME);
  try {
    await link(lockPath, breakPath);
  } catch (err) {
    if (isCode(err, "ENOENT")) return;
    if (!isCode(err, "EEXIST")) throw err;
    await removeLeftoverBreak(dir);
    return;
  }
  try {
    const [l, b] = await Promise.all([stat(lockPath), stat(breakPath)]);
    if (l.ino !== b.ino || l.dev !== b.dev) return;
    if (!staleReason(await readInfo(breakPath), b.mtimeMs)) return;
    const aside = join(dir, `${LOCK_NAME}.${unique()}.stale`);
    await rename(lockPath, aside);
    const moved = await stat(aside);
    if (moved.ino !== b.ino) await link(aside, lockPath).catch(() => undefined);
    await unlink(aside);
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  } finally {
    await unlink(breakPath).catch(() => undefined);
  }
}

async function removeLeftoverBreak(dir: string): Promise<void> {
  const breakPath = join(dir, BREAK_NAME);
  const [l, b] = await Promise.all([
    stat(join(dir, LOCK_NAME)).catch(() => undefined),
    stat(breakPath),
  ]).catch(() => [undefined, undefined]);
  if (!b) return;
  const current = l !== undefined && l.ino === b.ino && l.dev === b.dev;
  if (current && Date.now() - b.ctimeMs < UNREADABLE_STALE_MS) return;
  // Move it aside and delete it only if it is still the leftover seen.
  const aside = join(dir, `${BREAK_NAME}.${unique()}.stale`);
  try {
    await rename(breakPath, aside);
  } catch {
    return;
  }
  const moved = await stat(aside).catch(() => undefined);
  if (moved && moved.ino !== b.ino) await link(aside, breakPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Deletes the lock if it is still ours. */
async function release(dir: string, owner: string): Promise<void> {
  const path = join(dir, LOCK_NAME);
  const info = await readInfo(path);
  if (info?.owner === owner) await unlink(path).catch(() => undefined);
}

/**
 * Runs `fn` holding the store's lock, touching it every {@link HEARTBEAT_MS} meanwhile. A lock
 * whose holder is gone (a dead process of this host, an untouched lock of another host, an empty
 * or unreadable lock) is broken within seconds. Waits with backoff up to `timeoutMs`.
 * @throws StoreBusyError naming the holder when the lock stays held by a live writer for `timeoutMs`.
 */
export async function withStoreLock<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const path = join(dir, LOCK_NAME);
  const deadline = Date.now() + timeoutMs;
  const info: LockInfo = { owner: unique(), host: hostname(), pid: process.pid, since: "" };
  let wait = 5;
  // Stops tracking the lock as a temporary: an interrupted holder (SIGINT, SIGTERM) removes it on the way out.
  let untrack: (() => void) | undefined;
  for (;;) {
    // Only try to create (a flushed temporary file each time) when no lock is there.
    let st = await stat(path).catch(() => undefined);
    if (!st) {
      info.since = new Date().toISOString();
      untrack = await tryCreate(dir, info);
      if (untrack) break;
      st = await stat(path).catch(() => undefined);
      if (!st) continue;
    }
    const holder = await readInfo(path);
    if (staleReason(holder, st.mtimeMs)) {
      await breakStale(dir);
      // Another breaker may be at work: let it finish.
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 5));
      continue;
    }
    if (Date.now() > deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.host} since ${holder.since}` : "another writer";
      throw new StoreBusyError(
        dir,
        `${dir}: store is locked by ${who} (${path}); gave up after ${Math.round(timeoutMs / 1000)} s, retry later`,
      );
    }
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 250);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Tracked until it is gone: an interrupt while it is being released still removes it.
    await release(dir, info.owner);
    untrack();
  }
}
