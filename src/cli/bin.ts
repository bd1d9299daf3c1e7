#!/usr/bin/env node
/**
 * The `geochunks` executable. It always runs the program: npm's bin links, npx, global installs and
 * `npm run` reach this file through symlinks and wrappers, so it never asks whether it is the main
 * module. A closed pipe (`geochunks sql ... | head`) ends the run quietly with exit code 0. SIGINT and
 * SIGTERM remove the run's temporary files first.
 */
import { setFlagsFromString } from "node:v8";
import { removeTemporariesSync, runCleanups } from "../store/temporaries.js";
import { main } from "./main.js";

/** V8's budget of work before a WebAssembly function is optimised, in this process (55 x node's). */
const WASM_TIERING_BUDGET = 100_000_000;

// WebAssembly functions (parquet-wasm's encoder, in the GeoParquet writer thread) start as V8's
// baseline code and are recompiled by its optimising compiler once they have run a budget of work.
// A one-off command spends more CPU on those recompilations than they save: the writer's first
// file of 42 674 rows cost 0.32-0.42 s of CPU with the default budget (1.8 M) and 0.09-0.10 s with
// this one, which still optimises a long run's encoder after a few hundred thousand rows
// (docs/design/startup.md). Process-wide, so the writer thread has it too; before any module compiles.
setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);

// An interrupted run removes its temporaries (uncommitted part files, an output not yet renamed,
// the store lock it holds) and aborts its multipart uploads before exiting with the shell's code
// for the signal.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    removeTemporariesSync();
    void runCleanups(ABORT_TIMEOUT_MS).finally(() => process.exit(code));
  });
}

/** How long an interrupted run waits for its multipart uploads to be aborted before exiting anyway. */
const ABORT_TIMEOUT_MS = 5_000;

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2));
