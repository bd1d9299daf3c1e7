/** Byte sources: local files, memory, and wrappers that add behaviour. */
export type { BlockCacheOptions } from "./cache.js";
export { type BlockCacheSource, DEFAULT_BLOCK_SIZE, withBlockCache } from "./cache.js";
export type { BearerTokenOptions } from "./earthdata.js";
export {
  DEFAULT_EARTHDATA_HOSTS,
  DEFAULT_MAX_REDIRECTS,
  tokenAllowed,
  withBearerToken,
} from "./earthdata.js";
export { FileSource, openFileSource } from "./file.js";
export type { Fingerprint } from "./fingerprint.js";
export { fingerprintChange, fingerprintOf } from "./fingerprint.js";
export type { FetchLike, HttpFingerprint, HttpSourceOptions, HttpStats } from "./http.js";
export {
  DEFAULT_HTTP_CONCURRENCY,
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_MAX_WHOLE_BYTES,
  HttpSource,
  openHttpSource,
} from "./http.js";
export type { Limiter } from "./limit.js";
export { createLimiter } from "./limit.js";
export { fromBytes } from "./memory.js";
export type { OpenedSource, SourceOptions } from "./open.js";
export { openSource } from "./open.js";
export type { RecordedReads } from "./record.js";
export { withReadRecording } from "./record.js";
export type { BackoffOptions } from "./retry.js";
export { backoffDelay, DEFAULT_RETRIES } from "./retry.js";
// The S3 source itself is loaded by openSource on first use; only its types are re-exported here.
export type { AwsCredentials, S3Location, S3SourceOptions } from "./s3.js";
export type { ReadStats } from "./stats.js";
export { withReadStats } from "./stats.js";
export type { ByteSource, ReadOptions } from "./types.js";
export { xxhash32 } from "./xxhash32.js";
