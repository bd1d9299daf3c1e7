import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.js";

/** The package entry as installed (`dist`), rebuilt first when a source file is newer. */
export async function importPackage(): Promise<typeof import("geochunks")> {
  const entry = join(ROOT, "dist/index.js");
  const newest = readdirSync(join(ROOT, "src"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .reduce((t, f) => Math.max(t, statSync(join(ROOT, "src", f)).mtimeMs), 0);
  if (!existsSync(entry) || statSync(entry).mtimeMs < newest) {
    try {
      execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    } catch (err) {
      const out = (err as { stdout?: string }).stdout ?? "";
      throw new Error(`npm run build failed:\n${out.split("\n").slice(-20).join("\n")}`);
    }
  }
  return import("geochunks");
}
