/**
 * Sharded runs: the split of the inputs, staged shard sets recording shard, count and input list,
 * a retried shard replacing its own set, and `commit` refusing an incomplete set.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore } from "../../src/api.js";
import { isGeochunksError } from "../../src/errors.js";
import { inputListDigest, shardStamp, shareOf } from "../../src/index-builder/shares.js";
import type { StagedPartSet } from "../../src/store/manifest.js";
import { shardSetProblem } from "../../src/store/shards.js";
import { Store } from "../../src/store/store.js";
import { runCli } from "../support/cli.js";

describe("the split of the inputs", () => {
  const inputs = ["s3://b/d.h5", "a/c.h5", "https://h/x.h5", "b.h5", "a/c.h5", "z.h5", "m.h5"];

  it("is every n-th input of the sorted list without repeats: disjoint, whole, balanced", () => {
    const shares = [0, 1, 2].map((index) => shareOf(inputs, { index, count: 3 }));
    expect(shares).toEqual([
      ["a/c.h5", "m.h5"],
      ["b.h5", "s3://b/d.h5"],
      ["https://h/x.h5", "z.h5"],
    ]);
    expect(shares.flat().sort()).toEqual([...new Set(inputs)].sort());
  });

  it("does not depend on the order the inputs were given in, nor does the list digest", () => {
    const reversed = [...inputs].reverse();
    for (const index of [0, 1, 2, 3])
      expect(shareOf(reversed, { index, count: 4 })).toEqual(shareOf(inputs, { index, count: 4 }));
    expect(inputListDigest(reversed)).toBe(inputListDigest(inputs));
    expect(inputListDigest(inputs.slice(1))).not.toBe(inputListDigest(inputs));
    // SHA-256 of the sorted, unique list, one input a line (checked with sha256sum).
    // printf 'a.h5\nb.h5\n' | sha256sum
    expect(inputListDigest(["b.h5", "a.h5", "b.h5"])).toBe(
      "4d4b290ba42a4c0f8b5f177c762e19eae5ab77cacdc862c19b104a279c091f58",
    );
  });
});

describe("whether staged shards make a whole run", () => {
  const set = (index: number, count: number, list = ["a.h5", "b.h5", "c.h5"]): StagedPartSet => ({
    part: { id: `p${index}`, files: { granules: [], arrays: [], chunks: [], chunk_cells: [] }, granules: [] },
    fingerprints: {},
    shard: shardStamp(list, { index, count }),
  });

  it("is whole with every shard 0..n-1 of one list", () => {
    expect(shardSetProblem([set(2, 3), set(0, 3), set(1, 3)])).toBeUndefined();
    expect(shardSetProblem([])).toBeUndefined();
  });

  it("names the missing shards", () => {
    expect(shardSetProblem([set(1, 4), set(3, 4)])).toEqual({
      message: "shards 0, 2 of 4 not staged",
      missing: [0, 2],
      count: 4,
    });
    expect(shardSetProblem([set(0, 2)])?.message).toBe("shard 1 of 2 not staged");
  });

  it("tells shards of runs over other lists or counts apart", () => {
    const other = set(1, 2, ["a.h5", "b.h5"]);
    const problem = shardSetProblem([set(0, 2), other]);
    expect(problem?.message).toMatch(
      /^staged shards come from different runs: shards 0 of 2 over 3 inputs \(list sha256 [0-9a-f]{12}\); shards 1 of 2 over 2 inputs \(list sha256 [0-9a-f]{12}\)$/,
    );
    expect(shardSetProblem([set(0, 2), set(1, 3)])?.message).toMatch(/different runs/);
  });
});

describe("staging and committing shards", () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-shards-"));
    // Three small granules (1 500 segments a beam): enough for three shards of one granule each.
    files = [];
    for (const opts of demoGranuleSet().slice(0, 3))
      files.push(await writeSyntheticAtl06(dir, { ...opts, segmentsPerBeam: 1500 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const stagedFiles = (store: string) => readdirSync(join(store, "staged")).sort();
  const staged = (store: string, name: string) =>
    JSON.parse(readFileSync(join(store, "staged", name), "utf8")) as StagedPartSet;

  it("records shard, count and list; a retried shard replaces its own set; commit refuses a missing shard", async () => {
    const store = join(dir, "a");
    const list = [files[2]!, files[0]!, files[1]!];
    for (const i of [0, 2]) await index(list, { store, shard: { index: i, count: 3 } });
    expect(stagedFiles(store)).toEqual(["shard-0-of-3.json", "shard-2-of-3.json"]);
    expect(staged(store, "shard-2-of-3.json").shard).toEqual({
      index: 2,
      count: 3,
      inputs: 3,
      inputs_sha256: inputListDigest(files),
    });
    expect(staged(store, "shard-2-of-3.json").part.granules).toHaveLength(1);

    const err = await (await Store.open(store)).commitStaged().catch((e: unknown) => e);
    expect(isGeochunksError(err, "IncompleteShardsError")).toBe(true);
    expect((err as Error).message).toBe(
      `${store}: incomplete shard set: shard 1 of 3 not staged; nothing committed (run the missing shards again, ` +
        "or commit with --allow-incomplete)",
    );
    expect(err).toMatchObject({ missing: [1], count: 3 });
    expect(await (await Store.open(store)).granules()).toEqual([]);

    // Shard 1 twice (a retried task), in another input order: one staged set for it.
    await index([...list].reverse(), { store, shard: { index: 1, count: 3 } });
    const first = staged(store, "shard-1-of-3.json").part.id;
    await index(list, { store, shard: { index: 1, count: 3 } });
    expect(stagedFiles(store)).toEqual(["shard-0-of-3.json", "shard-1-of-3.json", "shard-2-of-3.json"]);
    expect(staged(store, "shard-1-of-3.json").part.id).not.toBe(first);

    const report = await (await Store.open(store)).commitStaged();
    expect(report).toEqual({ granules: expect.any(Array), parts: 3 });
    const s = await Store.open(store);
    expect((await s.granules()).map((g) => g.granule_id).sort()).toEqual(
      files.map((f) => f.split("/").pop()!.replace(/\.h5$/, "")).sort(),
    );
    expect(stagedFiles(store)).toEqual([]);
    // The first attempt of shard 1 is not published: one part set per shard, each granule once.
    expect(s.manifest.parts.map((p) => p.id)).not.toContain(first);
    const { rows } = await (await openStore(store)).sql(
      "SELECT count(*) AS n, count(DISTINCT chunk_id) AS d FROM chunks",
    );
    expect(rows[0]!.n).toBe(rows[0]!.d);
  });

  it("an empty share still stages, so more shards than inputs can commit", async () => {
    const store = join(dir, "b");
    for (const i of [0, 1, 2, 3]) await index(files.slice(0, 2), { store, shard: { index: i, count: 4 } });
    expect(staged(store, "shard-3-of-4.json").part).toMatchObject({
      granules: [],
      files: { granules: [], arrays: [], chunks: [], chunk_cells: [] },
    });
    expect(await (await Store.open(store)).commitStaged()).toMatchObject({ parts: 2 });
    expect((await (await Store.open(store)).granules()).length).toBe(2);
  });

  it("index --shard auto through the command line; commit: exit 1 naming the missing shards, --allow-incomplete publishes", async () => {
    const store = join(dir, "c");
    // No engine's variables (empty counts as unset): one line, exit code 2, nothing written.
    const none = { JOB_COMPLETION_INDEX: "", AWS_BATCH_JOB_ARRAY_INDEX: "", SLURM_ARRAY_TASK_ID: "" };
    expect(await runCli(["index", ...files, "--store", store, "--shard", "auto"], { env: none })).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "geochunks: --shard auto: no batch engine's task index in the environment (JOB_COMPLETION_INDEX, " +
        "AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID); run it as a task of an array job, or give --shard i/n\n",
    });
    const task = { ...none, AWS_BATCH_JOB_ARRAY_INDEX: "1", AWS_BATCH_JOB_ARRAY_SIZE: "3" };
    const staged = await runCli(["index", ...files, "--store", store, "--shard", "auto", "--quiet"], {
      env: task,
    });
    expect([staged.code, staged.stderr]).toEqual([0, ""]);
    expect(staged.stdout).toMatch(
      /^indexed 1 added, 0 replaced, 0 unchanged granules \(\d+ chunks\) staged as shard 1 of 3 \(AWS_BATCH_JOB_ARRAY_INDEX=1, AWS_BATCH_JOB_ARRAY_SIZE=3\) in /,
    );
    const refused = await runCli(["commit", "--store", store]);
    expect(refused).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `geochunks: ${store}: incomplete shard set: shards 0, 2 of 3 not staged; nothing committed ` +
        "(run the missing shards again, or commit with --allow-incomplete)\n",
    });
    const forced = await runCli(["commit", "--store", store, "--allow-incomplete"]);
    expect(forced).toEqual({
      code: 0,
      stdout: `committed 1 staged part sets (1 granules) into ${store}\n`,
      stderr: `${store}: committed an incomplete shard set: shards 0, 2 of 3 not staged\n`,
    });
    expect((await (await Store.open(store)).granules()).length).toBe(1);
  });
});
