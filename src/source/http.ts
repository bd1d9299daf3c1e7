import { SourceError } from "../errors.js";
import { type BearerTokenOptions, withBearerToken } from "./earthdata.js";
import { checkRange } from "./file.js";
import { socketTransport } from "./http-socket.js";
import { threadTransport } from "./http-thread.js";
import {
  type FetchLike,
  fetchTransport,
  type HttpReply,
  type HttpTransport,
  nodeTransport,
} from "./http-transport.js";
import type { Limiter } from "./limit.js";
import { createLimiter } from "./limit.js";
import type { BackoffOptions } from "./retry.js";
import { DEFAULT_RETRIES, retrying } from "./retry.js";
import type { ByteSource, ReadOptions } from "./types.js";

/** Default largest number of requests one {@link HttpSource} has in flight. */
export const DEFAULT_HTTP_CONCURRENCY = 16;

/**
 * Default stall timeout, milliseconds: an attempt fails (and is retried) when no response headers or
 * body bytes arrive for this long. It bounds silence, not transfer time, so large bodies on slow links
 * still complete.
 */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/**
 * Default largest body kept from a server that ignores ranges, bytes. Such a server sends the whole object
 * for every read, so it is kept in memory once; past this size that would crowd out the query itself.
 */
export const DEFAULT_MAX_WHOLE_BYTES = 1024 * 1024 * 1024;

export type { FetchLike } from "./http-transport.js";

/** Options of {@link HttpSource.open}. */
export interface HttpSourceOptions {
  /**
   * Sends the requests instead of the default node:http client (keep-alive connections, measured
   * cheaper in CPU per request than the global `fetch`). This is where auth goes.
   */
  fetch?: FetchLike;
  /**
   * The HTTP client when no `fetch` is given. `auto` (the default): http: URLs through the plain-TCP
   * HTTP/1.1 reader of `http-socket.ts` (a range body is read by the kernel straight into the buffer
   * returned), https: through node:https; `node`: node:http and node:https for both; `thread`: as
   * `auto`, on the network thread (http-thread.ts), which takes the bodies in there (long range bodies
   * into shared memory) and leaves this thread's CPU to the caller: for runs that read much more than
   * they compute on, as an index run does.
   */
  client?: "auto" | "node" | "thread";
  /**
   * A bearer token (Earthdata Login) sent only to its allowed hosts, redirects followed by
   * `withBearerToken` (earthdata.ts) around `fetch` (or the global `fetch`); with client `thread` and no
   * `fetch` given, on the network thread. `SourceOptions.bearer` comes here.
   */
  bearer?: BearerTokenOptions;
  /** Extra request headers sent with every request (e.g. `Authorization`); never shown in errors. */
  headers?: Record<string, string>;
  /** Requests in flight at once for this source; default {@link DEFAULT_HTTP_CONCURRENCY}. */
  concurrency?: number;
  /** A limiter shared with other sources (bounds all their requests together); overrides `concurrency`. */
  limiter?: Limiter;
  /**
   * Retries of 5xx, 429, network errors, truncated bodies and stalls; default {@link DEFAULT_RETRIES}.
   * A Retry-After header lengthens the wait (up to the backoff maximum).
   */
  retries?: number;
  /** Backoff between retries; defaults in `retry.ts` (100 ms base, 5 s cap, full jitter). */
  backoff?: BackoffOptions;
  /** Stall timeout per attempt, milliseconds; default {@link DEFAULT_HTTP_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * Largest object read whole from a server that answers range requests with 200, bytes; a larger one
   * fails with SourceError 501. Default {@link DEFAULT_MAX_WHOLE_BYTES}.
   */
  maxWholeBytes?: number;
  /**
   * Told of conditions worth a user's attention that do not stop the reads, at most once per source
   * per code; the library prints nothing itself. Default: none.
   */
  onWarning?: (warning: SourceWarning) => void;
}

