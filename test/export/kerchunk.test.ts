import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ReferenceStore } from "@zarrita/storage";
import type { Dataset, Group } from "h5wasm/node";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zarr from "zarrita";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore } from "../../src/index.js";
import { Store } from "../../src/store/store.js";
import { MISSING_GRANULES, realGranules } from "../hdf5/granules.js";
import { ROOT, runCli } from "../support/cli.js";
import { dataset, withFile } from "../support/h5file.js";
import { pythonWith, runPythonJson } from "../support/python.js";
import { duckdb } from "../support/results.js";

const READER = fileURLToPath(new URL("./read_kerchunk.py", import.meta.url));
const GREENLAND = join(ROOT, "examples/greenland.geojson");

type Refs = Record<string, unknown> & {
  version: number;
  refs: Record<string, string | [string, number, number]>;
};

/** A fetch for zarrita's reference store that reads `file:` URLs' byte ranges from disk. */
async function fileFetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.protocol !== "file:") return fetch(request);
  const [, a, b] = /bytes=(\d+)-(\d+)/.exec(request.headers.get("Range") ?? "")!;
  const handle = await open(fileURLToPath(url));
  try {
    const length = Number(b) - Number(a) + 1;
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, Number(a));
    return new Response(buffer, { status: 206 });
  } finally {
    await handle.close();
  }
}

/** Every dataset of an HDF5 file read with h5wasm (the HDF5 C library), by path. */
function h5Datasets(file: string): Map<string, Dataset> {
  const f = new h5wasm.File(file, "r");
  const out = new Map<string, Dataset>();
  const walk = (g: Group, prefix: string) => {
    for (const name of g.keys()) {
      const child = g.get(name);
      const path = `${prefix}/${name}`;
      if (child instanceof h5wasm.Group) walk(child, path);
      else if (child instanceof h5wasm.Dataset) out.set(path, child);
    }
  };
  walk(f, "");
  return out;
}

/** Values of a zarrita chunk as plain numbers, bigints or strings. */
function plainValues(data: unknown): unknown[] {
  const d = data as { length: number; get?: (i: number) => unknown };
  if (typeof d.get === "function") return Array.from({ length: d.length }, (_, i) => d.get!(i));
  return Array.from(data as ArrayLike<unknown>);
}

const digest = (data: ArrayBufferView) =>
  createHash("sha256")
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest("hex");

/** The values of a dataset as h5wasm reads them, flattened. */
function h5Values(d: Dataset): unknown[] {
  const v = d.value as unknown;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>);
  return Array.isArray(v) ? v.flat(8) : [v];
}

/**
 * Every dataset of each file, read through the references with zarrita, equals h5wasm's values
 * (typed arrays byte for byte, strings and scalars by value).
 */
async function expectH5Values(refs: Refs, files: readonly string[]): Promise<void> {
  const store = zarr.root(ReferenceStore.fromSpec(refs, { fetch: fileFetch }));
  for (const file of files) {
    const id = file.split("/").pop()!.replace(/\.h5$/, "");
    const datasets = h5Datasets(file);
    expect(datasets.size).toBeGreaterThan(100);
    // Read concurrently: each array is a few small local reads.
    const read = await Promise.all(
      [...datasets.keys()].map(async (path) => {
        const arr = await zarr.open.v2(store.resolve(`${id}${path}`), { kind: "array" });
        return { path, shape: arr.shape, data: (await zarr.get(arr)).data as unknown };
      }),
    );
    for (const { path, shape, data } of read) {
      const d = datasets.get(path)!;
      expect(shape, path).toEqual(d.shape ?? []);
      const want = d.value as unknown;
      if (ArrayBuffer.isView(want) && ArrayBuffer.isView(data)) {
        expect(digest(data), path).toBe(digest(want));
        expect(data.constructor.name, path).toBe(want.constructor.name);
      } else expect(plainValues(data), path).toEqual(h5Values(d));
    }
  }
}

