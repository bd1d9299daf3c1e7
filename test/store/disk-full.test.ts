import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, isGeochunksError, openStore, writeResult } from "../../src/index.js";
import { HOST_TAG } from "../../src/store/temporaries.js";
import { ROOT, runCli } from "../support/cli.js";

/** Every file under `dir` with its SHA-256: equal snapshots mean a byte-identical folder. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    out[path.slice(dir.length)] = e.isFile()
      ? createHash("sha256").update(readFileSync(path)).digest("hex")
      : "dir";
  }
  return out;
}

let dir: string;
let mnt: string;
let mounted = false;

/** Mounting a tmpfs needs root (CI runs as root); elsewhere the test is skipped with this reason. */
function tryMount(): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

describe("a full disk", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-full-"));
    mnt = join(dir, "mnt");
    mkdirSync(mnt);
    mounted = tryMount();
  });
  afterAll(() => {
    if (mounted) execFileSync("umount", [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails index with one line naming the path and bytes, exit 1, leaving the store byte-identical", async (ctx) => {
    if (!mounted) ctx.skip("mounting a 2 MiB tmpfs needs root; not available here");
    const granules: string[] = [];
    for (const opts of demoGranuleSet().slice(0, 3)) granules.push(await writeSyntheticAtl06(dir, opts));
    const store = join(mnt, "store");
    expect((await runCli(["index", granules[0]!, "--store", store])).code).toBe(0);
    // Leave about 40 KB free: less than the next granule's parts need.
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(join(mnt, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - 40_000)));
    const before = snapshot(store);
    const run = await runCli(["index", granules[1]!, granules[2]!, "--store", store]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^geochunks: ${store}/[^ ]+\\.parquet: no space left on the device to write \\d+ bytes\\n$`),
    );
    expect(snapshot(store)).toEqual(before);
    // Once space is free again, the same run needs no hand work.
    rmSync(join(mnt, "filler"));
    const again = await runCli(["index", granules[1]!, granules[2]!, "--store", store]);
    expect([again.code, again.stderr]).toEqual([0, ""]);
  }, 120_000);

  it("fails query --out in every format with one line naming the output and bytes, exit 1, leaving nothing", async (ctx) => {
    if (!mounted) ctx.skip("mounting a 2 MiB tmpfs needs root; not available here");
    const granule = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, reuse: true });
    const store = join(dir, "query-store");
    await index(granule, { store });
    // Left behind by killed runs (a pid that is gone): a temporary GeoPackage and its SQLite journal.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale = [
      `old.gpkg.gc${HOST_TAG}-${dead}-0a1b.tmp`,
      `old.gpkg.gc${HOST_TAG}-${dead}-0a1b.tmp-journal`,
    ];
    for (const name of stale) writeFileSync(join(mnt, name), "x");
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(join(mnt, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - 40_000)));
    const before = readdirSync(mnt).filter((n) => !stale.includes(n));
    // The two formats written by libraries of their own (parquet-wasm, SQLite) through the command
    // line; the streamed text and FlatGeobuf writers through the library, in this process.
    const cli = ["out.parquet", "out.gpkg"];
    const runs = await Promise.all(
      cli.map((name) =>
        runCli([
          "query",
          "--store",
          store,
          "--polygon",
          "examples/greenland.geojson",
          "--out",
          join(mnt, name),
        ]),
      ),
    );
    const line = (name: string) =>
      new RegExp(
        `^(geochunks: )?${join(mnt, name)}: no space left on the device to write more than \\d+ bytes\\n?$`,
      );
    for (const [i, run] of runs.entries()) {
      expect([cli[i], run.code]).toEqual([cli[i], 1]);
      expect(run.stderr).toMatch(line(cli[i]!));
    }
    const opened = await openStore(store);
    const aoi = readFileSync(join(ROOT, "examples", "greenland.geojson"), "utf8");
    for (const name of ["out.fgb", "out.geojson", "out.geojsonl", "out.csv"]) {
      const failed = await writeResult(opened.query({ aoi }), join(mnt, name)).catch((err: unknown) => err);
      expect(isGeochunksError(failed, "NoSpaceError"), `${name}: ${String(failed)}`).toBe(true);
      expect((failed as Error).message).toMatch(line(name));
    }
    // No output, no temporary, no journal; the dead runs' leftovers are gone too.
    expect(readdirSync(mnt).sort()).toEqual(before.sort());
    rmSync(join(mnt, "filler"));
  }, 120_000);
});