/** Something a source noticed about its server that costs time or bytes but does not fail the reads. */
export interface SourceWarning {
  /** `ignores-range`: the server answered a range request with 200 and the whole object. */
  code: "ignores-range";
  /** The object's URL, credentials redacted. */
  url: string;
  /** Scheme, host and port of the server, e.g. `http://127.0.0.1:8080`. */
  origin: string;
  /** Bytes received for the whole object. */
  bytes: number;
  /**
   * One line saying what happened: "https://host ignores Range requests; whole objects are
   * downloaded (N bytes for ATL06_x.h5)".
   */
  message: string;
}

/** What identifies the version of the object that was read (recorded by the indexer). */
export interface HttpFingerprint {
  /** Object size, bytes. */
  size: number;
  /** The ETag pinned at the first response, as sent (quotes included). */
  etag: string | undefined;
  /** The Last-Modified pinned at the first response (HTTP date). */
  lastModified: string | undefined;
}

/** Request counters of an {@link HttpSource}. */
export interface HttpStats {
  /** HTTP requests sent, retries and HEAD included. */
  requests: number;
  /** Attempts that failed transiently and were tried again. */
  retries: number;
  /**
   * Body bytes received: what a 206 carried, or the whole object when the server ignored the range.
   * A duplicate whole body (another request for the same object was already answered with one) is
   * cancelled after its headers; only bytes read before that count.
   */
  bytes: number;
}

/** Bytes of the object starting at file offset `start`. */
interface Got {
  start: number;
  bytes: Uint8Array;
}

type Handler<T> = (res: HttpReply, progress: () => void) => Promise<T>;

/** One logical request; `early` may answer it without sending anything (checked in each attempt). */
interface Call<T> {
  method: "GET" | "HEAD";
  range?: string;
  early?: () => Promise<T | undefined>;
}

/**
 * An HTTP(S) object read with range GETs. Size comes from the first ranged response's Content-Range
 * (or a HEAD, falling back to `bytes=0-0` when HEAD is forbidden, as on presigned URLs). The first
 * ETag (else Last-Modified) is pinned: a later response with another one fails with SourceError 409,
 * so data of two versions is never mixed. A server that ignores ranges (200 with the whole body) is
 * detected, reported once to `onWarning`, and its body is kept and sliced for every later read.
 * @example
 * const src = await HttpSource.open("https://data.example/ATL06.h5", { headers: { Authorization } });
 * const bytes = await src.read(0, 1024);
 */
export class HttpSource implements ByteSource {
  /** The object's URL with any credentials (user info, signature or token parameters) redacted. */
  readonly url: URL;
  readonly #target: string;
  /** Request headers by lower-case name. */
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  readonly #transport: HttpTransport;
  readonly #limiter: Limiter;
  readonly #retries: number;
  readonly #backoff: BackoffOptions;
  readonly #timeoutMs: number;
  readonly #maxWholeBytes: number;
  readonly #onWarning: HttpSourceOptions["onWarning"];
  readonly #stats: HttpStats = { requests: 0, retries: 0, bytes: 0 };
  #warned = false;
  #known: number | undefined;
  #size: Promise<number> | undefined;
  #whole: Promise<Uint8Array> | undefined;
  #pinned = false;
  #etag: string | undefined;
  #lastModified: string | undefined;

