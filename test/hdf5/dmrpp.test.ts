/**
 * DMR++ sidecars against the HDF5 reader: for every group and dataset of a file, the DMR++-backed
 * file must answer exactly as the HDF5 reader does (metadata, chunk refs, attributes, values). The
 * sidecars come from fixtures/dmrpp/make_dmrpp.py (h5py and the HDF5 library), not from our code.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { demoAtl03Set, writeSyntheticAtl03 } from "../../fixtures/atl03/generate.js";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { atl08DemoSet, writeSyntheticAtl08 } from "../../fixtures/atl08/generate.js";
import { gediDemoSet, writeSyntheticGedi02a } from "../../fixtures/gedi02a/generate.js";
import { InvalidHdf5Error } from "../../src/errors.js";
import { DmrppFile, parseDmrpp, verifyDmrpp } from "../../src/hdf5/dmrpp/index.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import { index } from "../../src/index.js";
import { type FileSource, openFileSource } from "../../src/source/index.js";
import { Store } from "../../src/store/store.js";
import { pythonWith } from "../support/python.js";
import { exactly, parseDmrppReference } from "./dmrpp-reference.js";
import { MISSING_GRANULES, realGranules } from "./granules.js";

const DMRPP_DIR = fileURLToPath(new URL("../../fixtures/dmrpp/", import.meta.url));
const SCRIPT = join(DMRPP_DIR, "make_dmrpp.py");

/** Every answer of the two readers for every object of the file, side by side. */
async function expectSameFile(
  source: FileSource,
  sidecar: string,
  opts: { values: boolean } = { values: true },
) {
  const hdf5 = await Hdf5File.open(source);
  const text = readFileSync(sidecar, "utf8");
  const doc = parseDmrpp(text, sidecar);
  // The parser gives exactly the document its earlier form gave (dmrpp-parse.test.ts).
  expect(exactly(doc)).toBe(exactly(parseDmrppReference(text, sidecar)));
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
    // Dimension scale references have no DAP form: builders leave them out of the document.
    const { DIMENSION_LIST: _l, REFERENCE_LIST: _r, ...attrs } = info.attrs;
    expect(mine, path).toEqual({ ...info, attrs });
    expect(await dmrpp.kindOf(path)).toBe("dataset");
    expect(await dmrpp.chunkRefs(path), path).toEqual(await hdf5.chunkRefs(path));
    if (opts.values) expect(await dmrpp.read(path), path).toEqual(await hdf5.read(path));
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
      h5 = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[3]!, segmentsPerBeam: 1_500 });
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
        segmentsPerBeam: 1_200,
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

  describe("of the other products' granules, made by h5py", () => {
    let dir: string;
    const made: Record<string, string> = {};
    const products: [string, (dir: string) => Promise<string>][] = [
      ["ATL03", (d) => writeSyntheticAtl03(d, { ...demoAtl03Set()[2]!, photonsPerStrongBeam: 2000 })],
      ["ATL08", (d) => writeSyntheticAtl08(d, atl08DemoSet(400)[0]!)],
      ["GEDI L2A", (d) => writeSyntheticGedi02a(d, gediDemoSet(1500)[0]!)],
    ];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "geochunks-dmrpp-products-"));
      for (const [name, write] of products) made[name] = await write(dir);
      const run = spawnSync(pythonWith(["h5py"]), [SCRIPT, ...Object.values(made)], { encoding: "utf8" });
      expect(run.stderr).toBe("");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    for (const [name] of products) {
      it(`${name}: the reader's answers, and the index the HDF5 metadata gives`, async () => {
        const h5 = made[name]!;
        const source = await openFileSource(h5);
        // Values are compared on the sample and ATL06 above; here the index's use of them is.
        await expectSameFile(source, `${h5}.dmrpp`, { values: false }).finally(() => source.close());
        const rows = async (dmrpp: "off" | "auto") => {
          const store = join(dir, `${basename(h5)}-${dmrpp}`);
          const report = await index([h5], { store, dmrpp });
          const chunks = (await (await Store.open(store)).chunks()).map((c) => ({
            ...c,
            refs: c.refs.map(({ checksum: _k, ...ref }) => ref),
          }));
          // Beams are indexed concurrently: rows come in the order they finish.
          const arrays = (await (await Store.open(store)).arrays()).sort((a, b) =>
            a.path.localeCompare(b.path),
          );
          chunks.sort((a, b) => a.chunk_id.localeCompare(b.chunk_id));
          return { requests: report.requests, chunks, arrays };
        };
        const [off, auto] = [await rows("off"), await rows("auto")];
        expect(auto.chunks.length).toBeGreaterThan(0);
        expect(auto.chunks).toEqual(off.chunks);
        expect(auto.arrays).toEqual(off.arrays);
        expect(auto.requests * 3).toBeLessThan(off.requests);
      });
    }
  });

  describe.skipIf(realGranules().length === 0)(
    `of real ATL06 granules (${MISSING_GRANULES} when absent)`,
    () => {
      let dir: string;
      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "geochunks-dmrpp-real-"));
        for (const g of realGranules()) copyFileSync(g, join(dir, basename(g)));
        const copies = realGranules().map((g) => join(dir, basename(g)));
        const run = spawnSync(pythonWith(["h5py"]), [SCRIPT, ...copies], { encoding: "utf8" });
        expect(run.stderr).toBe("");
      });
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it("describe every group and dataset as the HDF5 reader reads them (reference attributes apart)", async () => {
        for (const g of realGranules()) {
          const h5 = join(dir, basename(g));
          const source = await openFileSource(h5);
          const { tree, dmrpp } = await expectSameFile(source, `${h5}.dmrpp`, { values: false }).finally(() =>
            source.close(),
          );
          expect(tree.datasets.length).toBeGreaterThan(200);
          expect((await dmrpp.dataset("/gt1l/land_ice_segments/h_li"))?.filters.map((f) => f.name)).toEqual([
            "deflate",
          ]);
        }
      });
    },
  );
});
