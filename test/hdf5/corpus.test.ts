import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import type { Hdf5File as Hdf5FileType, NumericArray } from "../../src/hdf5/index.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource } from "../../src/source/index.js";
import type { CorpusDataset } from "./corpus.js";
import { asTruthValues, corpusFiles, sameDtype } from "./corpus.js";

/**
 * Every dataset of every corpus file (written by the HDF5 library through h5py) must give the chunk
 * refs H5Dget_chunk_info gives and the values h5py reads, or the typed error the truth names.
 */
describe.each(corpusFiles())("corpus file $truth.file", ({ path, truth }) => {
  let source: FileSource;
  let file: Hdf5FileType;
  beforeAll(async () => {
    source = await openFileSource(path);
    file = await Hdf5File.open(source);
  });
  afterAll(() => source.close());

  it("lists the groups and datasets h5py lists", async () => {
    const tree = await file.tree();
    expect(tree.groups).toEqual(truth.groups);
    expect([...tree.datasets].sort()).toEqual(Object.keys(truth.datasets).sort());
    const attrs = await file.groupAttrs("/");
    for (const [name, value] of Object.entries(truth.root_attrs)) expect(attrs?.[name]).toEqual(value);
  });

  it("decodes compact, dense and large attributes", async () => {
    for (const group of ["/attrs_compact", "/attrs_dense", "/ordered"]) {
      const attrs = await file.groupAttrs(group);
      if (!attrs) continue;
      expect(attrs).toMatchObject({
        units: "meters",
        fixed_str: "ATL06",
        scale: 0.5,
        valid_range: [-100, 100],
      });
      expect(attrs.big).toBe(2n ** 63n + 5n);
      const extras = Object.keys(attrs).filter((k) => k.startsWith("extra_"));
      for (const k of extras) expect(attrs[k]).toBe(Number(k.slice(6)));
    }
    const large = await file.groupAttrs("/attrs_large");
    if (large) expect(large.large).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  for (const [dsPath, t] of Object.entries(truth.datasets)) {
    it(`${dsPath}: metadata, chunk refs and values`, async () => {
      if (t.error?.startsWith("UnsupportedHdf5Error")) {
        const err = await file.dataset(dsPath).catch((e: unknown) => e);
        expect(isGeochunksError(err, "UnsupportedHdf5Error")).toBe(true);
        expect((err as Error).message).toContain(dsPath);
        return;
      }
      const info = (await file.dataset(dsPath))!;
      expect(info).toBeDefined();
      expect({ dsPath, dtype: info.dtype, same: sameDtype(info.dtype, t.dtype) }).toMatchObject({
        same: true,
      });
      expect(info.shape).toEqual(t.shape ?? []);
      expect(info.maxshape).toEqual(t.maxshape ?? []);
      expect(info.layout).toBe(t.layout);
      expect(info.chunkShape).toEqual(t.chunks);
      const filters = info.filters.map(({ id, flags, params }, i) => {
        // h5py gives only the first parameters of scale-offset (the rest is unset memory in HDF5 1.10)
        return { id, flags, params: id === 6 ? params.slice(0, t.filters[i]?.params.length) : params };
      });
      expect(filters).toEqual(t.filters);
      expect(Object.keys(info.attrs).sort()).toEqual([...t.attrs].sort());
      if (t.index) expect(await file.chunkIndex(dsPath)).toBe(t.index);
      await checkRefs(file, dsPath, t, truth.userblock);
      await checkValues(file, dsPath, t);
    });
  }
});

async function checkRefs(file: Hdf5FileType, path: string, t: CorpusDataset, base: number): Promise<void> {
  const refs = (await file.chunkRefs(path)).map((r) => [r.coords, r.offset - base, r.size, r.filterMask]);
  if (t.chunk_refs && t.chunk_coords_wrong) {
    // the HDF5 library misplaces these chunks; the values check proves our coordinates
    const located = (r: unknown[]) => JSON.stringify(r.slice(1));
    expect(refs.map(located).sort()).toEqual(t.chunk_refs.map(located).sort());
  } else if (t.chunk_refs) expect(refs).toEqual(t.chunk_refs);
  if (t.chunk_count !== undefined) {
    expect(refs.length).toBe(t.chunk_count);
    const byCoords = new Map(refs.map((r) => [JSON.stringify(r[0]), r]));
    for (const sample of t.chunk_refs_sample ?? [])
      expect(byCoords.get(JSON.stringify(sample[0]))).toEqual(sample);
  }
  if (t.contiguous && t.contiguous[0] !== null) {
    // H5Dget_offset, unlike H5Dget_chunk_info, counts from the start of the file
    expect(refs).toEqual([[t.shape!.map(() => 0), t.contiguous[0] - base, t.contiguous[1], 0]]);
  }
}

async function checkValues(file: Hdf5FileType, path: string, t: CorpusDataset): Promise<void> {
  if (t.error) {
    const err = await file.read(path).catch((e: unknown) => e);
    const [name, id] = t.error.split(":");
    expect(isGeochunksError(err, "UnsupportedFilterError")).toBe(name === "UnsupportedFilterError");
    expect((err as Error).message).toContain(`filter ${id}`);
    expect((err as Error).message).toContain(path);
    return;
  }
  const values = await file.read(path);
  if (t.values_sha256) {
    const typed = values as NumericArray;
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(t.values_sha256);
    expect(typed.length).toBe(t.count);
    return;
  }
  const dtype = (await file.dataset(path))!.dtype;
  expect(asTruthValues(values, dtype)).toEqual(t.values ?? []);
}
