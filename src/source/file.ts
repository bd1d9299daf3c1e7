import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SourceError } from "../errors.js";
import type { ByteSource, ReadOptions } from "./types.js";

/**
 * A local file read with positional reads through one open file handle.
 * Create with {@link FileSource.open} (or {@link openFileSource}); release with {@link FileSource.close}.
 */
export class FileSource implements ByteSource {
  readonly url: URL;
  readonly #handle: FileHandle;
  #size: Promise<number> | undefined;

  private constructor(url: URL, handle: FileHandle) {
    this.url = url;
    this.#handle = handle;
  }

  /**
   * Opens a local file for reading.
   * @throws SourceError 404 when the file does not exist, 403 when it cannot be read.
   */
  static async open(path: string | URL): Promise<FileSource> {
    const url = path instanceof URL ? path : pathToFileURL(resolve(path));
    try {
      return new FileSource(url, await open(url, "r"));
    } catch (err) {
      throw mapFsError(err, url);
    }
  }

  /** File size in bytes, read once with `stat` and memoised (forgotten on failure). */
  size(opts?: ReadOptions): Promise<number> {
    opts?.signal?.throwIfAborted();
    this.#size ??= this.#handle.stat().then(
      (s) => s.size,
      (err: unknown) => {
        this.#size = undefined;
        throw mapFsError(err, this.url);
      },
    );
    return this.#size;
  }

  /**
   * Reads exactly `length` bytes at `offset`.
   * @throws SourceError 416 when the range passes the end of the file.
   */
  async read(offset: number, length: number, opts?: ReadOptions): Promise<Uint8Array> {
    checkRange(offset, length, this.url);
    opts?.signal?.throwIfAborted();
    const size = await this.size(opts);
    if (offset + length > size) {
      throw new SourceError(`range ${offset}+${length} passes the end of ${this.url.href} (size ${size})`, {
        status: 416,
        url: this.url.href,
      });
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const bytesRead = await this.#readOnce(out, done, offset + done);
      if (bytesRead === 0) {
        throw new SourceError(`file ${this.url.href} ended at ${offset + done} while reading`, {
          status: 416,
          url: this.url.href,
        });
      }
      done += bytesRead;
    }
    opts?.signal?.throwIfAborted();
    return out;
  }

  async #readOnce(out: Uint8Array, at: number, position: number): Promise<number> {
    try {
      return (await this.#handle.read(out, at, out.length - at, position)).bytesRead;
    } catch (err) {
      throw mapFsError(err, this.url);
    }
  }

  /** Closes the file handle; later reads fail with a SourceError. */
  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/**
 * Opens a local file as a {@link ByteSource}.
 * @example const src = await openFileSource("granule.h5"); try { ... } finally { await src.close(); }
 * @throws SourceError 404 when the file does not exist.
 */
export function openFileSource(path: string | URL): Promise<FileSource> {
  return FileSource.open(path);
}

/** Throws a SourceError 416 for negative or non-integer ranges. */
export function checkRange(offset: number, length: number, url: URL): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SourceError(`invalid range ${offset}+${length} for ${url.href}`, {
      status: 416,
      url: url.href,
    });
  }
}

function mapFsError(err: unknown, url: URL): SourceError {
  const code = err instanceof Error && "code" in err ? String(err.code) : "";
  const status =
    code === "ENOENT" || code === "ENOTDIR" ? 404 : code === "EACCES" || code === "EPERM" ? 403 : 500;
  const what = status === 404 ? "not found" : `cannot be read (${code || String(err)})`;
  return new SourceError(`file ${url.href} ${what}`, { status, url: url.href, cause: err });
}
