/**
 * S3 objects as byte sources: an {@link HttpSource} (retries, limits, ETag pinning, stall timeouts) whose
 * requests are signed with SigV4, or sent unsigned for anonymous buckets. Loaded lazily by `openSource`.
 */
import { SourceError } from "../errors.js";
import type { FetchLike, HttpFingerprint, HttpSourceOptions, HttpStats } from "./http.js";
import { HttpSource } from "./http.js";
import type { AwsCredentials } from "./sigv4.js";
import { s3ObjectPath, signRequest } from "./sigv4.js";
import type { ByteSource, ReadOptions } from "./types.js";

export type { AwsCredentials } from "./sigv4.js";

/**
 * Default region. NASA's Earthdata Cloud archive (the data this library is for) lives in us-west-2, and
 * its buckets can only be read from there.
 */
export const DEFAULT_S3_REGION = "us-west-2";

/** Options of {@link openS3Source}; the HTTP options (retries, limiter, timeout...) apply to each request. */
export interface S3SourceOptions extends Omit<HttpSourceOptions, "headers"> {
  /** Region of the bucket, used in the signature and the default endpoint; default {@link DEFAULT_S3_REGION}. */
  region?: string;
  /**
   * An S3-compatible endpoint such as `http://127.0.0.1:9000` (MinIO, Ceph, a local test server); objects
   * are addressed path-style under it. Default: AWS, `https://BUCKET.s3.REGION.amazonaws.com/KEY`
   * (path-style when the bucket name has dots, which virtual-hosted TLS cannot serve).
   */
  endpoint?: string;
  /**
   * Credentials, or a function returning them (called for every request, so it can refresh temporary
   * credentials; it should cache). Default: none, and requests are sent unsigned (anonymous access).
   */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
}

/** The bucket and key of an `s3://bucket/key` URL. */
export interface S3Location {
  bucket: string;
  key: string;
}

/**
 * Splits an `s3://bucket/key` URL. The key is taken as written (no percent-decoding), as the AWS CLI does.
 * @throws SourceError 400 when the bucket name is not a valid S3 bucket name or the key is empty.
 */
export function parseS3Url(url: string | URL): S3Location {
  const href = String(url);
  const m = /^s3:\/\/([^/?#]+)\/([^?#]+)$/i.exec(href);
  const bucket = m?.[1] ?? "";
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new SourceError(`${href} is not an s3://bucket/key URL`, { status: 400, url: href });
  }
  return { bucket, key: m[2]! };
}

/**
 * An S3 object read with signed (or anonymous) range GETs. `url` is always the plain `s3://bucket/key`;
 * errors carry it too (404 NoSuchKey, 403 AccessDenied, 409 changed object, 5xx such as SlowDown after
 * the retries). No credential ever appears in a message, a field or the stats.
 * @example
 * const src = await S3Source.open("s3://bucket/ATL06.h5", { region: "us-west-2", credentials });
 * const bytes = await src.read(0, 1024);
 */
export class S3Source implements ByteSource {
  /** The object's `s3://bucket/key` URL. */
  readonly url: URL;
  readonly #http: HttpSource;
  readonly #secrets: string[];

  private constructor(url: URL, http: HttpSource, secrets: string[]) {
    this.url = url;
    this.#http = http;
    this.#secrets = secrets.filter((s) => s.length >= 4);
  }

  /**
   * Prepares an S3 source; no request is sent until the first `size` or `read`.
   * @throws SourceError 400 for a malformed `s3://` URL or endpoint.
   */
  static async open(url: string | URL, opts: S3SourceOptions = {}): Promise<S3Source> {
    const { bucket, key } = parseS3Url(url);
    const plain = `s3://${bucket}/${key}`;
    const region = opts.region ?? DEFAULT_S3_REGION;
    const target = endpointUrl(bucket, key, region, opts.endpoint, plain);
    const { credentials, region: _region, endpoint: _endpoint, ...http } = opts;
    const transport = opts.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
    const send = credentials ? signingFetch(transport, credentials, region, plain) : unsignedFetch(transport);
    const source = await HttpSource.open(target, { ...http, fetch: send });
    const secrets =
      credentials && typeof credentials !== "function"
        ? [credentials.secretAccessKey, credentials.sessionToken ?? ""]
        : [];
    return new S3Source(new URL(plain), source, secrets);
  }

  /** The pinned ETag, once a response has been seen. */
  get etag(): string | undefined {
    return this.#http.etag;
  }

  /** A copy of the request counters. */
  get stats(): HttpStats {
    return this.#http.stats;
  }

  /**
   * Object size in bytes (memoised; one HEAD unless a read already told it).
   * @throws SourceError as {@link S3Source.read}.
   */
  size(opts?: ReadOptions): Promise<number> {
    return this.#named(this.#http.size(opts));
  }

  /**
   * Reads exactly `length` bytes at `offset` with one range GET (retried when transient).
   * @throws SourceError 416 past the end; 404 missing object or bucket; 403 denied (also a wrong key or
   *   a missing object in a bucket without list permission); 409 the object changed since the first
   *   response; 5xx after the retries.
   */
  read(offset: number, length: number, opts?: ReadOptions): Promise<Uint8Array> {
    return this.#named(this.#http.read(offset, length, opts));
  }

  /**
   * The whole object with one GET of an open-ended range, its size learned from the answer (see
   * {@link HttpSource.readAll}): one request where `size` then `read` take two.
   * @throws SourceError as {@link S3Source.read}.
   */
  readAll(opts?: ReadOptions): Promise<Uint8Array> {
    return this.#named(this.#http.readAll(opts));
  }

  /** The first `length` bytes with one GET, size and version learned (see {@link HttpSource.readPrefix}). */
  readPrefix(length: number, opts?: ReadOptions): Promise<Uint8Array> {
    return this.#named(this.#http.readPrefix(length, opts));
  }

  /** Size, ETag and Last-Modified of the version being read. */
  fingerprint(opts?: ReadOptions): Promise<HttpFingerprint> {
    return this.#named(this.#http.fingerprint(opts));
  }

  /** Releases what the underlying HTTP source keeps; the source stays usable. */
  close(): Promise<void> {
    return this.#http.close();
  }

  /** Re-throws the HTTP source's errors with the `s3://` URL in place of the endpoint URL. */
  async #named<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      let message = err.message.replaceAll(this.#http.url.href, this.url.href);
      for (const secret of this.#secrets) message = message.replaceAll(secret, "***");
      // S3 answers a request signed for the wrong region with these instead of redirecting.
      if (/PermanentRedirect|AuthorizationHeaderMalformed|IllegalLocationConstraint/.test(message)) {
        message += "; check the bucket's region";
      }
      throw new SourceError(message, { status: err.status, url: this.url.href, cause: err });
    }
  }
}

