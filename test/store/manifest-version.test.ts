/**
 * Manifest version 5: granule fingerprints and granule ids live in the granules table only (the
 * manifest records each part set's granule count and id range), and stores whose manifest still
 * lists them (version 3: fingerprints, version 4: ids) keep opening, skipping and committing; their
 * next commit or compact writes version 5.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { Store } from "../../src/store/store.js";
import { runCli } from "../support/cli.js";
import { visibleGranules } from "../support/granules.js";
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

/**
 * Rewrites a store's version 5 manifest in the version 4 form: each part set lists its granule ids
 * (read from its granules file) instead of recording their count and range.
 */
async function toVersion4(store: string): Promise<void> {
  const m = readJson(join(store, "manifest.json"));
  expect(m.version).toBe(5);
  const holder = await (await Store.open(store)).fingerprints();
  for (const p of m.parts) {
    p.granules = [...holder].filter(([, g]) => g.part === p.id).map(([id]) => id);
    expect(p.granules).toHaveLength(p.granule_count);
    delete p.granule_count;
    delete p.granule_range;
  }
  writeFileSync(join(store, "manifest.json"), `${JSON.stringify({ ...m, version: 4 })}\n`);
}

/** Rewrites a store's manifest in the version 3 form: every granule's fingerprint, no part products. */
async function toVersion3(store: string): Promise<void> {
  await toVersion4(store);
  const m = readJson(join(store, "manifest.json"));
  const granules: Record<string, unknown> = {};
  for (const p of m.parts) {
    for (const id of p.granules) granules[id] = v3Fingerprint(files.find((f) => idOf(f) === id)!, p.id);
    delete p.products;
  }
  writeFileSync(join(store, "manifest.json"), `${JSON.stringify({ ...m, version: 3, granules })}\n`);
}

/** The sorted granule ids of `files`. */
const idsOf = (some: readonly string[]) => some.map(idOf).sort();

