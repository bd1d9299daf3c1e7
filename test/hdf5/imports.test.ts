import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Module specifiers imported by the .ts files of a source folder. */
function importsOf(folder: string): { file: string; spec: string }[] {
  return readdirSync(`${SRC}${folder}`)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((file) => {
      const text = readFileSync(`${SRC}${folder}/${file}`, "utf8");
      return [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => ({ file, spec: m[1]! }));
    });
}

describe.each(["source", "hdf5"])("src/%s has no runtime dependencies", (folder) => {
  it("imports only node: built-ins and relative modules", () => {
    const bad = importsOf(folder).filter(({ spec }) => !spec.startsWith("node:") && !spec.startsWith("."));
    expect(bad).toEqual([]);
  });

  it("never imports upward except the leaves errors and threads and (for hdf5) source", () => {
    const up = importsOf(folder).filter(({ spec }) => spec.startsWith("../"));
    const allowed =
      folder === "hdf5" ? /^\.\.\/(errors|threads|source\/[a-z0-9-]+)\.js$/ : /^\.\.\/(errors|threads)\.js$/;
    expect(up.filter(({ spec }) => !allowed.test(spec))).toEqual([]);
  });
});

describe("the leaves every layer may import", () => {
  it.each(["errors.ts", "threads.ts"])("%s imports only node: built-ins", (file) => {
    const text = readFileSync(`${SRC}${file}`, "utf8");
    const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
    expect(specs.filter((spec) => !spec.startsWith("node:"))).toEqual([]);
  });
});
