import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { latLngToCell } from "h3-js";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { Store } from "../../src/store/store.js";
import { realGranules } from "../hdf5/granules.js";

let dir: string;

function values(node: unknown): Float64Array {
  if (!(node instanceof h5wasm.Dataset)) throw new Error("not a dataset");
  return node.value as Float64Array;
}
let files: string[];

describe("H3 cells of every chunk hold every point of the chunk (real and synthetic granules)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-h3-"));
    files = [...realGranules()];
    for (const opts of demoGranuleSet().slice(0, 2)) files.push(await writeSyntheticAtl06(dir, opts));
    await index(files, { store: join(dir, "store") });
    await h5wasm.ready;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("at the store's resolution, checked with h3-js on the HDF5 library's coordinates", async () => {
    const store = await Store.open(join(dir, "store"));
    const resolution = store.manifest.h3_resolution;
    const chunks = await store.chunks();
    const cells = store.files("chunk_cells");
    expect(cells.length).toBeGreaterThan(0);
    let points = 0;
    for (const file of files) {
      const id = basename(file).replace(/\.h5$/, "");
      const f = new h5wasm.File(file, "r");
      try {
        for (const chunk of chunks.filter((c) => c.granule_id === id)) {
          const group = `/${chunk.beam}/land_ice_segments`;
          const lat = values(f.get(`${group}/latitude`));
          const lon = values(f.get(`${group}/longitude`));
          const own = new Set(chunk.h3_cells);
          for (let i = chunk.row_start; i < chunk.row_start + chunk.row_count; i++) {
            const cell = BigInt(`0x${latLngToCell(lat[i]!, lon[i]!, resolution)}`);
            if (!own.has(cell))
              throw new Error(`${chunk.chunk_id}: point ${i} in cell ${cell} is not listed`);
            points++;
          }
        }
      } finally {
        f.close();
      }
    }
    expect(points).toBeGreaterThan(100_000);
  });
});
