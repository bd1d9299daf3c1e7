/** Names of every error class geochunks throws; used by {@link isGeochunksError}. */
export type GeochunksErrorName =
  | "SourceError"
  | "ConditionalWriteError"
  | "InvalidHdf5Error"
  | "UnsupportedHdf5Error"
  | "UnsupportedFilterError"
  | "NotAGranuleError"
  | "InvalidAoiError"
  | "InvalidQueryError"
  | "StoreError"
  | "StoreBusyError"
  | "IncompleteShardsError"
  | "NoSpaceError"
  | "IndexMismatchError";

/**
 * An I/O failure. `status` is HTTP-like for every backend: 404 missing, 403 denied,
 * 409 object changed since it was first read, 416 range past the end, 5xx server failure.
 */
export class SourceError extends Error {
  override readonly name = "SourceError";
  readonly status: number;
  readonly url: string;
  constructor(message: string, opts: { status: number; url: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.status = opts.status;
    this.url = opts.url;
  }
}

/**
 * A conditional write to object storage that did not happen: 412 `PreconditionFailed` (the object
 * exists for `If-None-Match: *`, or its ETag differs for `If-Match`) or 409 `ConditionalRequestConflict`
 * (another write of the same key was in progress). The object is as the other writer left it: read it
 * again and decide. A runtime failure, never bad input.
 */
export class ConditionalWriteError extends Error {
  override readonly name = "ConditionalWriteError";
  /** 412 or 409. */
  readonly status: 412 | 409;
  /** S3's error code: `PreconditionFailed` or `ConditionalRequestConflict`. */
  readonly code: string;
  /** The `s3://bucket/key` written. */
  readonly url: string;
  constructor(message: string, opts: { status: 412 | 409; code: string; url: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.status = opts.status;
    this.code = opts.code;
    this.url = opts.url;
  }
}

/** The bytes are not a valid HDF5 file (bad signature, out-of-range address, truncation...). */
export class InvalidHdf5Error extends Error {
  override readonly name = "InvalidHdf5Error";
  /** File address (bytes) of the structure that failed to parse, when known. */
  readonly address: number | undefined;
  constructor(message: string, opts: { address?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.address = opts.address;
  }
}

/** A valid HDF5 feature this reader does not implement (yet). */
export class UnsupportedHdf5Error extends Error {
  override readonly name = "UnsupportedHdf5Error";
  readonly feature: string;
  constructor(feature: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.feature = feature;
  }
}

/** A dataset uses a filter (compression) that cannot be decoded. */
export class UnsupportedFilterError extends Error {
  override readonly name = "UnsupportedFilterError";
  readonly filterId: number;
  readonly dataset: string;
  constructor(filterId: number, dataset: string) {
    super(`unsupported HDF5 filter ${filterId} in ${dataset}`);
    this.filterId = filterId;
    this.dataset = dataset;
  }
}

/** An HDF5 file that is not a granule of the expected product (missing groups or datasets). */
export class NotAGranuleError extends Error {
  override readonly name = "NotAGranuleError";
  readonly input: string;
  constructor(input: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.input = input;
  }
}

/** An area of interest that cannot be used: wrong GeoJSON, unclosed ring, self-intersection... */
export class InvalidAoiError extends Error {
  override readonly name = "InvalidAoiError";
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
  }
}

/** A query that cannot run as asked: unknown variable or beam, end before start... */
export class InvalidQueryError extends Error {
  override readonly name = "InvalidQueryError";
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
  }
}

/** A store directory that is missing, unreadable or inconsistent. */
export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly store: string;
  constructor(store: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.store = store;
  }
}

/** A store whose lock stays held by a live writer: a runtime failure, worth retrying later. */
export class StoreBusyError extends Error {
  override readonly name = "StoreBusyError";
  readonly store: string;
  constructor(store: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.store = store;
  }
}

/**
 * A commit of staged shards refused because the set is not whole: shards of the run are not staged
 * (`missing`, 0-based, of `count`), or the staged shards come from runs over different input lists
 * or shard counts. A runtime failure: run the missing shards, or commit with `allowIncomplete`.
 */
export class IncompleteShardsError extends Error {
  override readonly name = "IncompleteShardsError";
  readonly store: string;
  readonly missing: number[];
  readonly count: number;
  constructor(store: string, message: string, opts: { missing: number[]; count: number }) {
    super(message);
    this.store = store;
    this.missing = opts.missing;
    this.count = opts.count;
  }
}

/** A write that ran out of space: `path` is the file being written, `bytes` what it needed. */
export class NoSpaceError extends Error {
  override readonly name = "NoSpaceError";
  readonly path: string;
  readonly bytes: number;
  /**
   * With `atLeast`, `bytes` is what was written when the device filled (a streamed output whose
   * full size is not known yet): the message says it needs more than that.
   */
  constructor(path: string, bytes: number, opts: { cause?: unknown; atLeast?: boolean } = {}) {
    super(`${path}: no space left on the device to write ${opts.atLeast ? "more than " : ""}${bytes} bytes`, {
      cause: opts.cause,
    });
    this.path = path;
    this.bytes = bytes;
  }
}

/** A granule changed (size, ETag or mtime) since it was indexed; its byte offsets cannot be trusted. */
export class IndexMismatchError extends Error {
  override readonly name = "IndexMismatchError";
  readonly granule: string;
  constructor(granule: string, message: string) {
    super(message);
    this.granule = granule;
  }
}

/**
 * True when `err` is a geochunks error, optionally of one of the given names. Works across
 * package copies, where `instanceof` does not.
 */
export function isGeochunksError(err: unknown, ...names: GeochunksErrorName[]): err is Error {
  if (!(err instanceof Error)) return false;
  const known: readonly string[] = [
    "SourceError",
    "ConditionalWriteError",
    "InvalidHdf5Error",
    "UnsupportedHdf5Error",
    "UnsupportedFilterError",
    "NotAGranuleError",
    "InvalidAoiError",
    "InvalidQueryError",
    "StoreError",
    "StoreBusyError",
    "IncompleteShardsError",
    "NoSpaceError",
    "IndexMismatchError",
  ];
  if (!known.includes(err.name)) return false;
  return names.length === 0 || (names as string[]).includes(err.name);
}

/**
 * Makes an error's message start with the input it concerns (a file or URL), keeping its class,
 * fields and cause; errors that already name the input are returned unchanged.
 */
export function namingInput(err: unknown, input: string): unknown {
  if (err instanceof Error && !err.message.includes(input)) err.message = `${input}: ${err.message}`;
  return err;
}
