import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latLngToCell } from "h3-js";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAtl03Set, startingThrough, writeSyntheticAtl03 } from "../../fixtures/atl03/generate.js";
import { index, openStore } from "../../src/index.js";
import { segmentDistance } from "../../src/index-builder/geometry.js";
import { footprintParts } from "../../src/query/footprint.js";
import { Store } from "../../src/store/store.js";
import { bruteForceAtl03 } from "../support/oracle-atl03.js";
import { boxPolygon } from "../support/results.js";

/*
 * ATL03 chunk rows are placed from the 20 m segments' reference photons, not from every photon. The
 * query may skip a chunk row by its bbox, time range, H3 cells or footprint distance, so each of these
 * must still hold every photon of the row: checked here photon by photon with the HDF5 library.
 */

const PHOTONS = 80_000;
const EPOCH_2018_S = Date.UTC(2018, 0, 1) / 1000;

function numbers(file: InstanceType<typeof h5wasm.File>, path: string): Float64Array {
  const node = file.get(path);
  if (!(node instanceof h5wasm.Dataset)) throw new Error(`${path} is not a dataset`);
  return Float64Array.from(node.value as ArrayLike<number>);
}

describe("ATL03 chunk rows placed from the segments' reference photons", () => {
  let dir: string;
  let files: string[];
  let report: Awaited<ReturnType<typeof index>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-located-"));
    mkdirSync(join(dir, "big"));
    files = [];
    for (const [i, opts] of demoAtl03Set().entries()) {
      files.push(
        await writeSyntheticAtl03(dir, { ...opts, photonsPerStrongBeam: i === 2 ? 20_000 : PHOTONS }),
      );
    }
    report = await index(files, { store: join(dir, "store") });
    await h5wasm.ready;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the segment rate, not the photon coordinates", async () => {
    expect(report.added).toHaveLength(3);
    // A granule large enough for its photon chunks to outweigh the metadata reads (~160 km of track).
    const big = await writeSyntheticAtl03(join(dir, "big"), {
      ...demoAtl03Set()[0]!,
      photonsPerStrongBeam: 800_000,
    });
    const run = await index([big], { store: join(dir, "big-store") });
    // bytesCoordinates: the photon lat/lon/time chunks alone; the index reads a small part of that.
    expect(run.bytesRead).toBeLessThan(0.25 * run.bytesCoordinates);
    expect(run.bytesRead).toBeLessThan(0.1 * run.bytesTotal);
  }, 120_000);

  it("every photon lies in its chunk row's bbox, time range, H3 cells and footprint tolerance", async () => {
    const store = await Store.open(join(dir, "store"));
    const resolution = store.manifest.h3_resolution;
    const chunks = await store.chunks();
    const granules = await store.granules();
    let photons = 0;
    for (const path of files) {
      const f = new h5wasm.File(path, "r");
      try {
        const granule = granules.find((g) => g.url.endsWith(path.split("/").pop()!))!;
        for (const chunk of chunks.filter((c) => c.granule_id === granule.granule_id)) {
          const lat = numbers(f, `/${chunk.beam}/heights/lat_ph`);
          const lon = numbers(f, `/${chunk.beam}/heights/lon_ph`);
          const time = numbers(f, `/${chunk.beam}/heights/delta_time`);
          const cells = new Set(chunk.h3_cells);
          const parts = footprintParts(chunk.geometry)!;
          const t0 = Number(chunk.time_start) / 1e9 - EPOCH_2018_S;
          const t1 = Number(chunk.time_end) / 1e9 - EPOCH_2018_S;
          for (let i = chunk.row_start; i < chunk.row_start + chunk.row_count; i++) {
            const [x, y] = [lon[i]!, lat[i]!];
            const where = `${chunk.chunk_id}: photon ${i} (${x}, ${y})`;
            const { xmin, ymin, xmax, ymax } = chunk.bbox;
            if (x < xmin || x > xmax || y < ymin || y > ymax) throw new Error(`${where} outside the bbox`);
            if (time[i]! < t0 - 1e-6 || time[i]! > t1 + 1e-6)
              throw new Error(`${where} outside the time range`);
            const cell = BigInt(`0x${latLngToCell(y, x, resolution)}`);
            if (!cells.has(cell)) throw new Error(`${where} in cell ${cell}, not listed`);
            let nearest = Number.POSITIVE_INFINITY;
            for (const xy of parts) {
              for (let k = 0; k + 3 < xy.length; k += 2) {
                nearest = Math.min(
                  nearest,
                  segmentDistance(x, y, xy[k]!, xy[k + 1]!, xy[k + 2]!, xy[k + 3]!),
                );
              }
            }
            if (nearest > chunk.footprint_error) {
              throw new Error(
                `${where} ${nearest} deg from the footprint, tolerance ${chunk.footprint_error}`,
              );
            }
            photons++;
          }
        }
      } finally {
        f.close();
      }
    }
    expect(photons).toBeGreaterThan(500_000);
  }, 120_000);

  it("a beam across the antimeridian is placed from its photons, and queries on both sides equal the oracle", async () => {
    const crossing = await writeSyntheticAtl03(
      join(dir, "big"),
      startingThrough({
        seed: 77,
        rgt: 500,
        cycle: 7,
        through: { lat: -70, lon: 179.91 },
        beams: ["gt1l", "gt1r"],
        photonsPerStrongBeam: 80_000,
      }),
    );
    const storeDir = join(dir, "antimeridian-store");
    await index([crossing], { store: storeDir });
    const store = await openStore(storeDir);
    for (const aoi of [boxPolygon(179.9, -71, 180, -69), boxPolygon(-180, -71, -179.9, -69)]) {
      const table = await store.query({ aoi }).toTable();
      const oracle = await bruteForceAtl03([crossing], aoi);
      expect(oracle.length).toBeGreaterThan(1000);
      expect(table.numRows).toBe(oracle.length);
      expect(Array.from(table.getChild("lon")!.toArray())).toEqual(oracle.map((r) => r.lon));
    }
  }, 120_000);
});
