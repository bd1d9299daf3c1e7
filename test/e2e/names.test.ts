import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { index, openStore } from "../../src/index.js";
import { realGranules } from "../hdf5/granules.js";
import { runCli } from "../support/cli.js";
import { REAL_BOX } from "../support/results.js";

const granules = realGranules();
const HOSTILE = "ATL06_20230816161508_08782002_006_02 it's; DROP TABLE granules; --.h5";

describe.skipIf(granules.length === 0)("granule names cannot escape the store or the SQL", () => {
  let dir: string;
  let store: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-names-"));
    copyFileSync(granules[0]!, join(dir, HOSTILE));
    store = join(dir, "store");
    await index([join(dir, HOSTILE)], { store });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps part files inside the store under generated names, and queries by quoted values", async () => {
    const files = readdirSync(store, { recursive: true }).map(String);
    expect(files.every((f) => !f.includes("DROP") && !f.includes(".."))).toBe(true);
    const s = await openStore(store);
    const [g] = await s.granules();
    expect(g!.granule_id).toBe(HOSTILE.replace(/\.h5$/, ""));
    let rows = 0;
    for await (const batch of s.query({ aoi: REAL_BOX })) rows += batch.numRows;
    expect(rows).toBeGreaterThan(0);
    const run = await runCli([
      "sql",
      "--store",
      store,
      "--format",
      "json",
      "SELECT count(*) AS n FROM granules",
    ]);
    expect(JSON.parse(run.stdout.trim()).n).toBe("1");
  });

  it("refuses a --view name that is not an identifier", async () => {
    const run = await runCli(["sql", "--store", store, "--view", "x; DROP=a.parquet", "SELECT 1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--view .* is not NAME=FILE\.parquet/);
  });
});