  private constructor(target: URL, opts: HttpSourceOptions) {
    const { url, secrets, authorization } = splitCredentials(target);
    this.url = url;
    // fetch refuses URLs with user info; it travels as a Basic Authorization header instead.
    const bare = new URL(target.href);
    bare.username = "";
    bare.password = "";
    this.#target = bare.href;
    this.#headers = { "accept-encoding": "identity" };
    if (authorization) this.#headers.authorization = authorization;
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      this.#headers[name.toLowerCase()] = value;
      if (SENSITIVE_HEADER.test(name)) secrets.push(value);
    }
    this.#secrets = secrets.filter((s) => s.length >= 4);
    this.#transport = transportOf(target, opts);
    this.#limiter = opts.limiter ?? createLimiter(opts.concurrency ?? DEFAULT_HTTP_CONCURRENCY);
    this.#retries = opts.retries ?? DEFAULT_RETRIES;
    this.#backoff = opts.backoff ?? {};
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.#maxWholeBytes = opts.maxWholeBytes ?? DEFAULT_MAX_WHOLE_BYTES;
    this.#onWarning = opts.onWarning;
  }

  /**
   * Prepares an HTTP(S) source; no request is sent until the first `size` or `read`. User info in the
   * URL is sent as a Basic Authorization header.
   * @throws SourceError 400 for a malformed URL, 501 for a scheme other than http: or https:;
   *   RangeError for a `concurrency` that is not a positive integer.
   */
  static async open(url: string | URL, opts: HttpSourceOptions = {}): Promise<HttpSource> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new SourceError("malformed URL", { status: 400, url: "", cause: err });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      const { url: safe } = splitCredentials(parsed);
      throw new SourceError(`scheme ${parsed.protocol} of ${safe.href} is not HTTP(S)`, {
        status: 501,
        url: safe.href,
      });
    }
    return new HttpSource(parsed, opts);
  }

  /** The pinned ETag, once a response has been seen. */
  get etag(): string | undefined {
    return this.#etag;
  }

  /** The pinned Last-Modified date, once a response has been seen. */
  get lastModified(): string | undefined {
    return this.#lastModified;
  }

  /** A copy of the request counters. */
  get stats(): HttpStats {
    return { ...this.#stats };
  }

  /**
   * Object size in bytes: known after any read, else learned with one HEAD (or `bytes=0-0` GET when
   * HEAD is forbidden). Memoised; a failure is forgotten so the next call asks again.
   * @throws SourceError 404/403 and friends, 5xx after the retries.
   */
  size(opts?: ReadOptions): Promise<number> {
    opts?.signal?.throwIfAborted();
    if (this.#known !== undefined) return Promise.resolve(this.#known);
    // The probe is shared by concurrent callers, so it runs without any one caller's signal.
    this.#size ??= this.#probeSize().catch((err: unknown) => {
      this.#size = undefined;
      throw err;
    });
    return raceSignal(this.#size, opts?.signal);
  }

  /** Size, ETag and Last-Modified of the version being read (sends a request only if none was sent). */
  async fingerprint(opts?: ReadOptions): Promise<HttpFingerprint> {
    const size = await this.size(opts);
    return { size, etag: this.#etag, lastModified: this.#lastModified };
  }

  /**
   * Reads exactly `length` bytes at `offset` with one range GET (retried when transient).
   * @throws SourceError 416 past the end; 404/403 for a missing or denied object; 409 when the object
   *   changed since the first response; 5xx/502 (network, truncation)/504 (stall) after the retries.
   */
  async read(offset: number, length: number, opts?: ReadOptions): Promise<Uint8Array> {
    checkRange(offset, length, this.url);
    const signal = opts?.signal;
    signal?.throwIfAborted();
    if (length === 0) {
      const size = await this.size(opts);
      if (offset > size) throw this.#pastEnd(offset, length);
      return new Uint8Array(0);
    }
    if (this.#known !== undefined && offset + length > this.#known) throw this.#pastEnd(offset, length);
    const got = await this.#get(offset, length, signal);
    if (offset + length > got.start + got.bytes.length) throw this.#pastEnd(offset, length);
    signal?.throwIfAborted();
    return got.bytes.subarray(offset - got.start, offset - got.start + length);
  }

  /**
   * The whole object with one GET of an open-ended range (`bytes=0-`), its size learned from the
   * answer: one request and one round where `size()` then `read()` take two (once the size is known,
   * the same as `read(0, size)`).
   * @throws as {@link read}.
   */
  async readAll(opts?: ReadOptions): Promise<Uint8Array> {
    const signal = opts?.signal;
    signal?.throwIfAborted();
    if (this.#known !== undefined) return this.read(0, this.#known, opts);
    const got = await this.#getFromStart(undefined, signal);
    if (!got) return new Uint8Array(0);
    signal?.throwIfAborted();
    // A server may answer an open-ended range with less than the rest (a range it chose itself).
    if (got.start !== 0 || this.#known === undefined || got.bytes.length !== this.#known) {
      return this.read(0, await this.size(opts), opts);
    }
    return got.bytes;
  }

  /**
   * The first `length` bytes (all of them when the object is shorter) with one range GET, the size,
   * ETag and Last-Modified learned from the answer: where `size()` (a HEAD) and then `read()` take two
   * rounds. An index run reads a new granule's first bytes so, in place of the HEAD that fingerprinted
   * it, and knows from them that it is HDF5 before it fetches the rest.
   * @throws as {@link read}, but not for a short object.
   */
  async readPrefix(length: number, opts?: ReadOptions): Promise<Uint8Array> {
    checkRange(0, length, this.url);
    const signal = opts?.signal;
    signal?.throwIfAborted();
    if (this.#known !== undefined || length === 0) {
      return this.read(0, Math.min(length, await this.size(opts)), opts);
    }
    const got = await this.#getFromStart(length, signal);
    if (!got) return new Uint8Array(0);
    signal?.throwIfAborted();
    // A range the server chose itself: read what was asked, now that the size is known.
    if (got.start !== 0) return this.read(0, Math.min(length, await this.size(opts)), opts);
    return got.bytes.subarray(0, Math.min(length, got.bytes.length));
  }

  /** A GET from the object's start (`length` bytes, or to its end); undefined for an empty object. */
  async #getFromStart(length: number | undefined, signal: AbortSignal | undefined): Promise<Got | undefined> {
    try {
      return await this.#get(0, length, signal);
    } catch (err) {
      // An empty object answers any range with 416 and Content-Range "bytes */0".
      if (err instanceof SourceError && err.status === 416 && this.#known === 0) return undefined;
      throw err;
    }
  }

  /** Drops the kept body of a server that ignores ranges; the source stays usable. */
  async close(): Promise<void> {
    this.#whole = undefined;
  }

  async #probeSize(): Promise<number> {
    const size = await this.#request({ method: "HEAD" }, undefined, async (res) => {
      // Presigned URLs are signed for GET only, so HEAD gets 403 (S3) or 405 (some CDNs).
      if (res.status === 403 || res.status === 405 || res.status === 501) return discard(res, undefined);
      await this.#check(res, "HEAD");
      const length = contentLength(res);
      return discard(res, length);
    });
    if (size !== undefined) return this.#learnSize(size);
    try {
      await this.#get(0, 1, undefined);
    } catch (err) {
      // An empty object answers bytes=0-0 with 416 and Content-Range "bytes */0".
      if (!(err instanceof SourceError && err.status === 416 && this.#known === 0)) throw err;
    }
    if (this.#known === undefined) {
      throw new SourceError(`${this.url.href} reports no size`, { status: 502, url: this.url.href });
    }
    return this.#known;
  }

  /** One range GET of `length` bytes at `offset`, or of everything from `offset` when `length` is undefined. */
  async #get(offset: number, length: number | undefined, signal: AbortSignal | undefined): Promise<Got> {
    // Once a server is known to ignore ranges, reads (also those queued behind the limiter) use its body.
    const kept = async (): Promise<Got | undefined> => {
      const whole = this.#whole;
      // When the kept body failed (its reader aborted, say), fall through and ask again.
      const bytes = whole && (await raceSignal(whole, signal).catch(() => undefined));
      return bytes && { start: 0, bytes };
    };
    const early = await kept();
    if (early) return early;
    const range = length === undefined ? `bytes=${offset}-` : `bytes=${offset}-${offset + length - 1}`;
    return this.#request({ method: "GET", range, early: kept }, signal, async (res, progress) => {
      if (res.status === 416) {
        const total = parseContentRange(res.header("content-range"))?.total;
        await discard(res, undefined);
        if (total !== undefined) this.#learnSize(total);
        throw this.#pastEnd(offset, length ?? 0);
      }
      await this.#check(res, range);
      if (res.status === 200) return { start: 0, bytes: await this.#wholeBody(res, progress, range) };
      const cr = parseContentRange(res.header("content-range"));
      if (res.status !== 206 || !cr || cr.start === undefined || cr.start > offset) {
        await discard(res, undefined);
        const what = `HTTP ${res.status} with Content-Range ${res.header("content-range")}`;
        throw this.#error(502, `${this.url.href} answered ${range} with ${what}`);
      }
      if (cr.total !== undefined) this.#learnSize(cr.total);
      return { start: cr.start, bytes: await this.#body(res, cr.end - cr.start + 1, progress, range) };
    });
  }

  /** Reads a 200 answer to a range request: the server ignores ranges, so keep the body for later reads. */
  async #wholeBody(res: HttpReply, progress: () => void, range: string): Promise<Uint8Array> {
    if (this.#whole) {
      await discard(res, undefined);
      return this.#whole;
    }
    const length = contentLength(res);
    if (length !== undefined && length > this.#maxWholeBytes) {
      await discard(res, undefined);
      throw this.#tooBig(length);
    }
    const whole = this.#body(res, length, progress, range).then((bytes) => {
      this.#learnSize(bytes.length);
      this.#warnIgnoredRange(bytes.length);
      return bytes;
    });
    this.#whole = whole;
    whole.catch(() => {
      if (this.#whole === whole) this.#whole = undefined;
    });
    return whole;
  }

  /** Tells `onWarning`, once, that this object's server sends whole objects for range requests. */
  #warnIgnoredRange(bytes: number): void {
    if (this.#warned || !this.#onWarning) return;
    this.#warned = true;
    const { origin, href, pathname } = this.url;
    const name = decodeURIComponent(pathname.split("/").pop() ?? "") || href;
    const message = `${origin} ignores Range requests; whole objects are downloaded (${bytes} bytes for ${name})`;
    try {
      this.#onWarning({ code: "ignores-range", url: href, origin, bytes, message });
    } catch {
      // An observer's failure must not fail the read it observes.
    }
  }

  /** One request, retried when transient; each attempt holds a limiter slot and has a stall timer. */
  async #request<T>(what: Call<T>, signal: AbortSignal | undefined, handle: Handler<T>): Promise<T> {
    let attempts = 0;
    try {
      return await retrying(
        () => {
          attempts += 1;
          return this.#limiter.run(() => this.#attempt(what, signal, handle), signal);
        },
        {
          ...this.#backoff,
          retries: this.#retries,
          signal,
          retryable: isTransient,
          delayHint: (err) => (err instanceof SourceError ? RETRY_AFTER.get(err) : undefined),
          onRetry: () => {
            this.#stats.retries += 1;
          },
        },
      );
    } catch (err) {
      if (attempts > 1 && err instanceof SourceError && isTransient(err)) {
        throw this.#error(err.status, `${err.message} (gave up after ${attempts} attempts)`, err);
      }
      throw err;
    }
  }

  async #attempt<T>(what: Call<T>, signal: AbortSignal | undefined, handle: Handler<T>): Promise<T> {
    const early = await what.early?.();
    if (early !== undefined) return early;
    const headers = what.range ? { ...this.#headers, range: what.range } : this.#headers;
    const label = what.range ?? what.method;
    const stall = new AbortController();
    const timer = setTimeout(() => stall.abort(), this.#timeoutMs);
    const progress = () => timer.refresh();
    this.#stats.requests += 1;
    try {
      const res = await this.#transport(this.#target, {
        method: what.method,
        headers,
        signal: signal ? AbortSignal.any([signal, stall.signal]) : stall.signal,
        progress,
      });
      progress();
      return await handle(res, progress);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (stall.signal.aborted) {
        throw this.#error(504, `${this.url.href} sent nothing for ${this.#timeoutMs} ms (${label})`, err);
      }
      // Tear down the connection of a body left half read.
      stall.abort();
      if (err instanceof SourceError) throw err;
      throw this.#error(502, `network error reading ${this.url.href} (${label}): ${reasonOf(err)}`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws the SourceError for a status that is not a success, after reading the error body. */
  async #check(res: HttpReply, label: string): Promise<void> {
    if (res.status >= 200 && res.status < 300) return this.#pin(res);
    const code = /<Code>([A-Za-z]{1,64})<\/Code>/.exec(await smallText(res))?.[1];
    const detail = `HTTP ${res.status}${code ? ` ${code}` : ""}`;
    if (res.status === 404 || res.status === 410)
      throw this.#error(404, `${this.url.href} not found (${detail})`);
    if (res.status === 401 || res.status === 403) {
      throw this.#error(res.status, `access to ${this.url.href} denied (${detail})`);
    }
    const err = this.#error(res.status, `${this.url.href} answered ${detail} (${label})`);
    const wait = retryAfterMs(res.header("retry-after"));
    if (wait !== undefined) RETRY_AFTER.set(err, wait);
    throw err;
  }

  /** Pins the first ETag (else Last-Modified); throws 409 when a later response carries another. */
  #pin(res: HttpReply): void {
    const etag = res.header("etag") ?? undefined;
    const lastModified = res.header("last-modified") ?? undefined;
    if (!this.#pinned) {
      this.#pinned = etag !== undefined || lastModified !== undefined;
      this.#etag = etag;
      this.#lastModified = lastModified;
      return;
    }
    if (this.#etag !== undefined) {
      if (etag !== undefined && strong(etag) !== strong(this.#etag))
        throw this.#changed(`ETag ${this.#etag} -> ${etag}`);
    } else if (lastModified !== undefined && lastModified !== this.#lastModified) {
      throw this.#changed(`Last-Modified ${this.#lastModified} -> ${lastModified}`);
    }
  }

  #learnSize(size: number): number {
    if (this.#known === undefined) this.#known = size;
    else if (this.#known !== size) throw this.#changed(`size ${this.#known} -> ${size}`);
    return size;
  }

  /** Reads a body of `expected` bytes (unknown: whatever comes); shorter or longer fails with 502. */
  async #body(
    res: HttpReply,
    expected: number | undefined,
    progress: () => void,
    label: string,
  ): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let out: Uint8Array | undefined;
    let got = 0;
    for (;;) {
      const chunk = await res.read();
      if (chunk === undefined) break;
      progress();
      this.#stats.bytes += chunk.length;
      // A transport that read the whole body into one buffer hands it over as it is, without a copy.
      if (got === 0 && chunk.length === expected && !(chunk instanceof Buffer)) {
        out = chunk;
        got = chunk.length;
        continue;
      }
      if (expected !== undefined && out === undefined) out = new Uint8Array(expected);
      if (out && got + chunk.length > out.length) {
        await res.cancel();
        throw this.#error(502, `body of ${this.url.href} (${label}) is longer than ${expected} bytes`);
      }
      if (out) out.set(chunk, got);
      else parts.push(chunk);
      got += chunk.length;
      if (!out && got > this.#maxWholeBytes) {
        await res.cancel();
        throw this.#tooBig(got);
      }
    }
    if (expected !== undefined && got < expected) {
      throw this.#error(502, `body of ${this.url.href} (${label}) ended after ${got} of ${expected} bytes`);
    }
    return out ?? (expected === 0 ? new Uint8Array(0) : concat(parts, got));
  }

  #pastEnd(offset: number, length: number): SourceError {
    const size = this.#known === undefined ? "" : ` (size ${this.#known})`;
    return this.#error(416, `range ${offset}+${length} passes the end of ${this.url.href}${size}`);
  }

  #tooBig(bytes: number): SourceError {
    const message = `${this.url.href} ignores range requests and its body (${bytes} bytes or more) is larger than maxWholeBytes ${this.#maxWholeBytes}`;
    return this.#error(501, message);
  }

  #changed(what: string): SourceError {
    return this.#error(409, `${this.url.href} changed since first read (${what})`);
  }

  /** A SourceError about this object, with every known secret scrubbed from the message. */
  #error(status: number, message: string, cause?: unknown): SourceError {
    let text = message;
    for (const secret of this.#secrets) text = text.replaceAll(secret, "***");
    return new SourceError(text, { status, url: this.url.href, cause });
  }
}

