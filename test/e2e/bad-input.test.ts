import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realGranules } from "../hdf5/granules.js";
import { type CliRun, runCli } from "../support/cli.js";

const granules = realGranules();

/** One clear line on stderr naming the input, exit code 2. */
function expectBadInput(run: CliRun, names: string | RegExp) {
  expect(run.code).toBe(2);
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^geochunks: /);
  expect(lines[0]).toMatch(names);
}

describe.skipIf(granules.length === 0)("bad input ends in one error line, exit code 2, and no output", () => {
  let dir: string;
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-bad-"));
    store = join(dir, "store");
    expect((await runCli(["index", granules[0]!, "--store", store])).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const storeFiles = () => readdirSync(store, { recursive: true }).map(String).sort();

  it("a file that is not HDF5", async () => {
    const text = join(dir, "notes.h5");
    writeFileSync(text, "this is not an HDF5 file\n".repeat(100));
    const before = storeFiles();
    expectBadInput(await runCli(["index", text, "--store", store]), /notes\.h5/);
    expectBadInput(await runCli(["inspect", text, "--json"]), /notes\.h5/);
    expect(storeFiles()).toEqual(before);
  });

  it("a truncated granule", async () => {
    const cut = join(dir, "ATL06_20230816161508_08782002_006_09.h5");
    writeFileSync(cut, readFileSync(granules[0]!).subarray(0, 600_000));
    const before = storeFiles();
    expectBadInput(await runCli(["index", cut, "--store", store]), /ATL06_20230816161508_08782002_006_09/);
    expect(storeFiles()).toEqual(before);
  });

  it("an HDF5 file that is not a granule", async () => {
    const truth = join(dir, "other.h5");
    // A valid HDF5 file without beam groups: the HDF5 library's own output via h5wasm.
    const h5wasm = (await import("h5wasm/node")).default;
    await h5wasm.ready;
    const f = new h5wasm.File(truth, "w");
    f.create_dataset({ name: "x", data: new Float64Array([1, 2, 3]) });
    f.close();
    expectBadInput(
      await runCli(["index", truth, "--store", store]),
      /other\.h5: not an ATL03, ATL06, ATL08 or GEDI02_A granule \(no \/gt\*\/heights group/,
    );
  });

  it("a polygon file that is not GeoJSON", async () => {
    const aoi = join(dir, "aoi.json");
    writeFileSync(aoi, "{ not json");
    const out = join(dir, "out1.parquet");
    expectBadInput(await runCli(["query", "--store", store, "--polygon", aoi, "--out", out]), /aoi\.json/);
    expect(existsSync(out)).toBe(false);
  });

  it("an unclosed ring", async () => {
    const aoi = join(dir, "open.geojson");
    writeFileSync(
      aoi,
      JSON.stringify({
        type: "Polygon",
        coordinates: [
          [
            [158.6, 58],
            [158.8, 58],
            [158.8, 58.4],
            [158.6, 58.4],
          ],
        ],
      }),
    );
    const out = join(dir, "out2.parquet");
    expectBadInput(
      await runCli(["query", "--store", store, "--polygon", aoi, "--out", out]),
      /open\.geojson: .*not closed/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("a granule changed since it was indexed fails the query and leaves no output", async () => {
    const copyDir = join(dir, "copy");
    const changedStore = join(dir, "store2");
    rmSync(copyDir, { recursive: true, force: true });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(copyDir);
    const copy = join(copyDir, granules[0]!.split("/").pop()!);
    copyFileSync(granules[0]!, copy);
    expect((await runCli(["index", copy, "--store", changedStore])).code).toBe(0);
    writeFileSync(copy, Buffer.concat([readFileSync(copy), Buffer.alloc(10)]));
    const out = join(dir, "out3.parquet");
    const run = await runCli(["query", "--store", changedStore, "--polygon", "150,50,170,60", "--out", out]);
    expectBadInput(run, /ATL06_20230816161508_08782002_006_02: file changed since it was indexed/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("a missing input file, an unknown option, a missing store", async () => {
    expectBadInput(await runCli(["index", join(dir, "nope.h5"), "--store", store]), /nope\.h5/);
    expectBadInput(await runCli(["query", "--store", store, "--bogus"]), /bogus/);
    expectBadInput(await runCli(["sql", "--store", join(dir, "none"), "SELECT 1"]), /none: no such store/);
  });
});
