import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore } from "../../src/index.js";
import { runCli } from "../support/cli.js";

const HOSTILE = "ATL06_20190601202758_10330303_006_01 it's; DROP TABLE granules; --.h5";
const BOX = "-45.4,62.6,-44.6,63.0";

describe("granule names cannot escape the store or the SQL", () => {
  let dir: string;
  let store: string;
  let granuleId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-names-"));
    mkdirSync(join(dir, "made"));
    const made = await writeSyntheticAtl06(join(dir, "made"), demoGranuleSet()[0]!);
    granuleId = basename(made).replace(/\.h5$/, "");
    copyFileSync(made, join(dir, HOSTILE));
    store = join(dir, "store");
    await index([join(dir, HOSTILE)], { store });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps part files inside the store under generated names, and queries by quoted values", async () => {
    const files = readdirSync(store, { recursive: true }).map(String);
    expect(files.every((f) => !f.includes("DROP") && !f.includes(".."))).toBe(true);
    const s = await openStore(store);
    const [g] = await s.granules();
    // The id comes from the granule's metadata; the hostile name is kept only in its URL.
    expect(g!.granule_id).toBe(granuleId);
    expect(decodeURIComponent(g!.url)).toContain(HOSTILE);
    let rows = 0;
    for await (const batch of s.query({ aoi: BOX })) rows += batch.numRows;
    expect(rows).toBeGreaterThan(0);
    const run = await runCli([
      "sql",
      "--store",
      store,
      "--format",
      "json",
      "SELECT count(*) AS n FROM granules WHERE url LIKE '%DROP%granules%'",
    ]);
    expect(JSON.parse(run.stdout.trim()).n).toBe("1");
  });

  it("refuses a --view name that is not an identifier", async () => {
    const run = await runCli(["sql", "--store", store, "--view", "x; DROP=a.parquet", "SELECT 1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--view .* is not NAME=FILE\.parquet/);
  });
});
