/**
 * Smoke test of the ATL03 benchmark: two small synthetic ATL03 granules (releases 006 and 007), latency 0,
 * geochunks and download-then-read with h5wasm. Both must give the ATL03 oracle's photons (one key per
 * photon), geochunks reading fewer bytes. No timing assertions.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ATL03_ORACLE, downloadH5wasmAtl03 } from "../../bench/contenders/atl03.js";
import { geochunks } from "../../bench/contenders/geochunks.js";
import { greenlandAoi, WORLD_AOI } from "../../bench/lib/aois.js";
import { atl03GranuleSet } from "../../bench/lib/archive.js";
import { type HarnessResult, runHarness } from "../../bench/lib/harness.js";
import { writeSyntheticAtl03 } from "../../fixtures/atl03/generate.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("ATL03 benchmark harness (smoke)", () => {
  let dir: string;
  let result: HarnessResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "geochunks-bench-atl03-"));
    const granuleDir = join(dir, "granules");
    await mkdir(granuleDir);
    const files: string[] = [];
    // ~10 km of track each: the Greenland box covers part of every beam.
    for (const opts of atl03GranuleSet({ crossing: 2, far: 0, photonsPerStrongBeam: 50_000 })) {
      files.push(await writeSyntheticAtl03(granuleDir, opts));
    }
    result = await runHarness({
      granuleDir,
      files,
      latencies: [0],
      reps: 1,
      aois: [await greenlandAoi(root)],
      contenders: [geochunks, downloadH5wasmAtl03],
      granuleConcurrency: 2,
      workDir: join(dir, "work"),
      indexLatencies: [0],
      oracle: ATL03_ORACLE,
      rssAoi: WORLD_AOI,
    });
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gives every contender the oracle's photons", () => {
    expect(result.aois[0]!.listed).toHaveLength(2);
    expect(result.aois[0]!.oracle.rows).toBeGreaterThan(10_000);
    expect(result.rows.map((r) => r.contender)).toEqual(["geochunks", "download-h5wasm"]);
    for (const row of result.rows) {
      expect(row.rows, row.contender).toBe(result.aois[0]!.oracle.rows);
      expect(row.hash, row.contender).toBe(result.aois[0]!.oracle.hash);
    }
  });

  it("reads fewer bytes with geochunks, and measures the index and the whole-world query's memory", () => {
    const [g, download] = result.rows;
    expect(g!.bytes).toBeGreaterThanOrEqual(g!.bytesMinimal);
    expect(g!.bytes).toBeLessThan(download!.bytes);
    expect(result.indexBuild[0]!.storeBytes).toBeGreaterThan(0);
    expect(result.rss!.rows).toBeGreaterThanOrEqual(result.aois[0]!.oracle.rows);
    expect(result.rss!.maxRssBytes).toBeGreaterThan(0);
  });
});
