import { fileURLToPath } from "node:url";
import { SourceError } from "../errors.js";
import { openFileSource } from "./file.js";
import type { HttpSourceOptions } from "./http.js";
import { openHttpSource } from "./http.js";
import type { ByteSource } from "./types.js";

/** A byte source that may hold an OS resource; call `close` when done (a no-op for others). */
export type OpenedSource = ByteSource & { close(): Promise<void> };

/**
 * Opens a byte source by URL scheme: a plain path or `file:` URL opens a local file, `http:` and `https:`
 * an HTTP source (no request is sent until the first read).
 * @param opts.http options of HTTP(S) sources (auth headers or `fetch`, concurrency, retries, timeout).
 * @throws SourceError 404 for a missing file; 501 for `s3:`, which is not supported yet, and for any other
 *   scheme.
 */
export async function openSource(
  pathOrUrl: string | URL,
  opts: { http?: HttpSourceOptions } = {},
): Promise<OpenedSource> {
  const scheme = schemeOf(pathOrUrl);
  if (scheme === undefined) return openFileSource(pathOrUrl);
  if (scheme === "file:") return openFileSource(fileURLToPath(pathOrUrl));
  if (scheme === "http:" || scheme === "https:") return openHttpSource(pathOrUrl, opts.http);
  const href = String(pathOrUrl);
  const what = scheme === "s3:" ? "not supported yet" : "unknown";
  throw new SourceError(`source scheme ${scheme} of ${href} is ${what}`, { status: 501, url: href });
}

/** The URL scheme (with colon), or undefined for a plain path (including Windows drive letters). */
function schemeOf(pathOrUrl: string | URL): string | undefined {
  if (pathOrUrl instanceof URL) return pathOrUrl.protocol;
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(pathOrUrl);
  return match ? `${match[1]!.toLowerCase()}:` : undefined;
}
