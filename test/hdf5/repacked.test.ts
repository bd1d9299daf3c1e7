import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hdf5File } from "../../src/hdf5/index.js";
import type { FileSource } from "../../src/source/index.js";
import { openFileSource, withReadStats } from "../../src/source/index.js";
import { realGranules } from "./granules.js";

/** True when the HDF5 command-line tools are installed (Debian: hdf5-tools). */
function hasH5repack(): boolean {
  try {
    execFileSync("h5repack", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const granule = realGranules().at(-1);
const canRun = granule !== undefined && hasH5repack();
const dir = mkdtempSync(join(tmpdir(), "geochunks-repacked-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The real granule rewritten by h5repack the way cloud-optimized releases are: paged aggregation with
 * 8 MiB pages (superblock v2), and the latest format (superblock v3, v2 object headers, layout v4
 * chunk indexes). Values must still equal the HDF5 library's.
 */
const VARIANTS: [string, string[]][] = [
  ["paged 8 MiB", ["-S", "PAGE", "-G", "8388608"]],
  ["latest format", ["-L"]],
];

describe.skipIf(!canRun).each(VARIANTS)("granule repacked by h5repack: %s", (name, args) => {
  const path = join(dir, `${name.replace(/\W+/g, "_")}.h5`);
  let source: FileSource;
  let oracle: InstanceType<typeof h5wasm.File>;
  beforeAll(async () => {
    execFileSync("h5repack", [...args, granule!, path]);
    await h5wasm.ready;
    source = await openFileSource(path);
    oracle = new h5wasm.File(path, "r");
  });
  afterAll(async () => {
    oracle.close();
    await source.close();
  });

  it("lists every dataset and decodes each exactly", async () => {
    const { source: counted, stats } = withReadStats(source);
    const file = await Hdf5File.open(counted);
    const paths = await file.listDatasets();
    expect(paths.length).toBe(238);
    const refs = await Promise.all(paths.map((p) => file.chunkRefs(p)));
    expect(refs.flat().length).toBeGreaterThan(150);
    expect(stats.requests).toBeLessThan(600);
    for (const p of paths) {
      const expected = (oracle.get(p) as InstanceType<typeof h5wasm.Dataset>).value;
      expect({ p, value: await file.read(p) }).toEqual({ p, value: expected });
    }
  });
});
