/**
 * Where a store's files live, behind the few operations a writer needs: a local folder (a lock file
 * makes writers take turns) or an S3 prefix (conditional writes let writers race; the loser rebases
 * and retries). The commit logic itself (rebase, retire, expire) is in store.ts and the same for both.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { S3SourceOptions } from "../source/s3.js";
import { withStoreLock } from "./lock.js";
import { type Manifest, type PartSet, readManifest, type StagedPartSet, writeManifest } from "./manifest.js";
import { removeStaleFiles } from "./stale.js";
import { temporaryName, trackTemporary } from "./temporaries.js";

/** Folder of part sets written by shard jobs and not yet committed. */
export const STAGED_DIR = "staged";

/** Folders holding part files and staged sets (relative to the store root). */
export const STORE_FOLDERS = ["granules", "arrays", "chunks", "chunk_cells", STAGED_DIR] as const;

/** The published manifest and the version it was read at (an ETag on S3; none for a local folder). */
export interface ManifestRead {
  manifest: Manifest | undefined;
  /** Opaque version token of the published manifest, passed back to {@link StoreBackend.publish}. */
  version?: string;
}

/** A staged part set with its file name (`<id>.json`, or `shard-<i>-of-<n>.json` for a shard). */
export interface NamedStagedSet {
  name: string;
  set: StagedPartSet;
}

/** The storage operations a store writer needs. Paths are relative to the store root, `/`-separated. */
export interface StoreBackend {
  /** How messages name the store: its folder, or `s3://bucket/prefix`. */
  readonly location: string;
  /** Local folder where part files are written and read: the store itself, or a working copy. */
  readonly dir: string;
  /**
   * Whether {@link StoreBackend.publish} can lose a race (S3), so a commit must be computed again
   * on the winner's manifest, or always succeeds because writers take turns (a local lock).
   */
  readonly optimistic: boolean;
  /** Runs `fn` with the right to publish: holding the lock (local), or at once (S3). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Reads the published manifest. */
  readManifest(): Promise<ManifestRead>;
  /**
   * Makes the part sets `written` visible (uploads them where needed), then publishes `next` if the
   * published manifest is still the one read as `base`. Resolves false when another writer published
   * first (only when {@link StoreBackend.optimistic}); nothing of `next` is then visible.
   */
  publish(next: Manifest, base: ManifestRead, written: readonly PartSet[]): Promise<boolean>;
  /**
   * The whole of one file of the store, read from the store itself (never the working copy).
   * @throws an error whose `code` is `ENOENT` (local) or `NoSuchKey` (S3) when it is missing.
   */
  readFile(file: string): Promise<Uint8Array>;
  /** How messages name a file of the store: its path, or its `s3://` URL. */
  locate(file: string): string;
  /** Makes part sets' files that `readPartSet` reads (parts.ts `PART_READ_TABLES`) readable under {@link StoreBackend.dir} (downloads them where needed). */
  fetch(parts: readonly PartSet[]): Promise<void>;
  /** Makes part sets' files durable in the store without publishing them (uploads them where needed). */
  upload(parts: readonly PartSet[]): Promise<void>;
  /** Removes files from the store (and from the working copy). */
  remove(files: readonly string[]): Promise<void>;
  /** Removes what crashed writers left: part files not in `keep` whose writer is gone or older than `graceMs`. */
  removeStale(keep: ReadonlySet<string>, graceMs: number): Promise<void>;
  /** The staged part sets, by name. */
  readStaged(): Promise<NamedStagedSet[]>;
  /** Writes a staged part set as `staged/<name>`. */
  writeStaged(name: string, set: StagedPartSet): Promise<void>;
  /**
   * Removes the staged sets a commit published, each only if its file still holds that set (a
   * shard task retried meanwhile has replaced it with a set the commit did not publish).
   */
  removeStaged(published: readonly NamedStagedSet[]): Promise<void>;
  /** Drops the working copy, if any; the backend stays usable. */
  release(): Promise<void>;
}

/** Options of {@link openStoreBackend}. */
export interface StoreBackendOptions {
  /** Lock timeout of a local store, ms. */
  lockTimeoutMs?: number;
  /** Region, endpoint and credentials of an `s3://` store. */
  s3?: S3SourceOptions;
}

/** True for an `s3://bucket/prefix` store location. */
export function isS3Location(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

/**
 * The backend of a store location: `s3://bucket/prefix` (loaded on first use) or a local folder.
 * @throws SourceError 400 for a malformed `s3://` location.
 */
export async function openStoreBackend(
  location: string,
  opts: StoreBackendOptions = {},
): Promise<StoreBackend> {
  if (isS3Location(location)) {
    const { S3StoreBackend } = await import("./s3-backend.js");
    return S3StoreBackend.open(location, opts.s3);
  }
  return new LocalStoreBackend(location, opts.lockTimeoutMs);
}

/** A store in a local folder; writers take turns holding `manifest.lock`. */
export class LocalStoreBackend implements StoreBackend {
  readonly location: string;
  readonly dir: string;
  readonly optimistic = false;
  readonly #lockTimeoutMs: number | undefined;

  constructor(dir: string, lockTimeoutMs?: number) {
    this.location = dir;
    this.dir = dir;
    this.#lockTimeoutMs = lockTimeoutMs;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return withStoreLock(this.dir, fn, { timeoutMs: this.#lockTimeoutMs });
  }

  async readManifest(): Promise<ManifestRead> {
    return { manifest: await readManifest(this.dir) };
  }

  async publish(next: Manifest): Promise<boolean> {
    // Part files were renamed into place when written; the rename of the manifest publishes them.
    await writeManifest(this.dir, next);
    return true;
  }

  readFile(file: string): Promise<Uint8Array> {
    return readFile(join(this.dir, file));
  }

  locate(file: string): string {
    return join(this.dir, file);
  }

  async fetch(): Promise<void> {}

  async upload(): Promise<void> {}

  async remove(files: readonly string[]): Promise<void> {
    await Promise.all(files.map((f) => rm(join(this.dir, f), { force: true })));
  }

  async removeStale(keep: ReadonlySet<string>, graceMs: number): Promise<void> {
    await removeStaleFiles(this.dir, STORE_FOLDERS, keep, graceMs);
  }

  async readStaged(): Promise<NamedStagedSet[]> {
    const dir = join(this.dir, STAGED_DIR);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort();
    return Promise.all(
      names.map(async (name) => ({
        name,
        set: JSON.parse(await readFile(join(dir, name), "utf8")) as StagedPartSet,
      })),
    );
  }

  async writeStaged(name: string, set: StagedPartSet): Promise<void> {
    const path = join(this.dir, STAGED_DIR, name);
    await mkdir(join(this.dir, STAGED_DIR), { recursive: true });
    const tmp = temporaryName(path, randomBytes(4).toString("hex"));
    const untrack = trackTemporary(tmp);
    try {
      await writeFile(tmp, JSON.stringify(set));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      untrack();
    }
  }

  async removeStaged(published: readonly NamedStagedSet[]): Promise<void> {
    await Promise.all(
      published.map(async ({ name, set }) => {
        const path = join(this.dir, STAGED_DIR, name);
        const now = await readFile(path, "utf8").then(
          (text) => (JSON.parse(text) as StagedPartSet).part.id,
          () => undefined,
        );
        if (now === set.part.id) await rm(path, { force: true });
      }),
    );
  }

  async release(): Promise<void> {}
}
