import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource } from "../../src/source/index.js";
import { asTruthValues, CORPUS_DIR, corpusFiles, sameDtype } from "./corpus.js";

function hasH5repack(): boolean {
  try {
    execFileSync("h5repack", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Held-out files: corpus files rewritten by h5repack (the HDF5 tools, not h5py) with settings the corpus
 * generator never used, so storage, filters and chunk indexes change while values must not. Each dataset
 * must read the values h5py read from the original, and the HDF5 2.0 library in h5wasm must agree.
 */
const VARIANTS: [string, string[]][] = [
  ["latest format", ["-L"]],
  ["paged 4 KiB", ["-S", "PAGE", "-G", "4096"]],
  ["shuffle + gzip 1 everywhere", ["-f", "SHUF", "-f", "GZIP=1"]],
  ["fletcher32 everywhere", ["-f", "FLET"]],
  ["contiguous", ["-l", "CONTI"]],
  ["latest format, chunked 5x...", ["-L", "-l", "/layouts/chunked_3d,/layouts/many_chunks:CHUNK=5"]],
];

const original = corpusFiles().find((f) => f.truth.file === "sb0_earliest.h5")!;
const dir = mkdtempSync(join(tmpdir(), "geochunks-held-out-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasH5repack()).each(VARIANTS)("sb0_earliest.h5 repacked by h5repack: %s", (name, args) => {
  const path = join(dir, `${name.replace(/\W+/g, "_")}.h5`);
  let source: FileSource;
  let file: Hdf5File;
  let oracle: InstanceType<typeof h5wasm.File>;
  beforeAll(async () => {
    execFileSync("h5repack", [...args, `${CORPUS_DIR}sb0_earliest.h5`, path], { stdio: "ignore" });
    source = await openFileSource(path);
    file = await Hdf5File.open(source);
    await h5wasm.ready;
    oracle = new h5wasm.File(path, "r");
  });
  afterAll(async () => {
    oracle.close();
    await source.close();
  });

  it("reads every dataset as h5py read the original", async () => {
    // h5repack drops datasets whose filter it cannot undo (lzf has no plugin here) when it rewrites them
    const listed = new Set(await file.listDatasets());
    const expected = Object.keys(original.truth.datasets).filter(
      (p) => listed.has(p) || p !== "/filters/lzf",
    );
    expect([...listed].sort()).toEqual(expected.sort());
    for (const [p, t] of Object.entries(original.truth.datasets)) {
      // h5repack -l CONTI rewrites the null dataspace of /types/null_f4 as scalar (h5dump agrees)
      if (!listed.has(p) || (p === "/types/null_f4" && name === "contiguous")) continue;
      const info = (await file.dataset(p))!;
      expect({ p, same: sameDtype(info.dtype, t.dtype), shape: info.shape }).toEqual({
        p,
        same: true,
        shape: t.shape ?? [],
      });
      const values = await file.read(p).catch((err: unknown) => err);
      if (t.error || t.values === undefined) {
        if (values instanceof Error) expect(isGeochunksError(values)).toBe(true);
        continue;
      }
      expect({ p, values: asTruthValues(values as never, info.dtype) }).toEqual({
        p,
        values: t.values ?? [],
      });
    }
  });

  it("agrees with the HDF5 2.0 library (h5wasm) on numeric datasets", async () => {
    for (const p of [
      "/layouts/chunked_2d_edges",
      "/layouts/many_chunks",
      "/layouts/chunked_fill",
      "/types/num_be_i8",
    ]) {
      const expected = (oracle.get(p) as InstanceType<typeof h5wasm.Dataset>).value;
      expect({ p, v: await file.read(p) }).toEqual({ p, v: expected });
    }
  });
});
