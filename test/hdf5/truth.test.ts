import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InspectReport } from "../../src/hdf5/index.js";
import { inspectHdf5 } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource } from "../../src/source/index.js";
import { MISSING_GRANULES, realGranules, truthPath } from "./granules.js";

interface TruthDataset {
  dtype: string;
  shape: number[];
  maxshape: (number | null)[];
  layout: string;
  chunks: number[] | null;
  filters: { id: number; flags: number; params: number[]; name: string }[];
  fill_status: "undefined" | "default" | "user_defined";
  fill_value: number | string | null;
  attrs: string[];
  chunk_refs?: [number[], number, number, number][];
  contiguous?: [number | null, number];
}

interface Truth {
  file: string;
  size: number;
  groups: string[];
  root_attrs: string[];
  datasets: Record<string, TruthDataset>;
}

const granules = realGranules();

describe.skipIf(granules.length === 0)("inspectHdf5 equals h5py on the real granules", () => {
  if (granules.length === 0) console.warn(MISSING_GRANULES);
  for (const granule of granules) {
    describe(granule.split("/").pop()!, () => {
      const truth = JSON.parse(readFileSync(truthPath(granule), "utf8")) as Truth;
      let source: FileSource;
      let report: InspectReport;
      beforeAll(async () => {
        source = await openFileSource(granule);
        report = await inspectHdf5(source);
      });
      afterAll(() => source.close());

      it("lists the same groups and datasets", () => {
        expect(report.size).toBe(truth.size);
        expect(report.superblock_version).toBe(0);
        expect(report.groups).toEqual(truth.groups);
        expect(report.datasets.map((d) => d.path)).toEqual(Object.keys(truth.datasets));
      });

      it("has the same dtype, shape, layout, chunks, filters, fill and attribute names per dataset", () => {
        for (const ds of report.datasets) {
          const t = truth.datasets[ds.path]!;
          const at = `${ds.path}`;
          expect({ at, dtype: ds.dtype, shape: ds.shape, maxshape: ds.maxshape, layout: ds.layout }).toEqual({
            at,
            dtype: t.dtype,
            shape: t.shape,
            maxshape: t.maxshape,
            layout: t.layout,
          });
          expect({ at, chunks: ds.chunk_shape, filters: ds.filters }).toEqual({
            at,
            chunks: t.chunks,
            filters: t.filters,
          });
          expect({ at, attrs: Object.keys(ds.attrs).sort() }).toEqual({ at, attrs: t.attrs });
          const fill = t.fill_status === "user_defined" ? t.fill_value : null;
          expect({ at, fill: ds.fill_value }).toEqual({ at, fill });
        }
      });

      it("has every chunk at the same offset, size and filter mask", () => {
        let compared = 0;
        for (const ds of report.datasets) {
          const t = truth.datasets[ds.path]!;
          const ours = ds.chunks.map((c) => [c.coords, c.offset, c.size, c.filter_mask]);
          if (t.layout === "chunked")
            expect({ at: ds.path, chunks: ours }).toEqual({ at: ds.path, chunks: t.chunk_refs });
          if (t.layout === "contiguous") {
            const [offset, size] = t.contiguous!;
            expect({ at: ds.path, chunks: ours }).toEqual({
              at: ds.path,
              chunks: [[ds.shape.map(() => 0), offset, size, 0]],
            });
          }
          if (t.layout === "compact") expect(ours).toEqual([]);
          compared += ours.length;
        }
        expect(compared).toBeGreaterThan(0);
      });
    });
  }
});
