/**
 * A real S3-compatible server (s3rver) on loopback for tests, with what s3rver lacks added in front of
 * it: SigV4 verification (s3rver only checks that the access key exists), private buckets that refuse
 * unsigned reads, session-token checks, injected SlowDown answers, and S3's conditional writes
 * (`If-None-Match: *` and `If-Match` on PutObject and CompleteMultipartUpload, 412 PreconditionFailed and
 * 409 ConditionalRequestConflict) from fixtures/servers/s3-conditional.ts.
 */
import { createHash, createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConditionalStats, conditionalWrites } from "../../fixtures/servers/s3-conditional.js";

/** A key pair the server accepts; with `sessionToken`, requests must carry that token. */
export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A running {@link startS3Server}. */
export interface S3TestServer {
  /** Endpoint URL, e.g. `http://127.0.0.1:PORT`. */
  endpoint: string;
  /**
   * Every request the server saw, in the order they arrived: method, path, query string (without the
   * "?"; `partNumber=2&uploadId=...` for an UploadPart) and headers (to check what was sent).
   */
  seen: { method: string; path: string; query: string; headers: IncomingMessage["headers"] }[];
  /** Answers the next `count` GET/HEAD requests with 503 SlowDown. */
  slowDown(count: number): void;
  /**
   * Calls `hook` on every write request (PUT, POST, DELETE), once when it arrives (`before`, nothing of
   * it done yet) and once when the server has handled it (`after`: the write landed or was refused,
   * the answer is not sent yet) and waits for the promise it returns: a test kills the writer at
   * that moment, or holds the request to make an upload slow. A request whose writer is gone when the
   * hook returns `before` it (or for which it resolves to "drop") is not handled; one for which it
   * resolves `before` to a {@link Refusal} is answered with that S3 error and not handled (a server
   * failing that request). Undefined removes the hook.
   */
  onWrite(hook: WriteHook | undefined): void;
  /**
   * Calls `hook` on every GET and HEAD request before it is handled and waits for the promise it
   * returns: a test holds a read until something else happened. Undefined removes the hook.
   */
  onRead(hook: ((req: { method: string; path: string }) => unknown) | undefined): void;
  /** What the conditional-write front refused so far (a live object). */
  conditional: ConditionalStats;
  /** Keys of `bucket` that have multipart uploads started and neither completed nor aborted. */
  pendingUploads(bucket: string): Promise<string[]>;
  /** Uploads an object (unsigned PUT; only reads are guarded). */
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A write request as {@link S3TestServer.onWrite} sees it. */
export interface WriteRequest {
  method: string;
  /** Path-style `/bucket/key`, decoded. */
  path: string;
  /** The query string's parameters (`uploadId`, `partNumber`, `uploads`). */
  params: URLSearchParams;
  /** Number of the request among the write requests the server saw (from 1), the same in both phases. */
  seq: number;
  phase: "before" | "after";
}

/** An S3 error answer a {@link WriteHook} may ask for (`{ status: 500, code: "InternalError" }`). */
export interface Refusal {
  status: number;
  code: string;
}

/** See {@link S3TestServer.onWrite}. */
export type WriteHook = (req: WriteRequest) => unknown;

interface Koa {
  store: {
    getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    listObjects(
      bucket: string,
      opts: { prefix?: string; startAfter?: string },
    ): Promise<{
      objects: { key: string; size: number; lastModifiedDate: Date; metadata: { etag: string } }[];
    }>;
  };
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
interface KoaContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  status: number;
  type: string;
  body: unknown;
}

const require = createRequire(import.meta.url);

/**
 * Starts s3rver on 127.0.0.1 and a free port with the given buckets (in a temporary directory removed
 * on close). Buckets in `privateBuckets` refuse unsigned GET/HEAD with 403 AccessDenied.
 */
export async function startS3Server(opts: {
  buckets: string[];
  privateBuckets?: string[];
  keys: TestKey[];
}): Promise<S3TestServer> {
  const S3rver = require("s3rver");
  const account = require("s3rver/lib/models/account");
  for (const key of opts.keys) account.DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
  const dir = mkdtempSync(join(tmpdir(), "geochunks-s3rver-"));
  const server: Koa = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  const seen: S3TestServer["seen"] = [];
  let slowDowns = 0;
  let writeHook: WriteHook | undefined;
  let readHook: ((req: { method: string; path: string }) => unknown) | undefined;
  let writes = 0;
  const keys = new Map(opts.keys.map((k) => [k.accessKeyId, k]));
  const privateBuckets = new Set(opts.privateBuckets ?? []);
  server.middleware.unshift(async (ctx, next) => {
    const [path = "/", query = ""] = (ctx.req.url ?? "/").split("?");
    seen.push({ method: ctx.method, path, query, headers: { ...ctx.req.headers } });
    if (ctx.method === "GET" || ctx.method === "HEAD") {
      if (slowDowns > 0) {
        slowDowns -= 1;
        return s3Error(ctx, 503, "SlowDown");
      }
      const denied = checkAuth(ctx.req, keys, privateBuckets.has(path.split("/")[1] ?? ""));
      if (denied) return s3Error(ctx, 403, denied);
      await readHook?.({ method: ctx.method, path: decodeURIComponent(path) });
    }
    const hook = writeHook;
    if (!hook || !["PUT", "POST", "DELETE"].includes(ctx.method)) return next();
    const url = new URL(ctx.req.url ?? "/", "http://s3.invalid");
    writes += 1;
    const req = {
      method: ctx.method,
      path: decodeURIComponent(url.pathname),
      params: url.searchParams,
      seq: writes,
    };
    // A writer killed before its request was handled: nothing of it lands (s3rver would wait for the
    // rest of a body that never comes).
    const verdict = await hook({ ...req, phase: "before" });
    if (verdict === "drop" || ctx.res.closed) return s3Error(ctx, 499, "ClientGone");
    if (isRefusal(verdict)) return s3Error(ctx, verdict.status, verdict.code);
    await next();
    await hook({ ...req, phase: "after" });
  });
  const front = conditionalWrites(async (bucket, key) =>
    key === "" ? undefined : (await server.store.getMetadata(bucket, key).catch(() => undefined))?.etag,
  );
  // After the read guard above, before s3rver's own routes.
  server.middleware.splice(
    1,
    0,
    atomicObjects(),
    front.handler as Koa["middleware"][number],
    async (ctx, next) => {
      // s3rver has no AbortMultipartUpload: remove the upload's folder as S3 frees its parts. A part
      // arriving for an upload that is gone (aborted meanwhile) gets S3's 404 NoSuchUpload, where
      // s3rver would make the folder again.
      const url = new URL(ctx.req.url ?? "/", "http://s3.invalid");
      const uploadId = url.searchParams.get("uploadId");
      if ((ctx.method !== "DELETE" && ctx.method !== "PUT") || uploadId === null) return next();
      const bucket = url.pathname.split("/")[1] ?? "";
      const folder = join(server.store.getResourcePath(bucket, undefined, "uploads"), uploadId);
      if (!/^[0-9a-f]+$/.test(uploadId) || !existsSync(folder)) return s3Error(ctx, 404, "NoSuchUpload");
      if (ctx.method === "PUT") return next();
      rmSync(folder, { recursive: true, force: true });
      ctx.status = 204;
    },
    async (ctx, next) => {
      // s3rver's ListObjectsV2 pages crash on Node 20 (its continuation tokens use DES, which
      // OpenSSL 3 dropped): page the listing here, with S3's fields and an opaque token.
      const url = new URL(ctx.req.url ?? "/", "http://s3.invalid");
      const [, bucket = "", ...rest] = url.pathname.split("/");
      if (ctx.method !== "GET" || rest.join("/") !== "" || url.searchParams.get("list-type") !== "2")
        return next();
      const prefix = url.searchParams.get("prefix") ?? "";
      const token = url.searchParams.get("continuation-token");
      const after = token === null ? "" : Buffer.from(token, "base64url").toString("utf8");
      const max = Math.min(1000, Number(url.searchParams.get("max-keys") ?? 1000));
      const { objects } = await server.store.listObjects(bucket, { prefix });
      const remaining = objects.filter((o) => o.key > after).sort((a, b) => (a.key < b.key ? -1 : 1));
      const page = remaining.slice(0, max);
      const truncated = remaining.length > page.length;
      const esc = (t: string) =>
        t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
      const contents = page.map(
        (o) =>
          `<Contents><Key>${esc(o.key)}</Key><LastModified>${o.lastModifiedDate.toISOString()}</LastModified>` +
          `<ETag>${esc(o.metadata.etag)}</ETag><Size>${o.size}</Size></Contents>`,
      );
      const nextToken = truncated
        ? `<NextContinuationToken>${Buffer.from(page.at(-1)!.key).toString("base64url")}</NextContinuationToken>`
        : "";
      ctx.status = 200;
      ctx.type = "application/xml";
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${esc(bucket)}</Name><Prefix>${esc(prefix)}</Prefix>` +
        `<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${nextToken}${contents.join("")}</ListBucketResult>`;
    },
  );
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    seen,
    conditional: front.stats,
    async pendingUploads(bucket) {
      // s3rver has no ListMultipartUploads: read its upload folders (one per pending upload, holding the key).
      const uploads = server.store.getResourcePath(bucket, undefined, "uploads");
      const ids = existsSync(uploads) ? readdirSync(uploads) : [];
      return ids.map((id) => readFileSync(join(uploads, id, "key"), "utf8")).sort();
    },
    slowDown(count) {
      slowDowns = count;
    },
    onWrite(hook) {
      writeHook = hook;
    },
    onRead(hook) {
      readHook = hook;
    },
    async put(bucket, key, body) {
      const res = await fetch(`${endpoint}/${bucket}/${key}`, { method: "PUT", body: Buffer.from(body) });
      if (!res.ok) throw new Error(`PUT ${bucket}/${key}: ${res.status} ${await res.text()}`);
    },
    async close() {
      await server.close();
      for (const key of opts.keys) account.DUMMY_ACCOUNT.revokeAccessKey(key.accessKeyId);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver writes an object in place, so a read during a write can see it empty or half-written; S3
 * replaces objects atomically. Here the requests of one object key take turns, each until its
 * response is sent.
 */
function atomicObjects(): Koa["middleware"][number] {
  const queues = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const path = (ctx.req.url ?? "/").split("?")[0]!;
    if (path.split("/").length < 3 || path.endsWith("/")) return next();
    const before = queues.get(path) ?? Promise.resolve();
    let release: () => void = () => {};
    const mine = before.then(() => new Promise<void>((r) => (release = r)));
    queues.set(path, mine);
    await before;
    let released = false;
    const done = () => {
      if (released) return;
      released = true;
      release();
      if (queues.get(path) === mine) queues.delete(path);
    };
    ctx.res.once("close", done);
    try {
      await next();
    } finally {
      // A client killed mid-request may have closed the response before the listener was added.
      if (ctx.res.closed || ctx.res.destroyed) done();
    }
  };
}

function isRefusal(verdict: unknown): verdict is Refusal {
  return typeof verdict === "object" && verdict !== null && "status" in verdict && "code" in verdict;
}

function s3Error(ctx: KoaContext, status: number, code: string): void {
  ctx.status = status;
  ctx.type = "application/xml";
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code}</Message></Error>`;
}

/** The S3 error code refusing a read, or undefined when it may proceed. */
function checkAuth(req: IncomingMessage, keys: Map<string, TestKey>, isPrivate: boolean): string | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined) return isPrivate ? "AccessDenied" : undefined;
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return "AuthorizationHeaderMalformed";
  const [, keyId, day, region, signedHeaders, signature] = m as unknown as string[];
  const key = keys.get(keyId!);
  if (!key) return "InvalidAccessKeyId";
  if (key.sessionToken !== undefined && req.headers["x-amz-security-token"] !== key.sessionToken) {
    return "InvalidToken";
  }
  const names = signedHeaders!.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) return "AuthorizationHeaderMalformed";
  const [path, query = ""] = (req.url ?? "/").split("?");
  const canonicalQuery = query.split("&").filter(Boolean).sort().join("&");
  const lines = [
    req.method,
    path,
    canonicalQuery,
    ...names.map((n) => `${n}:${String(req.headers[n] ?? "").trim()}`),
    "",
    signedHeaders,
    String(req.headers["x-amz-content-sha256"]),
  ];
  const amzDate = String(req.headers["x-amz-date"]);
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(lines.join("\n")).digest("hex")}`;
  let k: Buffer | string = `AWS4${key.secretAccessKey}`;
  for (const part of [day!, region!, "s3", "aws4_request"]) k = createHmac("sha256", k).update(part).digest();
  const expected = createHmac("sha256", k).update(toSign).digest("hex");
  return expected === signature ? undefined : "SignatureDoesNotMatch";
}
