/** AWS Signature Version 4 for S3 requests: the bodiless reads of a byte source, and writes with their payload hash. */
import { createHash, createHmac } from "node:crypto";

/** Static or temporary AWS credentials. Never logged, never put in a message. */
export interface AwsCredentials {
  /** Access key id (`AKIA...` for long-term keys, `ASIA...` for temporary ones). */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token of temporary credentials (STS, SSO, instance roles); sent as `x-amz-security-token`. */
  sessionToken?: string;
}

/** What {@link signRequest} needs besides the request. */
export interface SigningScope {
  credentials: AwsCredentials;
  /** Region of the endpoint, e.g. `us-west-2`. */
  region: string;
  /** Service name in the credential scope; default `s3`. */
  service?: string;
  /** Signing time; default now. */
  now?: Date;
  /** SHA-256 of the request body, hex; default {@link EMPTY_SHA256} (GET, HEAD, DELETE). */
  payloadHash?: string;
}

/** SHA-256 of the empty body, hex: the payload hash of a GET or HEAD. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * Adds the SigV4 headers (`x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` when there is a
 * session token, and `authorization`) to `headers`, signing the host, the range (if any) and the
 * `x-amz-*` headers. The URL's path must already be encoded the way S3 expects (each segment once,
 * RFC 3986), which is how {@link s3ObjectPath} builds it.
 * @returns the same `headers` object.
 */
export function signRequest(method: string, url: URL, headers: Headers, scope: SigningScope): Headers {
  const { credentials, region } = scope;
  const service = scope.service ?? "s3";
  const amzDate = (scope.now ?? new Date())
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  headers.set("x-amz-date", amzDate);
  const payloadHash = scope.payloadHash ?? EMPTY_SHA256;
  headers.set("x-amz-content-sha256", payloadHash);
  if (credentials.sessionToken) headers.set("x-amz-security-token", credentials.sessionToken);
  else headers.delete("x-amz-security-token");
  headers.delete("authorization");
  const signed = new Map<string, string>([["host", url.host]]);
  headers.forEach((value, name) => {
    if (name === "range" || name.startsWith("x-amz-")) signed.set(name, value.trim().replace(/\s+/g, " "));
  });
  const names = [...signed.keys()].sort();
  const headerBlock = names.map((n) => `${n}:${signed.get(n)}\n`).join("");
  const path = url.pathname || "/";
  const query = canonicalQuery(url.searchParams);
  const request = `${method.toUpperCase()}\n${path}\n${query}\n${headerBlock}\n${names.join(";")}\n${payloadHash}`;
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, credentialScope, sha256Hex(request)].join("\n");
  const key = signingKey(credentials.secretAccessKey, day, region, service);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  );
  return headers;
}

/** Encodes an S3 key as a URL path: each segment percent-encoded once (RFC 3986 unreserved kept). */
export function s3ObjectPath(bucket: string | undefined, key: string): string {
  const path = key.split("/").map(encodeRfc3986).join("/");
  return bucket === undefined ? `/${path}` : `/${encodeRfc3986(bucket)}/${path}`;
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const kDate = createHmac("sha256", `AWS4${secret}`).update(day).digest();
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  return createHmac("sha256", kService).update("aws4_request").digest();
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
