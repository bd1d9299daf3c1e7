/**
 * Every output format of `geochunks query`, written by the command and read back by an
 * independent reader: GDAL (ogr2ogr, from Debian's gdal-bin) for GeoJSON, GeoJSON lines, CSV,
 * FlatGeobuf and GeoPackage, DuckDB for GeoParquet. Each must hold the same rows as the
 * GeoParquet result, which itself equals the brute-force oracle.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { ROOT, runCli } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import {
  ATL06_RESULT_COLUMNS,
  boxPolygon,
  duckdb,
  parseCsv,
  readResultRows,
  toMicros,
} from "../support/results.js";

const BOX = "-45.4,62.6,-44.6,63.0";
const BOX_GEOJSON = boxPolygon(-45.4, 62.6, -44.6, 63.0);
const FAR_AWAY = "10,10,10.5,10.5";

const COLUMNS = ATL06_RESULT_COLUMNS;

interface Row {
  x: number;
  y: number;
  values: Record<string, string>;
}

/** A file's features as GDAL reads them: X, Y of the point and every field as GDAL's text. */
function gdalRows(file: string, openOptions: string[] = []): Row[] {
  const r = spawnSync(
    "ogr2ogr",
    ["-f", "CSV", "/vsistdout/", file, ...openOptions, "-lco", "GEOMETRY=AS_XY"],
    { encoding: "utf8", maxBuffer: 1 << 30 },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe("");
  const { header, rows } = parseCsv(r.stdout);
  return rows.map((cells) => {
    const values: Record<string, string> = {};
    header.forEach((h, i) => {
      values[h] = cells[i]!;
    });
    return { x: Number(values.X), y: Number(values.Y), values };
  });
}

/** The GeoParquet result read by DuckDB, every column as a plain value, time as nanoseconds. */
async function parquetRows(file: string): Promise<Record<string, unknown>[]> {
  return duckdb(`SELECT * EXCLUDE (geometry, time), epoch_ns(time) AS time_ns FROM read_parquet('${file}')`);
}

/** Nanoseconds since 1970 of GDAL's DateTime text ("2019/06/01 20:28:28.723+00"). */
function gdalTimeMs(text: string): number {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d(?:\.\d+)?)\+00$/.exec(text);
  expect(m, text).not.toBeNull();
  const [, y, mo, d, h, mi, s] = m!;
  return Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!) + Number(s) * 1000;
}

/** Checks that GDAL's rows equal the GeoParquet rows, field by field, in order. */
function expectSameRows(got: Row[], want: Record<string, unknown>[], timeAs: "datetime" | "iso"): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const where = `row ${i}`;
    // GDAL prints 15 significant digits.
    expect(Math.abs(g.x - (w.lon as number)), where).toBeLessThan(1e-12);
    expect(Math.abs(g.y - (w.lat as number)), where).toBeLessThan(1e-12);
    expect(Math.abs(Number(g.values.lon) - (w.lon as number)), where).toBeLessThan(1e-12);
    expect(Math.abs(Number(g.values.lat) - (w.lat as number)), where).toBeLessThan(1e-12);
    for (const name of ["h_li", "h_li_sigma"]) {
      const text = g.values[name]!;
      if (w[name] === null) expect(text, `${where} ${name}`).toBe("");
      else {
        // GDAL prints a Float32 field (FlatGeobuf) with 7 significant digits, a REAL with 15.
        const error = Math.abs(Number(text) - (w[name] as number)) / Math.abs(w[name] as number);
        expect(error, `${where} ${name}: ${text} vs ${w[name]}`).toBeLessThan(1e-6);
      }
    }
    for (const name of ["atl06_quality_summary", "rgt", "cycle", "spot", "segment_id"])
      expect(Number(g.values[name]), `${where} ${name}`).toBe(Number(w[name]));
    for (const name of ["track_id", "granule_id", "beam"])
      expect(g.values[name], `${where} ${name}`).toBe(w[name]);
    const ns = w.time_ns as bigint;
    if (timeAs === "iso") {
      const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, -5);
      // DuckDB reads Parquet nanoseconds as microseconds: the text has nine digits, of which six compare.
      const micros = ((ns % 1_000_000_000n) / 1000n).toString().padStart(6, "0");
      expect(g.values.time, where).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(g.values.time!.slice(0, 26), where).toBe(`${seconds}.${micros}`);
    } else {
      // GDAL's DateTime holds milliseconds.
      expect(Math.abs(gdalTimeMs(g.values.time!) - Number(ns / 1_000_000n)), where).toBeLessThanOrEqual(1);
    }
  }
}

