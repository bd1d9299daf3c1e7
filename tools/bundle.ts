/**
 * Bundles the command line after `tsc`: `dist/cli/bin.js` (tsc's file, replaced) becomes one ESM file
 * built from `src/cli/bin.ts`, plus the chunks its dynamic imports load (`dist/chunks/`), with the pure
 * JavaScript packages inside. Built from the sources, so running it twice gives the same files. Node then resolves,
 * reads and compiles a few files instead of several hundred (our ~150 modules, commander, hyparquet,
 * apache-arrow, h3-js...), and CommonJS packages are no longer scanned for their exports on every start.
 * Measured with bench/startup.ts (docs/design/startup.md).
 *
 * The command, the GeoParquet writer thread (`dist/export/geoparquet-worker.js`, which builds a query
 * result's Arrow batches: apache-arrow bundled instead of a hundred of its files) and the index's worker
 * thread (`dist/index-builder/worker.js`, the reader, the products and h3-js: it loaded 77 of our
 * modules one by one, and scanned h3-js for its CommonJS exports, on every start), the network thread
 * (`dist/source/http-thread-worker.js`, the HTTP readers) are bundled, and so
 * is the library (`dist/index.js`, imported by package name: its import took 0.32 s of CPU over some
 * 300 files, 0.13-0.15 s bundled; its types stay tsc's `dist/index.d.ts`). All share the chunks, so a
 * program importing the library and the threads it starts load the same files. The inflate worker (a
 * short script evaluated in its thread) stays as it is. Packages with native or WebAssembly files beside their code stay
 * external and load from node_modules as before.
 *
 *   npx tsx tools/bundle.ts     (run by `npm run build` and `prepare` after tsc)
 */
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const DIST = resolve(ROOT, "dist");
const SRC = resolve(ROOT, "src");

/** Packages loading native addons or .wasm files relative to their own files: never bundled. */
const EXTERNAL = [
  "@duckdb/node-api",
  "better-sqlite3",
  "@resvg/resvg-js",
  "parquet-wasm",
  "@bokuweb/zstd-wasm",
];

/**
 * Every bundled module keeps the `import.meta.url` tsc gives it (`src/export/geoparquet.ts` ->
 * `dist/export/geoparquet.js`), so the files it finds beside itself (worker scripts, package.json) are
 * found as before. Entry and chunks both lie one folder below `dist/`, so `../<path in dist>` from the
 * output file is the module's compiled twin.
 */
const keepModuleUrls: Plugin = {
  name: "keep-module-urls",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" };
      const own = `../${relative(SRC, args.path).split("\\").join("/").replace(/\.ts$/, ".js")}`;
      const url = `new URL(${JSON.stringify(own)}, import.meta.url).href`;
      return { contents: text.replaceAll("import.meta.url", url), loader: "ts" };
    });
  },
};

/**
 * A `require` for the bundled CommonJS packages, which esbuild's runtime helper (`__require`, in one
 * shared chunk) calls for node's modules.
 */
const REQUIRE_BANNER =
  'import { createRequire as __geochunksRequire } from "node:module"; const require = __geochunksRequire(import.meta.url);';

/** A use of the name `require` (not a property, a private name nor part of another name). */
const USES_REQUIRE = /(?<![\w$.#])require(?![\w$])/;

/**
 * Removes the `require` banner from the output files that do not use the name: esbuild writes it
 * into every file, and each `createRequire` costs a module object and path lookups when the file
 * loads (40 files before a query's first request: about 1 ms).
 */
async function dropUnusedRequire(files: readonly string[]): Promise<void> {
  for (const file of files) {
    const text = await readFile(file, "utf8");
    // After the entry's `#!` line, if any.
    const at = text.indexOf(`${REQUIRE_BANNER}\n`);
    if (at < 0 || (at > 0 && !text.startsWith("#!"))) continue;
    const body = text.slice(at + REQUIRE_BANNER.length + 1);
    if (!USES_REQUIRE.test(body)) await writeFile(file, text.slice(0, at) + body);
  }
}

// Chunks of an earlier build would stay beside the new ones.
await rm(resolve(DIST, "chunks"), { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: {
    index: resolve(SRC, "index.ts"),
    "cli/bin": resolve(SRC, "cli/bin.ts"),
    "export/geoparquet-worker": resolve(SRC, "export/geoparquet-worker.ts"),
    "index-builder/worker": resolve(SRC, "index-builder/worker.ts"),
    "source/http-thread-worker": resolve(SRC, "source/http-thread-worker.ts"),
  },
  outdir: DIST,
  entryNames: "[dir]/[name]",
  chunkNames: "chunks/[name]-[hash]",
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  // Bundled CommonJS packages (commander) call require() for node's modules (kept only where
  // used, below).
  banner: { js: REQUIRE_BANNER },
  plugins: [keepModuleUrls],
  logLevel: "warning",
  metafile: true,
  minifyWhitespace: true,
  minifySyntax: true,
});
// What each output file holds (inputs relative to the repository): the start-up test reads it to
// name the modules a command loads.
const inputs = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([out, o]) => [
    relative(DIST, resolve(ROOT, out)).split("\\").join("/"),
    Object.keys(o.inputs).sort(),
  ]),
);
await dropUnusedRequire(
  Object.keys(result.metafile.outputs)
    .filter((out) => out.endsWith(".js"))
    .map((out) => resolve(ROOT, out)),
);
await writeFile(resolve(DIST, "chunks", "inputs.json"), `${JSON.stringify(inputs, null, 1)}\n`);
// The command's file is written anew (esbuild's files are not executable): `npx geochunks` and the
// link npm made to it run it directly, also after a build into an emptied dist/.
await chmod(resolve(DIST, "cli", "bin.js"), 0o755);
console.log(
  `bundled dist/index.js, dist/cli/bin.js, dist/export/geoparquet-worker.js, dist/index-builder/worker.js, dist/source/http-thread-worker.js and ${Object.keys(inputs).length - 5} chunks`,
);
