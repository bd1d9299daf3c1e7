import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index } from "../../src/index.js";
import { PREFIX_BYTES } from "../../src/index-builder/job.js";
import { runCli } from "../support/cli.js";
import { duckdb } from "../support/results.js";

/*
 * Granules read in worker threads (`jobs`) must give the store the rows reading them in the calling
 * thread gives, and bad inputs the same skip reasons, errors and exit codes. DuckDB reads both stores.
 */

/** Rows of a store table that are in `a` and not in `b`, by DuckDB (columns in `drop` left out). */
async function rowsOnlyIn(a: string, b: string, table: string, drop: string[] = []): Promise<number> {
  const select = (store: string) =>
    `SELECT * ${drop.length > 0 ? `EXCLUDE (${drop.join(", ")})` : ""} FROM read_parquet('${store}/${table}/**/*.parquet')`;
  const [row] = await duckdb(`SELECT count(*)::INTEGER AS n FROM (${select(a)} EXCEPT ALL ${select(b)})`);
  return row!.n as number;
}

async function rowCount(store: string, table: string): Promise<number> {
  const [row] = await duckdb(
    `SELECT count(*)::INTEGER AS n FROM read_parquet('${store}/${table}/**/*.parquet')`,
  );
  return row!.n as number;
}

/** Every table of two stores holds the same rows (both ways), and some rows. */
async function expectSameRows(a: string, b: string, drop: Record<string, string[]> = {}) {
  for (const table of ["granules", "arrays", "chunks", "chunk_cells"]) {
    expect(await rowCount(a, table), table).toBeGreaterThan(0);
    expect(await rowCount(a, table), table).toBe(await rowCount(b, table));
    expect(await rowsOnlyIn(a, b, table, drop[table]), `${table} rows only in ${a}`).toBe(0);
    expect(await rowsOnlyIn(b, a, table, drop[table]), `${table} rows only in ${b}`).toBe(0);
  }
}

describe("indexing in worker threads", () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-workers-"));
    mkdirSync(join(dir, "www"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 2)) {
      files.push(await writeSyntheticAtl06(join(dir, "www"), { ...opts, segmentsPerBeam: 12_000 }));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the rows reading in this thread gives (library, 1 and 2 threads)", async () => {
    const one = await index(files, { store: join(dir, "one"), jobs: 1 });
    const two = await index(files, { store: join(dir, "two"), jobs: 2 });
    expect(two.added).toEqual(one.added);
    expect(two.added).toHaveLength(2);
    expect(two.requests).toBe(one.requests);
    expect(two.bytesRead).toBe(one.bytesRead);
    await expectSameRows(join(dir, "one"), join(dir, "two"));
  });

  it("starts the bundled worker: its file imports only the bundle's chunks, the granule job among them", () => {
    // tools/bundle.ts: the thread loads a few chunks instead of the compiled modules one by one.
    const dist = join(import.meta.dirname, "../../dist");
    const text = readFileSync(join(dist, "index-builder/worker.js"), "utf8");
    const imported = [...text.matchAll(/(?:from|import)\s*"([^"]+)"/g)].map((m) => m[1]!);
    expect(imported.length).toBeGreaterThan(0);
    for (const spec of imported) expect(spec).toMatch(/^(\.\.\/chunks\/[\w-]+\.js|node:[\w/]+)$/);
    const inputs = JSON.parse(readFileSync(join(dist, "chunks/inputs.json"), "utf8")) as Record<
      string,
      string[]
    >;
    const modules = ["index-builder/worker.js", ...imported.map((s) => s.replace(/^\.\.\//, ""))].flatMap(
      (f) => inputs[f] ?? [],
    );
    expect(modules).toContain("src/index-builder/worker.ts");
    expect(modules).toContain("src/index-builder/job.ts");
  });

  it("skips bad inputs with the same reasons and exit codes (command line, --jobs 2)", async () => {
    const bad = join(dir, "bad");
    mkdirSync(bad);
    for (const f of files) copyFileSync(f, join(bad, basename(f)));
    writeFileSync(join(bad, "ATL06_truncated.h5"), readFileSync(files[0]!).subarray(0, 200_000));
    writeFileSync(join(bad, "ATL06_text.h5"), "not HDF5\n");
    const store = join(dir, "bad-2");
    const lenient = await runCli(["index", `${bad}/*.h5`, "--store", store, "--jobs", "2", "--quiet"]);
    expect(lenient.code).toBe(3);
    // The lines reading in this thread prints (the text of InvalidHdf5Error, in input order).
    expect(lenient.stderr.trim().split("\n")).toEqual([
      `${join(bad, "ATL06_text.h5")}: skipped: no HDF5 signature found in file://${join(bad, "ATL06_text.h5")} (size 9)`,
      expect.stringMatching(
        new RegExp(
          `^${join(bad, "ATL06_truncated.h5")}: skipped: file is truncated: superblock records end of file at \\d+ but size is 200000$`,
        ),
      ),
    ]);
    expect(lenient.stdout).toMatch(
      /^indexed 2 added, 0 replaced, 0 unchanged granules \(\d+ chunks\), 2 skipped/,
    );
    const strict = await runCli([
      "index",
      `${bad}/*.h5`,
      "--store",
      `${store}-strict`,
      "--jobs",
      "2",
      "--strict",
    ]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toBe(
      `geochunks: no HDF5 signature found in file://${join(bad, "ATL06_text.h5")} (size 9)\n`,
    );
    expect(existsSync(`${store}-strict`)).toBe(false);
    await expectSameRows(join(dir, "one"), store, { granules: ["url", "mtime"] });
  });

  describe("over HTTP", () => {
    let server: RangeServer;
    beforeAll(async () => {
      server = await startRangeServer({ root: join(dir, "www") });
    });
    afterAll(() => server.close());

    it("reads metadata in lines: at most 30 requests per granule, the local rows but checksums", async () => {
      const urls = files.map((f) => new URL(basename(f), server.url).href);
      server.resetStats();
      // An uncapped link: the cost model reads a granule of this size in whole-file lines.
      const link = { bytesPerSecond: Number.POSITIVE_INFINITY };
      const report = await index(urls, { store: join(dir, "http"), jobs: 2, link });
      expect(report.added).toHaveLength(2);
      expect(server.stats.requests).toBe(report.requests);
      expect(report.requests / files.length).toBeLessThanOrEqual(30);
      // Lines read at most the whole file, each byte once, but each granule's first bytes, read in
      // place of a HEAD (job.ts PREFIX_BYTES); the coordinate chunks come from them.
      expect(report.bytesRead).toBeLessThanOrEqual(report.bytesTotal + files.length * PREFIX_BYTES);
      // Both record the checksums of the chunks read as data (remote ones: those in the lines the
      // coordinate reads took, local ones: those in the coordinates' coalesced reads), and the
      // granules' URLs and ETags differ.
      await expectSameRows(join(dir, "one"), join(dir, "http"), {
        granules: ["url", "etag", "mtime"],
        chunks: ["ref_checksums"],
      });
      const [coordinates] = await duckdb(
        `SELECT count(*)::INTEGER AS refs, count(c)::INTEGER AS summed FROM (
           SELECT unnest(refs).path AS path, unnest(ref_checksums) AS c
             FROM read_parquet('${join(dir, "http")}/chunks/**/*.parquet'))
          WHERE path LIKE '%/latitude' OR path LIKE '%/longitude' OR path LIKE '%/delta_time'`,
      );
      expect(coordinates!.refs).toBeGreaterThan(0);
      expect(coordinates!.summed).toBe(coordinates!.refs);
    });
  });
});
