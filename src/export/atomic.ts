/** Writing an output file atomically: parent folder created, temporary name, rename on success. */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InvalidQueryError, NoSpaceError } from "../errors.js";
import { isStaleTemporary, temporaryName, trackTemporary } from "../store/temporaries.js";

/** Error codes that mean the output path itself cannot be written (bad input, not a runtime failure). */
const UNWRITABLE = new Set(["EACCES", "EPERM", "EROFS", "EISDIR", "ENOTDIR", "EEXIST", "ENOENT"]);

/**
 * Creates the parent folder of `path` (mkdir -p), then runs `write` on a temporary file name in
 * that folder and renames it to `path` once `write` resolves; on failure (or SIGINT/SIGTERM in the
 * command line) the temporary file is removed and nothing is left at `path`. Temporaries of killed
 * runs in the folder (`NAME.gc<host>-<pid>-<hex>.tmp` of a gone process) are removed first.
 * @throws InvalidQueryError naming the folder when it cannot be created, or naming `path` when it
 * is a folder or cannot be written (read-only folder, permission denied).
 * @throws NoSpaceError naming `path` and the bytes written when the device filled up (nothing is
 * left behind: the temporary file and any SQLite journal beside it are removed).
 */
export async function writeAtomically<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const folder = dirname(resolve(path));
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new InvalidQueryError(`${dirname(path)}: cannot create the output folder (${code})`, {
      cause: err,
    });
  }
  if ((await stat(path).catch(() => undefined))?.isDirectory()) {
    throw new InvalidQueryError(`${path}: is a folder, not an output file name`);
  }
  await removeStaleOutputs(folder);
  const tmp = temporaryName(path, randomBytes(4).toString("hex"));
  // Tracked so that SIGINT/SIGTERM remove it (and the files SQLite may keep beside a GeoPackage);
  // a killed run's are removed by the next write here.
  const beside = [tmp, ...SQLITE_SIDE_FILES.map((suffix) => `${tmp}${suffix}`)];
  const untrack = beside.map((path) => trackTemporary(path));
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    const written = (await stat(tmp).catch(() => undefined))?.size ?? 0;
    await Promise.all(beside.map((f) => rm(f, { force: true, recursive: true })));
    if (isNoSpace(err)) throw new NoSpaceError(path, written, { atLeast: true, cause: err });
    throw unwritable(err, path, tmp) ?? err;
  } finally {
    for (const u of untrack) u();
  }
}

/** Files SQLite may create beside a database: a rollback journal, a write-ahead log and its index. */
const SQLITE_SIDE_FILES = ["-journal", "-wal", "-shm"];

/** Whether an error (or one of its causes) is a full device: ENOSPC, or SQLite's SQLITE_FULL. */
function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "SQLITE_FULL") return true;
  }
  return false;
}

/** Removes temporary outputs in `folder` left by runs of this host that were killed. */
async function removeStaleOutputs(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    names.filter(isStaleTemporary).map((n) => rm(join(folder, n), { force: true, recursive: true })),
  );
}

/** A file system error on the temporary file, restated as one line about `path`. */
function unwritable(err: unknown, path: string, tmp: string): InvalidQueryError | undefined {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!(e instanceof Error) || !e.code || !UNWRITABLE.has(e.code)) return undefined;
  if (e.path !== tmp && e.path !== path && e.dest !== path) return undefined;
  return new InvalidQueryError(`${path}: cannot write the output (${e.code})`, { cause: err });
}
