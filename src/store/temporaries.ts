/**
 * Temporary files of this process (part files not yet committed, output files not yet renamed,
 * the lock while held), so an interrupted run (SIGINT, SIGTERM) removes them before exiting, and
 * the names that let a later run tell a dead process's temporaries from a live one's.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { hostname } from "node:os";

/** Tracked temporaries, each with the test that it is still this process's (none: always). */
const live = new Map<string, ((path: string) => boolean) | undefined>();

/**
 * Records `path` as a temporary of this process until the returned function is called (once it is
 * renamed into place or removed). `ours`, when given, is asked (synchronously) before the file is
 * removed on an interrupt: a file that may not be there yet, or may be another's by then (the store
 * lock, tracked before it is taken), is removed only while it says yes.
 */
export function trackTemporary(path: string, ours?: (path: string) => boolean): () => void {
  live.set(path, ours);
  return () => {
    live.delete(path);
  };
}

/** Removes every tracked temporary now (synchronously: it runs in a signal handler before exit). */
export function removeTemporariesSync(): string[] {
  const removed: string[] = [];
  for (const [path, ours] of live) {
    if (ours && !ours(path)) continue;
    rmSync(path, { force: true, recursive: true });
    removed.push(path);
  }
  live.clear();
  return removed;
}

const cleanups = new Set<() => Promise<void>>();

/**
 * Records work that undoes something remote if the process is interrupted (aborting a multipart
 * upload), until the returned function is called.
 */
export function trackCleanup(undo: () => Promise<void>): () => void {
  cleanups.add(undo);
  return () => {
    cleanups.delete(undo);
  };
}

/** Runs every tracked cleanup, giving up after `timeoutMs`; never rejects. */
export async function runCleanups(timeoutMs: number): Promise<void> {
  const all = Promise.allSettled([...cleanups].map((undo) => undo()));
  cleanups.clear();
  await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}

/** Six hex digits naming this host in temporary names, so pids are compared on their own host only. */
export const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 6);

/** The tag of this process in temporary names: `gc<host>-<pid>`. */
export function processTag(): string {
  return `gc${HOST_TAG}-${process.pid}`;
}

/** True when `pid` names no process of this host. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

// A temporary, or a file SQLite keeps beside a temporary GeoPackage (journal, write-ahead log).
const TAGGED = /\.gc([0-9a-f]{6})-(\d+)-[0-9a-f]+\.tmp(?:-journal|-wal|-shm)?$/;

/**
 * True when `name` is a temporary named by {@link processTag} whose process, on this host, is
 * gone; temporaries of other hosts and of live processes are not stale.
 */
export function isStaleTemporary(name: string): boolean {
  const m = TAGGED.exec(name);
  return m !== null && m[1] === HOST_TAG && Number(m[2]) !== process.pid && processGone(Number(m[2]));
}

/** A temporary name beside `path` carrying this process's tag: `PATH.gc<host>-<pid>-<hex>.tmp`. */
export function temporaryName(path: string, hex: string): string {
  return `${path}.${processTag()}-${hex}.tmp`;
}
