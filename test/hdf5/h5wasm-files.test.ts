import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LIBVER_BOUNDS } from "h5wasm/node";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hdf5File } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource } from "../../src/source/index.js";

type LibverBounds = LIBVER_BOUNDS;

const dir = mkdtempSync(join(tmpdir(), "geochunks-h5wasm-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic test values. */
function series<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** Writes a small file exercising groups, attributes, layouts, filters and partial chunks. */
function writeSample(path: string, libver: LibverBounds | undefined): void {
  const f = new h5wasm.File(path, "w", libver ? { libver } : {});
  const g = f.create_group("beam");
  g.create_attribute("description", "a beam group");
  g.create_attribute("scale", 2.5, null, "<d");
  g.create_attribute("counts", [1, 2, 3], [3], "<i");
  g.create_dataset({
    name: "latitude",
    data: new Float64Array(series(25_000, (i) => -70 + i * 1e-4)),
    chunks: [10_000],
    maxshape: [null],
    compression: "gzip",
    compression_opts: 6,
  });
  g.create_dataset({
    name: "grid",
    data: new Int32Array(series(30 * 7, (i) => i * 7919 - 500_000)),
    shape: [30, 7],
    chunks: [8, 4],
    compression: 2,
    compression_opts: [4],
  });
  g.create_dataset({ name: "h", data: new Float32Array(series(1000, (i) => Math.sin(i) * 100)) });
  g.create_dataset({ name: "flags", data: new Int8Array(series(77, (i) => (i % 5) - 2)), chunks: [20] });
  g.create_dataset({
    name: "ids",
    data: new BigInt64Array(series(40, (i) => i * 1e12).map(BigInt)),
    chunks: [16],
  });
  g.create_dataset({ name: "u16", data: new Uint16Array(series(33, (i) => i * 1000)) });
  g.create_dataset({ name: "names", data: ["gt1l", "gt1r", "a longer name", ""] });
  const many = f.create_group("many");
  for (let i = 0; i < 20; i++)
    many.create_dataset({ name: `v${String(i).padStart(2, "0")}`, data: new Float64Array([i]) });
  for (let i = 0; i < 12; i++) many.create_attribute(`attr${i}`, i * 1.5, null, "<d");
  f.close();
}

const variants: [string, LibverBounds | undefined][] = [
  ["h5wasm default (superblock v2, object header v2)", undefined],
  ["earliest (superblock v0, object header v1)", ["earliest", "v110"]],
];

describe.each(variants)("files written by h5wasm: %s", (name, libver) => {
  const path = join(dir, `${name.split(" ")[0]}-${variants.findIndex((v) => v[0] === name)}.h5`);
  let source: FileSource;
  let file: Hdf5File;
  let oracle: InstanceType<typeof h5wasm.File>;
  beforeAll(async () => {
    await h5wasm.ready;
    writeSample(path, libver);
    source = await openFileSource(path);
    file = await Hdf5File.open(source);
    oracle = new h5wasm.File(path, "r");
  });
  afterAll(async () => {
    oracle.close();
    await source.close();
  });

  it("lists groups and datasets like the HDF5 library", async () => {
    expect(await file.listGroup("/")).toEqual([...oracle.keys()].sort());
    expect(await file.listGroup("/many")).toEqual(series(20, (i) => `v${String(i).padStart(2, "0")}`));
    expect(await file.kindOf("/beam")).toBe("group");
    expect(await file.kindOf("/beam/latitude")).toBe("dataset");
    expect(await file.kindOf("/nope")).toBeUndefined();
    expect(await file.listGroup("/beam/latitude")).toBeUndefined();
    expect(await file.dataset("/beam")).toBeUndefined();
    expect(await file.dataset("/beam/missing")).toBeUndefined();
    expect((await file.listDatasets()).length).toBe(27);
  });

  it("decodes every dataset exactly", async () => {
    for (const path of await file.listDatasets()) {
      const expected = (oracle.get(path) as InstanceType<typeof h5wasm.Dataset>).value;
      const ours = await file.read(path);
      expect({ path, ours }).toEqual({ path, ours: expected });
    }
  });

  it("describes storage: chunk refs with partial edge chunks, filters, maxshape", async () => {
    const lat = (await file.dataset("/beam/latitude"))!;
    expect(lat).toMatchObject({ dtype: "<f8", shape: [25_000], maxshape: [null], chunkShape: [10_000] });
    expect(lat.filters.map((f) => [f.id, f.params])).toEqual([[1, [6]]]);
    expect((await file.chunkRefs("/beam/latitude")).map((r) => r.coords)).toEqual([[0], [10_000], [20_000]]);
    const grid = (await file.dataset("/beam/grid"))!;
    expect(grid).toMatchObject({ dtype: "<i4", shape: [30, 7], chunkShape: [8, 4] });
    expect(grid.filters.map((f) => [f.id, f.params])).toEqual([[2, [4]]]);
    expect((await file.chunkRefs("/beam/grid")).length).toBe(8);
    expect((await file.dataset("/beam/h"))!.layout).toBe("contiguous");
    expect((await file.dataset("/beam/names"))!.dtype).toBe("other:vlen");
    expect(await file.read("/beam/names")).toEqual(["gt1l", "gt1r", "a longer name", ""]);
  });

  it("reads group attributes, compact and dense", async () => {
    expect(await file.groupAttrs("/beam")).toEqual({
      description: "a beam group",
      scale: 2.5,
      counts: [1, 2, 3],
    });
    const many = (await file.groupAttrs("/many"))!;
    expect(Object.keys(many).sort()).toEqual(series(12, (i) => `attr${i}`).sort());
    expect(many.attr3).toBe(4.5);
    expect(await file.groupAttrs("/beam/latitude")).toBeUndefined();
  });
});

/** Datasets that make the HDF5 library pick each version-4/5 layout chunk index. */
function writeChunkIndexes(path: string, libver: LibverBounds): void {
  const f = new h5wasm.File(path, "w", { libver });
  const seq = (n: number) => new Float64Array(series(n, (i) => i * 1.5 - 7));
  const grid = () => new Int32Array(series(30 * 7, (i) => i * 13 - 99));
  const gzip = { compression: "gzip" as const, compression_opts: 1 };
  f.create_dataset({ name: "fixed", data: seq(25_000), chunks: [10_000], ...gzip });
  f.create_dataset({ name: "fixed2d", data: grid(), shape: [30, 7], chunks: [8, 4] });
  f.create_dataset({ name: "ext", data: seq(25_000), chunks: [10_000], maxshape: [null] });
  f.create_dataset({ name: "ext_many", data: seq(3000), chunks: [10], maxshape: [null], ...gzip });
  f.create_dataset({ name: "ext_many_raw", data: seq(3000), chunks: [10], maxshape: [null] });
  f.create_dataset({ name: "ext_col", data: grid(), shape: [30, 7], chunks: [8, 4], maxshape: [30, null] });
  f.create_dataset({ name: "single", data: seq(100), chunks: [100], ...gzip });
  f.create_dataset({ name: "bt2", data: grid(), shape: [30, 7], chunks: [8, 4], maxshape: [null, null] });
  f.create_dataset({
    name: "bt2z",
    data: grid(),
    shape: [30, 7],
    chunks: [8, 4],
    maxshape: [null, null],
    ...gzip,
  });
  f.close();
}

const CHUNK_COUNTS: Record<string, number> = {
  "/bt2": 8,
  "/bt2z": 8,
  "/ext": 3,
  "/ext_col": 8,
  "/ext_many": 300,
  "/ext_many_raw": 300,
  "/fixed": 3,
  "/fixed2d": 8,
  "/single": 1,
};

describe.each([["v114" as const], ["latest" as const]])(
  "chunk indexes of layout versions 4/5 (libver %s): fixed array, extensible array, v2 B-tree, single chunk",
  (libver) => {
    const path = join(dir, `indexes-${libver}.h5`);
    let source: FileSource;
    let file: Hdf5File;
    let oracle: InstanceType<typeof h5wasm.File>;
    beforeAll(async () => {
      await h5wasm.ready;
      writeChunkIndexes(path, libver);
      source = await openFileSource(path);
      file = await Hdf5File.open(source);
      oracle = new h5wasm.File(path, "r");
    });
    afterAll(async () => {
      oracle.close();
      await source.close();
    });

    it("finds every chunk and decodes every dataset exactly", async () => {
      expect(file.superblockVersion).toBe(3);
      const paths = await file.listDatasets();
      expect(paths).toEqual(Object.keys(CHUNK_COUNTS));
      for (const path of paths) {
        const refs = await file.chunkRefs(path);
        expect({ path, chunks: refs.length }).toEqual({ path, chunks: CHUNK_COUNTS[path] });
        const expected = (oracle.get(path) as InstanceType<typeof h5wasm.Dataset>).value;
        expect({ path, value: await file.read(path) }).toEqual({ path, value: expected });
      }
    });

    it("places extensible-array chunks with the unlimited dimension first", async () => {
      const refs = await file.chunkRefs("/ext_col");
      expect(refs.map((r) => r.coords)).toEqual([
        [0, 0],
        [0, 4],
        [8, 0],
        [8, 4],
        [16, 0],
        [16, 4],
        [24, 0],
        [24, 4],
      ]);
    });
  },
);
