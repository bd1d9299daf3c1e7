/**
 * ATL08 end to end through the command line: two synthetic granules are indexed into a store and
 * a box is queried to GeoParquet; DuckDB reads the result back, and it equals the brute-force
 * oracle row for row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atl08DemoSet, FOREST_CENTRE, writeSyntheticAtl08 } from "../../fixtures/atl08/generate.js";
import { runCli } from "../support/cli.js";
import { boxAround } from "../support/h5file.js";
import { bruteForceAtl08 } from "../support/oracle-atl08.js";
import { duckdb, toMicros } from "../support/results.js";

/** A ~11 x 11 km box around the forest test area's centre, as `--polygon` takes it and as GeoJSON. */
const [DLON, DLAT] = [0.07, 0.05];
const BOX = [
  FOREST_CENTRE.lon - DLON,
  FOREST_CENTRE.lat - DLAT,
  FOREST_CENTRE.lon + DLON,
  FOREST_CENTRE.lat + DLAT,
].join(",");
const BOX_GEOJSON = boxAround(FOREST_CENTRE, DLON, DLAT);

/** A result file's rows, shaped like oracle rows, in file order. */
async function resultRows(path: string, extra = "") {
  const rows = await duckdb(
    `SELECT granule_id, product, beam, lat, lon, epoch_ns(time) AS time_ns, h_canopy, h_te_best_fit,
            segment_id_beg, night_flag, ${listOf("h_canopy_20m")}, ${listOf("h_te_best_fit_20m")}${extra}
       FROM read_parquet('${path}')`,
  );
  return rows.map(
    (r): Record<string, unknown> => ({
      ...r,
      h_canopy_20m: JSON.parse(r.h_canopy_20m as string),
      h_te_best_fit_20m: JSON.parse(r.h_te_best_fit_20m as string),
    }),
  );
}

/** A list column read back by DuckDB as exact float64 values (JSON text of the widened float32s). */
const listOf = (column: string) => `to_json(list_transform(${column}, x -> x::DOUBLE))::VARCHAR AS ${column}`;

describe("ATL08 through the command line", () => {
  let dir: string;
  let files: string[];
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-atl08-"));
    files = [];
    for (const opts of atl08DemoSet(400).slice(0, 2)) files.push(await writeSyntheticAtl08(dir, opts));
    store = join(dir, "store");
    const run = await runCli(["index", ...files, "--store", store, "--quiet"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^indexed 2 added/);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a box query equals the brute-force oracle row for row", async () => {
    const out = join(dir, "box.parquet");
    const run = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    const expected = toMicros(await bruteForceAtl08(files, BOX_GEOJSON));
    expect(new Set(expected.map((r) => r.granule_id)).size).toBe(2);
    expect(expected.some((r) => r.h_canopy === null)).toBe(true);
    expect(expected.some((r) => r.h_canopy !== null)).toBe(true);
    const got = await resultRows(out);
    expect(got).toEqual(
      expected.map((r) => ({
        granule_id: r.granule_id,
        product: "ATL08",
        beam: r.beam,
        lat: r.lat,
        lon: r.lon,
        time_ns: r.time_ns,
        h_canopy: r.h_canopy,
        h_te_best_fit: r.h_te_best_fit,
        segment_id_beg: r.segment_id_beg,
        night_flag: r.night_flag,
        h_canopy_20m: r.h_canopy_20m,
        h_te_best_fit_20m: r.h_te_best_fit_20m,
      })),
    );
    // 20 m sub-segments without a canopy height are null elements of the list
    expect(
      expected.some((r) => r.h_canopy_20m.some((v) => v === null) && r.h_canopy_20m.some((v) => v !== null)),
    ).toBe(true);
  }, 120_000);

  it("--vars adds a terrain variable, fill values as nulls", async () => {
    const out = join(dir, "vars.parquet");
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--vars",
      "terrain/h_te_median",
      "--out",
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const expected = toMicros(await bruteForceAtl08(files, BOX_GEOJSON, { vars: ["terrain/h_te_median"] }));
    const got = await resultRows(out, ", h_te_median");
    expect(got.length).toBeGreaterThan(0);
    expect(got.map((r) => r.h_te_median)).toEqual(expected.map((r) => r.vars["terrain/h_te_median"]));
    expect(got.map((r) => r.segment_id_beg)).toEqual(expected.map((r) => r.segment_id_beg));
  }, 120_000);
});
