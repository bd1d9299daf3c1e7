/**
 * Writing S3 objects: whole-object GET with its ETag, PUT (conditional with `If-None-Match: *` or
 * `If-Match`), DELETE, LIST (ListObjectsV2 with continuation) and multipart upload. Requests are
 * signed with SigV4 (payload hash included) or sent unsigned, with the region, endpoint and credentials
 * of {@link S3SourceOptions}. Loaded lazily, like the S3 source, only when an `s3:` store or output appears.
 */
import { createHash } from "node:crypto";
import { ConditionalWriteError, SourceError } from "../errors.js";
import { DEFAULT_RETRIES, retrying } from "./retry.js";
import { DEFAULT_S3_REGION, endpointUrl, parseS3Url, type S3SourceOptions } from "./s3.js";
import type { AwsCredentials } from "./sigv4.js";
import { signRequest } from "./sigv4.js";

/** Options of {@link S3Objects}: the region, endpoint and credentials of the S3 source. */
export type S3ObjectsOptions = Pick<
  S3SourceOptions,
  "region" | "endpoint" | "credentials" | "fetch" | "retries"
>;

/** A conditional write: create only (`ifNoneMatch: "*"`), or replace only the version with this ETag. */
export interface WriteCondition {
  /** `"*"`: fail with 412 when the object exists. */
  ifNoneMatch?: "*";
  /** Fail with 412 unless the object's ETag is this one (quoted, as S3 returns it). */
  ifMatch?: string;
  signal?: AbortSignal;
}

/** An object read whole. */
export interface S3Object {
  body: Uint8Array;
  /** ETag, quoted as S3 returns it. */
  etag: string;
}

/** One object of a listing. */
export interface S3Listed {
  /** `s3://bucket/key`. */
  url: string;
  key: string;
  size: number;
  /** Last-Modified, ms since the epoch. */
  lastModified: number;
}

type Query = Record<string, string>;

interface SendOptions {
  query?: Query;
  body?: Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** A conditional request is not retried after a network error: the first attempt may have landed. */
  conditional?: boolean;
}

/** Statuses S3 answers before doing anything, so every request may be retried on them. */
const REFUSED_BEFORE_WRITE = new Set([429, 503]);

/**
 * S3 object writes and whole reads for one endpoint and set of credentials. Every error names the
 * `s3://` URL: {@link SourceError} (404 missing, 403 denied, 5xx after the retries) or
 * {@link ConditionalWriteError} (412 `PreconditionFailed`, 409 `ConditionalRequestConflict`).
 * @example
 * const s3 = new S3Objects({ endpoint, credentials });
 * const etag = await s3.put("s3://bucket/store/manifest.json", bytes, { ifNoneMatch: "*" });
 */
export class S3Objects {
  readonly #opts: S3ObjectsOptions;

  constructor(opts: S3ObjectsOptions = {}) {
    this.#opts = opts;
  }

  /** Reads a whole object with its ETag; undefined when there is none (404 NoSuchKey). */
  async get(url: string, opts: { signal?: AbortSignal } = {}): Promise<S3Object | undefined> {
    try {
      const res = await this.#send("GET", url, { signal: opts.signal });
      return { body: new Uint8Array(await res.arrayBuffer()), etag: res.headers.get("etag") ?? "" };
    } catch (err) {
      // A missing bucket is an error, not an absent object.
      if (err instanceof SourceError && err.status === 404 && !err.message.includes("NoSuchBucket"))
        return undefined;
      throw err;
    }
  }

