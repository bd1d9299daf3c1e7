import { fileURLToPath } from "node:url";
import { SourceError } from "../errors.js";
import type { BearerTokenOptions } from "./earthdata.js";
import { openFileSource } from "./file.js";
import type { HttpSourceOptions } from "./http.js";
import { openHttpSource } from "./http.js";
import type { Limiter } from "./limit.js";
import { createLimiter } from "./limit.js";
import type { S3SourceOptions } from "./s3.js";
import type { ByteSource } from "./types.js";

/** A byte source that may hold an OS resource; call `close` when done (a no-op for others). */
export type OpenedSource = ByteSource & { close(): Promise<void> };

/** Options of remote sources; the library never reads them from the environment (the CLI does). */
export interface SourceOptions {
  /**
   * Options of HTTP(S) sources (auth headers or `fetch`, concurrency, retries, timeout); the shared ones
   * (limiter, concurrency, retries, backoff, timeout) apply to S3 requests too.
   */
  http?: HttpSourceOptions;
  /** Options of `s3:` sources (region, endpoint, credentials); none means anonymous requests to AWS. */
  s3?: S3SourceOptions;
  /** A bearer token (Earthdata Login) for HTTPS sources, sent only to its allowed hosts. */
  bearer?: BearerTokenOptions;
  /**
   * Largest number of requests in flight at once over every HTTP(S) and S3 source opened with this
   * same options object (an index or query run passes one object for all its granules), so a run over
   * thousands of granules never holds more sockets than this. Overrides `http.limiter`. Default: no
   * shared bound, each source keeps its own `http.concurrency`.
   */
  maxRequests?: number;
}

/** The limiter shared by the sources opened with one options object. */
const SHARED_LIMITERS = new WeakMap<SourceOptions, Limiter>();

/** `opts.http` with the shared limiter of `opts.maxRequests`, if any. */
function httpOptionsOf(opts: SourceOptions): HttpSourceOptions | undefined {
  if (opts.maxRequests === undefined) return opts.http;
  let limiter = SHARED_LIMITERS.get(opts);
  if (!limiter) {
    limiter = createLimiter(opts.maxRequests);
    SHARED_LIMITERS.set(opts, limiter);
  }
  return { ...opts.http, limiter };
}

/**
 * Opens a byte source by URL scheme: a plain path or `file:` URL opens a local file, `http:` and `https:`
 * an HTTP source, `s3:` an S3 source (its module is loaded on first use). No request is sent until the
 * first read.
 * @throws SourceError 404 for a missing file; 400 for a malformed `s3:` URL; 501 for any other scheme.
 */
export async function openSource(pathOrUrl: string | URL, opts: SourceOptions = {}): Promise<OpenedSource> {
  const scheme = schemeOf(pathOrUrl);
  if (scheme === undefined) return openFileSource(pathOrUrl);
  if (scheme === "file:") return openFileSource(fileURLToPath(pathOrUrl));
  if (scheme === "http:" || scheme === "https:") {
    const base = httpOptionsOf(opts);
    const http = opts.bearer ? { ...base, bearer: opts.bearer } : base;
    return openHttpSource(pathOrUrl, http);
  }
  if (scheme === "s3:") {
    const { openS3Source } = await import("./s3.js");
    const { headers: _headers, fetch: _fetch, ...shared } = httpOptionsOf(opts) ?? {};
    return openS3Source(pathOrUrl, { ...shared, ...opts.s3 });
  }
  const href = String(pathOrUrl);
  throw new SourceError(`source scheme ${scheme} of ${href} is unknown`, { status: 501, url: href });
}

/** The URL scheme (with colon), or undefined for a plain path (including Windows drive letters). */
function schemeOf(pathOrUrl: string | URL): string | undefined {
  if (pathOrUrl instanceof URL) return pathOrUrl.protocol;
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(pathOrUrl);
  return match ? `${match[1]!.toLowerCase()}:` : undefined;
}
