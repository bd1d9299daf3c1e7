import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COLOUR_MAPS } from "../../src/plot/colour.js";
import { COLOUR_MAP_NAMES } from "../../src/plot/colour-names.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/**
 * Packages a module loads before any of its code runs: its static imports (not `import type`, not
 * `await import()`), followed through the project's own modules.
 */
function staticPackages(entry: string): Set<string> {
  const seen = new Set([resolve(SRC, entry)]);
  const queue = [...seen];
  const packages = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(
      /^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gms,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
      } else if (!spec.startsWith("node:")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
  }
  return packages;
}

describe("start-up loads only what a command needs", () => {
  it("the command line starts with commander alone", () => {
    expect([...staticPackages("cli/bin.ts")].sort()).toEqual(["commander"]);
  });

  it("a query loads neither DuckDB nor the Parquet writer nor the indexer's libraries before it reads", () => {
    const query = staticPackages("api.ts");
    for (const heavy of [
      "@duckdb/node-api",
      "parquet-wasm",
      "h3-js",
      "flatgeobuf",
      "better-sqlite3",
      "d3-geo",
      // Loaded on the first projected AOI only (query/crs.ts).
      "proj4",
    ])
      expect(query.has(heavy), heavy).toBe(false);
  });

  it("the query command loads no output writer before it has started the query", () => {
    // The writer's libraries load while the first round of requests is in flight (startedEarly).
    const command = staticPackages("cli/commands/query.ts");
    for (const heavy of ["parquet-wasm", "apache-arrow", "flatgeobuf", "better-sqlite3", "@duckdb/node-api"])
      expect(command.has(heavy), heavy).toBe(false);
  });

  it("the colour ramp names the help lists are the ramps plot draws", () => {
    expect(Object.keys(COLOUR_MAPS)).toEqual([...COLOUR_MAP_NAMES]);
  });
});
