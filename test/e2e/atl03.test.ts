import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAtl03Set, writeSyntheticAtl03 } from "../../fixtures/atl03/generate.js";
import { runCli } from "../support/cli.js";
import { type Atl03OracleRow, bruteForceAtl03 } from "../support/oracle-atl03.js";
import { boxPolygon, duckdb, toMicros } from "../support/results.js";

/** A box over the middle of the strong and weak beams of both granules, cutting their chunks. */
const BOX = [-45.01, 62.8, -44.93, 62.815] as const;
const AOI = boxPolygon(...BOX);

/** Photons per strong beam: a few chunks per beam, a short test. */
const PHOTONS = 30_000;

/** Segment-rate variable broadcast to photons through `--vars`. */
const DEM = "../geophys_corr/dem_h";

/** The rows of a result file, shaped like oracle rows, and the surface type of its confidence column. */
async function readAtl03Rows(path: string) {
  const rows = await duckdb(
    `SELECT granule_id, beam, product, lat, lon, epoch_ns(time) AS time_ns, h_ph, x_atc, y_atc,
            signal_conf_ph AS signal_conf, quality_ph, segment_id, dem_h
       FROM read_parquet('${path}')`,
  );
  return rows.map((r) => ({
    granule_id: r.granule_id as string,
    beam: r.beam as string,
    product: r.product as string,
    lat: r.lat as number,
    lon: r.lon as number,
    time_ns: r.time_ns as bigint,
    h_ph: r.h_ph as number,
    x_atc: r.x_atc as number,
    y_atc: r.y_atc as number,
    signal_conf: r.signal_conf as number,
    quality_ph: r.quality_ph as number,
    segment_id: r.segment_id as number,
    dem_h: r.dem_h as number | null,
  }));
}

/** The surface type the result's `signal_conf_ph` is for, from the file's column metadata. */
async function surfaceOf(path: string): Promise<string> {
  const [row] = await duckdb(
    `SELECT decode(value) AS value FROM parquet_kv_metadata('${path}') WHERE decode(key) = 'geochunks:columns'`,
  );
  return (JSON.parse(row!.value as string) as Record<string, Record<string, string>>).signal_conf_ph!
    .surface_type!;
}

/** Oracle rows in the same shape. */
function expectedRows(rows: Atl03OracleRow[]) {
  return toMicros(rows).map((r) => ({
    granule_id: r.granule_id,
    beam: r.beam,
    product: "ATL03",
    lat: r.lat,
    lon: r.lon,
    time_ns: r.time_ns,
    h_ph: r.h_ph,
    x_atc: r.x_atc,
    y_atc: r.y_atc,
    signal_conf: r.signal_conf,
    quality_ph: r.quality_ph,
    segment_id: r.segment_id,
    dem_h: r.vars[DEM] as number | null,
  }));
}

describe("ATL03 photons through the CLI: index, query a box, compare to the brute-force oracle", () => {
  let dir: string;
  let files: string[];
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-atl03-"));
    const [r006, r007] = demoAtl03Set();
    files = [
      await writeSyntheticAtl03(dir, { ...r006!, photonsPerStrongBeam: PHOTONS }),
      await writeSyntheticAtl03(dir, { ...r007!, photonsPerStrongBeam: PHOTONS, release: "007" }),
    ];
    store = join(dir, "store");
    const run = await runCli(["index", ...files, "--store", store]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `query` over the box with `extra` options; returns the result file and the statistics. */
  async function query(name: string, extra: string[]) {
    const out = join(dir, `${name}.parquet`);
    const vars = DEM;
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX.join(","),
      "--vars",
      vars,
      "--out",
      out,
      "--stats",
      ...extra,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const stats = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
    return { out, stats };
  }

  it("indexes both releases as ATL03", async () => {
    const run = await runCli([
      "sql",
      "--store",
      store,
      "--format",
      "csv",
      "SELECT product, release FROM granules ORDER BY release",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual(["product,release", "ATL03,006", "ATL03,007"]);
  });

  it("every photon in the box, row for row, with a segment-rate variable broadcast", async () => {
    const { out, stats } = await query("all", []);
    const expected = expectedRows(await bruteForceAtl03(files, AOI, { vars: [DEM] }));
    expect(expected.length).toBeGreaterThan(10_000);
    expect(new Set(expected.map((r) => r.granule_id)).size).toBe(2);
    expect(expected.some((r) => r.dem_h === null)).toBe(false);
    const actual = await readAtl03Rows(out);
    expect(actual.length).toBe(expected.length);
    expect(await surfaceOf(out)).toBe("land");
    expect(actual).toEqual(expected);
    expect(stats.rows).toBe(expected.length);
    expect(stats.bytes_minimal).toBeLessThanOrEqual(stats.bytes_read);
    expect(stats.bytes_read).toBeLessThanOrEqual(stats.bytes_minimal * 1.25);
  });

  it("--srt and --cnf keep the photons whose confidence for that surface is high enough", async () => {
    const { out, stats } = await query("cnf", ["--srt", "land_ice", "--cnf", "3"]);
    const oracle = await bruteForceAtl03(files, AOI, { surface: "land_ice", cnf: 3, vars: [DEM] });
    const expected = expectedRows(oracle);
    const all = await bruteForceAtl03(files, AOI);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    const actual = await readAtl03Rows(out);
    expect(actual).toEqual(expected);
    expect(await surfaceOf(out)).toBe("land_ice");
    expect(actual.every((r) => r.signal_conf >= 3)).toBe(true);
    expect(stats.rows).toBe(expected.length);
    const bad = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX.join(","),
      "--srt",
      "glacier",
      "--out",
      out,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("srt must be one of land, ocean, sea_ice, land_ice, inland_water");
  });

  it("--quality (or --quality-ph) keeps nominal photons only", async () => {
    const { out } = await query("quality", ["--quality", "--cnf", "1"]);
    const expected = expectedRows(await bruteForceAtl03(files, AOI, { quality: true, cnf: 1, vars: [DEM] }));
    expect(expected.length).toBeGreaterThan(0);
    expect(await readAtl03Rows(out)).toEqual(expected);
    // SlideRule's flag name is the same filter.
    const { out: same } = await query("quality-ph", ["--quality-ph", "--cnf", "1"]);
    expect(await readAtl03Rows(same)).toEqual(expected);
  });
});
