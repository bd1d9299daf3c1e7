/** What identifies one version of an object: size plus ETag (HTTP, S3) or modification time. */
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ByteSource, ReadOptions } from "./types.js";

/** Size in bytes, ETag when the backend has one, and modification time in ms since the Unix epoch. */
export interface Fingerprint {
  size: number;
  etag: string | null;
  mtime: number | null;
}

interface Fingerprinted {
  fingerprint(
    opts?: ReadOptions,
  ): Promise<{ size: number; etag?: string | null; lastModified?: string | null }>;
}

const hasFingerprint = (s: ByteSource): s is ByteSource & Fingerprinted =>
  typeof (s as Partial<Fingerprinted>).fingerprint === "function";

/**
 * The fingerprint of a source: `stat` for local files, the backend's ETag/Last-Modified for
 * remote objects (learned from the first response, so it costs no extra request after a read).
 */
export async function fingerprintOf(source: ByteSource, opts?: ReadOptions): Promise<Fingerprint> {
  if (source.url.protocol === "file:") {
    const info = await stat(fileURLToPath(source.url));
    return { size: info.size, etag: null, mtime: info.mtimeMs };
  }
  if (hasFingerprint(source)) {
    const f = await source.fingerprint(opts);
    const modified = f.lastModified ? Date.parse(f.lastModified) : Number.NaN;
    return { size: f.size, etag: f.etag ?? null, mtime: Number.isNaN(modified) ? null : modified };
  }
  return { size: await source.size(opts), etag: null, mtime: null };
}

/** Why `now` is not the version `then` describes, or undefined when they match. */
export function fingerprintChange(then: Fingerprint, now: Fingerprint): string | undefined {
  if (then.size !== now.size) return `size ${now.size}, indexed ${then.size}`;
  if (then.etag !== null && now.etag !== null && then.etag !== now.etag)
    return `ETag ${now.etag}, indexed ${then.etag}`;
  if (then.etag === null && then.mtime !== null && now.mtime !== null && then.mtime !== now.mtime) {
    return `modified ${new Date(now.mtime).toISOString()}, indexed ${new Date(then.mtime).toISOString()}`;
  }
  return undefined;
}
