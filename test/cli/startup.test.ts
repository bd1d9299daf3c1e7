import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { writeModuleLog } from "../../fixtures/modules/module-log.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { writeGeoParquet } from "../../src/export/geoparquet.js";
import { index, openStore } from "../../src/index.js";
import { COLOUR_MAPS } from "../../src/plot/colour.js";
import { COLOUR_MAP_NAMES } from "../../src/plot/colour-names.js";
import { BIN, ROOT } from "../support/cli.js";
import { duckdb } from "../support/results.js";

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

  it("an index run writes its part files without apache-arrow or parquet-wasm", () => {
    for (const entry of ["index-builder/index.ts", "index-builder/worker.ts", "store/store.ts"]) {
      const loaded = staticPackages(entry);
      for (const heavy of ["apache-arrow", "parquet-wasm", "@duckdb/node-api"])
        expect(loaded.has(heavy), `${entry}: ${heavy}`).toBe(false);
    }
  });

  it("the colour ramp names the help lists are the ramps plot draws", () => {
    expect(Object.keys(COLOUR_MAPS)).toEqual([...COLOUR_MAP_NAMES]);
  });
});

/**
 * Runs node with `args` and the module log preloaded (its files written in `dir`): its exit code,
 * output and the log's lines.
 */
async function runLogged(dir: string, args: string[]) {
  const { log, preload } = writeModuleLog(dir);
  const run = await runNode(["--import", preload, ...args]);
  return { ...run, lines: readFileSync(log, "utf8").split("\n") };
}

