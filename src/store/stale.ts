/** Finding and removing what crashed or interrupted writers left in a store. */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { HOST_TAG, isStaleTemporary, processGone } from "./temporaries.js";

/** The writer tag in a part file name (`part-<time>-gc<host>-<pid>-<hex>.parquet`, `-t<tile>` before `.parquet` in a split partition). */
const PART_WRITER = /part-[0-9a-z]+-gc([0-9a-f]{6})-(\d+)-[0-9a-f]+(?:-t\d+)?\.parquet/;

/** Age (ms) after which a break-lock leftover (`manifest.lock.*.stale`) is removed. */
const LEFTOVER_MS = 10_000;

async function olderThan(path: string, ms: number): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > ms;
}

/**
 * Whether a file a writer left may still be in use: named by this process, or by a live process
 * of this host or a process of another host (which cannot be asked) and younger than `graceMs`.
 */
async function inUse(path: string, host: string, pid: number, graceMs: number): Promise<boolean> {
  if (host === HOST_TAG && pid === process.pid) return true;
  if (host === HOST_TAG && processGone(pid)) return false;
  // A live pid may be another process that reused a dead writer's number: writers write their
  // parts just before committing, so a part older than the grace period is left over either way.
  return !(await olderThan(path, graceMs));
}

/**
 * Removes, from the store's `folders` and its root, part files not in `keep` whose writer is
 * gone, and temporaries of dead processes. Returns the relative paths removed.
 */
export async function removeStaleFiles(
  dir: string,
  folders: readonly string[],
  keep: ReadonlySet<string>,
  graceMs: number,
): Promise<string[]> {
  const removed: string[] = [];
  const candidates: string[] = [];
  for (const folder of folders) {
    const entries = await readdir(join(dir, folder), { recursive: true }).catch(() => [] as string[]);
    candidates.push(...entries.map((rel) => `${folder}/${String(rel)}`));
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(".manifest.json.") || name.startsWith("manifest.lock.")) candidates.push(name);
  }
  for (const file of candidates) {
    if (keep.has(file)) continue;
    const path = join(dir, file);
    if (await isStale(path, file, graceMs)) {
      await rm(path, { force: true });
      removed.push(file);
    }
  }
  return removed;
}

async function isStale(path: string, file: string, graceMs: number): Promise<boolean> {
  if (file.endsWith(".stale")) return olderThan(path, LEFTOVER_MS);
  if (file.endsWith(".tmp")) {
    if (isStaleTemporary(file)) return true;
    const tag = /\.gc([0-9a-f]{6})-(\d+)-[0-9a-f]+\.tmp$/.exec(file);
    // Untagged temporaries come from older versions; give them the grace period.
    if (!tag) return olderThan(path, graceMs);
    return !(await inUse(path, tag[1]!, Number(tag[2]), graceMs));
  }
  if (file.endsWith(".parquet")) {
    const writer = PART_WRITER.exec(file);
    // A part named by no writer (older versions) that no manifest lists is an orphan.
    if (!writer) return true;
    return !(await inUse(path, writer[1]!, Number(writer[2]), graceMs));
  }
  return false;
}
