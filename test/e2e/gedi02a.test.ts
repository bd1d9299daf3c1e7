/**
 * GEDI L2A end to end through the command line: two synthetic granules (one with contiguous core
 * datasets, one chunked throughout) are indexed into a store and a box is queried to GeoParquet;
 * DuckDB reads the result back, and it equals the brute-force oracle row for row, with exact
 * 64-bit shot numbers, with and without the quality filter.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FOREST_CENTRE } from "../../fixtures/atl08/generate.js";
import { gediDemoSet, writeSyntheticGedi02a } from "../../fixtures/gedi02a/generate.js";
import { runCli } from "../support/cli.js";
import { boxAround } from "../support/h5file.js";
import { bruteForceGedi02a, type GediOracleRow } from "../support/oracle-gedi02a.js";
import { duckdb, toMicros } from "../support/results.js";

/** A ~8 x 9 km box around the forest test area's centre, as `--polygon` takes it and as GeoJSON. */
const [DLON, DLAT] = [0.05, 0.04];
const BOX = [
  FOREST_CENTRE.lon - DLON,
  FOREST_CENTRE.lat - DLAT,
  FOREST_CENTRE.lon + DLON,
  FOREST_CENTRE.lat + DLAT,
].join(",");
const BOX_GEOJSON = boxAround(FOREST_CENTRE, DLON, DLAT);

/** A result file's rows, shaped like {@link expectedRows}, in file order. */
function resultRows(path: string) {
  return duckdb(
    `SELECT granule_id, product, beam, lat, lon, epoch_ns(time) AS time_ns, shot_number,
            elev_lowestmode, elev_highestreturn, rh98, quality_flag, degrade_flag FROM read_parquet('${path}')`,
  );
}

/** A list column read back by DuckDB as exact float64 values (JSON text of the widened float32s). */
const listOf = (column: string) => `to_json(list_transform(${column}, x -> x::DOUBLE))::VARCHAR AS ${column}`;

/** Oracle rows as a result should hold them. */
function expectedRows(rows: GediOracleRow[]) {
  return toMicros(rows).map((r) => ({
    granule_id: r.granule_id,
    product: "GEDI02_A",
    beam: r.beam,
    lat: r.lat,
    lon: r.lon,
    time_ns: r.time_ns,
    shot_number: r.shot_number,
    elev_lowestmode: r.elev_lowestmode,
    elev_highestreturn: r.elev_highestreturn,
    rh98: r.vars.rh98,
    quality_flag: r.quality_flag,
    degrade_flag: r.degrade_flag,
  }));
}

describe("GEDI L2A through the command line", () => {
  let dir: string;
  let files: string[];
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-gedi02a-"));
    files = [];
    for (const opts of gediDemoSet(1500).slice(0, 2)) files.push(await writeSyntheticGedi02a(dir, opts));
    store = join(dir, "store");
    const run = await runCli(["index", ...files, "--store", store, "--quiet"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^indexed 2 added/);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a box query equals the brute-force oracle row for row, shot numbers exact", async () => {
    const out = join(dir, "box.parquet");
    const run = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    const expected = await bruteForceGedi02a(files, BOX_GEOJSON, { rh: [98] });
    expect(new Set(expected.map((r) => r.granule_id)).size).toBe(2);
    expect(expected.some((r) => r.shot_number > 2n ** 53n)).toBe(true);
    // shots with no detected mode: GEDI's -9999 is null in the oracle and in the result
    expect(expected.some((r) => r.elev_lowestmode === null && r.vars.rh98 === null)).toBe(true);
    const got = await resultRows(out);
    expect(got.every((r) => typeof r.shot_number === "bigint")).toBe(true);
    expect(got).toEqual(expectedRows(expected));
  }, 120_000);

  it("--vars rh is a list of the 101 percentiles, rh:25 one of them, -9999 as nulls", async () => {
    const out = join(dir, "rh.parquet");
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--vars",
      "rh,rh:25",
      "--out",
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const expected = toMicros(await bruteForceGedi02a(files, BOX_GEOJSON));
    const [type] = await duckdb(
      `SELECT typeof(rh) AS t, typeof(rh25) AS t25 FROM read_parquet('${out}') LIMIT 1`,
    );
    expect(type).toEqual({ t: "FLOAT[]", t25: "FLOAT" });
    const got = await duckdb(`SELECT shot_number, ${listOf("rh")}, rh25 FROM read_parquet('${out}')`);
    expect(got.map((r) => ({ ...r, rh: JSON.parse(r.rh as string) }))).toEqual(
      expected.map((r) => ({ shot_number: r.shot_number, rh: r.rh, rh25: r.rh![25] })),
    );
    expect(expected.some((r) => r.rh!.every((v) => v === null))).toBe(true);
  }, 120_000);

  it("--quality keeps the oracle's good shots only", async () => {
    const out = join(dir, "good.parquet");
    const run = await runCli(["query", "--store", store, "--polygon", BOX, "--quality", "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    const all = await bruteForceGedi02a(files, BOX_GEOJSON, { rh: [98] });
    const expected = await bruteForceGedi02a(files, BOX_GEOJSON, { rh: [98], quality: true });
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    expect(await resultRows(out)).toEqual(expectedRows(expected));
  }, 120_000);
});
