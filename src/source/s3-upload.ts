/**
 * Streaming uploads of one S3 object: bytes are written as they are produced and go up as parts of a
 * multipart upload as soon as a part fills, with a bounded number of parts in flight, so memory stays
 * at most (parts in flight + 1) x part size whatever the object's size. An object that fits in one
 * part is sent as one PUT. The object appears only when {@link S3Upload.complete} sends
 * CompleteMultipartUpload after every part landed; {@link S3Upload.abort} (or a failure) aborts the
 * multipart upload, so neither an object nor a pending upload is left.
 */
import type { S3Objects } from "./s3-write.js";

/**
 * Parts uploaded at the same time by default: four, so a link with tens of milliseconds of latency
 * stays busy while the producer fills the next part, with 40 MiB of buffers at 8 MiB parts (the AWS
 * CLI sends up to ten requests at once, but it reads files, not a query's output held in memory).
 */
export const DEFAULT_PARTS_IN_FLIGHT = 4;

/** S3's smallest part, bytes (all parts but the last): 5 MiB. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** S3's largest number of parts in one upload. */
export const MAX_PARTS = 10_000;

/** Options of {@link openS3Upload}. */
export interface S3UploadOptions {
  /** Size of every part but the last, bytes; at least {@link MIN_PART_BYTES}. */
  partBytes: number;
  /** Parts uploading at once at most; default {@link DEFAULT_PARTS_IN_FLIGHT}. */
  partsInFlight?: number;
  /** Aborts the upload's requests (the upload itself is aborted by {@link S3Upload.abort}). */
  signal?: AbortSignal;
}

/** What a completed upload sent. */
export interface S3UploadSummary {
  /** Size of the object, bytes. */
  bytes: number;
  /** Parts of the multipart upload; 0 when the object went up as one PUT. */
  parts: number;
}

/** A streaming upload of one object (see the module's comment). */
export interface S3Upload {
  /**
   * Appends `bytes` to the object (copied: the caller may reuse them once it resolves). Resolves at
   * once while the current part has room; a full part is sent when more bytes follow, after waiting
   * for a free slot when the parts in flight are at their limit.
   * @throws the failure of an earlier part (SourceError naming the URL), or the signal's reason.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Sends what is left and makes the object: one PUT when no part was sent, else the last part and,
   * once every part landed, CompleteMultipartUpload. A failure aborts the multipart upload first.
   * @throws SourceError naming the URL.
   */
  complete(): Promise<S3UploadSummary>;
  /**
   * Stops sending and abandons the upload: parts in flight are cut short, the multipart upload (once
   * its creation answered) is aborted, and an object a completion already made is deleted. Never
   * rejects when the server answers; safe to call more than once and after a failure.
   */
  abort(): Promise<void>;
}

/**
 * Starts a streaming upload to `url` (`s3://bucket/key`); nothing is sent until the first part fills.
 * @example
 * const upload = openS3Upload(new S3Objects(opts), "s3://results/out.csv", { partBytes: 8 << 20 });
 * for (const text of lines) await upload.write(encoder.encode(text));
 * await upload.complete();
 */