  /**
   * Writes a whole object, optionally on a condition; returns its new ETag.
   * @throws ConditionalWriteError when the condition fails or a conflicting write is in progress.
   */
  async put(url: string, body: Uint8Array, opts: WriteCondition = {}): Promise<string> {
    const res = await this.#send("PUT", url, {
      body,
      headers: conditionHeaders(opts),
      signal: opts.signal,
      conditional: isConditional(opts),
    });
    return res.headers.get("etag") ?? "";
  }

  /** Deletes an object (S3 answers 204 whether it existed or not). */
  async delete(url: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#send("DELETE", url, { signal: opts.signal });
  }

  /** Every object whose key starts with the key of `prefixUrl` (`s3://bucket/prefix/`), page by page. */
  async list(prefixUrl: string, opts: { signal?: AbortSignal; pageSize?: number } = {}): Promise<S3Listed[]> {
    const { bucket, key: prefix } = parseBucketPrefix(prefixUrl);
    const out: S3Listed[] = [];
    let token: string | undefined;
    do {
      const query: Query = { "list-type": "2", prefix };
      if (opts.pageSize !== undefined) query["max-keys"] = String(opts.pageSize);
      if (token !== undefined) query["continuation-token"] = token;
      const res = await this.#send("GET", `s3://${bucket}/`, { query, signal: opts.signal });
      const xml = await res.text();
      for (const item of xmlElements(xml, "Contents")) {
        const key = xmlText(item, "Key") ?? "";
        out.push({
          url: `s3://${bucket}/${key}`,
          key,
          size: Number(xmlText(item, "Size") ?? 0),
          lastModified: Date.parse(xmlText(item, "LastModified") ?? ""),
        });
      }
      token = xmlText(xml, "IsTruncated") === "true" ? xmlText(xml, "NextContinuationToken") : undefined;
    } while (token !== undefined);
    return out;
  }

  /** Starts a multipart upload; returns its upload id. */
  async createMultipart(url: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const res = await this.#send("POST", url, { query: { uploads: "" }, signal: opts.signal });
    const id = xmlText(await res.text(), "UploadId");
    if (!id)
      throw new SourceError(`${url}: the server started a multipart upload without an id`, {
        status: 502,
        url,
      });
    return id;
  }

  /** Uploads part `partNumber` (1-based; all but the last at least 5 MiB); returns its ETag. */
  async uploadPart(
    url: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    opts: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const query = { partNumber: String(partNumber), uploadId };
    const res = await this.#send("PUT", url, { query, body, signal: opts.signal });
    return res.headers.get("etag") ?? "";
  }

  /**
   * Makes the uploaded parts (their ETags in order) the object, optionally on a condition; returns its ETag.
   * @throws ConditionalWriteError when the condition fails or a conflicting write is in progress.
   */
  async completeMultipart(
    url: string,
    uploadId: string,
    etags: readonly string[],
    opts: WriteCondition = {},
  ): Promise<string> {
    const parts = etags.map(
      (e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(e)}</ETag></Part>`,
    );
    const body = new TextEncoder().encode(
      `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`,
    );
    const res = await this.#send("POST", url, {
      query: { uploadId },
      body,
      headers: { ...conditionHeaders(opts), "content-type": "application/xml" },
      signal: opts.signal,
      conditional: true,
    });
    const xml = await res.text();
    // S3 may answer 200 and report the failure in the body.
    const code = xmlText(xml, "Code");
    if (xml.includes("<Error>") && code) throw failure(url, "POST", 500, code);
    return xmlText(xml, "ETag") ?? res.headers.get("etag") ?? "";
  }

  /** Abandons a multipart upload and frees its parts. */
  async abortMultipart(url: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#send("DELETE", url, { query: { uploadId }, signal: opts.signal });
  }

  async #send(method: string, url: string, opts: SendOptions): Promise<Response> {
    const { bucket, key } = parseBucketPrefix(url);
    const region = this.#opts.region ?? DEFAULT_S3_REGION;
    const target = new URL(endpointUrl(bucket, key, region, this.#opts.endpoint, url));
    for (const [k, v] of Object.entries(opts.query ?? {})) target.searchParams.set(k, v);
    const transport = this.#opts.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
    // fetch takes bodies backed by an ArrayBuffer only; a view into shared memory is copied once
    // (fetch copies the body it is given anyway: a multipart part is held twice while in flight).
    const body = opts.body === undefined ? undefined : ownedBytes(opts.body);
    const payloadHash = createHash("sha256")
      .update(body ?? new Uint8Array())
      .digest("hex");
    const attempt = async () => {
      const headers = new Headers(opts.headers);
      const creds = await this.#credentials(url);
      if (creds) signRequest(method, target, headers, { credentials: creds, region, payloadHash });
      let res: Response;
      try {
        res = await transport(target.href, {
          method,
          headers,
          body,
          redirect: "manual",
          signal: opts.signal,
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        throw new SourceError(`${url}: ${method} failed (${(err as Error).message})`, {
          status: 503,
          url,
          cause: err,
        });
      }
      if (res.ok) return res;
      const text = await res.text().catch(() => "");
      throw failure(url, method, res.status, xmlText(text, "Code") ?? res.statusText);
    };
    return retrying(attempt, {
      retries: this.#opts.retries ?? DEFAULT_RETRIES,
      signal: opts.signal,
      retryable: (err) =>
        err instanceof SourceError &&
        (REFUSED_BEFORE_WRITE.has(err.status) || (!opts.conditional && err.status >= 500)),
    });
  }

  async #credentials(url: string): Promise<AwsCredentials | undefined> {
    const c = this.#opts.credentials;
    if (typeof c !== "function") return c;
    try {
      return await c();
    } catch (err) {
      // The provider's own message may quote what it read, so it stays in `cause` only.
      throw new SourceError(`no credentials for ${url}: the credential provider failed`, {
        status: 401,
        url,
        cause: err,
      });
    }
  }
}

/** `bytes` as a view of an ArrayBuffer (what fetch takes): itself, or a copy of bytes in shared memory. */
function ownedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** The bucket and key (possibly empty, for a bucket-wide listing) of an `s3://` URL. */
function parseBucketPrefix(url: string): { bucket: string; key: string } {
  const bare = /^s3:\/\/[^/?#]+\/?$/i.test(url);
  const { bucket, key } = parseS3Url(bare ? `${url.replace(/\/?$/, "/")}x` : url);
  return { bucket, key: bare ? "" : key };
}

function conditionHeaders(c: WriteCondition): Record<string, string> {
  const h: Record<string, string> = {};
  if (c.ifNoneMatch) h["if-none-match"] = c.ifNoneMatch;
  if (c.ifMatch) h["if-match"] = c.ifMatch;
  return h;
}

function isConditional(c: WriteCondition): boolean {
  return c.ifNoneMatch !== undefined || c.ifMatch !== undefined;
}

/** The error for a failed request, naming the `s3://` URL and S3's error code. */
function failure(url: string, method: string, status: number, code: string): Error {
  if (status === 412 || (status === 409 && code === "ConditionalRequestConflict")) {
    const why =
      status === 412
        ? "its condition failed: another writer changed it"
        : "another write of it was in progress";
    return new ConditionalWriteError(
      `${url}: conditional ${method} refused, ${why} (HTTP ${status} ${code})`,
      {
        status,
        code,
        url,
      },
    );
  }
  if (status === 403) return new SourceError(`access to ${url} denied (HTTP 403 ${code})`, { status, url });
  if (status === 404) return new SourceError(`${url}: not found (HTTP 404 ${code})`, { status, url });
  return new SourceError(`${url}: ${method} failed (HTTP ${status} ${code})`, { status, url });
}

function xmlElements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g"))].map((m) => m[1]!);
}

function xmlText(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlUnescape(m[1]!) : undefined;
}

function xmlUnescape(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, "&");
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
