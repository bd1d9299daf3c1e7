/**
 * Manifest version 4: granule fingerprints live in the granules table only, and stores whose
 * manifest (version 3) still lists them keep opening, skipping and committing; their next commit
 * or compact writes version 4.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { runCli } from "../support/cli.js";
import { readResultRows } from "../support/results.js";

let dir: string;
let files: string[];
const idOf = (file: string) => file.split("/").pop()!.replace(/\.h5$/, "");
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geochunks-manifest-version-"));
  files = [];
  for (const opts of demoGranuleSet().slice(0, 2))
    files.push(await writeSyntheticAtl06(dir, { ...opts, segmentsPerBeam: 3000 }));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fingerprint map a version 3 manifest held for `file` (what `index` recorded: a stat). */
function v3Fingerprint(file: string, part: string) {
  const s = statSync(file);
  return {
    url: pathToFileURL(file).href,
    size: s.size,
    etag: null,
    mtime: s.mtimeMs,
    product: "ATL06",
    part,
  };
}

/** Rewrites a store's manifest in the version 3 form: every granule's fingerprint, no part products. */
function downgrade(store: string): void {
  const m = readJson(join(store, "manifest.json"));
  const granules: Record<string, unknown> = {};
  for (const p of m.parts) {
    for (const id of p.granules) granules[id] = v3Fingerprint(files.find((f) => idOf(f) === id)!, p.id);
    delete p.products;
  }
  writeFileSync(join(store, "manifest.json"), `${JSON.stringify({ ...m, version: 3, granules })}\n`);
}

describe("manifest version 4", () => {
  const store = () => join(dir, "store");
  const skipped = async () => {
    const r = await index(files, { store: store() });
    return [r.added.length, r.replaced.length, r.unchanged.length];
  };

  it("lists part sets, not fingerprints; index skips unchanged inputs from the granules table's columns", async () => {
    expect((await runCli(["index", ...files, "--store", store()])).code).toBe(0);
    const m = readJson(join(store(), "manifest.json"));
    expect([m.version, m.granules, m.parts.length, m.parts[0].products]).toEqual([
      4,
      undefined,
      1,
      ["ATL06"],
    ]);
    expect([...m.parts[0].granules].sort()).toEqual(files.map(idOf).sort());
    // The fingerprints the skip uses are the granules table's, as DuckDB reads them.
    const sql = await runCli([
      "sql",
      "--store",
      store(),
      "SELECT granule_id, url, size, mtime FROM granules ORDER BY granule_id",
      "--format",
      "csv",
    ]);
    const byId = [...files].sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    expect(sql.stdout).toBe(
      [
        "granule_id,url,size,mtime",
        ...byId.map((f) => `${idOf(f)},${pathToFileURL(f).href},${statSync(f).size},${statSync(f).mtimeMs}`),
        "",
      ].join("\n"),
    );
    expect(await skipped()).toEqual([0, 0, 2]);
    expect(readJson(join(store(), "manifest.json")).generation).toBe(m.generation);
    // A changed file (new mtime) is indexed again, replacing its rows.
    const later = statSync(files[0]!).mtimeMs / 1000 + 60;
    utimesSync(files[0]!, later, later);
    expect(await skipped()).toEqual([0, 1, 1]);
    const after = readJson(join(store(), "manifest.json"));
    expect(after.parts.flatMap((p: { granules: string[] }) => p.granules).sort()).toEqual(
      files.map(idOf).sort(),
    );
  }, 120_000);

  it("a version 3 store opens, queries and skips as before; its next compact writes version 4", async () => {
    const v4 = join(dir, "v4.parquet");
    const v3 = join(dir, "v3.parquet");
    const query = (out: string) =>
      runCli(["query", "--store", store(), "--polygon", "-50,60,-40,66", "--out", out]);
    expect((await query(v4)).code).toBe(0);
    downgrade(store());
    expect((await query(v3)).code).toBe(0);
    expect(await readResultRows(v3)).toEqual(await readResultRows(v4));
    // Unchanged inputs are skipped from the version 3 map: nothing is committed, the manifest stays.
    expect(await skipped()).toEqual([0, 0, 2]);
    expect(readJson(join(store(), "manifest.json")).version).toBe(3);
    // A compaction publishes version 4: one part set, products named, no fingerprint map.
    expect((await runCli(["compact", "--store", store()])).code).toBe(0);
    const m = readJson(join(store(), "manifest.json"));
    expect([m.version, m.granules, m.parts.length, m.parts[0].products]).toEqual([
      4,
      undefined,
      1,
      ["ATL06"],
    ]);
    expect(await skipped()).toEqual([0, 0, 2]);
  }, 120_000);
});
