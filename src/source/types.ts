/** Options accepted by every read. */
export interface ReadOptions {
  /** Aborts the read; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Random access to the bytes of one object: a local file, an HTTP(S) URL or an S3 object.
 *
 * Offsets and lengths are plain numbers (bytes). Returned arrays may be views into a larger
 * buffer: callers must not assume `byteOffset === 0`.
 */
export interface ByteSource {
  /** Where the bytes live (`file:`, `http(s):` or `s3:`). */
  readonly url: URL;
  /** Total size in bytes; memoised by implementations. */
  size(opts?: ReadOptions): Promise<number>;
  /**
   * Reads exactly `length` bytes starting at `offset`.
   * @throws SourceError with status 416 when the range passes the end of the object.
   */
  read(offset: number, length: number, opts?: ReadOptions): Promise<Uint8Array>;
  /**
   * The whole object in one request, its size learned from the answer, where the source can
   * (HTTP and S3: an open-ended range); else `read(0, await size())`.
   */
  readAll?(opts?: ReadOptions): Promise<Uint8Array>;
  /**
   * The first `length` bytes (all of them when the object is shorter) in one request, the size (and,
   * remote, the version) learned from the answer, where the source can (HTTP and S3: a range GET where
   * a HEAD and then a read would take two rounds).
   */
  readPrefix?(length: number, opts?: ReadOptions): Promise<Uint8Array>;
}
