/**
 * The zstd page codec of the TypeScript GeoParquet encoder (geoparquet-encoder.ts): the reference zstd
 * library compiled to WebAssembly (@bokuweb/zstd-wasm), the only module that imports it. Node 20 has
 * no zstd in node:zlib; a result's pages keep the codec the parquet-wasm writer gives them.
 */
import { compress, init } from "@bokuweb/zstd-wasm";
import type { PageCompressor } from "./parquet-pages.js";

/**
 * zstd level of the pages: 1, parquet-rs' default level, which parquet-wasm writes (a 42 674-row
 * result's pages: 1.49 MB at level 1; level 3 saves 0.3% for ~1.3x the CPU).
 */
export const ZSTD_LEVEL = 1;

let ready: Promise<void> | undefined;

/** The page compressor, once the WebAssembly module has loaded (about 5 ms, once a thread). */
export async function loadZstd(): Promise<PageCompressor> {
  ready ??= init().catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  await ready;
  return (bytes) => compress(bytes, ZSTD_LEVEL);
}
