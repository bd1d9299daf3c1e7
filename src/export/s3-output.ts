/**
 * Query outputs written to S3 (`--out s3://bucket/key.parquet`, any format): the writer writes a
 * temporary local file as for any output, which is then uploaded, in parts of {@link OUTPUT_PART_BYTES}
 * read one at a time from the file (so the result is never held in memory whole) when it is larger
 * than one part. The object appears only when the upload completes; a failure, SIGINT or SIGTERM aborts
 * the multipart upload, so nothing half-written is left, neither an object nor a pending upload.
 */
import { type FileHandle, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { S3SourceOptions } from "../source/s3.js";
import type { S3Objects } from "../source/s3-write.js";
import { trackCleanup, trackTemporary } from "../store/temporaries.js";

/**
 * Size of the parts of a multipart upload, bytes: 8 MiB, the AWS CLI's default part size. S3 takes
 * parts of 5 MiB to 5 GiB and at most 10 000 of them, so outputs up to 78 GiB fit.
 */
export const OUTPUT_PART_BYTES = 8 * 1024 * 1024;

/** True for an `s3://` output location. */
export function isS3Output(path: string): boolean {
  return /^s3:\/\//i.test(path);
}

/** Options of {@link writeToS3}. */
export interface S3OutputOptions {
  /** Region, endpoint and credentials. */
  s3?: S3SourceOptions;
  /** Part size of the multipart upload, bytes (at least 5 MiB); default {@link OUTPUT_PART_BYTES}. */
  partBytes?: number;
  signal?: AbortSignal;
}

/**
 * Runs `write` on a temporary local file named like the object (same extension), then uploads it
 * to `url`; the temporary file is removed either way.
 * @returns what `write` returned.
 * @throws what `write` throws, or SourceError naming `url` when the upload fails (after aborting it).
 */
export async function writeToS3<T>(
  url: string,
  write: (localPath: string) => Promise<T>,
  opts: S3OutputOptions = {},
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "geochunks-out-"));
  const untrack = trackTemporary(dir);
  try {
    const local = join(dir, basename(url));
    const result = await write(local);
    await uploadFile(local, url, opts);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrack();
  }
}

/**
 * Uploads a local file to `url`: one PUT up to one part's size, else a multipart upload, aborted on
 * any failure and on SIGINT/SIGTERM in the command line.
 * @throws SourceError naming `url`.
 */
export async function uploadFile(path: string, url: string, opts: S3OutputOptions = {}): Promise<void> {
  const { S3Objects } = await import("../source/s3-write.js");
  const s3 = new S3Objects(opts.s3);
  const partBytes = opts.partBytes ?? OUTPUT_PART_BYTES;
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    if (size <= partBytes) {
      const { buffer } = await file.read({ buffer: new Uint8Array(size), position: 0, length: size });
      await s3.put(url, buffer, { signal: opts.signal });
      return;
    }
    await uploadParts(s3, url, { file, size, partBytes, signal: opts.signal });
  } finally {
    await file.close();
  }
}

/**
 * The multipart upload of {@link uploadFile}. An interrupt (the command line's tracked cleanups)
 * stops sending parts and aborts the upload, waiting for an upload id still being created; if the
 * completion was already sent, it waits for it and deletes the object it made. A failure aborts too.
 */
async function uploadParts(
  s3: S3Objects,
  url: string,
  opts: { file: FileHandle; size: number; partBytes: number; signal?: AbortSignal },
): Promise<void> {
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  // The creation and the completion are not cut short: the server may act on them all the same, and
  // the cleanup must know what they did.
  const created = s3.createMultipart(url, { signal: opts.signal });
  let completed: Promise<unknown> | undefined;
  const untrack = trackCleanup(async () => {
    stop.abort();
    const uploadId = await created.catch(() => undefined);
    if (uploadId === undefined) return;
    if (
      completed &&
      (await completed.then(
        () => true,
        () => false,
      ))
    ) {
      await s3.delete(url);
      return;
    }
    await s3.abortMultipart(url, uploadId);
  });
  let uploadId: string | undefined;
  try {
    uploadId = await created;
    const etags: string[] = [];
    const buffer = new Uint8Array(opts.partBytes);
    for (let offset = 0; offset < opts.size; offset += opts.partBytes) {
      const length = Math.min(opts.partBytes, opts.size - offset);
      signal.throwIfAborted();
      await opts.file.read({ buffer, position: offset, length });
      etags.push(
        await s3.uploadPart(url, uploadId, etags.length + 1, buffer.subarray(0, length), { signal }),
      );
    }
    signal.throwIfAborted();
    completed = s3.completeMultipart(url, uploadId, etags, { signal: opts.signal });
    await completed;
  } catch (err) {
    if (uploadId !== undefined && !stop.signal.aborted)
      await s3.abortMultipart(url, uploadId).catch(() => undefined);
    throw err;
  } finally {
    untrack();
  }
}
