import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { openStore, writeGeoParquet } from "../../src/index.js";
import { BIN, ROOT, runCli } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { readResultRows, toMicros } from "../support/results.js";

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const idOf = (file: string) => basename(file).replace(/\.h5$/, "");

let dir: string;
let files: string[];

/** The store holds exactly `expected`, each once, and a Greenland query equals the oracle over them. */
async function expectStore(store: string, expected: string[]) {
  const s = await openStore(store);
  const ids = (await s.granules()).map((g) => g.granule_id).sort();
  expect(ids).toEqual(expected.map(idOf).sort());
  const { rows } = await s.sql("SELECT count(*) AS n, count(DISTINCT chunk_id) AS d FROM chunks");
  expect(rows[0]!.n).toBe(rows[0]!.d);
  const result = s.query({ aoi: GREENLAND });
  const out = join(dir, `q-${Math.random().toString(36).slice(2)}.parquet`);
  await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
  expect(await readResultRows(out)).toEqual(toMicros(await bruteForceAtl06(expected, GREENLAND)));
}

/** Starts `geochunks index` and resolves once its stderr matches `until` (then the caller kills it). */
function startIndex(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, "index", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stderr = "";
  const seen = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (pattern.test(stderr)) resolve();
      });
      child.on("close", () => reject(new Error(`index exited before ${pattern}: ${stderr}`)));
    });
  const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, seen, closed };
}

describe("store consistency: append, no-op, replace, crash, concurrent writers, shards", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-consistency-"));
    files = [];
    for (const opts of demoGranuleSet()) files.push(await writeSyntheticAtl06(dir, opts));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("appends without touching earlier parts, re-indexing is a no-op, a changed granule replaces its rows", async () => {
    const store = join(dir, "a");
    expect((await runCli(["index", files[0]!, files[1]!, "--store", store])).code).toBe(0);
    const first = readdirSync(store, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".parquet"));
    expect((await runCli(["index", files[2]!, "--store", store])).code).toBe(0);
    const after = readdirSync(store, { recursive: true }).map(String);
    expect(after).toEqual(expect.arrayContaining(first));
    await expectStore(store, files.slice(0, 3));

    const manifest = readFileSync(join(store, "manifest.json"), "utf8");
    const again = await runCli(["index", ...files.slice(0, 3), "--store", store]);
    expect(again.stdout).toMatch(/0 added, 0 replaced, 3 unchanged/);
    expect(readFileSync(join(store, "manifest.json"), "utf8")).toBe(manifest);

    // Same file name, other content: a reprocessed granule.
    await writeSyntheticAtl06(dir, { ...demoGranuleSet()[1]!, seed: 99 });
    const replaced = await runCli(["index", files[1]!, "--store", store]);
    expect(replaced.stdout).toMatch(/0 added, 1 replaced, 0 unchanged/);
    await expectStore(store, files.slice(0, 3));
    await writeSyntheticAtl06(dir, demoGranuleSet()[1]!);
  });

  it("a process killed between writing parts and the manifest leaves the store as before", async () => {
    const store = join(dir, "b");
    expect((await runCli(["index", files[0]!, files[1]!, "--store", store])).code).toBe(0);
    const manifest = readFileSync(join(store, "manifest.json"), "utf8");
    const run = startIndex([files[2]!, files[3]!, "--store", store], {
      GEOCHUNKS_PAUSE_BEFORE_COMMIT_MS: "60000",
    });
    await run.seen(/pausing before commit/);
    run.child.kill("SIGKILL");
    await run.closed;
    expect(readFileSync(join(store, "manifest.json"), "utf8")).toBe(manifest);
    await expectStore(store, files.slice(0, 2));
    // Its orphaned part files are invisible; compact removes them; the next run is not blocked.
    expect((await runCli(["compact", "--store", store])).code).toBe(0);
    expect((await runCli(["index", files[2]!, "--store", store])).code).toBe(0);
    await expectStore(store, files.slice(0, 3));
  });

  it("processes killed at arbitrary moments leave the store before or after, never between", async () => {
    const store = join(dir, "c");
    expect((await runCli(["index", files[0]!, "--store", store])).code).toBe(0);
    for (const delay of [300, 1500, 2600]) {
      const before = (await (await openStore(store)).granules()).map((g) => g.granule_id).sort();
      const batch = files.filter((f) => !before.includes(idOf(f))).slice(0, 2);
      if (batch.length === 0) break;
      const run = startIndex([...batch, "--store", store]);
      await new Promise((r) => setTimeout(r, delay));
      run.child.kill("SIGKILL");
      await run.closed;
      const now = (await (await openStore(store)).granules()).map((g) => g.granule_id).sort();
      const afterSet = [...before, ...batch.map(idOf)].sort();
      expect([before, afterSet]).toContainEqual(now);
      await expectStore(
        store,
        files.filter((f) => now.includes(idOf(f))),
      );
    }
  });

  it("two index processes appending to one store at the same time both succeed", async () => {
    const store = join(dir, "d");
    expect((await runCli(["index", files[0]!, "--store", store])).code).toBe(0);
    const [a, b] = await Promise.all([
      runCli(["index", files[1]!, files[2]!, "--store", store]),
      runCli(["index", files[3]!, files[4]!, "--store", store]),
    ]);
    expect([a.stderr, b.stderr, a.code, b.code]).toEqual(["", "", 0, 0]);
    await expectStore(store, files.slice(0, 5));
  });

  it("shards indexed by separate processes become visible together at commit", async () => {
    const store = join(dir, "e");
    const shards = await Promise.all(
      [0, 1, 2].map((i) => runCli(["index", ...files, "--store", store, "--shard", `${i}/3`])),
    );
    for (const s of shards) expect([s.stderr, s.code]).toEqual(["", 0]);
    expect((await (await openStore(store)).granules()).length).toBe(0);
    const staged = shards.map((s) => Number(/indexed (\d+) added/.exec(s.stdout)![1]));
    expect(staged.reduce((a, b) => a + b, 0)).toBe(files.length);
    const commit = await runCli(["commit", "--store", store]);
    expect(commit.stdout).toMatch(/committed 3 staged part sets \(6 granules\)/);
    await expectStore(store, files);
  });
});
