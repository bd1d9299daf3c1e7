/**
 * Query outputs written to S3 (`--out s3://bucket/key.parquet`, any format). A format written front
 * to back (GeoParquet, CSV, GeoJSON, GeoJSON lines) streams into the upload while the query runs
 * ({@link streamToS3}): parts of {@link OUTPUT_PART_BYTES} go up as they fill, at most
 * {@link DEFAULT_PARTS_IN_FLIGHT} at a time, and nothing is written to local disk. FlatGeobuf and
 * GeoPackage go back over what they wrote, so they are written to a temporary local file first and
 * uploaded from it ({@link writeToS3}). Either way the object appears only when the upload completes;
 * a failure, SIGINT or SIGTERM aborts the multipart upload, so nothing half-written is left, neither
 * an object nor a pending upload.
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { S3SourceOptions } from "../source/s3.js";
import {
  DEFAULT_PARTS_IN_FLIGHT,
  openS3Upload,
  type S3Upload,
  type S3UploadSummary,
} from "../source/s3-upload.js";
import { trackCleanup, trackTemporary } from "../store/temporaries.js";
import type { ByteSink } from "./sink.js";

/**
 * Size of the parts of a multipart upload, bytes: 8 MiB, the AWS CLI's default part size. S3 takes
 * parts of 5 MiB to 5 GiB and at most 10 000 of them, so outputs up to 78 GiB fit.
 */
export const OUTPUT_PART_BYTES = 8 * 1024 * 1024;

/** True for an `s3://` output location. */
export function isS3Output(path: string): boolean {
  return /^s3:\/\//i.test(path);
}

/** Options of {@link streamToS3}, {@link writeToS3} and {@link uploadFile}. */
export interface S3OutputOptions {
  /** Region, endpoint and credentials. */
  s3?: S3SourceOptions;
  /** Part size of the multipart upload, bytes (at least 5 MiB); default {@link OUTPUT_PART_BYTES}. */
  partBytes?: number;
  /** Parts uploading at once at most; default {@link DEFAULT_PARTS_IN_FLIGHT}. */
  partsInFlight?: number;
  signal?: AbortSignal;
}

/**
 * Runs `write` on a sink whose bytes stream to `url` as they come: one PUT when they fit in one part,
 * else a multipart upload whose parts go up while `write` runs and which is completed once it
 * resolved. Memory: at most (parts in flight + 1) part buffers, and fetch's copy of each part in flight.
 * @returns what `write` returned.
 * @throws what `write` throws, or SourceError naming `url` when the upload fails (after aborting it).
 */
export async function streamToS3<T>(
  url: string,
  write: (sink: ByteSink) => Promise<T>,
  opts: S3OutputOptions = {},
): Promise<T> {
  return withUpload(url, opts, async (upload) => {
    const result = await write(upload);
    await upload.complete();
    return result;
  });
}

/**
 * Runs `write` on a temporary local file named like the object (same extension), then uploads it
 * to `url`; the temporary file is removed either way. For formats that go back over what they wrote.
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
 * Uploads a local file to `url`: one PUT up to one part's size, else a multipart upload read from the
 * file one part at a time, aborted on any failure and on SIGINT/SIGTERM in the command line.
 * @throws SourceError naming `url`.
 */
export async function uploadFile(
  path: string,
  url: string,
  opts: S3OutputOptions = {},
): Promise<S3UploadSummary> {
  const partBytes = opts.partBytes ?? OUTPUT_PART_BYTES;
  const file = await open(path, "r");
  try {
    return await withUpload(url, opts, async (upload) => {
      const buffer = new Uint8Array(partBytes);
      for (;;) {
        const { bytesRead } = await file.read({ buffer, position: null, length: partBytes });
        if (bytesRead === 0) break;
        await upload.write(buffer.subarray(0, bytesRead));
      }
      return upload.complete();
    });
  } finally {
    await file.close();
  }
}

/**
 * Runs `use` on a new streaming upload to `url`, aborting the upload when `use` fails and, through the
 * command line's tracked cleanups, when the process is interrupted.
 */
async function withUpload<T>(
  url: string,
  opts: S3OutputOptions,
  use: (upload: S3Upload) => Promise<T>,
): Promise<T> {
  const { S3Objects } = await import("../source/s3-write.js");
  const upload = openS3Upload(new S3Objects(opts.s3), url, {
    partBytes: opts.partBytes ?? OUTPUT_PART_BYTES,
    partsInFlight: opts.partsInFlight,
    signal: opts.signal,
  });
  const untrack = trackCleanup(() => upload.abort());
  try {
    return await use(upload);
  } catch (err) {
    await upload.abort();
    throw err;
  } finally {
    untrack();
  }
}
