/** Names of every error class geochunks throws; used by {@link isGeochunksError}. */
export type GeochunksErrorName =
  | "SourceError"
  | "InvalidHdf5Error"
  | "UnsupportedHdf5Error"
  | "UnsupportedFilterError"
  | "NotAGranuleError"
  | "InvalidAoiError"
  | "InvalidQueryError"
  | "StoreError"
  | "StoreBusyError"
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
    "InvalidHdf5Error",
    "UnsupportedHdf5Error",
    "UnsupportedFilterError",
    "NotAGranuleError",
    "InvalidAoiError",
    "InvalidQueryError",
    "StoreError",
    "StoreBusyError",
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