/** How a source's requests are sent (see {@link HttpSourceOptions.client}). */
function transportOf(target: URL, opts: HttpSourceOptions): HttpTransport {
  if (opts.client === "thread" && !opts.fetch) return threadTransport({ bearer: opts.bearer });
  const fetchLike = opts.bearer ? withBearerToken(opts.bearer, opts.fetch) : opts.fetch;
  if (fetchLike) return fetchTransport(fetchLike);
  return target.protocol === "http:" && opts.client !== "node" ? socketTransport() : nodeTransport();
}

/**
 * Opens an HTTP(S) URL as a {@link ByteSource}; see {@link HttpSource}.
 * @throws SourceError 400 for a malformed URL, 501 for a scheme other than http: or https:.
 */
export function openHttpSource(url: string | URL, opts?: HttpSourceOptions): Promise<HttpSource> {
  return HttpSource.open(url, opts);
}

/** Header names whose values are credentials. */
const SENSITIVE_HEADER = /authorization|cookie|token|secret|key|signature|credential/i;

/** Query parameter names whose values are credentials (presigned S3/CloudFront/Azure URLs, tokens). */
const SENSITIVE_PARAM = /signature|credential|token|secret|password|key|^sig$|^policy$|^auth/i;

/** Waits asked for by a 429 or 503's Retry-After header, milliseconds. */
const RETRY_AFTER = new WeakMap<SourceError, number>();

