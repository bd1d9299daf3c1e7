/**
 * A store under an S3 prefix, written with conditional writes instead of a lock (protocol in
 * docs/design/store.md): part files are PUT first; then the new manifest is created as
 * `manifests/<generation>.json` with `If-None-Match: *` (the commit point: one writer per generation);
 * then `manifest.json`, the full manifest readers read, is replaced with `If-Match` on the ETag read at
 * the start (`If-None-Match: *` for a new store). A writer that finds its generation taken has lost
 * the race: it completes the winner's pointer update if the winner has not (crashed or still on its
 * way), and rebases on the winner's manifest.
 */
import { mkdtempSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { mapLimit } from "../concurrency.js";
import { ConditionalWriteError, StoreError } from "../errors.js";
import type { S3SourceOptions } from "../source/s3.js";
import { S3Objects } from "../source/s3-write.js";
import type { ManifestRead, NamedStagedSet, StoreBackend } from "./backend.js";
import { STAGED_DIR, STORE_FOLDERS } from "./backend.js";
import {
  MANIFEST_NAME,
  type Manifest,
  manifestText,
  PART_READ_TABLES,
  type PartSet,
  parseManifest,
  STORE_TABLES,
  type StagedPartSet,
} from "./manifest.js";
import { trackTemporary } from "./temporaries.js";

/** Folder of the manifest versions, one object per generation. */
export const MANIFESTS_DIR = "manifests";

/** Digits of a generation in `manifests/<generation>.json`, zero-padded so that names sort by generation. */
const GENERATION_DIGITS = 10;

/** Objects transferred at once when fetching or uploading part files. */
const TRANSFER_CONCURRENCY = 8;

/** Attempts at replacing the pointer when S3 answers 409 ConditionalRequestConflict (another write in flight). */
const POINTER_ATTEMPTS = 5;

/** The key of a generation's manifest, relative to the store root. */
export function generationKey(generation: number): string {
  return `${MANIFESTS_DIR}/${String(generation).padStart(GENERATION_DIGITS, "0")}.json`;
}

/** A store under `s3://bucket/prefix`, read and written with {@link S3Objects}; see the module comment. */
export class S3StoreBackend implements StoreBackend {
  readonly location: string;
  readonly optimistic = true;
  readonly #s3: S3Objects;
  #work: { dir: string; untrack: () => void } | undefined;
  /** Files this process has PUT (part ids are unique, so a file once uploaded never changes). */
  readonly #uploaded = new Set<string>();

  private constructor(location: string, s3: S3Objects) {
    this.location = location;
    this.#s3 = s3;
  }

  /**
   * The backend of `s3://bucket/prefix` (a trailing slash is dropped); sends no request.
   * @throws StoreError for a location that is not `s3://bucket[/prefix]`.
   */
  static open(location: string, opts: S3SourceOptions = {}): S3StoreBackend {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[^?#]*)?$/i.exec(location);
    if (!m) throw new StoreError(location, `${location}: not an s3://bucket/prefix store location`);
    const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
    return new S3StoreBackend(`s3://${m[1]}${prefix ? `/${prefix}` : ""}`, new S3Objects(opts));
  }

  /** The working copy: a temporary folder holding the part files this process writes or reads. */
  get dir(): string {
    if (!this.#work) {
      const dir = mkdtempSync(join(tmpdir(), "geochunks-s3-store-"));
      this.#work = { dir, untrack: trackTemporary(dir) };
    }
    return this.#work.dir;
  }

  #url(rel: string): string {
    return `${this.location}/${rel}`;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async readManifest(): Promise<ManifestRead> {
    const got = await this.#s3.get(this.#url(MANIFEST_NAME));
    if (!got) return { manifest: undefined };
    return { manifest: parseManifest(new TextDecoder().decode(got.body), this.location), version: got.etag };
  }

  async publish(next: Manifest, base: ManifestRead, written: readonly PartSet[]): Promise<boolean> {
    await this.upload(written);
    const generation = next.generation ?? 1;
    const bytes = new TextEncoder().encode(manifestText(next));
    try {
      await this.#s3.put(this.#url(generationKey(generation)), bytes, { ifNoneMatch: "*" });
    } catch (err) {
      if (!(err instanceof ConditionalWriteError)) throw err;
      // Another writer holds this generation: make sure readers see it, then rebase on it.
      await this.#rollForward(generation, base);
      return false;
    }
    await this.#replacePointer(bytes, base);
    return true;
  }

  /**
   * Replaces `manifest.json` with `bytes` unless it moved on from `base`. Losing here is only possible
   * to a writer completing this very commit (same bytes), which is success too.
   */
  async #replacePointer(bytes: Uint8Array, base: ManifestRead): Promise<void> {
    const condition = base.version === undefined ? { ifNoneMatch: "*" as const } : { ifMatch: base.version };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#s3.put(this.#url(MANIFEST_NAME), bytes, condition);
        return;
      } catch (err) {
        if (!(err instanceof ConditionalWriteError)) throw err;
        const now = await this.#s3.get(this.#url(MANIFEST_NAME));
        if (now && sameBytes(now.body, bytes)) return;
        const unchanged = now?.etag === base.version;
        if (!unchanged || err.status !== 409 || attempt >= POINTER_ATTEMPTS) throw err;
      }
    }
  }

  /** Points `manifest.json` at generation `generation` if it still names `base` (its writer died or is slow). */
  async #rollForward(generation: number, base: ManifestRead): Promise<void> {
    const got = await this.#s3.get(this.#url(generationKey(generation)));
    if (!got) return;
    const m = parseManifest(new TextDecoder().decode(got.body), this.location);
    if (m.generation !== generation) return;
    await this.#replacePointer(got.body, base).catch((err: unknown) => {
      // Someone else moved the pointer on: the rebase reads whatever it now names.
      if (!(err instanceof ConditionalWriteError)) throw err;
    });
  }

  async readFile(file: string): Promise<Uint8Array> {
    const got = await this.#s3.get(this.#url(file));
    if (got) return got.body;
    throw Object.assign(new Error(`${this.#url(file)}: no such object`), { code: "NoSuchKey" });
  }

  locate(file: string): string {
    return this.#url(file);
  }

  async fetch(parts: readonly PartSet[]): Promise<void> {
    // Only the files readPartSet reads (it makes the cells from the chunks).
    const files = parts.flatMap((p) => PART_READ_TABLES.flatMap((t) => p.files[t]));
    await mapLimit(files, TRANSFER_CONCURRENCY, async (f) => {
      const path = join(this.dir, f);
      // Files this process wrote (or fetched) into the working copy are there already.
      if (
        await stat(path).then(
          () => true,
          () => false,
        )
      )
        return;
      const got = await this.#s3.get(this.#url(f));
      if (!got) {
        throw new StoreError(this.location, `${this.#url(f)}: part file listed in the manifest is missing`);
      }
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, got.body);
    });
  }

  async upload(parts: readonly PartSet[]): Promise<void> {
    const files = parts.flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t]));
    await mapLimit(files, TRANSFER_CONCURRENCY, async (f) => {
      if (this.#uploaded.has(f)) return;
      const bytes = await readFile(join(this.dir, f)).catch((err: NodeJS.ErrnoException) => {
        // Parts staged by another process were PUT before their staged set was: nothing to do.
        if (err.code === "ENOENT") return undefined;
        throw err;
      });
      if (bytes) await this.#s3.put(this.#url(f), bytes);
      this.#uploaded.add(f);
    });
  }

  async remove(files: readonly string[]): Promise<void> {
    await mapLimit(files, TRANSFER_CONCURRENCY, async (f) => {
      await this.#s3.delete(this.#url(f));
      this.#uploaded.delete(f);
      if (this.#work) await rm(join(this.#work.dir, f), { force: true });
    });
  }

  /**
   * Removes part files no manifest, retired entry or staged set lists once they are older than
   * `graceMs` (S3 cannot tell whether their writer lives, so age alone decides), and manifest versions
   * older than the newest that are past the grace period too.
   */
  async removeStale(keep: ReadonlySet<string>, graceMs: number): Promise<void> {
    const listed = await this.#s3.list(`${this.location}/`);
    const now = Date.now();
    const old = listed.filter((o) => now - o.lastModified >= graceMs);
    const folders = STORE_FOLDERS.filter((f) => f !== STAGED_DIR);
    const orphans = old
      .map((o) => relativeKey(this.location, o.url))
      .filter((f) => f.endsWith(".parquet") && folders.some((d) => f.startsWith(`${d}/`)) && !keep.has(f));
    const versions = listed
      .map((o) => relativeKey(this.location, o.url))
      .filter((f) => f.startsWith(`${MANIFESTS_DIR}/`))
      .sort();
    const newest = versions.at(-1);
    const oldVersions = old
      .map((o) => relativeKey(this.location, o.url))
      .filter((f) => f.startsWith(`${MANIFESTS_DIR}/`) && f !== newest);
    await this.remove([...orphans, ...oldVersions]);
  }

  async readStaged(): Promise<NamedStagedSet[]> {
    const listed = await this.#s3.list(`${this.location}/${STAGED_DIR}/`);
    const names = listed
      .map((o) => relativeKey(this.location, o.url).slice(STAGED_DIR.length + 1))
      .filter((n) => n.endsWith(".json") && !n.includes("/"))
      .sort();
    return mapLimit(names, TRANSFER_CONCURRENCY, async (name) => {
      const got = await this.#s3.get(this.#url(`${STAGED_DIR}/${name}`));
      if (!got)
        throw new StoreError(this.location, `${this.#url(`${STAGED_DIR}/${name}`)}: staged set vanished`);
      return { name, set: JSON.parse(new TextDecoder().decode(got.body)) as StagedPartSet };
    });
  }

  async writeStaged(name: string, set: StagedPartSet): Promise<void> {
    await this.#s3.put(this.#url(`${STAGED_DIR}/${name}`), new TextEncoder().encode(JSON.stringify(set)));
  }

  async removeStaged(published: readonly NamedStagedSet[]): Promise<void> {
    const still = await mapLimit(published, TRANSFER_CONCURRENCY, async ({ name, set }) => {
      const got = await this.#s3.get(this.#url(`${STAGED_DIR}/${name}`));
      const now = got ? (JSON.parse(new TextDecoder().decode(got.body)) as StagedPartSet).part.id : undefined;
      return now === set.part.id ? [`${STAGED_DIR}/${name}`] : [];
    });
    await this.remove(still.flat());
  }

  async release(): Promise<void> {
    const work = this.#work;
    this.#work = undefined;
    if (!work) return;
    await rm(work.dir, { recursive: true, force: true });
    work.untrack();
  }
}

/** The key of `url` relative to the store at `location` (both `s3://`). */
function relativeKey(location: string, url: string): string {
  return url.slice(location.length + 1);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
