/**
 * A real S3-compatible server (s3rver) on loopback for tests, with what s3rver lacks added in front of
 * it: SigV4 verification (s3rver only checks that the access key exists), private buckets that refuse
 * unsigned reads, session-token checks, and injected SlowDown answers.
 */
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
  /** Every request the server saw: method, path and headers (to check what was sent). */
  seen: { method: string; path: string; headers: IncomingMessage["headers"] }[];
  /** Answers the next `count` GET/HEAD requests with 503 SlowDown. */
  slowDown(count: number): void;
  /** Uploads an object (unsigned PUT; only reads are guarded). */
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

interface Koa {
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
  const keys = new Map(opts.keys.map((k) => [k.accessKeyId, k]));
  const privateBuckets = new Set(opts.privateBuckets ?? []);
  server.middleware.unshift(async (ctx, next) => {
    const path = (ctx.req.url ?? "/").split("?")[0]!;
    seen.push({ method: ctx.method, path, headers: { ...ctx.req.headers } });
    if (ctx.method === "GET" || ctx.method === "HEAD") {
      if (slowDowns > 0) {
        slowDowns -= 1;
        return s3Error(ctx, 503, "SlowDown");
      }
      const denied = checkAuth(ctx.req, keys, privateBuckets.has(path.split("/")[1] ?? ""));
      if (denied) return s3Error(ctx, 403, denied);
    }
    await next();
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    seen,
    slowDown(count) {
      slowDowns = count;
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
