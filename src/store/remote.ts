/**
 * A store that is not a local folder: `s3://bucket/prefix` or `https://host/prefix` (read-only),
 * read through the project's ByteSources (retries, ETag pinning, credentials as for granules).
 * Queries read the manifest, then only the part footers and row groups their selection needs
 * ({@link StoreReader}); ranges read are kept in a disk cache validated by ETag. `sql`, `describe`
 * and the exports need whole tables: {@link RemoteStore.mirror} copies the listed part files into
 * the cache and gives a local folder to open.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { SourceError, StoreError } from "../errors.js";
import {
  type ByteSource,
  fingerprintOf,
  openSource,
  type ReadOptions,
  type SourceOptions,
} from "../source/index.js";
import {
  MANIFEST_NAME,
  type Manifest,
  manifestProducts,
  STORE_FORMAT,
  STORE_TABLES,
  versionProblem,
} from "./manifest.js";
import { partBuffer } from "./part-buffer.js";
import { openCacheEntry } from "./range-cache.js";
import { type PartFile, readPartFooter, recordedStats, type StoreReader } from "./reader.js";

/** Whether a `--store` value names a remote store (`s3://`, `http://`, `https://`) rather than a folder. */
export function isRemoteStore(location: string): boolean {
  return /^(s3|https?):\/\//i.test(location);
}

/** Options of {@link openRemoteStore}. */
export interface RemoteStoreOptions {
  /** How the store's objects are opened: S3 region, endpoint and credentials, HTTP options, token. */
  source?: SourceOptions;
  /**
   * Folder of the disk cache (ranges read, mirrored part files); the command line's default is
   * `$XDG_CACHE_HOME/geochunks` (`~/.cache/geochunks`). Default: none, ranges are kept in memory
   * for the life of the handle and {@link RemoteStore.mirror} uses a folder under the system's
   * temporary directory.
   */
  cacheDir?: string;
  signal?: AbortSignal;
}

/** Requests and bytes a remote store's reads sent and received (manifest, probes, ranges). */
export interface RemoteStoreStats {
  requests: number;
  bytes: number;
}

interface Counted {
  stats?: { requests: number; bytes: number };
}

/** A remote store, read-only: its manifest snapshot and its part files on demand. */
export class RemoteStore implements StoreReader {
  /** The store's URL, without a trailing slash. */
  readonly dir: string;
  readonly manifest: Readonly<Manifest>;
  readonly #opts: RemoteStoreOptions;
  readonly #sources: ByteSource[] = [];

  private constructor(dir: string, manifest: Manifest, opts: RemoteStoreOptions) {
    this.dir = dir;
    this.manifest = manifest;
    this.#opts = opts;
  }

  /**
   * Opens the store at `url` by reading its `manifest.json` (always fetched: it is what says which
   * part files are current).
   * @throws StoreError when there is no manifest there or it is not a geochunks store of this version.
   */
  static async open(url: string, opts: RemoteStoreOptions = {}): Promise<RemoteStore> {
    const dir = url.replace(/\/+$/, "");
    const handle = new RemoteStore(dir, {} as Manifest, opts);
    const source = await handle.#open(MANIFEST_NAME);
    let text: string;
    try {
      const size = await source.size({ signal: opts.signal });
      text = new TextDecoder().decode(await source.read(0, size, { signal: opts.signal }));
    } catch (err) {
      if (err instanceof SourceError && (err.status === 404 || err.status === 403)) {
        throw new StoreError(dir, `${dir}: no ${MANIFEST_NAME} (status ${err.status}): no such store`, {
          cause: err,
        });
      }
      throw err;
    }
    const store = new RemoteStore(dir, parseRemoteManifest(dir, text), opts);
    store.#sources.push(source);
    return store;
  }

  /** Requests and bytes sent and received so far by this handle. */
  get stats(): RemoteStoreStats {
    let requests = 0;
    let bytes = 0;
    for (const s of this.#sources) {
      const c = (s as Counted).stats;
      requests += c?.requests ?? 0;
      bytes += c?.bytes ?? 0;
    }
    return { requests, bytes };
  }

  /** The URL of a file of the store (path relative to its root). */
  urlOf(path: string): string {
    return `${this.dir}/${path}`;
  }

  async #open(path: string): Promise<ByteSource> {
    return openSource(this.urlOf(path), this.#opts.source ?? {});
  }

  /** Products of the visible granules, sorted by name. */
  products(): string[] {
    return manifestProducts(this.manifest);
  }