/**
 * Opens an `s3://bucket/key` URL as a {@link ByteSource}; see {@link S3Source}.
 * @throws SourceError 400 for a malformed URL or endpoint.
 */
export function openS3Source(url: string | URL, opts?: S3SourceOptions): Promise<S3Source> {
  return S3Source.open(url, opts);
}

/**
 * The HTTP(S) URL of an object: path-style under a custom endpoint, else AWS's virtual-hosted style.
 * @throws SourceError 400 naming `plain` for an endpoint that is not a plain http(s) URL.
 */
export function endpointUrl(
  bucket: string,
  key: string,
  region: string,
  endpoint: string | undefined,
  plain: string,
) {
  if (endpoint === undefined) {
    if (bucket.includes(".")) return `https://s3.${region}.amazonaws.com${s3ObjectPath(bucket, key)}`;
    return `https://${bucket}.s3.${region}.amazonaws.com${s3ObjectPath(undefined, key)}`;
  }
  let base: URL;
  try {
    base = new URL(endpoint);
  } catch (err) {
    throw new SourceError(`endpoint ${endpoint} of ${plain} is not a URL`, {
      status: 400,
      url: plain,
      cause: err,
    });
  }
  if (
    (base.protocol !== "http:" && base.protocol !== "https:") ||
    base.username ||
    base.password ||
    base.search
  ) {
    throw new SourceError(`endpoint of ${plain} must be a plain http(s) URL`, { status: 400, url: plain });
  }
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${s3ObjectPath(bucket, key)}`;
}

/** Sends requests as they are; a redirect is not followed, since S3 only redirects on a wrong region. */
function unsignedFetch(transport: FetchLike): FetchLike {
  return (url, init) => transport(url, { ...init, redirect: "manual" });
}

/** Signs each request with SigV4 just before it is sent (so retries get a fresh date). */
function signingFetch(
  transport: FetchLike,
  credentials: NonNullable<S3SourceOptions["credentials"]>,
  region: string,
  plain: string,
): FetchLike {
  return async (url, init) => {
    let creds: AwsCredentials;
    try {
      creds = typeof credentials === "function" ? await credentials() : credentials;
    } catch (err) {
      // The provider's own message may quote what it read, so it stays in `cause` only.
      throw new SourceError(`no credentials for ${plain}: the credential provider failed`, {
        status: 401,
        url: plain,
        cause: err,
      });
    }
    const headers = signRequest(init.method ?? "GET", new URL(url), new Headers(init.headers), {
      credentials: creds,
      region,
    });
    return transport(url, { ...init, headers, redirect: "manual" });
  };
}