/** Runs node with `args`; its exit code and output. */
function runNode(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, args, { encoding: "utf8" }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the library's import", () => {
  it("loads none of the libraries only some calls need (Arrow, Parquet, DuckDB, H3, plotting)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geochunks-import-modules-"));
    try {
      const entry = pathToFileURL(join(ROOT, "dist/index.js")).href;
      const run = await runLogged(dir, [
        "--input-type=module",
        "-e",
        `const api = await import(${JSON.stringify(entry)}); console.log(typeof api.index, typeof api.openStore);`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe("function function");
      const files = run.lines.filter((l) => l.startsWith("file:"));
      expect(files).toContain(entry);
      const loaded = files
        .filter((u) => u.includes("/node_modules/"))
        .map((u) => u.split("/node_modules/")[1]!);
      for (const heavy of ["apache-arrow/", "parquet-wasm/", "@duckdb/", "h3-js/", "topojson-client/"])
        expect(
          loaded.filter((m) => m.startsWith(heavy)),
          heavy,
        ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the installed command's index run", () => {
  it("loads neither apache-arrow nor parquet-wasm nor DuckDB, and writes a store DuckDB reads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geochunks-index-modules-"));
    try {
      const granule = await writeSyntheticAtl06(dir, demoGranuleSet()[3]!);
      const store = join(dir, "store");
      const run = await runLogged(dir, [BIN, "index", granule, "--store", store]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^indexed 1 added/);
      const inputs = JSON.parse(readFileSync(join(ROOT, "dist/chunks/inputs.json"), "utf8")) as Record<
        string,
        string[]
      >;
      const dist = pathToFileURL(join(ROOT, "dist")).href;
      const files = run.lines.filter((l) => l.startsWith("file:"));
      const modules = files.flatMap((u) => inputs[u.slice(dist.length + 1)] ?? []);
      expect(modules).toContain("src/parquet/table.ts");
      for (const heavy of [
        "node_modules/apache-arrow/",
        "node_modules/parquet-wasm/",
        "node_modules/@duckdb/",
      ])
        expect(
          modules.filter((m) => m.startsWith(heavy)),
          heavy,
        ).toEqual([]);
      expect(files.filter((u) => /apache-arrow|parquet-wasm/.test(u))).toEqual([]);
      const [read] = await duckdb(
        `SELECT count(*)::INT AS n, count(DISTINCT granule_id)::INT AS g FROM '${join(store, "chunks")}/**/*.parquet'`,
      );
      expect(read!.g).toBe(1);
      expect(read!.n).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the installed command's query, up to its first granule request", () => {
  let dir: string;
  let server: RangeServer;
  let loaded: string[];
  /** The whole log: module files, V8-FLAGS, WORKER and FIRST-REQUEST lines, in order. */
  let events: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-startup-"));
    // The demo granule with two beams crossing the Greenland polygon (4 MB), served over HTTP.
    const granule = await writeSyntheticAtl06(dir, demoGranuleSet()[3]!);
    server = await startRangeServer({ root: dir });
    await index(server.url + granule.slice(dir.length + 1), { store: join(dir, "store") });
    // Asynchronously: the range server answers from this process.
    const run = await runLogged(dir, [
      BIN,
      "query",
      "--store",
      join(dir, "store"),
      "--polygon",
      join(ROOT, "examples/greenland.geojson"),
      "--out",
      join(dir, "out.parquet"),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^wrote [1-9]\d* rows/);
    const lines = run.lines;
    // The run must have reached its first request for the test to mean anything.
    expect(lines).toContain("FIRST-REQUEST");
    loaded = lines.slice(0, lines.indexOf("FIRST-REQUEST")).filter((l) => l.startsWith("file:"));
    events = lines;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads the bundled command only: the bin and its chunks, no compiled module one by one", () => {
    const dist = pathToFileURL(join(ROOT, "dist")).href;
    const ours = loaded.filter((u) => u.startsWith(`${dist}/`)).map((u) => u.slice(dist.length + 1));
    expect(ours[0]).toBe("cli/bin.js");
    for (const file of ours) expect(file, file).toMatch(/^(cli\/bin|chunks\/[\w-]+)\.js$/);
    // Nothing from node_modules is loaded file by file: every package the query needs is bundled.
    expect(loaded.filter((u) => u.includes("/node_modules/"))).toEqual([]);
  });

  it("loads neither DuckDB, parquet-wasm, apache-arrow, h3-js, the HDF5 reader, the indexer nor an output writer", () => {
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/chunks/inputs.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const dist = pathToFileURL(join(ROOT, "dist")).href;
    const modules = loaded.flatMap((u) => inputs[u.slice(dist.length + 1)] ?? []);
    expect(modules).toContain("src/store/select-parquet.ts");
    expect(modules).toContain("node_modules/hyparquet/src/metadata.js");
    for (const heavy of [
      "node_modules/@duckdb/",
      "node_modules/parquet-wasm/",
      // A GeoParquet output's batches are built on the writer thread (see the next test).
      "node_modules/apache-arrow/",
      "src/result/arrow.ts",
      "node_modules/h3-js/",
      "node_modules/hyparquet-compressors/",
      // hyparquet's footer and offset index decoders only (store/hyparquet-footer.ts): the store's
      // pages are read by store/pages.ts.
      "node_modules/hyparquet/src/read.js",
      "node_modules/hyparquet/src/column.js",
      "node_modules/hyparquet/src/datapage.js",
      "src/hdf5/file.ts",
      "src/index-builder/",
      "src/export/geoparquet.ts",
      "src/store/store.ts",
    ])
      expect(
        modules.filter((m) => m.startsWith(heavy)),
        heavy,
      ).toEqual([]);
  });

  it("loads no apache-arrow on its main thread for a GeoParquet output, first request or last", () => {
    // The main thread sends plain columns; the writer thread builds the Arrow batches (export/
    // geoparquet-columns.ts). The log holds the main thread's modules only, to the end of the run.
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/chunks/inputs.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const dist = pathToFileURL(join(ROOT, "dist")).href;
    const all = events.filter((l) => l.startsWith("file:"));
    const modules = all.flatMap((u) => inputs[u.slice(dist.length + 1)] ?? []);
    expect(modules).toContain("src/export/geoparquet-columns.ts");
    for (const arrow of ["node_modules/apache-arrow/", "src/result/arrow.ts", "src/export/geoparquet.ts"])
      expect(
        modules.filter((m) => m.startsWith(arrow)),
        arrow,
      ).toEqual([]);
    expect(all.filter((u) => u.includes("apache-arrow"))).toEqual([]);
  });

  it("writes the bytes the library writes from the record batches of the same query", async () => {
    const store = await openStore(join(dir, "store"));
    const aoi = readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8");
    const result = store.query({ aoi });
    const here = join(dir, "here.parquet");
    const rows = await writeGeoParquet(result, here, { bbox: result.aoi.bbox, thread: false });
    expect(rows).toBeGreaterThan(0);
    expect(readFileSync(join(dir, "out.parquet")).equals(readFileSync(here))).toBe(true);
    const [read] = await duckdb(
      `SELECT count(*)::INT AS n, sum(h_li)::DOUBLE AS h, sum(lon)::DOUBLE AS lon FROM '${join(dir, "out.parquet")}'`,
    );
    const table = await store.query({ aoi }).toTable();
    let h = 0;
    let lon = 0;
    for (const v of table.getChild("h_li")!) h += (v as number | null) ?? 0;
    for (const v of table.getChild("lon")!) lon += v as number;
    // Sums in another order: equal to 1e-12 of their size.
    expect(read!.n).toBe(rows);
    expect(h).not.toBe(0);
    expect(Math.abs((read!.h as number) - h)).toBeLessThan(1e-12 * Math.abs(h) * rows);
    expect(Math.abs((read!.lon as number) - lon)).toBeLessThan(1e-12 * Math.abs(lon) * rows);
  }, 60_000);

  it("loads the query command's module and no other command's", () => {
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/chunks/inputs.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const dist = pathToFileURL(join(ROOT, "dist")).href;
    const commands = loaded
      .flatMap((u) => inputs[u.slice(dist.length + 1)] ?? [])
      .filter((m) => m.startsWith("src/cli/commands/"));
    // cli/main.ts loads the module of the command named first only (docs/design/startup.md).
    expect(commands).toEqual(["src/cli/commands/query.ts"]);
  });

  it("sets V8's compiler budgets before the query's code loads and before the writer thread starts", () => {
    // cli/v8-flags.ts: a one-off run optimises less (docs/design/startup.md).
    const flags = events.filter((l) => l.startsWith("V8-FLAGS "));
    expect(flags).toEqual([
      "V8-FLAGS --wasm-tiering-budget=100000000",
      "V8-FLAGS --interrupt-budget=1081344",
      "V8-FLAGS --min-semi-space-size=16",
      "V8-FLAGS --wasm-lazy-validation",
    ]);
    const inputs = JSON.parse(readFileSync(join(ROOT, "dist/chunks/inputs.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const queryChunk = Object.keys(inputs).find((f) => inputs[f]!.includes("src/query/execute.ts"))!;
    const queryAt = events.findIndex((l) => l.endsWith(`/dist/${queryChunk}`));
    const lastFlag = events.lastIndexOf(flags.at(-1)!);
    expect(queryAt).toBeGreaterThan(lastFlag);
    // The writer thread, started ahead for the Parquet output, comes after them.
    expect(events.indexOf("WORKER")).toBeGreaterThan(lastFlag);
  });

  it("starts one writer thread, ahead of the rows, and writes with it", () => {
    // cli/commands/query.ts starts the thread while the query selects and plans; the write waits
    // for it rather than starting a second beside it.
    expect(events.filter((l) => l === "WORKER")).toEqual(["WORKER"]);
  });

  it("starts one inflate thread, once the first request is out", () => {
    // The chunks inflate on hdf5/inflate-worker.ts's thread, started on the first chunk to decode:
    // nothing of it is on the path to the first request.
    expect(events.filter((l) => l === "WORKER-EVAL")).toEqual(["WORKER-EVAL"]);
    expect(events.indexOf("WORKER-EVAL")).toBeGreaterThan(events.indexOf("FIRST-REQUEST"));
  });
});

describe("the Parquet library's load", () => {
  it("is parquet-wasm's ES module build, not its CommonJS build node scans for exports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geochunks-pw-"));
    try {
      // The module the GeoParquet writer thread and every Parquet writer load it through.
      const module = pathToFileURL(join(ROOT, "dist/store/parquet-wasm.js")).href;
      const run = await runLogged(dir, [
        "--input-type=module",
        "-e",
        `const { pw } = await import(${JSON.stringify(module)}); console.log(typeof pw.transformParquetStream);`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim()).toBe("function");
      const files = run.lines
        .filter((l) => l.includes("/node_modules/parquet-wasm/"))
        .map((l) => l.slice(l.indexOf("/node_modules/parquet-wasm/") + "/node_modules/parquet-wasm/".length));
      expect(files).toEqual(["esm/parquet_wasm.js"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