  /**
   * Opens part files: one probe each for size and ETag (checked against the manifest's size; the
   * ETag keys the disk cache), then the footer, from the cache when it holds that version.
   * @throws StoreError naming the first part that is missing or differs from the manifest.
   */
  async openParts(paths: readonly string[], opts: ReadOptions = {}): Promise<PartFile[]> {
    return Promise.all(paths.map((p) => this.#openPart(p, opts)));
  }

  async #openPart(path: string, opts: ReadOptions): Promise<PartFile> {
    const name = this.urlOf(path);
    const source = await this.#open(path);
    this.#sources.push(source);
    const want = recordedStats(this.manifest, path);
    const version = await fingerprintOf(source, opts).catch((err: unknown) => {
      if (err instanceof SourceError && (err.status === 404 || err.status === 403))
        throw new StoreError(
          this.dir,
          `${name}: part file listed in the manifest is missing (status ${err.status})`,
          {
            cause: err,
          },
        );
      throw err;
    });
    if (want && version.size !== want.bytes) {
      throw new StoreError(
        this.dir,
        `${name}: part file is ${version.size} bytes but the manifest records ${want.bytes}: it was truncated, ` +
          `extended or replaced; run geochunks verify on a copy of the store`,
      );
    }
    const cacheRoot = this.#opts.cacheDir;
    const cache =
      cacheRoot && version.etag
        ? await openCacheEntry(join(cacheRoot, "ranges"), name, { etag: version.etag, size: version.size })
        : undefined;
    const buffer = partBuffer(source, version.size, { cache, signal: opts.signal });
    return readPartFooter(this.dir, { path, name, buffer }, want, opts);
  }

  /**
   * Copies every part file the manifest lists into a local folder (whole files, kept between runs
   * and refetched only when their ETag changes) with the manifest beside them, and returns that
   * folder: a local store of the same snapshot, for DuckDB (`sql`), `describe` and the exports.
   */
  async mirror(opts: ReadOptions = {}): Promise<string> {
    const root = this.#opts.cacheDir ?? join(tmpdir(), "geochunks-cache");
    const folder = join(root, "stores", createHash("sha256").update(this.dir).digest("hex").slice(0, 32));
    await mkdir(folder, { recursive: true });
    const etagsPath = join(folder, "etags.json");
    const before = await readFile(etagsPath, "utf8")
      .then((t) => JSON.parse(t) as Record<string, string>)
      .catch(() => ({}) as Record<string, string>);
    const paths = this.manifest.parts.flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t]));
    const etags: Record<string, string> = {};
    await Promise.all(
      paths.map(async (path) => {
        etags[path] = await this.#mirrorOne(folder, path, before[path], opts);
      }),
    );
    const keep = new Set(paths);
    await Promise.all(
      Object.keys(before)
        .filter((p) => !keep.has(p))
        .map((p) => rm(join(folder, p), { force: true })),
    );
    await writeAtomic(etagsPath, JSON.stringify(etags));
    await writeAtomic(join(folder, MANIFEST_NAME), JSON.stringify(this.manifest, null, 2));
    return folder;
  }

  /** Brings one part file into the mirror unless it holds that version already; returns its ETag. */
  async #mirrorOne(
    folder: string,
    path: string,
    known: string | undefined,
    opts: ReadOptions,
  ): Promise<string> {
    const source = await this.#open(path);
    this.#sources.push(source);
    const version = await fingerprintOf(source, opts);
    const tag = version.etag ?? String(version.mtime);
    const target = join(folder, path);
    const have = await stat(target).catch(() => undefined);
    if (known === tag && have?.size === version.size) return tag;
    const bytes = await source.read(0, version.size, opts);
    await mkdir(dirname(target), { recursive: true });
    await writeAtomic(target, bytes);
    return tag;
  }
}

/** Writes a file under a temporary name, then renames it. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Parses and checks a remote manifest. */
function parseRemoteManifest(dir: string, text: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new StoreError(dir, `${dir}/${MANIFEST_NAME} is not valid JSON`, { cause: err });
  }
  if (manifest?.format !== STORE_FORMAT)
    throw new StoreError(dir, `${dir}: not a geochunks store (format ${String(manifest?.format)})`);
  const unsupported = versionProblem(manifest.version, dir);
  if (unsupported) throw new StoreError(dir, unsupported);
  return manifest;
}

/** Opens a remote store (see {@link RemoteStore.open}). */
export function openRemoteStore(url: string, opts: RemoteStoreOptions = {}): Promise<RemoteStore> {
  return RemoteStore.open(url, opts);
}
