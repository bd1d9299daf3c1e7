import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore, writeGeoParquet } from "../../src/index.js";
import { ROOT } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { duckdb, readResultRows, toMicros } from "../support/results.js";

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;

describe("Greenland query over synthetic release-006 granules", () => {
  let dir: string;
  let files: string[];
  let storeDir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-synth-"));
    files = [];
    for (const opts of demoGranuleSet()) files.push(await writeSyntheticAtl06(dir, opts));
    storeDir = join(dir, "store");
    const report = await index(files, { store: storeDir, concurrency: 2 });
    expect(report.added).toHaveLength(files.length);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("equals the brute-force oracle row for row, and skips granules that miss the polygon", async () => {
    const store = await openStore(storeDir);
    const result = store.query({ aoi: GREENLAND });
    const out = join(dir, "greenland.parquet");
    const rows = await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
    const expected = await bruteForceAtl06(files, GREENLAND);
    expect(expected.length).toBeGreaterThan(10_000);
    expect(rows).toBe(expected.length);
    expect(await readResultRows(out)).toEqual(toMicros(expected));
    const crossing = new Set(expected.map((r) => r.granule_id));
    expect(crossing.size).toBeGreaterThanOrEqual(3);
    expect(crossing.size).toBeLessThan(files.length);
    expect(result.stats.granules).toBe(crossing.size);
    // The index selects chunks, not granules: far less than the crossing granules' size is read.
    const crossingBytes = files
      .filter((f) => crossing.has(f.split("/").pop()!.replace(".h5", "")))
      .reduce((s, f) => s + readFileSync(f).length, 0);
    expect(result.stats.bytes_read).toBeLessThan(crossingBytes * 0.25);
    expect(result.stats.bytes_read).toBeLessThanOrEqual(result.stats.bytes_minimal * 1.25);
  });

  it("a time-filtered query with extra variables equals the oracle and carries the variables", async () => {
    const store = await openStore(storeDir);
    const start = new Date("2020-01-01T00:00:00Z");
    const result = store.query({
      aoi: GREENLAND,
      start,
      vars: ["ground_track/x_atc", "fit_statistics/n_fit_photons"],
    });
    const out = join(dir, "late.parquet");
    await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
    const expected = await bruteForceAtl06(files, GREENLAND, { start });
    expect(await readResultRows(out)).toEqual(toMicros(expected));
    const [types] = await duckdb(
      `SELECT typeof(x_atc) AS x, typeof(n_fit_photons) AS n, count(*) AS rows FROM read_parquet('${out}') GROUP BY ALL`,
    );
    expect(types).toMatchObject({ x: "DOUBLE", n: "INTEGER" });
  });

  it("SQL sees every granule, and chunk_cells covers every chunk", async () => {
    const store = await openStore(storeDir);
    const { rows } = await store.sql(
      `SELECT (SELECT count(*) FROM granules) AS granules,
              (SELECT count(DISTINCT chunk_id) FROM chunk_cells) AS cell_chunks,
              (SELECT count(*) FROM chunks) AS chunks`,
    );
    expect(rows[0]!.granules).toBe(String(files.length));
    expect(rows[0]!.cell_chunks).toBe(rows[0]!.chunks);
  });
});
