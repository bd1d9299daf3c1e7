import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { ROOT } from "./support/cli.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(ROOT, dir, f));
}

describe("package shape", () => {
  it("core folders import only node built-ins and each other", () => {
    const core = [
      ...sources("src/source"),
      ...sources("src/hdf5"),
      ...sources("src/products"),
      join(ROOT, "src/query/plan.ts"),
    ];
    for (const file of core) {
      const imports = [...readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);
      for (const spec of imports)
        expect(spec.startsWith(".") || spec.startsWith("node:"), `${file}: ${spec}`).toBe(true);
    }
  });

  it("each edge dependency is imported by one module", () => {
    const edges = {
      "h3-js": "src/store/h3-lib.ts",
      "parquet-wasm/esm": "src/store/parquet-wasm.ts",
      "@bokuweb/zstd-wasm": "src/parquet/zstd.ts",
      "@duckdb/node-api": "src/store/sql.ts",
      "topojson-client": "src/plot/land.ts",
    };
    const all = sources("src");
    for (const [dep, owner] of Object.entries(edges)) {
      const users = all.filter((f) => readFileSync(f, "utf8").includes(`from "${dep}"`));
      expect(users.map((f) => f.slice(ROOT.length))).toEqual([owner]);
    }
  });

  it("pins dependencies exactly and lists types first in exports", () => {
    for (const deps of [pkg.dependencies, pkg.devDependencies]) {
      for (const [name, version] of Object.entries(deps as Record<string, string>)) {
        // The package links itself so `npx geochunks` runs this clone's build.
        if (name === pkg.name) expect(version).toBe("file:.");
        else expect(version, name).toMatch(/^\d+\.\d+\.\d+/);
      }
    }
    expect(Object.keys(pkg.exports["."])[0]).toBe("types");
    expect(pkg.bin.geochunks).toBe("./dist/cli/bin.js");
  });

  it("public API", () => {
    expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_INLINE_THRESHOLD",
        "Hdf5File",
        "IndexMismatchError",
        "InvalidAoiError",
        "InvalidHdf5Error",
        "InvalidQueryError",
        "NotAGranuleError",
        "OUTPUT_FORMATS",
        "SourceError",
        "StoreError",
        "UnsupportedFilterError",
        "UnsupportedHdf5Error",
        "coalesceRanges",
        "decodeChunk",
        "exportIcechunk",
        "exportKerchunk",
        "exportStac",
        "formatOf",
        "index",
        "inspectHdf5",
        "isGeochunksError",
        "mapLimit",
        "openSource",
        "openStore",
        "parseAoi",
        "planQuery",
        "plotPlan",
        "plotResult",
        "pointsInAoi",
        "toAoi",
        "withReadStats",
        "writeGeoParquet",
        "writeResult",
      ]
    `);
  });
});
