import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The command line as the package installs it: the compiled bin (`npm run build`, which `npm ci`
 * runs; test/support/build.ts rebuilds it before the tests when a source file is newer).
 */
export const BIN = `${ROOT}dist/cli/bin.js`;

/** Output of one `geochunks` process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `geochunks` command line in a child process. `env` adds to or overrides this process's
 * variables; with `onlyEnv` the child gets just `env` and PATH, like a user's clean shell.
 */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; onlyEnv?: boolean } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.onlyEnv
        ? { PATH: process.env.PATH ?? "", ...opts.env }
        : { ...process.env, GEOCHUNKS_DEBUG: "", ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
