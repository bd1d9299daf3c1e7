/**
 * The zstd page codec of the TypeScript GeoParquet encoder (geoparquet-encoder.ts): the reference zstd
 * library compiled to WebAssembly (@bokuweb/zstd-wasm), the only module that imports it. Node 20 has
 * no zstd in node:zlib; a result's pages keep the codec the parquet-wasm writer gives them.
 */
import { compressUsingDict, createCCtx, init } from "@bokuweb/zstd-wasm";
import type { PageCompressor } from "./pages.js";

/**
 * zstd level of the pages: 1, parquet-rs' default level, which parquet-wasm writes (a 42 674-row
 * result's pages: 1.49 MB at level 1; level 3 saves 0.3% for ~1.3x the CPU).
 */
export const ZSTD_LEVEL = 1;

/**
 * The package's initialisation, shared by every copy of this module in the process (the library and the
 * command's bundle can both be loaded in one): its `init()` instantiates the WebAssembly module anew on
 * each call, and a second instantiation while pages are being compressed corrupts them (seen with two
 * copies in one process: the later file's second row group unreadable).
 */
const READY = Symbol.for("geochunks:zstd-wasm-ready");

const NO_DICTIONARY = new Uint8Array(0);
/**
 * One compression context for every page of the thread: the package's `compress` (ZSTD_compress)
 * makes and frees a context a call, which was about 15% of its CPU on the store's part files (243
 * pages, 1.7 MB). With no dictionary, ZSTD_compress_usingDict on a context is what ZSTD_compress
 * runs on its own: the same frames, byte for byte (test/store/zstd.test.ts).
 */
let context: number | undefined;
const compressPage: PageCompressor = (bytes) => {
  context ??= createCCtx();
  return compressUsingDict(context, bytes, NO_DICTIONARY, ZSTD_LEVEL);
};
let loaded = false;

/**
 * The page compressor when {@link loadZstd} has completed in this thread (synchronous encoders, the
 * store's part files, take it after their callers awaited the load), else undefined.
 */
export function loadedZstd(): PageCompressor | undefined {
  return loaded ? compressPage : undefined;
}

/** The page compressor, once the WebAssembly module has loaded (about 5 ms, once a thread). */
export async function loadZstd(): Promise<PageCompressor> {
  const shared = globalThis as { [READY]?: Promise<void> };
  shared[READY] ??= init().catch((err: unknown) => {
    shared[READY] = undefined;
    throw err;
  });
  await shared[READY];
  loaded = true;
  return compressPage;
}