describe("query output formats, read back by GDAL and DuckDB", () => {
  let dir: string;
  let store: string;
  let granules: string[];
  let reference: Record<string, unknown>[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-formats-"));
    mkdirSync(join(dir, "granules"));
    granules = [];
    for (const opts of demoGranuleSet().slice(0, 2))
      granules.push(await writeSyntheticAtl06(join(dir, "granules"), opts));
    store = join(dir, "idx");
    await index(granules, { store });
    const r = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--out",
      join(dir, "out", "ref.parquet"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    reference = await parquetRows(join(dir, "out", "ref.parquet"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("GeoParquet holds the oracle's rows", async () => {
    const oracle = await bruteForceAtl06(granules, BOX_GEOJSON);
    expect(reference.length).toBeGreaterThan(1000);
    expect(toMicros(await readResultRows(join(dir, "out", "ref.parquet")))).toEqual(toMicros(oracle));
    const columns = await duckdb(`DESCRIBE SELECT * FROM read_parquet('${join(dir, "out", "ref.parquet")}')`);
    expect(columns.map((c) => c.column_name)).toEqual([...COLUMNS, "geometry"]);
  });

  for (const [ext, driver, timeAs] of [
    ["geojson", "GeoJSON", "datetime"],
    ["geojsonl", "GeoJSONSeq", "datetime"],
    ["ndjson", "GeoJSONSeq", "datetime"],
    ["fgb", "FlatGeobuf", "datetime"],
    ["gpkg", "GPKG", "iso"],
  ] as const) {
    it(`.${ext}: GDAL's ${driver} driver reads the same rows as the GeoParquet result`, async () => {
      const out = join(dir, "out", `result.${ext}`);
      const r = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`wrote ${reference.length} rows to ${out}`);
      const info = execFileSync("ogrinfo", ["-ro", "-so", "-al", out], { encoding: "utf8" });
      expect(info).toContain(`using driver \`${driver}'`);
      expect(info).toContain("Geometry: Point");
      expect(info).toContain(`Feature Count: ${reference.length}`);
      expect(info).toMatch(/ID\["EPSG",4326\]|WGS 84/);
      expectSameRows(gdalRows(out), reference, timeAs);
      // No temporary file is left beside the output.
      expect(readdirSync(join(dir, "out")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    });
  }

  it(".csv: lat and lon columns GDAL turns into points, times as ISO 8601 with nanoseconds", async () => {
    const out = join(dir, "out", "result.csv");
    const r = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const rows = gdalRows(out, ["-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat"]);
    expectSameRows(rows, reference, "iso");
    // DuckDB's CSV reader agrees on the types and values too.
    const [agg] = await duckdb(
      `SELECT count(*) AS n, sum(h_li) AS h, min(time) AS t FROM read_csv('${out}', header = true)`,
    );
    const [want] = await duckdb(
      `SELECT count(*) AS n, sum(h_li) AS h FROM read_parquet('${join(dir, "out", "ref.parquet")}')`,
    );
    expect(agg!.n).toBe(want!.n);
    // Sums of float32 values in another order: equal to 1e-9 relative.
    expect(Math.abs((agg!.h as number) - (want!.h as number)) / (want!.h as number)).toBeLessThan(1e-9);
  });

  it("GeoPackage declares the layer's extent, the GPKG application id and an R-tree", async () => {
    const out = join(dir, "out", "result.gpkg");
    if (!existsSync(out)) {
      const r = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
    }
    const sql = (q: string) =>
      execFileSync("ogrinfo", ["-ro", "-q", out, "-sql", q], { encoding: "utf8" }).replace(/\s+/g, " ");
    expect(sql("PRAGMA application_id")).toContain(`application_id (Integer) = ${0x47504b47}`);
    expect(sql("SELECT count(*) AS n FROM rtree_points_geom")).toContain(`n (Integer) = ${reference.length}`);
    const lons = reference.map((r) => r.lon as number);
    const extent = sql("SELECT min_x, max_x FROM gpkg_contents");
    expect(extent).toContain(
      `min_x (Real) = ${Math.min(...lons)
        .toPrecision(15)
        .replace(/0+$/, "")}`,
    );
    // A spatial filter uses the index and keeps exactly the points in the window.
    const window = ["-45.0", "62.7", "-44.9", "62.8"];
    const r = spawnSync("ogr2ogr", ["-f", "CSV", "/vsistdout/", out, "-spat", ...window], {
      encoding: "utf8",
    });
    const inWindow = reference.filter(
      (w) =>
        (w.lon as number) >= -45 &&
        (w.lon as number) <= -44.9 &&
        (w.lat as number) >= 62.7 &&
        (w.lat as number) <= 62.8,
    );
    expect(inWindow.length).toBeGreaterThan(0);
    expect(parseCsv(r.stdout).rows.length).toBe(inWindow.length);
  });

  it("--format overrides the extension", async () => {
    const out = join(dir, "out", "result.txt");
    const r = await runCli(["query", "--store", store, "--polygon", BOX, "--out", out, "--format", "ndjson"]);
    expect(r.code, r.stderr).toBe(0);
    expectSameRows(gdalRows(`GeoJSONSeq:${out}`), reference, "datetime");
  });

  it("--out - streams CSV, GeoJSON lines or GeoJSON to standard output, the same text as the file", async () => {
    for (const [format, ext] of [
      ["csv", "csv"],
      ["geojsonl", "geojsonl"],
      ["geojson", "geojson"],
    ] as const) {
      const file = join(dir, "out", `stdout-twin.${ext}`);
      const written = await runCli(["query", "--store", store, "--polygon", BOX, "--out", file]);
      expect(written.code, written.stderr).toBe(0);
      const r = await runCli([
        "query",
        "--store",
        store,
        "--polygon",
        BOX,
        "--out",
        "-",
        "--format",
        format,
        "--stats",
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(readFileSync(file, "utf8"));
      // The statistics go to standard error, out of the data's way.
      expect(JSON.parse(r.stderr).rows).toBe(reference.length);
    }
    // GDAL reads the piped GeoJSON lines.
    const piped = spawnSync(
      "bash",
      [
        "-c",
        `node dist/cli/bin.js query --store '${store}' --polygon ${BOX} --out - --format geojsonl | head -n 500 | ogr2ogr -f CSV /vsistdout/ GeoJSONSeq:/vsistdin/ -lco GEOMETRY=AS_XY; echo "status \${PIPESTATUS[0]} \${PIPESTATUS[2]}" >&2`,
      ],
      { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 30 },
    );
    // geochunks ends quietly with exit 0 when head closes the pipe; GDAL reads the 500 lines.
    expect(piped.stderr).toBe("status 0 0\n");
    expect(parseCsv(piped.stdout).rows).toHaveLength(500);
    for (const [args, message] of [
      [[], "-: standard output needs --format csv, geojsonl, geojson"],
      [["--format", "gpkg"], "-: GeoPackage cannot be written to standard output"],
    ] as const) {
      const r = await runCli(["query", "--store", store, "--polygon", BOX, "--out", "-", ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });

  it("an empty result is a valid empty file in every format", async () => {
    for (const ext of ["parquet", "geojson", "csv", "fgb", "gpkg"]) {
      const out = join(dir, "empty", `none.${ext}`);
      const r = await runCli(["query", "--store", store, "--polygon", FAR_AWAY, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`wrote 0 rows to ${out}`);
      if (ext === "parquet") {
        const [n] = await duckdb(`SELECT count(*) AS n FROM read_parquet('${out}')`);
        expect(n!.n).toBe(0n);
      } else if (ext === "csv") {
        expect(execFileSync("head", ["-1", out], { encoding: "utf8" }).trim()).toBe(COLUMNS.join(","));
      } else {
        const info = execFileSync("ogrinfo", ["-ro", "-so", "-al", out], { encoding: "utf8" });
        expect(info, ext).toContain("Feature Count: 0");
      }
    }
  });

  it("creates the output's parent folders; refuses an unknown extension or an uncreatable folder with one line, exit 2, no file", async () => {
    const deep = join(dir, "a", "b", "c", "deep.gpkg");
    const ok = await runCli(["query", "--store", store, "--polygon", BOX, "--out", deep]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(statSync(deep).size).toBeGreaterThan(0);

    const txt = join(dir, "out", "result.xyz");
    const bad = await runCli(["query", "--store", store, "--polygon", BOX, "--out", txt]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain(`${txt}: output file has an unknown extension ".xyz"`);
    expect(bad.stderr).toContain("gpkg (.gpkg)");
    expect(existsSync(txt)).toBe(false);

    const badFormat = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--out",
      txt,
      "--format",
      "shp",
    ]);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('unknown output format "shp"');

    writeFileSync(join(dir, "blocker"), "a file where a folder should be");
    const blocked = join(dir, "blocker", "sub", "r.parquet");
    const noFolder = await runCli(["query", "--store", store, "--polygon", BOX, "--out", blocked]);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr.trim().split("\n")).toHaveLength(1);
    expect(noFolder.stderr).toContain(join(dir, "blocker", "sub"));
    expect(noFolder.stderr).not.toContain(".tmp");
  });
});
