import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hdf5File } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource } from "../../src/source/index.js";
import { MISSING_GRANULES, realGranules } from "./granules.js";

const granules = realGranules();

/** The bytes behind a typed array, for exact (NaN-safe, -0-safe) comparison. */
function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe.skipIf(granules.length === 0)("decoded values equal h5wasm (the HDF5 C library)", () => {
  if (granules.length === 0) console.warn(MISSING_GRANULES);
  beforeAll(async () => {
    await h5wasm.ready;
  });

  for (const granule of granules) {
    describe(granule.split("/").pop()!, () => {
      let source: FileSource;
      let file: Hdf5File;
      let oracle: InstanceType<typeof h5wasm.File>;
      beforeAll(async () => {
        source = await openFileSource(granule);
        file = await Hdf5File.open(source);
        oracle = new h5wasm.File(granule, "r");
      });
      afterAll(async () => {
        oracle.close();
        await source.close();
      });

      it("every dataset, numeric byte-for-byte and strings exactly", async () => {
        const paths = await file.listDatasets();
        let numeric = 0;
        let strings = 0;
        for (const path of paths) {
          const expected = (oracle.get(path) as InstanceType<typeof h5wasm.Dataset>).value;
          const ours = await file.read(path);
          if (Array.isArray(ours)) {
            expect({ path, value: ours }).toEqual({ path, value: expected });
            strings += 1;
          } else {
            if (!ArrayBuffer.isView(expected)) throw new Error(`h5wasm gave no typed array for ${path}`);
            expect({ path, type: ours.constructor.name }).toEqual({ path, type: expected.constructor.name });
            expect(bytesOf(ours).equals(bytesOf(expected)), path).toBe(true);
            numeric += 1;
          }
        }
        expect(numeric).toBeGreaterThan(200);
        expect(strings).toBeGreaterThan(5);
        expect(paths.some((p) => p.includes("/land_ice_segments/"))).toBe(true);
      });

      it("every attribute of every group and dataset (references excepted)", async () => {
        const { groups, datasets } = await file.tree();
        let compared = 0;
        for (const path of ["/", ...groups, ...datasets]) {
          const ours = datasets.includes(path)
            ? (await file.dataset(path))!.attrs
            : (await file.groupAttrs(path))!;
          const attrs = (oracle.get(path) as InstanceType<typeof h5wasm.Group>).attrs;
          expect({ path, names: Object.keys(ours).sort() }).toEqual({
            path,
            names: Object.keys(attrs).sort(),
          });
          for (const [name, attr] of Object.entries(attrs)) {
            if (name === "DIMENSION_LIST" || name === "REFERENCE_LIST") continue;
            const value = attr.value;
            const expected = ArrayBuffer.isView(value) ? Array.from(value as Float64Array) : value;
            expect({ path, name, value: ours[name] }).toEqual({ path, name, value: expected });
            compared += 1;
          }
        }
        expect(compared).toBeGreaterThan(1000);
      });

      it("resolves dimension-scale references to object addresses", async () => {
        const h = (await file.dataset("/gt1l/land_ice_segments/h_li"))!.attrs;
        const t = (await file.dataset("/gt1l/land_ice_segments/delta_time"))!.attrs;
        expect(h.DIMENSION_LIST).toEqual([[expect.any(Number)]]);
        expect(t.CLASS).toBe("DIMENSION_SCALE");
        expect(t.REFERENCE_LIST).toContainEqual({ dataset: expect.any(Number), dimension: 0 });
      });
    });
  }
});
