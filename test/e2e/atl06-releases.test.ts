/**
 * ATL06 as users hold it: releases 001 to 006 (001-003 lack a few variables 006 has) and files cut by
 * NSIDC's subsetter or a tutorial's clip script (beams missing, a few rows per beam, core variables
 * only, no /orbit_info or /ancillary_data, an extra group), with one broken file. Indexed and queried
 * through the command line; the result equals the brute-force oracle row for row, variables a
 * granule lacks are null with one warning, and the broken file is skipped with its reason.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { atl06VariantSet, writeAtl06Variant } from "../../fixtures/atl06/variants.js";
import { runCli } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { boxPolygon, duckdb, toMicros } from "../support/results.js";

const BOX = [-45.4, 62.6, -44.6, 63.0] as const;
/** A variable releases 001-003 lack, and one every release has (but a core-only subset lacks). */
const VARS = ["geophysical/layer_flag", "fit_statistics/n_fit_photons"];

describe("ATL06 releases 001-006 and subsetted files", () => {
  let dir: string;
  let store: string;
  let good: string[];
  let broken: string;
  let indexRun: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-releases-"));
    const files: string[] = [];
    for (const opts of atl06VariantSet()) files.push(await writeAtl06Variant(dir, opts));
    broken = files.pop()!;
    good = files;
    store = join(dir, "store");
    indexRun = await runCli(["index", ...good, broken, "--store", store, "--quiet"]);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("indexes every release and cut, and skips the broken file with a reason naming it (exit 3)", async () => {
    expect(indexRun.code, indexRun.stderr).toBe(3);
    const lines = indexRun.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`${broken}: skipped: `)).toBe(true);
    expect(lines[0]).toContain("/gt1l/land_ice_segments/longitude");
    const run = await runCli([
      "sql",
      "--store",
      store,
      "--format",
      "csv",
      "SELECT release, track, cycle, region FROM granules ORDER BY release",
    ]);
    expect(run.code, run.stderr).toBe(0);
    // the clip without orbit_info and ancillary_data: RGT, cycle and region from the producer's id
    expect(run.stdout.trim().split("\n")).toEqual([
      "release,track,cycle,region",
      ...["001", "002", "003", "004", "005", "006"].map(
        (r) => `${r},1033,${Number(r)},${good[0]!.match(/_1033\d\d(\d\d)_/)![1]!.replace(/^0/, "")}`,
      ),
    ]);
  });

  it("a box query equals the oracle row for row; variables a granule lacks are null, with one warning each", async () => {
    const out = join(dir, "box.parquet");
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX.join(","),
      "--vars",
      VARS.join(","),
      "--out",
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const expected = toMicros(await bruteForceAtl06(good, boxPolygon(...BOX), { vars: VARS }));
    const ids = (release: string) =>
      good
        .filter((f) => f.includes(`_${release}_01`))
        .map((f) => basename(f, ".h5").replace(/^processed_/, ""));
    // every granule has rows in the box, the subsetted ones only a few
    expect(new Set(expected.map((r) => r.granule_id))).toEqual(
      new Set(["001", "002", "003", "004", "005", "006"].flatMap(ids)),
    );
    const warnings = run.stderr.trim().split("\n").sort();
    expect(warnings).toEqual([
      `warning: variable fit_statistics/n_fit_photons is missing from 1 of 6 granules read (null in their rows): ${ids("003")}`,
      `warning: variable geophysical/layer_flag is missing from 3 of 6 granules read (null in their rows): ${["001", "002", "003"].flatMap(ids).join(", ")}`,
      `warning: variable h_li_sigma is missing from 1 of 6 granules read (null in their rows): ${ids("003")}`,
    ]);
    const got = await duckdb(
      `SELECT granule_id, beam, segment_id, lat, lon, epoch_ns(time) AS time_ns, h_li, h_li_sigma,
              atl06_quality_summary, layer_flag, n_fit_photons FROM read_parquet('${out}')`,
    );
    expect(got).toEqual(
      expected.map((r) => ({
        granule_id: r.granule_id,
        beam: r.beam,
        segment_id: r.segment_id,
        lat: r.lat,
        lon: r.lon,
        time_ns: r.time_ns,
        h_li: r.h_li,
        h_li_sigma: r.h_li_sigma,
        atl06_quality_summary: r.atl06_quality_summary,
        layer_flag: r.vars![VARS[0]!],
        n_fit_photons: r.vars![VARS[1]!],
      })),
    );
    expect(
      expected.some((r) => r.vars![VARS[0]!] === null) && expected.some((r) => r.vars![VARS[0]!] !== null),
    ).toBe(true);
  }, 120_000);
});
