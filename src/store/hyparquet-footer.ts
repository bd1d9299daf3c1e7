/**
 * The two hyparquet functions a selection needs before a query's first request: the footer's and
 * the offset indexes' decoders. Loaded by `import()` of this module rather than of the package, so
 * that the bundled command (tools/bundle.ts) loads only them and what they use, not the whole
 * package (its page decoders, assembly and query code: 101 kB of the bundle, which a store written
 * by geochunks reads with its own page reader, pages.ts).
 */
// From their own files: esbuild keeps a package imported by name whole in one chunk.
export { readOffsetIndex } from "hyparquet/src/indexes.js";
export { parquetMetadata } from "hyparquet/src/metadata.js";
