#!/usr/bin/env node
/**
 * The `geochunks` executable. It always runs the program: npm's bin links, npx, global installs and
 * `npm run` reach this file through symlinks and wrappers, so it never asks whether it is the main
 * module. A closed pipe (`geochunks sql ... | head`) ends the run quietly with exit code 0.
 */
import { main } from "./main.js";

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

process.exitCode = await main(process.argv.slice(2));
