/**
 * List columns (ATL08's 20 m variables, five values per 100 m segment) in every output format of
 * `geochunks query`, read back by independent readers: DuckDB for GeoParquet (a FLOAT[] column),
 * GDAL (ogr2ogr, Debian's gdal-bin) for the others, where a list is the JSON text of its array
 * (GeoJSON: a JSON array). Every format must hold the same lists, null elements included.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atl08DemoSet, FOREST_CENTRE, writeSyntheticAtl08 } from "../../fixtures/atl08/generate.js";
import { openStore, writeResult } from "../../src/index.js";
import { runCli } from "../support/cli.js";
import { duckdb, parseCsv } from "../support/results.js";

const BOX = [
  FOREST_CENTRE.lon - 0.07,
  FOREST_CENTRE.lat - 0.05,
  FOREST_CENTRE.lon + 0.07,
  FOREST_CENTRE.lat + 0.05,
].join(",");
const LISTS = ["h_canopy_20m", "h_te_best_fit_20m"] as const;

type List = (number | null)[] | null;

/** The list columns of a file as GDAL reads them (JSON text fields), parsed, in row order. */
function gdalLists(file: string): Record<string, List>[] {
  const r = spawnSync("ogr2ogr", ["-f", "CSV", "/vsistdout/", file, "-select", LISTS.join(",")], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  expect(r.status, r.stderr).toBe(0);
  const { header, rows } = parseCsv(r.stdout);
  return rows.map((cells) =>
    Object.fromEntries(header.map((h, i) => [h, cells[i] === "" ? null : (JSON.parse(cells[i]!) as List)])),
  );
}

/** A list's elements as float32, the type of the column (text formats write float32's shortest digits). */
const asFloat32 = (list: List) => list?.map((v) => (v === null ? null : Math.fround(v))) ?? null;

describe("list columns in every output format", () => {
  let dir: string;
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-lists-"));
    const file = await writeSyntheticAtl08(dir, atl08DemoSet(400)[0]!);
    store = join(dir, "store");
    const run = await runCli(["index", file, "--store", store, "--quiet"]);
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("GeoParquet holds FLOAT[] lists; CSV, GeoJSON (lines), FlatGeobuf and GeoPackage the same lists as JSON", async () => {
    const parquet = join(dir, "r.parquet");
    const run = await runCli(["query", "--store", store, "--polygon", BOX, "--out", parquet]);
    expect(run.code, run.stderr).toBe(0);
    const [types] = await duckdb(
      `SELECT typeof(h_canopy_20m) AS a, typeof(h_te_best_fit_20m) AS b FROM read_parquet('${parquet}') LIMIT 1`,
    );
    expect(types).toEqual({ a: "FLOAT[]", b: "FLOAT[]" });
    const want = (
      await duckdb(
        `SELECT ${LISTS.map((c) => `to_json(list_transform(${c}, x -> x::DOUBLE))::VARCHAR AS ${c}`).join(", ")}
           FROM read_parquet('${parquet}')`,
      )
    ).map((r) => Object.fromEntries(LISTS.map((c) => [c, JSON.parse(r[c] as string) as List])));
    expect(want.length).toBeGreaterThan(100);
    expect(want.every((r) => r.h_canopy_20m?.length === 5)).toBe(true);
    // fill values are null elements: sub-segments without canopy, beside ones with
    expect(want.some((r) => r.h_canopy_20m!.includes(null) && r.h_canopy_20m!.some((v) => v !== null))).toBe(
      true,
    );
    // The other formats through the library (the command's writer): one process, a quicker test.
    const opened = await openStore(store);
    for (const ext of ["csv", "geojson", "geojsonl", "fgb", "gpkg"]) {
      const out = join(dir, `r.${ext}`);
      expect(await writeResult(opened.query({ aoi: BOX }), out), ext).toBe(want.length);
      const got = gdalLists(out).map((r) => Object.fromEntries(LISTS.map((c) => [c, asFloat32(r[c]!)])));
      expect(got, ext).toEqual(want);
    }
    // toRows gives each list as an array, nulls included
    const rows = await opened.query({ aoi: BOX }).toRows();
    expect(
      rows.map((r) => ({ h_canopy_20m: r.h_canopy_20m, h_te_best_fit_20m: r.h_te_best_fit_20m })),
    ).toEqual(want);
  }, 120_000);
});
