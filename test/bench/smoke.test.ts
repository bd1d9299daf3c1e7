/**
 * Smoke test of the benchmark harness: two small synthetic granules (30,000 rows per beam), latency 0, the geochunks
 * (in process and through the installed command), no-index and download contenders. Rows must equal the oracle and geochunks must read the fewest bytes; no
 * timing assertions.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadH5wasm } from "../../bench/contenders/download.js";
import { geochunks } from "../../bench/contenders/geochunks.js";
import { geochunksCli } from "../../bench/contenders/geochunks-cli.js";
import { ATL06_QUERY_DATASETS, BEAMS, noIndex } from "../../bench/contenders/no-index.js";
import { greenlandAoi } from "../../bench/lib/aois.js";
import { runFloors } from "../../bench/lib/floor.js";
import { type HarnessResult, runHarness } from "../../bench/lib/harness.js";
import { measureInflateRate } from "../../bench/lib/inflate-rate.js";
import { demoGranuleSet, nominalStart, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("benchmark harness (smoke)", () => {
  let dir: string;
  let result: HarnessResult;
  let files: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "geochunks-bench-smoke-"));
    const granuleDir = join(dir, "granules");
    await mkdir(granuleDir);
    files = [];
    // 30,000 rows per beam (three chunks), the AOI in the middle one: it covers a small part of each track.
    for (const opts of demoGranuleSet().slice(0, 2)) {
      const segmentsPerBeam = 30_000;
      const through = opts.through!;
      const start = nominalStart(opts.rgt, opts.cycle, through.lat, opts.ascending ?? false, segmentsPerBeam);
      files.push(await writeSyntheticAtl06(granuleDir, { ...opts, start, segmentsPerBeam }));
    }
    result = await runHarness({
      granuleDir,
      files,
      latencies: [0],
      reps: 1,
      // A capped client link (a fast one, to keep the test short): every contender reads through it.
      linkBytesPerSecond: 400e6,
      aois: [await greenlandAoi(root)],
      contenders: [geochunks, geochunksCli, noIndex, downloadH5wasm],
      granuleConcurrency: 2,
      workDir: join(dir, "work"),
      indexLatencies: [0],
    });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists both granules and finds answer rows", () => {
    expect(result.aois).toHaveLength(1);
    expect(result.aois[0]!.listed).toHaveLength(2);
    // What download-then-read moves: both files whole, as the server counted for the download contender.
    const download = result.rows.find((r) => r.contender === "download-h5wasm")!;
    expect(result.aois[0]!.listedBytes).toBe(download.bytes);
    expect(result.aois[0]!.oracle.rows).toBeGreaterThan(0);
    expect(result.indexBuild[0]!.granules).toBe(2);
  });

  it("gives every contender the oracle's rows", () => {
    expect(result.rows.map((r) => r.contender)).toEqual([
      "geochunks",
      "geochunks-cli",
      "no-index",
      "download-h5wasm",
    ]);
    for (const row of result.rows) {
      expect(row.rows, row.contender).toBe(result.aois[0]!.oracle.rows);
      expect(row.hash, row.contender).toBe(result.aois[0]!.oracle.hash);
      expect(row.matchesOracle).toBe(true);
    }
  });

  it("measures geochunks' CPU, from which the floor model follows", () => {
    const g = result.rows.find((r) => r.contender === "geochunks")!;
    expect(g.cpuSeconds).toBeGreaterThan(0);
    const [floor] = runFloors(result.rows, { linkBytesPerSecond: 400e6, pool: 128, cores: 2 });
    expect(floor!.transfer).toBeCloseTo(g.bytesMinimal / 400e6, 12);
    expect(floor!.cpu).toBeCloseTo(g.cpuSeconds / 2, 12);
  });

  it("records the server's CPU for each row, and the decode rate of the query's chunks", async () => {
    for (const row of result.rows) expect(row.serverCpuSeconds, row.contender).toBeGreaterThanOrEqual(0);
    // The downloads' whole files cost the server something.
    expect(result.rows.find((r) => r.contender === "download-h5wasm")!.serverCpuSeconds).toBeGreaterThan(0);
    const rate = await measureInflateRate(files, BEAMS, ATL06_QUERY_DATASETS, 1);
    // 2 granules x 6 beams x 7 datasets x 3 chunks of 10,000 rows.
    expect(rate.chunks).toBe(2 * 6 * 7 * 3);
    expect(rate.bytes).toBeGreaterThan(0);
    expect(rate.bytesPerCpuSecond).toBeCloseTo(rate.bytes / rate.cpuSeconds, 6);
    // Geochunks' answer is a part of those chunks: it cannot need more stored bytes than they hold.
    const g = result.rows.find((r) => r.contender === "geochunks")!;
    expect(g.bytesMinimal).toBeLessThanOrEqual(rate.bytes);
    await expect(measureInflateRate(files, BEAMS, ["no/such/dataset"])).rejects.toThrow(/no chunk of/);
  });

  it("reads fewer bytes with geochunks than with the others, the same through the command", () => {
    const [g, cli, ...others] = result.rows;
    expect(cli!.contender).toBe("geochunks-cli");
    expect([cli!.requests, cli!.bytes]).toEqual([g!.requests, g!.bytes]);
    expect(g!.bytes).toBeGreaterThan(0);
    expect(g!.bytes).toBeGreaterThanOrEqual(g!.bytesMinimal);
    for (const other of others) expect(g!.bytes, other.contender).toBeLessThan(other.bytes);
  });
});