describe("geochunks export kerchunk", () => {
  let dir: string;
  let files: string[];
  let storeDir: string;
  let refs: Refs;
  let python: string;

  beforeAll(async () => {
    python = pythonWith(["fsspec", "zarr", "xarray"]);
    dir = mkdtempSync(join(tmpdir(), "geochunks-kerchunk-"));
    const set = demoGranuleSet();
    files = [await writeSyntheticAtl06(dir, set[0]!), await writeSyntheticAtl06(dir, set[3]!)];
    storeDir = join(dir, "store");
    await index(files, { store: storeDir, concurrency: 2 });
    const run = await runCli(["export", "kerchunk", "--store", storeDir, "--out", join(dir, "refs.json")]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^wrote 2 granules, \d+ arrays, \d+ chunks \(\d+ inline\) to /);
    refs = JSON.parse(readFileSync(join(dir, "refs.json"), "utf8"));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("holds every dataset of each granule under its granule id, values equal to h5wasm's (zarrita)", async () => {
    expect(refs.version).toBe(1);
    await expectH5Values(refs, files);
  });

  it("writes zarr v2 metadata: groups, HDF5 filters as numcodecs, dimensions for xarray", () => {
    const id = files[0]!.split("/").pop()!.replace(/\.h5$/, "");
    const zarray = JSON.parse(refs.refs[`${id}/gt1l/land_ice_segments/h_li/.zarray`] as string);
    expect(zarray).toMatchObject({
      zarr_format: 2,
      dtype: "<f4",
      order: "C",
      fill_value: 3.4028234663852886e38,
    });
    // The HDF5 pipeline as h5wasm reports it: deflate (id 1) with its level, shuffle (id 2) before it.
    const filters = withFile(files[0]!, (f) => dataset(f, "/gt1l/land_ice_segments/h_li").filters);
    const deflate = filters.find((f) => f.id === 1)!;
    expect(zarray.compressor).toEqual({ id: "zlib", level: deflate.cd_values[0] });
    expect(zarray.filters).toEqual(
      filters.some((f) => f.id === 2) ? [{ id: "shuffle", elementsize: 4 }] : null,
    );
    const zattrs = JSON.parse(refs.refs[`${id}/gt1l/land_ice_segments/h_li/.zattrs`] as string);
    expect(zattrs._ARRAY_DIMENSIONS).toEqual(["delta_time"]);
    expect(zattrs.units).toBe("meters");
    expect(zattrs).not.toHaveProperty("_FillValue");
    expect(JSON.parse(refs.refs[".zgroup"] as string)).toEqual({ zarr_format: 2 });
    expect(JSON.parse(refs.refs[`${id}/.zgroup`] as string)).toEqual({ zarr_format: 2 });
    expect(JSON.parse(refs.refs[`${id}/.zattrs`] as string)).toHaveProperty("short_name");
    expect(JSON.parse(refs.refs[`${id}/ancillary_data/.zgroup`] as string)).toEqual({ zarr_format: 2 });
  });

  it("reads back in Python with fsspec's reference file system, zarr 2 and xarray", async () => {
    const id = files[0]!.split("/").pop()!.replace(/\.h5$/, "");
    const out = runPythonJson(python, READER, [join(dir, "refs.json"), `${id}/gt1l/land_ice_segments`]) as {
      arrays: Record<string, { dtype: string; shape: number[]; sha256?: string; strings?: string[] }>;
      xarray: { variables: string[]; dims: Record<string, string[]>; h_li_sum: number };
    };
    const store = zarr.root(ReferenceStore.fromSpec(refs, { fetch: fileFetch }));
    const paths = Object.keys(refs.refs)
      .filter((k) => k.endsWith("/.zarray"))
      .map((k) => `/${k.slice(0, -"/.zarray".length)}`);
    expect(Object.keys(out.arrays).sort()).toEqual(paths.sort());
    for (const path of paths) {
      const chunk = await zarr.get(await zarr.open.v2(store.resolve(path.slice(1)), { kind: "array" }));
      const py = out.arrays[path]!;
      if (py.strings) expect(py.strings, path).toEqual(plainValues(chunk.data));
      else expect(py.sha256, path).toBe(digest(chunk.data as ArrayBufferView));
    }
    expect(out.xarray.dims.h_li).toEqual(["delta_time"]);
    expect(out.xarray.dims.latitude).toEqual(["delta_time"]);
    const hli = h5Datasets(files[0]!).get("/gt1l/land_ice_segments/h_li")!.value as Float32Array;
    expect(out.xarray.h_li_sum).toBeCloseTo(
      hli.reduce((s, v) => s + v, 0),
      0,
    );
  });

  it("with --polygon lists exactly the chunks of the query's candidate chunk rows", async () => {
    const out = join(dir, "greenland.json");
    const run = await runCli([
      "export",
      "kerchunk",
      "--store",
      storeDir,
      "--polygon",
      GREENLAND,
      "--out",
      out,
      "--inline-threshold",
      "0",
    ]);
    expect(run.code).toBe(0);
    const limited: Refs = JSON.parse(readFileSync(out, "utf8"));
    const aoi = JSON.parse(readFileSync(GREENLAND, "utf8"));
    const plan = await (await openStore(storeDir)).query({ aoi }).plan();
    const candidates = new Set(plan.granules.flatMap((g) => g.chunks.map((c) => c.chunk_id)));
    expect(candidates.size).toBeGreaterThan(0);
    const rows = (await (await Store.open(storeDir)).chunks()).filter((c) => candidates.has(c.chunk_id));
    const expected = new Set<string>();
    for (const row of rows) {
      for (const ref of row.refs) {
        const zarray = JSON.parse(limited.refs[`${row.granule_id}${ref.path}/.zarray`] as string);
        const key =
          zarray.shape.length > 1
            ? `${ref.chunk_start / zarray.chunks[0]}.${ref.col_start / zarray.chunks[1]}`
            : `${ref.chunk_start / zarray.chunks[0]}`;
        expected.add(`${row.granule_id}${ref.path}/${key}`);
      }
    }
    const rowRate = new Set(rows.flatMap((r) => r.refs.map((ref) => `${r.granule_id}${ref.path}`)));
    const got = Object.keys(limited.refs).filter(
      (k) => !k.split("/").pop()!.startsWith(".") && rowRate.has(k.slice(0, k.lastIndexOf("/"))),
    );
    expect(new Set(got)).toEqual(expected);
    // Granules and beams without a candidate chunk row are left out.
    const granules = new Set(
      Object.keys(limited.refs)
        .filter((k) => k.endsWith("/.zgroup") && k.split("/").length === 2)
        .map((k) => k.split("/")[0]),
    );
    expect(granules).toEqual(new Set(rows.map((r) => r.granule_id)));
  });

  it("writes kerchunk's Parquet layout: .zmetadata and refs.<k>.parq files DuckDB reads as the JSON's references", async () => {
    const out = join(dir, "refs.parq");
    const run = await runCli(["export", "kerchunk", "--store", storeDir, "--out", out, "--record-size", "2"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const zmeta = JSON.parse(readFileSync(join(out, ".zmetadata"), "utf8"));
    expect(zmeta.record_size).toBe(2);
    const metaKeys = Object.keys(refs.refs).filter((k) => k.split("/").pop()!.startsWith("."));
    expect(Object.keys(zmeta.metadata).sort()).toEqual(metaKeys.sort());
    for (const k of metaKeys) expect(zmeta.metadata[k], k).toEqual(JSON.parse(refs.refs[k] as string));
    const rows = await duckdb(
      `SELECT filename, file_row_number AS i, path, "offset", "size", raw
         FROM read_parquet('${out}/**/refs.*.parq', filename = true, file_row_number = true)`,
    );
    const fromParquet = new Map<string, unknown>();
    for (const r of rows) {
      const file = String(r.filename).slice(out.length + 1);
      const [, array, record] = /^(.*)\/refs\.(\d+)\.parq$/.exec(file)!;
      const { shape, chunks } = zmeta.metadata[`${array}/.zarray`];
      const grid: number[] =
        shape.length > 0 ? shape.map((n: number, d: number) => Math.ceil(n / chunks[d])) : [1];
      let n = Number(record) * 2 + Number(r.i);
      const idx = grid.map(() => 0);
      for (let d = grid.length - 1; d >= 0; d--) {
        idx[d] = n % grid[d]!;
        n = Math.floor(n / grid[d]!);
      }
      const key = `${array}/${idx.join(".")}`;
      const raw = r.raw as { bytes: Uint8Array } | null;
      if (raw !== null) fromParquet.set(key, `base64:${Buffer.from(raw.bytes).toString("base64")}`);
      else if (r.path !== null) fromParquet.set(key, [r.path, Number(r.offset), Number(r.size)]);
    }
    const chunkRefs = Object.entries(refs.refs).filter(([k]) => !k.split("/").pop()!.startsWith("."));
    expect(fromParquet.size).toBe(chunkRefs.length);
    for (const [k, v] of chunkRefs) expect(fromParquet.get(k), k).toEqual(v);
  });

  it("refuses an output that is neither .json nor .parq with exit code 2", async () => {
    const run = await runCli(["export", "kerchunk", "--store", storeDir, "--out", join(dir, "refs.txt")]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("refs.txt");
  });
});

if (realGranules().length === 0) console.warn(MISSING_GRANULES);

describe.skipIf(realGranules().length === 0)("geochunks export kerchunk of the real ATL06 granules", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-kerchunk-real-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads every dataset back equal to h5wasm's with zarrita (Python reads the same references in the synthetic test)", async () => {
    const files = realGranules();
    const storeDir = join(dir, "store");
    await index(files, { store: storeDir, concurrency: 2 });
    const out = join(dir, "refs.json");
    const run = await runCli(["export", "kerchunk", "--store", storeDir, "--out", out]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const refs: Refs = JSON.parse(readFileSync(out, "utf8"));
    await expectH5Values(refs, files);
  }, 120_000);
});
