/**
 * Vitest global setup: the tests run the command line as users get it, the compiled `dist/`, so
 * this rebuilds it first when any source file is newer than the build (as after an edit). A fresh
 * clone's `npm ci` has already built it.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BIN, ROOT } from "./cli.js";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let built = 0;
  try {
    built = statSync(BIN).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(
    newestMtime(join(ROOT, "src")),
    statSync(join(ROOT, "tsconfig.build.json")).mtimeMs,
    newestMtime(join(ROOT, "tools")),
  );
  // The package's own build: tsc, then the command's bundle (tools/bundle.ts).
  if (sources > built) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
}
