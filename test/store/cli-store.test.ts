import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { withStoreLock } from "../../src/store/lock.js";
import { Store } from "../../src/store/store.js";
import { runCli } from "../support/cli.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "geochunks-cli-store-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("store commands", () => {
  it("a store held by a live writer: compact gives up after --lock-timeout with exit 1, naming the holder", async () => {
    const store = join(dir, "held");
    await Store.open(store, { create: true });
    const run = await withStoreLock(store, () =>
      runCli(["compact", "--store", store, "--lock-timeout", "1s"]),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^geochunks: ${store}: store is locked by process ${process.pid} on ${hostname()} since \\d{4}-[^ ]+ \\(${store}/manifest.lock\\); gave up after 1 s, retry later\\n$`,
      ),
    );
    // Released, the same command runs.
    const again = await runCli(["compact", "--store", store]);
    expect([again.code, again.stdout]).toEqual([
      0,
      `compacted ${store}: 0 part sets -> 0; 0 retired part files removed, 0 retired part sets kept for readers\n`,
    ]);
  }, 60_000);

  it("index waits --lock-timeout for a live writer, then fails with exit 1 and writes nothing", async () => {
    const store = join(dir, "held-index");
    await Store.open(store, { create: true });
    const granule = await writeSyntheticAtl06(dir, demoGranuleSet()[0]!);
    const before = readdirSync(store, { recursive: true }).map(String).sort();
    const run = await withStoreLock(store, () =>
      runCli(["index", granule, "--store", store, "--lock-timeout", "1s", "--quiet"]),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^geochunks: ${store}: store is locked by process ${process.pid} `),
    );
    expect(readdirSync(store, { recursive: true }).map(String).sort()).toEqual(before);
  }, 60_000);

  it("sql on a store with no granules prints the empty answer, exit 0", async () => {
    const store = join(dir, "empty");
    await Store.open(store, { create: true });
    const run = await runCli([
      "sql",
      "--store",
      store,
      "SELECT count(*) AS n FROM granules",
      "--format",
      "csv",
    ]);
    expect([run.code, run.stdout, run.stderr]).toEqual([0, "n\n0\n", ""]);
    const rows = await runCli(["sql", "--store", store, "SELECT chunk_id FROM chunks", "--format", "csv"]);
    expect([rows.code, rows.stdout]).toEqual([0, "chunk_id\n"]);
  }, 60_000);

  it("refuses --older-than without --vacuum and a malformed duration (exit 2)", async () => {
    const store = join(dir, "args");
    await Store.open(store, { create: true });
    const a = await runCli(["compact", "--store", store, "--older-than", "1h"]);
    expect([a.code, a.stderr]).toEqual([2, "geochunks: --older-than needs --vacuum\n"]);
    const b = await runCli(["compact", "--store", store, "--vacuum", "--older-than", "soon"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--older-than.*not a duration such as 30s, 10m, 2h or 7d/);
  }, 60_000);
});
