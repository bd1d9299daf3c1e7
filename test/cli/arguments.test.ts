/**
 * Arguments as users type them: negative values, help on every command, and each bad argument
 * ending in one error line naming it, exit code 2, no output file and an unchanged store.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { type CliRun, runCli } from "../support/cli.js";

function expectBadInput(run: CliRun, message: string | RegExp) {
  expect(run.code, run.stdout).toBe(2);
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  if (typeof message === "string") expect(lines[0]).toBe(message);
  else expect(lines[0]).toMatch(message);
}

describe("command-line arguments", () => {
  let dir: string;
  let store: string;
  const storeHash = () =>
    readdirSync(store, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .map((p) => `${p}:${createHash("sha256").update(readFileSync(p)).digest("hex")}`)
      .join("\n");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-args-"));
    const granule = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, segmentsPerBeam: 3000 });
    store = join(dir, "store");
    await index([granule], { store });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("takes values that start with a minus, as --opt VALUE and --opt=VALUE", async () => {
    for (const args of [["--polygon", "-50,60,-40,70"], ["--polygon=-50,60,-40,70"]]) {
      const r = await runCli(["query", "--store", store, ...args, "--dry-run"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/"granules":1/);
    }
  });

  it("every command has help listing each option with its default and an example", async () => {
    for (const name of [
      "inspect",
      "cat",
      "index",
      "query",
      "sql",
      "describe",
      "commit",
      "compact",
      "verify",
    ]) {
      const r = await runCli(["help", name]);
      expect(r.code).toBe(0);
      const text = r.stdout.replace(/\s+/g, " ");
      expect(text).toContain(`Usage: geochunks ${name}`);
      expect(text).toContain("Examples:");
      const options = [...r.stdout.matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1]!);
      expect(options.length).toBeGreaterThan(0);
      for (const option of options) {
        const help = text.slice(text.indexOf(option));
        expect(help.slice(0, 400), `${name} ${option}`).toMatch(
          /\((required|default: [^)]*); e\.g\. [^)]*\)/,
        );
      }
    }
  });

  it("help for a misspelt command names the closest one", async () => {
    const r = await runCli(["help", "qurey"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "geochunks: help: unknown command 'qurey' (did you mean query?); commands are inspect, cat, index, query, sql, describe, plot, export, stac, commit, compact, verify",
    );
  });

  it.each([
    [["query", "--polygon", "nowhere.geojson"], "geochunks: nowhere.geojson: no such file"],
    [
      ["query", "--polygon", "-50,60,-40,70", "--start", "2021-01-01", "--end", "2020-01-01"],
      "geochunks: end 2020-01-01T00:00:00.000Z is not after start 2021-01-01T00:00:00.000Z",
    ],
    [
      ["query", "--polygon", "-50,60,-40,70", "--concurrency", "0"],
      "geochunks: option '--concurrency <n>' argument '0' is invalid: not an integer in 1..256",
    ],
    [
      ["query", "--polygon", "-50,60,-40,70", "--concurrency", "-3"],
      "geochunks: option '--concurrency <n>' argument '-3' is invalid: not an integer in 1..256",
    ],
    [
      ["query", "--polygon", "-50,60,-40,70", "--select", "fast"],
      "geochunks: option '--select <how>' argument 'fast' is invalid: not one of auto, bbox, h3",
    ],
    [["query", "--polygon", "-50,60,-40,70", "--beams", "gt4l"], /gt4l.*gt1l, gt1r, gt2l, gt2r, gt3l, gt3r/],
    [["query", "--polygon", "-50,60,-40,70", "--beams", "GT1L"], /GT1L.*gt1l, gt1r, gt2l, gt2r, gt3l, gt3r/],
  ])("refuses %j", async (args, message) => {
    const before = storeHash();
    const out = join(dir, "never.parquet");
    const r = await runCli([...args, "--store", store, "--out", out]);
    expectBadInput(r, message);
    expect(existsSync(out)).toBe(false);
    expect(storeHash()).toBe(before);
  });

  it("creates the folder of --out, or names the folder it cannot create", async () => {
    const out = join(dir, "new", "deeper", "box.parquet");
    const ok = await runCli(["query", "--store", store, "--polygon", "-50,60,-40,70", "--out", out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const bad = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      "-50,60,-40,70",
      "--out",
      join(file, "box.parquet"),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain(file);
    expect(bad.stderr).not.toMatch(/\.tmp/);
  });
});
