import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { duckdb } from "../support/results.js";

/*
 * A run with more inputs than it reads at once encodes its part files ahead, as rows come
 * (store/part-encoder.ts); the store it writes holds the rows a run encoding them at the end writes.
 */

const started = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/store/part-encoder.js", async (original) => {
  const mod = await original<typeof import("../../src/store/part-encoder.js")>();
  return {
    ...mod,
    localPartEncoder: (...args: Parameters<typeof mod.localPartEncoder>) => {
      started.count++;
      return mod.localPartEncoder(...args);
    },
  };
});

/** Per table: its rows in store `a`, and those in `a` and not in `b` and the other way, by DuckDB. */
async function compare(a: string, b: string) {
  const tables = ["granules", "arrays", "chunks", "chunk_cells"];
  const select = (store: string, table: string) =>
    `SELECT * FROM read_parquet('${store}/${table}/**/*.parquet')`;
  const sql = tables
    .map(
      (t) =>
        `SELECT '${t}' AS t, (SELECT count(*) FROM (${select(a, t)}))::INTEGER AS n, ` +
        `(SELECT count(*) FROM (${select(a, t)} EXCEPT ALL ${select(b, t)}))::INTEGER AS only_a, ` +
        `(SELECT count(*) FROM (${select(b, t)} EXCEPT ALL ${select(a, t)}))::INTEGER AS only_b`,
    )
    .join(" UNION ALL ");
  return Object.fromEntries((await duckdb(sql)).map((r) => [r.t as string, r]));
}

describe("part files encoded ahead in an index run", () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-encode-ahead-"));
    mkdirSync(join(dir, "in"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 3))
      files.push(await writeSyntheticAtl06(join(dir, "in"), { ...opts, segmentsPerBeam: 1500 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("write the rows a run encoding at the end writes, and only runs with inputs waiting encode ahead", async () => {
    // 3 inputs, 1 at a time (a copy of the first among them, left out as a duplicate): encoded ahead.
    const ahead = await index([...files, files[0]!], { store: join(dir, "ahead"), concurrency: 1, jobs: 1 });
    expect(started.count).toBe(1);
    expect(ahead.added).toHaveLength(3);
    // 3 inputs, 4 at a time: encoded at the end.
    const atEnd = await index(files, { store: join(dir, "end"), concurrency: 4, jobs: 1 });
    expect(started.count).toBe(1);
    expect(atEnd.added).toEqual(ahead.added);
    const rows = await compare(join(dir, "ahead"), join(dir, "end"));
    for (const [table, min] of Object.entries({ granules: 3, arrays: 30, chunks: 10, chunk_cells: 10 })) {
      expect(rows[table]!.n, table).toBeGreaterThanOrEqual(min);
      expect([rows[table]!.only_a, rows[table]!.only_b], table).toEqual([0, 0]);
    }
  });
});