export function openS3Upload(s3: S3Objects, url: string, opts: S3UploadOptions): S3Upload {
  if (!(opts.partBytes >= MIN_PART_BYTES)) {
    throw new RangeError(`part size ${opts.partBytes} bytes is below S3's smallest part (${MIN_PART_BYTES})`);
  }
  const limit = Math.max(1, opts.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT);
  // `stop` is abort()'s; `failed` cuts the other parts short once one failed.
  const stop = new AbortController();
  const failed = new AbortController();
  const signals = [stop.signal, failed.signal, ...(opts.signal ? [opts.signal] : [])];
  const signal = AbortSignal.any(signals);
  const parts = new PartQueue(limit, () => failed.abort());
  let current: Uint8Array | undefined;
  let filled = 0;
  let bytes = 0;
  let created: Promise<string> | undefined;
  let completed: Promise<unknown> | undefined;
  let aborting: Promise<void> | undefined;

  const uploadId = (): Promise<string> => {
    // The creation is not cut short by the signal: the server may make the upload all the same, and
    // the abort must know its id.
    created ??= s3.createMultipart(url, { signal: opts.signal });
    return created;
  };
  const sendFull = async (): Promise<void> => {
    const body = current!;
    current = undefined;
    filled = 0;
    await parts.add(async (partNumber) => {
      if (partNumber > MAX_PARTS) {
        throw new RangeError(
          `${url}: over ${MAX_PARTS} parts of ${opts.partBytes} bytes; raise the part size`,
        );
      }
      const id = await uploadId();
      signal.throwIfAborted();
      return s3.uploadPart(url, id, partNumber, body, { signal });
    }, body);
  };

  const upload: S3Upload = {
    async write(chunk) {
      // A part's failure first: it also aborts `signal`, whose reason would hide it.
      parts.throwIfFailed();
      signal.throwIfAborted();
      for (let at = 0; at < chunk.length; ) {
        // A full part is sent only once more bytes follow, so an object of exactly one part is one PUT.
        if (current !== undefined && filled === current.length) await sendFull();
        current ??= parts.buffer(opts.partBytes);
        const n = Math.min(chunk.length - at, current.length - filled);
        current.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        bytes += n;
      }
    },
    async complete() {
      parts.throwIfFailed();
      signal.throwIfAborted();
      try {
        // The one PUT and the completion are not cut short by abort(): the server may act on them all
        // the same, and the abort must know what they did.
        if (created === undefined && parts.count === 0) {
          completed = s3.put(url, (current ?? new Uint8Array()).subarray(0, filled), { signal: opts.signal });
          await completed;
          return { bytes, parts: 0 };
        }
        if (filled > 0) {
          current = current!.subarray(0, filled);
          await sendFull();
        }
        const etags = await parts.all();
        signal.throwIfAborted();
        completed = s3.completeMultipart(url, await uploadId(), etags, { signal: opts.signal });
        await completed;
        return { bytes, parts: etags.length };
      } catch (err) {
        await upload.abort();
        throw err;
      }
    },
    abort() {
      aborting ??= (async () => {
        stop.abort();
        await parts.settled();
        // A completion (or the one PUT) already sent may have made the object: delete what it made.
        if (completed !== undefined && (await completed.then(() => true).catch(() => false))) {
          await s3.delete(url).catch(() => undefined);
          return;
        }
        const id = await created?.catch(() => undefined);
        if (id !== undefined) await s3.abortMultipart(url, id).catch(() => undefined);
      })();
      return aborting;
    },
  };
  return upload;
}

/**
 * The parts of one upload: numbered in the order they are added, at most `limit` running at once,
 * their ETags kept in order; the first failure is kept and rethrown. Finished parts' buffers are
 * kept for the next parts, so the buffers number at most `limit` + 1.
 */
class PartQueue {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  readonly #etags: string[] = [];
  readonly #free: Uint8Array[] = [];
  readonly #onFailure: () => void;
  #failure: { err: unknown } | undefined;

  /** `onFailure` is called once, when the first part fails. */
  constructor(limit: number, onFailure: () => void) {
    this.#limit = limit;
    this.#onFailure = onFailure;
  }

  /** Parts added so far. */
  get count(): number {
    return this.#etags.length;
  }

  /** A buffer of `size` bytes: one a finished part gave back, or a new one. */
  buffer(size: number): Uint8Array {
    const reused = this.#free.pop();
    return reused?.length === size ? reused : new Uint8Array(size);
  }

  /**
   * Starts part number `count + 1` once fewer than `limit` run; `body` is given back for reuse when it
   * has landed. @throws the first failure of any part.
   */
  async add(send: (partNumber: number) => Promise<string>, body: Uint8Array): Promise<void> {
    while (this.#running.size >= this.#limit) {
      this.throwIfFailed();
      await Promise.race(this.#running);
    }
    this.throwIfFailed();
    const index = this.#etags.length;
    this.#etags.push("");
    const running = send(index + 1).then(
      (etag) => {
        this.#etags[index] = etag;
        if (body.byteOffset === 0 && body.length === body.buffer.byteLength) this.#free.push(body);
      },
      (err: unknown) => {
        if (this.#failure) return;
        this.#failure = { err };
        this.#onFailure();
      },
    );
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** @throws the first failure of any part. */
  throwIfFailed(): void {
    if (this.#failure) throw this.#failure.err;
  }

  /** The ETags of every part, in order, once all landed. @throws the first failure of any part. */
  async all(): Promise<string[]> {
    await this.settled();
    this.throwIfFailed();
    return this.#etags;
  }

  /** Resolves when no part runs any more (landed or failed). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
