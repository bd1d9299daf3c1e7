import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fullSizeGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { Hdf5File, inspectHdf5 } from "../../src/hdf5/index.js";
import type { ReadStats } from "../../src/source/index.js";
import { fromBytes, withReadStats } from "../../src/source/index.js";
import { CORPUS_DIR } from "./corpus.js";
import { realGranules } from "./granules.js";

const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
const CORE = [
  "latitude",
  "longitude",
  "delta_time",
  "h_li",
  "h_li_sigma",
  "atl06_quality_summary",
  "segment_id",
];

/**
 * Opens a file and gets the metadata and chunk refs of the six beams' land_ice_segments core datasets,
 * all at once (as the indexer does), counting requests and bytes. In memory, where batching is
 * deterministic.
 */
async function openCore(bytes: Uint8Array): Promise<{ stats: ReadStats; chunks: number; file: Hdf5File }> {
  const { source, stats } = withReadStats(fromBytes(bytes));
  const file = await Hdf5File.open(source);
  const paths = BEAMS.flatMap((beam) => CORE.map((name) => `/${beam}/land_ice_segments/${name}`));
  const counts = await Promise.all(
    paths.map(async (p) => ((await file.kindOf(p)) === "dataset" ? (await file.chunkRefs(p)).length : 0)),
  );
  return { stats: { ...stats }, chunks: counts.reduce((a, b) => a + b, 0), file };
}

function hasH5repack(): boolean {
  try {
    execFileSync("h5repack", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Budgets (measured, ~15 % headroom). A release-006-style granule keeps each dataset's header and chunk
 * B-tree beside its data, so each dataset costs about two requests whatever the read-ahead: measured 86
 * requests / 766 KiB of 66.6 MB (133 requests without read-ahead). The paged copy keeps all metadata in
 * its first 8 MiB page: measured 2 requests (superblock, then that page) / 8.0 MiB of 80 MiB.
 */
describe("round trips to open the core datasets of a full-size synthetic granule", () => {
  const dir = mkdtempSync(join(tmpdir(), "geochunks-roundtrips-"));
  let r006: Uint8Array;
  let r007: Uint8Array | undefined;
  beforeAll(async () => {
    const path = await writeSyntheticAtl06(dir, { ...fullSizeGranuleSet(1)[0]! });
    r006 = readFileSync(path);
    if (hasH5repack()) {
      execFileSync("h5repack", ["-S", "PAGE", "-G", "8388608", path, join(dir, "paged.h5")]);
      r007 = readFileSync(join(dir, "paged.h5"));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("release-006 style (superblock 0, v1 B-trees beside the data)", async () => {
    const { stats, chunks } = await openCore(r006);
    expect(r006.length).toBeGreaterThan(60e6);
    expect(chunks).toBe(462);
    expect(stats.requests).toBeLessThanOrEqual(100);
    expect(stats.bytes).toBeLessThanOrEqual(900 * 1024);
  });

  it("release-007 style (paged aggregation, 8 MiB pages): whole metadata pages", async (ctx) => {
    if (!r007) ctx.skip();
    const { stats, chunks, file } = await openCore(r007!);
    expect(file.fileSpace).toEqual({ strategy: "page", pageSize: 8388608 });
    expect(chunks).toBe(462);
    expect(stats.requests).toBeLessThanOrEqual(3);
    expect(stats.bytes).toBeLessThanOrEqual(8 * 1024 * 1024 + 20 * 1024); // the page and the first 17 KiB
    const { source, stats: all } = withReadStats(fromBytes(r007!));
    const report = await inspectHdf5(source);
    expect(report.datasets.length).toBeGreaterThan(300);
    expect(all.requests).toBeLessThanOrEqual(3); // every dataset and chunk of the file
  });

  it("both give the same values", async () => {
    if (!r007) return;
    const a = await Hdf5File.open(fromBytes(r006));
    const b = await Hdf5File.open(fromBytes(r007));
    for (const p of ["/gt2r/land_ice_segments/h_li", "/gt3l/land_ice_segments/segment_id"]) {
      expect(await b.read(p)).toEqual(await a.read(p));
    }
  });
});

describe("round trips on small paged files of the corpus", () => {
  it.each(["paged_latest.h5", "paged_v108.h5"])("%s: everything in a few page reads", async (name) => {
    const bytes = readFileSync(`${CORPUS_DIR}${name}`);
    const { source, stats } = withReadStats(fromBytes(bytes));
    const file = await Hdf5File.open(source);
    expect(file.fileSpace?.strategy).toBe("page");
    await inspectHdf5(source);
    // measured: paged_latest (4 KiB pages) 4 requests, paged_v108 (8 KiB pages) 3, each a whole page
    expect(stats.requests).toBeLessThanOrEqual(8);
  });
});

/** Real granules: measured 63 requests / 1026 KiB (of 3412 KiB) and 23 / 358 KiB (of 1541 KiB). */
const REAL_BUDGETS: Record<string, [number, number]> = {
  ATL06_20230816161508_08782002_006_02: [73, 1180 * 1024],
  ATL06_20230816234629_08822013_006_01: [27, 412 * 1024],
};

describe.each(realGranules())("round trips to open the core datasets of %s", (path) => {
  const stem = path.split("/").pop()!.replace(/\.h5$/, "");
  it("stays within budget", async () => {
    const { stats, chunks } = await openCore(readFileSync(path));
    expect(chunks).toBeGreaterThan(0);
    expect(stats.requests).toBeLessThanOrEqual(REAL_BUDGETS[stem]![0]);
    expect(stats.bytes).toBeLessThanOrEqual(REAL_BUDGETS[stem]![1]);
  });
});
