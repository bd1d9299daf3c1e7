import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hdf5File, inspectHdf5 } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource, withReadStats } from "../../src/source/index.js";
import { MISSING_GRANULES, realGranules } from "./granules.js";

/**
 * Request and byte budgets of metadata reads with the default block cache (1 KiB blocks, 2 KiB gaps),
 * measured and pinned with ~20 % headroom. Opening + listing every dataset reads the object headers
 * (mostly attributes); chunk refs add one small read per chunk B-tree node, which sit among the data.
 */
const BUDGETS: Record<string, { list: [number, number]; all: [number, number] }> = {
  // measured: list 297-301 requests / 953-959 KiB; all 534-539 requests / 1640-1645 KiB (of 3412 KiB)
  ATL06_20230816161508_08782002_006_02: { list: [360, 1150 * 1024], all: [650, 1970 * 1024] },
  // measured: list 135-136 requests / 431-432 KiB; all 159-160 requests / 716-717 KiB (of 1541 KiB)
  ATL06_20230816234629_08822013_006_01: { list: [165, 520 * 1024], all: [195, 860 * 1024] },
};

const granules = realGranules();

describe.skipIf(granules.length === 0)("metadata read budgets on the real granules", () => {
  if (granules.length === 0) console.warn(MISSING_GRANULES);
  for (const granule of granules) {
    const stem = granule.split("/").pop()!.replace(/\.h5$/, "");
    const budget = BUDGETS[stem];
    describe.skipIf(!budget)(stem, () => {
      let file: FileSource;
      beforeAll(async () => {
        file = await openFileSource(granule);
      });
      afterAll(() => file.close());

      it("opens, lists every dataset and every chunk ref within budget", async () => {
        const { source, stats } = withReadStats(file);
        const h5 = await Hdf5File.open(source);
        const paths = await h5.listDatasets();
        expect(paths.length).toBeGreaterThan(200);
        expect(stats.requests).toBeLessThanOrEqual(budget!.list[0]);
        expect(stats.bytes).toBeLessThanOrEqual(budget!.list[1]);
        const refs = await Promise.all(paths.map((p) => h5.chunkRefs(p)));
        expect(refs.flat().length).toBeGreaterThan(100);
        expect(stats.requests).toBeLessThanOrEqual(budget!.all[0]);
        expect(stats.bytes).toBeLessThanOrEqual(budget!.all[1]);
        expect(stats.bytes).toBeLessThan(0.6 * (await file.size()));
      });

      it("inspectHdf5 stays within the same budget", async () => {
        const { source, stats } = withReadStats(file);
        const report = await inspectHdf5(source);
        expect(report.datasets.length).toBeGreaterThan(200);
        expect(stats.requests).toBeLessThanOrEqual(budget!.all[0]);
        expect(stats.bytes).toBeLessThanOrEqual(budget!.all[1]);
      });

      it("opening alone takes one request", async () => {
        const { source, stats } = withReadStats(file);
        await Hdf5File.open(source);
        expect(stats.requests).toBeLessThanOrEqual(2);
        expect(stats.bytes).toBeLessThanOrEqual(4096);
      });
    });
  }
});
