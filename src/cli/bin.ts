#!/usr/bin/env node
/**
 * The `geochunks` executable. It always runs the program: npm's bin links, npx, global installs and
 * `npm run` reach this file through symlinks and wrappers, so it never asks whether it is the main
 * module. A closed pipe (`geochunks sql ... | head`) ends the run quietly with exit code 0. SIGINT and
 * SIGTERM remove the run's temporary files first.
 */
// First: V8's settings for this process, before any other module's code runs.
import "./v8-flags.js";
import { removeTemporariesSync, runCleanups } from "../store/temporaries.js";
import { main } from "./main.js";

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
