/**
 * DMR++ sidecars against the HDF5 reader: for every group and dataset of a file, the DMR++-backed
 * file must answer exactly as the HDF5 reader does (metadata, chunk refs, attributes, values). The
 * sidecars come from fixtures/dmrpp/make_dmrpp.py (h5py and the HDF5 library), not from our code.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { InvalidHdf5Error } from "../../src/errors.js";
import { DmrppFile, parseDmrpp, verifyDmrpp } from "../../src/hdf5/dmrpp/index.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import { type FileSource, openFileSource } from "../../src/source/index.js";
import { pythonWith } from "../support/python.js";

const DMRPP_DIR = fileURLToPath(new URL("../../fixtures/dmrpp/", import.meta.url));
const SCRIPT = join(DMRPP_DIR, "make_dmrpp.py");

/** Every answer of the two readers for every object of the file, side by side. */
async function expectSameFile(source: FileSource, sidecar: string) {
  const hdf5 = await Hdf5File.open(source);
  const doc = parseDmrpp(readFileSync(sidecar, "utf8"), sidecar);
  const dmrpp = DmrppFile.open(source, doc, { fallback: async () => hdf5 });
  const tree = await hdf5.tree();
  expect(await dmrpp.tree()).toEqual(tree);
  for (const group of ["/", ...tree.groups]) {
    expect(await dmrpp.listGroup(group), group).toEqual(await hdf5.listGroup(group));
    expect(await dmrpp.groupAttrs(group), group).toEqual(await hdf5.groupAttrs(group));
    expect(await dmrpp.kindOf(group)).toBe("group");
  }
  for (const path of tree.datasets) {
    const { maxshape: _m, ...info } = (await hdf5.dataset(path))!;
    const { maxshape: _d, ...mine } = (await dmrpp.dataset(path))!;
    expect(mine, path).toEqual(info);
    expect(await dmrpp.kindOf(path)).toBe("dataset");
    expect(await dmrpp.chunkRefs(path), path).toEqual(await hdf5.chunkRefs(path));
    expect(await dmrpp.read(path), path).toEqual(await hdf5.read(path));
  }
  expect(await verifyDmrpp(doc, { fileSize: await source.size(), hdf5 })).toBeUndefined();
  return { hdf5, dmrpp, tree };
}

describe("DMR++ documents", () => {
  it("describe the sample file (every storage kind) as the HDF5 reader reads it", async () => {
    const source = await openFileSource(join(DMRPP_DIR, "sample.h5"));
    onTestFinished(() => source.close());
    const { dmrpp, tree } = await expectSameFile(source, join(DMRPP_DIR, "sample.h5.dmrpp"));
    expect(tree.datasets).toContain("/beam/compact");
    expect(await dmrpp.dataset("/beam/compact")).toMatchObject({ layout: "compact", dtype: "<u2" });
    expect([...((await dmrpp.read("/beam/compact")) as Uint16Array)]).toEqual([7, 8, 9, 10]);
    expect(await dmrpp.dataset("/beam/data/h")).toMatchObject({
      filters: [
        { id: 1, name: "deflate", flags: 1, params: [4] },
        { id: 3, name: "fletcher32", flags: 0, params: [] },
      ],
      fillValue: 3.4028234663852886e38,
      attrs: { valid_range: [-500, 9000] },
    });
    expect(await dmrpp.read("/ancillary/start_utc")).toEqual(["2019-06-01T20:27:58.000000Z"]);
    expect(await dmrpp.readSlice("/beam/data/grid", 5, 9)).toEqual(
      Int16Array.from({ length: 28 }, (_, i) => 35 + i),
    );
    // Variable-length strings are described, and read through the HDF5 reader.
    expect(await dmrpp.dataset("/ancillary/note")).toMatchObject({ dtype: "other:vlen" });
    expect(await dmrpp.read("/ancillary/note")).toEqual(["variable length"]);
    expect(await dmrpp.dataset("/nowhere")).toBeUndefined();
    expect(await dmrpp.kindOf("/beam/nothing")).toBeUndefined();
  });

  describe("of a synthetic ATL06 granule, made by h5py", () => {
    let dir: string;
    let h5: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "geochunks-dmrpp-"));
      h5 = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[3]!, segmentsPerBeam: 3_000 });
      const run = spawnSync(pythonWith(["h5py"]), [SCRIPT, h5], { encoding: "utf8" });
      expect(run.stderr).toBe("");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("answer every metadata and value question as the HDF5 reader does", async () => {
      const source = await openFileSource(h5);
      const { tree } = await expectSameFile(source, `${h5}.dmrpp`).finally(() => source.close());
      expect(tree.datasets.length).toBeGreaterThan(90);
    });

    it("of another granule, or cut short, are told apart from this granule's", async () => {
      mkdirSync(join(dir, "other"));
      const other = await writeSyntheticAtl06(join(dir, "other"), {
        ...demoGranuleSet()[3]!,
        segmentsPerBeam: 2_500,
      });
      spawnSync(pythonWith(["h5py"]), [SCRIPT, other], { encoding: "utf8" });
      const source = await openFileSource(h5);
      try {
        const hdf5 = await Hdf5File.open(source);
        const size = await source.size();
        const stale = parseDmrpp(readFileSync(`${other}.dmrpp`, "utf8"), "other.dmrpp");
        expect(await verifyDmrpp(stale, { fileSize: size, hdf5 })).toMatch(
          /^the chunk refs of \/.+ differ from the file's$/,
        );
        const text = readFileSync(`${h5}.dmrpp`, "utf8");
        expect(() => parseDmrpp(text.slice(0, text.length / 2), "cut.dmrpp")).toThrow(InvalidHdf5Error);
        expect(() => parseDmrpp(text.slice(0, text.length / 2), "cut.dmrpp")).toThrow(
          /^cut.dmrpp: not well-formed XML/,
        );
        expect(() => parseDmrpp("<html><body>Not Found</body></html>", "x.dmrpp")).toThrow(
          "x.dmrpp: not a DMR++ document (root element <html>)",
        );
      } finally {
        await source.close();
      }
    });
  });
});