describe("manifest version 5", () => {
  const store = () => join(dir, "store");
  const skipped = async () => {
    const r = await index(files, { store: store() });
    return [r.added.length, r.replaced.length, r.unchanged.length];
  };

  it("lists part sets with granule counts and id ranges, not ids; index skips unchanged inputs from the granules table's columns", async () => {
    expect((await runCli(["index", ...files, "--store", store()])).code).toBe(0);
    const m = readJson(join(store(), "manifest.json"));
    expect([m.version, m.granules, m.parts.length, m.parts[0].products]).toEqual([
      5,
      undefined,
      1,
      ["ATL06"],
    ]);
    const ids = idsOf(files);
    expect([m.parts[0].granules, m.parts[0].granule_count, m.parts[0].granule_range]).toEqual([
      undefined,
      2,
      [ids[0], ids[1]],
    ]);
    expect(await visibleGranules(store())).toEqual(ids);
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
    // The part set holding it was found by its id range and ids, and rewritten without it.
    const after = readJson(join(store(), "manifest.json"));
    expect(after.parts.map((p: { granule_count: number }) => p.granule_count).sort()).toEqual([1, 1]);
    expect(await visibleGranules(store())).toEqual(ids);
  }, 120_000);

  it("verify checks each part set's recorded granule count and id range against its granules file", async () => {
    const path = join(store(), "manifest.json");
    const good = readFileSync(path, "utf8");
    const m = JSON.parse(good);
    const [first, second] = m.parts;
    const file = join(store(), first.files.granules[0]);
    try {
      first.granule_count = 2;
      second.granule_range = [second.granule_range[0], "ATL06_99999999999999_99999999_006_01"];
      writeFileSync(path, `${JSON.stringify(m)}\n`);
      const run = await runCli(["verify", "--store", store()]);
      expect(run.code).toBe(1);
      expect(run.stderr.split("\n").filter((l) => l.startsWith(store()))).toEqual([
        `${file}: holds 1 granules, the manifest records 2`,
        `${join(store(), second.files.granules[0])}: holds granules ${second.granule_range[0]} .. ${second.granule_range[0]}, the manifest records ${second.granule_range.join(" .. ")}`,
      ]);
    } finally {
      writeFileSync(path, good);
    }
  }, 60_000);

  it("a version 4 store opens, queries, verifies and skips as before; its next index commit writes version 5", async () => {
    const before = join(dir, "v5-before.parquet");
    const v4 = join(dir, "v4.parquet");
    const after = join(dir, "v5-after.parquet");
    const query = (out: string) =>
      runCli(["query", "--store", store(), "--polygon", "-50,60,-40,66", "--out", out]);
    expect((await query(before)).code).toBe(0);
    await toVersion4(store());
    expect((await query(v4)).code).toBe(0);
    expect(await readResultRows(v4)).toEqual(await readResultRows(before));
    const verify = await runCli(["verify", "--store", store()]);
    expect([verify.code, verify.stderr]).toEqual([0, ""]);
    expect(verify.stdout).toContain(" 2 granules, 0 problems");
    // Unchanged inputs are skipped: nothing is committed, the manifest stays version 4.
    expect(await skipped()).toEqual([0, 0, 2]);
    expect(readJson(join(store(), "manifest.json")).version).toBe(4);
    // A changed file is indexed again: the commit finds its part set from the version 4 lists,
    // rewrites it without the granule and publishes version 5.
    const later = statSync(files[1]!).mtimeMs / 1000 + 60;
    utimesSync(files[1]!, later, later);
    expect((await runCli(["index", ...files, "--store", store()])).code).toBe(0);
    const m = readJson(join(store(), "manifest.json"));
    expect(m.version).toBe(5);
    expect(m.parts.map((p: { granules?: string[] }) => p.granules)).toEqual(m.parts.map(() => undefined));
    expect(m.parts.reduce((n: number, p: { granule_count: number }) => n + p.granule_count, 0)).toBe(2);
    expect(await visibleGranules(store())).toEqual(idsOf(files));
    expect((await query(after)).code).toBe(0);
    expect(await readResultRows(after)).toEqual(await readResultRows(before));
    // A version 4 store of two part sets compacts into one version 5 set of both granules.
    await toVersion4(store());
    expect((await runCli(["compact", "--store", store()])).code).toBe(0);
    const compacted = readJson(join(store(), "manifest.json"));
    const ids = idsOf(files);
    expect([compacted.version, compacted.parts.length, compacted.parts[0].granule_count]).toEqual([5, 1, 2]);
    expect(compacted.parts[0].granule_range).toEqual([ids[0], ids[1]]);
  }, 120_000);

  it("a version 3 store opens, queries and skips as before; its next compact writes version 5", async () => {
    const v4 = join(dir, "v4.parquet");
    const v3 = join(dir, "v3.parquet");
    const query = (out: string) =>
      runCli(["query", "--store", store(), "--polygon", "-50,60,-40,66", "--out", out]);
    expect((await query(v4)).code).toBe(0);
    await toVersion3(store());
    expect((await query(v3)).code).toBe(0);
    expect(await readResultRows(v3)).toEqual(await readResultRows(v4));
    // Unchanged inputs are skipped from the version 3 map: nothing is committed, the manifest stays.
    expect(await skipped()).toEqual([0, 0, 2]);
    expect(readJson(join(store(), "manifest.json")).version).toBe(3);
    // A compaction publishes version 5: products named, no fingerprint map, no id lists.
    expect((await runCli(["compact", "--store", store()])).code).toBe(0);
    const m = readJson(join(store(), "manifest.json"));
    expect([m.version, m.granules, m.parts.length, m.parts[0].products, m.parts[0].granule_count]).toEqual([
      5,
      undefined,
      1,
      ["ATL06"],
      2,
    ]);
    expect(await skipped()).toEqual([0, 0, 2]);
  }, 120_000);
});
