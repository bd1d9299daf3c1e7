import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  atl06FileName,
  buildAtl06Tree,
  demoGranuleSet,
  nominalStart,
  synthesizeAtl06,
  writeSyntheticAtl06,
} from "../../fixtures/atl06/generate.js";
import { type H5Dataset, type H5Group, writeHdf5File } from "../../fixtures/hdf5-writer/index.js";
import { index, openStore } from "../../src/index.js";
import { ATL06 } from "../../src/products/atl06.js";
import { Store } from "../../src/store/store.js";
import { bruteForceAtl06 } from "../support/oracle.js";

/*
 * ATL06's times are sorted along each beam (`timeSorted`): the index inflates only the start of each
 * delta_time chunk, and a chunk row's time range runs from its first row's time to the next chunk
 * row's first (the beam's last for the last row). Checked here row by row with the HDF5 library, with
 * the exact ranges kept where the times are out of order or a chunk row is cut at the antimeridian,
 * and time-filtered queries equal to the oracle.
 */

const SEGMENTS = 25_000; // two full chunks of 10 000 rows and a partial third

function times(file: InstanceType<typeof h5wasm.File>, path: string): Float64Array {
  const node = file.get(path);
  if (!(node instanceof h5wasm.Dataset)) throw new Error(`${path} is not a dataset`);
  return Float64Array.from(node.value as ArrayLike<number>);
}

function member(group: H5Group, path: string): H5Group | H5Dataset {
  let node: H5Group | H5Dataset = group;
  for (const name of path.split("/")) node = (node as H5Group).members.get(name) as H5Group | H5Dataset;
  return node;
}

describe("chunk rows' time ranges of a product with sorted times", () => {
  let dir: string;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-times-"));
    const [greenland, second] = demoGranuleSet();
    files = [
      await writeSyntheticAtl06(dir, { ...greenland!, segmentsPerBeam: SEGMENTS }),
      // Across the antimeridian: some chunk rows are cut in two there.
      await writeSyntheticAtl06(dir, {
        seed: 31,
        rgt: 300,
        cycle: 5,
        start: nominalStart(300, 5, 70, true, SEGMENTS),
        through: { lat: 70, lon: 179.97 },
        ascending: true,
        segmentsPerBeam: SEGMENTS,
      }),
    ];
    // A granule whose gt1l times run backwards: out of order, read whole.
    const opts = { ...second!, segmentsPerBeam: SEGMENTS };
    const tree = buildAtl06Tree(synthesizeAtl06(opts));
    const dt = member(tree, "gt1l/land_ice_segments/delta_time") as H5Dataset;
    const values = new Float64Array(dt.bytes.slice().buffer).reverse();
    dt.bytes.set(new Uint8Array(values.buffer));
    files.push(join(dir, atl06FileName(opts)));
    await writeHdf5File(files[2]!, tree);
    await index(files, { store: join(dir, "store") });
    await h5wasm.ready;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("hold every row's time, from the first row's exact time to the next chunk row's first", async () => {
    const store = await Store.open(join(dir, "store"));
    const chunks = await store.chunks();
    const granules = await store.granules();
    const ns = (t: number) => ATL06.time.toUnixNs(t);
    let bounded = 0;
    let exact = 0;
    for (const path of files) {
      const f = new h5wasm.File(path, "r");
      try {
        const granule = granules.find((g) => g.url.endsWith(path.split("/").pop()!))!;
        const mine = chunks.filter((c) => c.granule_id === granule.granule_id);
        let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
        for (const beam of new Set(mine.map((c) => c.beam))) {
          const t = times(f, `/${beam}/land_ice_segments/delta_time`);
          for (const v of t) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
          const rows = mine.filter((c) => c.beam === beam);
          // Cut chunk rows: a chunk row of the beam is in more than one piece.
          const cut = new Set(rows.map((c) => Math.floor(c.row_start / 10_000))).size < rows.length;
          const backwards = t[0]! > t[t.length - 1]!;
          for (const c of rows) {
            const end = c.row_start + c.row_count;
            let [min, max] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
            for (let i = c.row_start; i < end; i++) [min, max] = [Math.min(min, t[i]!), Math.max(max, t[i]!)];
            const where = `${c.chunk_id}`;
            if (cut || backwards) {
              expect([where, c.time_start, c.time_end]).toEqual([where, ns(min), ns(max)]);
              exact += 1;
            } else {
              const next = end < t.length ? t[end]! : t[t.length - 1]!;
              expect([where, c.time_start, c.time_end]).toEqual([where, ns(t[c.row_start]!), ns(next)]);
              expect(c.time_end >= ns(max)).toBe(true);
              bounded += 1;
            }
          }
        }
        // The granule's range is exact.
        expect([granule.time_start, granule.time_end]).toEqual([ns(lo), ns(hi)]);
      } finally {
        f.close();
      }
    }
    expect(bounded).toBeGreaterThan(20);
    // gt1l of the third granule (3 chunk rows) and the cut beams of the second.
    expect(exact).toBeGreaterThan(3);
  }, 120_000);

  it("gives time-filtered queries the oracle's rows, windows cutting through chunk rows", async () => {
    const store = await openStore(join(dir, "store"));
    const f = new h5wasm.File(files[0]!, "r");
    const t = times(f, "/gt2l/land_ice_segments/delta_time");
    f.close();
    const at = (row: number) => new Date(Number(ATL06.time.toUnixNs(t[row]!) / 1_000_000n));
    const aoi = {
      type: "Polygon",
      coordinates: [
        [
          [-180, -89],
          [180, -89],
          [180, 89],
          [-180, 89],
          [-180, -89],
        ],
      ],
    };
    for (const [from, to] of [
      [12_345, 23_456],
      [9_999, 10_001],
      [24_000, 24_999],
    ] as const) {
      const [start, end] = [at(from), at(to)];
      const rows = await store.query({ aoi, start: start.toISOString(), end: end.toISOString() }).toRows();
      const expected = await bruteForceAtl06(files, aoi, { start, end });
      expect(expected.length).toBeGreaterThan(0);
      const key = (r: Record<string, unknown>) => `${r.granule_id}/${r.beam}/${r.segment_id}`;
      expect(rows.map((r) => key(r as Record<string, unknown>)).sort()).toEqual(
        expected.map((r) => key(r as unknown as Record<string, unknown>)).sort(),
      );
    }
  }, 120_000);
});
