import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { openStore } from "../../src/index.js";
import { BIN, ROOT, runCli } from "../support/cli.js";
import { visibleGranules } from "../support/granules.js";
import { mulberry32 as random } from "../support/random.js";

const GREENLAND = join(ROOT, "examples/greenland.geojson");
const AOI = JSON.parse(readFileSync(GREENLAND, "utf8")).geometry;
const idOf = (file: string) => basename(file).replace(/\.h5$/, "");

/** Starts the command line; `kill(signal, afterMs)` ends it that long after it started. */
function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const closed = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    closed,
    async kill(signal: NodeJS.Signals, afterMs: number) {
      await new Promise((r) => setTimeout(r, afterMs));
      child.kill(signal);
      return closed;
    },
  };
}

interface ManifestLike {
  parts: { files: Record<string, string[]> }[];
  retired?: { files: string[] }[];
}

const manifestOf = (store: string) =>
  JSON.parse(readFileSync(join(store, "manifest.json"), "utf8")) as ManifestLike;

/** Files in the store that no committed state accounts for. */
function strays(store: string): string[] {
  const m = manifestOf(store);
  const known = new Set(["manifest.json", ...m.parts.flatMap((p) => Object.values(p.files).flat())]);
  for (const r of m.retired ?? []) for (const f of r.files) known.add(f);
  return readdirSync(store, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(store.length + 1))
    .filter((f) => !known.has(f));
}

let dir: string;
let files: string[];

describe("crashes: writers and queries killed at seeded moments", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-crash-"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 4)) files.push(await writeSyntheticAtl06(dir, opts));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a killed index leaves a committed state; SIGTERM leaves nothing behind, the next run cleans after SIGKILL", async () => {
    const store = join(dir, "store");
    expect((await runCli(["index", files[0]!, "--store", store])).code).toBe(0);
    const next = random(16);
    for (const signal of ["SIGKILL", "SIGTERM", "SIGKILL"] as const) {
      const before = await visibleGranules(store);
      const batch = files.slice(1);
      const run = start(["index", ...batch, "--store", store]);
      const ended = await run.kill(signal, 300 + Math.floor(next() * 2500));
      const now = await visibleGranules(store);
      expect([before, [...new Set([...before, ...batch.map(idOf)])].sort()]).toContainEqual(now);
      if (signal === "SIGTERM") {
        // Exit 143 from the handler (or killed before it was installed, when nothing was written yet).
        if (ended.code !== 0)
          expect([ended.code, ended.signal]).toEqual(ended.code === null ? [null, "SIGTERM"] : [143, null]);
        expect(strays(store)).toEqual([]);
      }
      // The next writer needs no hand work and leaves no stray file.
      const again = await runCli(["index", files[0]!, "--store", store]);
      expect([again.code, again.stderr]).toEqual([0, ""]);
      expect(strays(store)).toEqual([]);
      // Start the next round from the first granule alone.
      if (now.length > 1) {
        rmSync(store, { recursive: true });
        expect((await runCli(["index", files[0]!, "--store", store])).code).toBe(0);
      }
    }
  }, 120_000);

  it("a killed query leaves no temporary output after SIGTERM, and the next query into the folder removes a SIGKILLed one's", async () => {
    const store = join(dir, "qstore");
    expect((await runCli(["index", ...files, "--store", store])).code).toBe(0);
    const out = join(dir, "out");
    mkdirSync(out);
    const next = random(61);
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const run = start([
        "query",
        "--store",
        store,
        "--polygon",
        GREENLAND,
        "--out",
        join(out, `${signal}.parquet`),
      ]);
      const ended = await run.kill(signal, 800 + Math.floor(next() * 1500));
      const left = readdirSync(out);
      if (signal === "SIGTERM") expect(left.filter((f) => f.endsWith(".tmp"))).toEqual([]);
      if (ended.code === 0) expect(left).toContain(`${signal}.parquet`);
    }
    const last = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      GREENLAND,
      "--out",
      join(out, "last.parquet"),
    ]);
    expect([last.code, last.stderr]).toEqual([0, ""]);
    expect(readdirSync(out).filter((f) => !f.endsWith(".parquet"))).toEqual([]);
  }, 120_000);

  it("queries running during appends and compactions never fail and never go back", async () => {
    const store = join(dir, "busy");
    expect((await runCli(["index", files[0]!, "--store", store])).code).toBe(0);
    const writes = (async () => {
      expect((await runCli(["index", files[1]!, "--store", store])).code).toBe(0);
      expect((await runCli(["compact", "--store", store])).code).toBe(0);
      expect((await runCli(["index", files[2]!, "--store", store])).code).toBe(0);
    })();
    let done = false;
    void writes.finally(() => {
      done = true;
    });
    // Readers in this process, each pinning the manifest it opened, while the writers run.
    const counts: number[] = [];
    while (!done && counts.length < 50) {
      let rows = 0;
      for await (const batch of (await openStore(store)).query({ aoi: AOI })) rows += batch.numRows;
      counts.push(rows);
    }
    await writes;
    expect(counts.length).toBeGreaterThan(1);
    // Every answer is one of the committed states' answers: they only grow as granules land.
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
  }, 120_000);
});