/** Parses Retry-After: delay seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Statuses (and failures mapped onto them) worth retrying: server errors, throttling, timeouts. */
function isTransient(err: unknown): boolean {
  if (!(err instanceof SourceError)) return false;
  const s = err.status;
  return s === 408 || s === 429 || (s >= 500 && s !== 501 && s !== 505);
}

/** Splits user info and secret query values off a URL: the redacted URL, the secrets, a Basic header. */
function splitCredentials(target: URL): { url: URL; secrets: string[]; authorization?: string } {
  const url = new URL(target.href);
  const secrets: string[] = [];
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    secrets.push(password, url.password, authorization.slice(6));
    url.username = "";
    url.password = "";
  }
  const names = [...url.searchParams.keys()].filter((name) => SENSITIVE_PARAM.test(name));
  for (const name of names) {
    for (const value of url.searchParams.getAll(name)) secrets.push(value, encodeURIComponent(value));
    url.searchParams.set(name, "REDACTED");
  }
  return { url, secrets, authorization };
}

/** Parses `bytes a-b/n`, `bytes a-b/*` or `bytes *\/n`. */
function parseContentRange(
  header: string | null,
): { start: number; end: number; total?: number } | { start: undefined; total?: number } | undefined {
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(header?.trim() ?? "");
  if (!m) return undefined;
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (m[1] === undefined) return { start: undefined, total };
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end < start ? undefined : { start, end, total };
}

function contentLength(res: HttpReply): number | undefined {
  const value = res.header("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Releases a response body that is not needed, then returns `value`. */
async function discard<T>(res: HttpReply, value: T): Promise<T> {
  await res.cancel();
  return value;
}

/** The first KiB of an error body (S3 puts its error code there); the rest is dropped. */
async function smallText(res: HttpReply): Promise<string> {
  const first = await res.read();
  await res.cancel();
  return first === undefined ? "" : new TextDecoder().decode(first.subarray(0, 1024));
}

/** Resolves or rejects as `promise` does, or rejects with the signal's reason when it aborts first. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** A short reason for a network failure: the system error code when there is one. */
function reasonOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (cause instanceof Error && "code" in cause && typeof cause.code === "string") return cause.code;
  return cause instanceof Error ? cause.message : String(cause);
}

function strong(etag: string): string {
  return etag.startsWith("W/") ? etag.slice(2) : etag;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
