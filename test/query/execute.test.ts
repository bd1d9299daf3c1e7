import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { booleanPointInPolygon } from "@turf/turf";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { parseAoi } from "../../src/query/aoi.js";
import { prepareQuery } from "../../src/query/index.js";
import { coalesceRanges } from "../../src/query/plan.js";
import { type OpenedSource, openFileSource } from "../../src/source/index.js";
import { Store } from "../../src/store/store.js";
import { ROOT } from "../support/cli.js";

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const COORDINATES = ["latitude", "longitude", "delta_time"];

interface Recorder {
  open: (url: string) => Promise<OpenedSource>;
  reads: { url: string; offset: number; length: number }[];
  opened: string[];
  closed: string[];
}

/** Opens granules as local files and records every read, open and close. */
function recorder(): Recorder {
  const rec: Recorder = {
    reads: [],
    opened: [],
    closed: [],
    async open(url) {
      rec.opened.push(url);
      const file = await openFileSource(new URL(url).pathname);
      return {
        url: file.url,
        size: (o) => file.size(o),
        read(offset, length, o) {
          rec.reads.push({ url, offset, length });
          return file.read(offset, length, o);
        },
        async close() {
          rec.closed.push(url);
          await file.close();
        },
      };
    },
  };
  return rec;
}

/**
 * Per beam, the row indices whose point is inside the AOI, from the HDF5 C library and turf, and
 * how many of them have `atl06_quality_summary` 0.
 */
async function insideRows(file: string): Promise<{ rows: Map<string, number[]>; good: number }> {
  await h5wasm.ready;
  const h5 = new h5wasm.File(file, "r");
  try {
    const out = new Map<string, number[]>();
    let good = 0;
    for (const beam of ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]) {
      const lat = (h5.get(`${beam}/land_ice_segments/latitude`) as InstanceType<typeof h5wasm.Dataset>)
        .value as Float64Array;
      const lon = (h5.get(`${beam}/land_ice_segments/longitude`) as InstanceType<typeof h5wasm.Dataset>)
        .value as Float64Array;
      const q = (
        h5.get(`${beam}/land_ice_segments/atl06_quality_summary`) as InstanceType<typeof h5wasm.Dataset>
      ).value as Int8Array;
      const rows: number[] = [];
      for (let i = 0; i < lat.length; i++) {
        if (!booleanPointInPolygon([lon[i]!, lat[i]!], GREENLAND, { ignoreBoundary: false })) continue;
        rows.push(i);
        if (q[i] === 0) good++;
      }
      out.set(beam, rows);
    }
    return { rows: out, good };
  } finally {
    h5.close();
  }
}

describe("query executor: requests per chunk row", () => {
  let dir: string;
  let file: string;
  let storeDir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-execute-"));
    // The demo granule over the Greenland polygon: three chunk rows per beam, some crossing it.
    file = await writeSyntheticAtl06(dir, demoGranuleSet()[1]!);
    storeDir = join(dir, "store");
    await index([file], { store: storeDir, concurrency: 1 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const quality of [false, true]) {
    it(`reads each candidate's coordinates, then the other variables of rows with hits${quality ? " (--quality)" : ""}`, async () => {
      const store = await Store.open(storeDir);
      const rec = recorder();
      const spec = { aoi: parseAoi(JSON.stringify(GREENLAND)), quality };
      const prepared = await prepareQuery(store, spec, { open: rec.open });
      let rows = 0;
      for await (const batch of prepared.run()) rows += batch.numRows;
      const { plan, stats } = prepared;
      expect(plan.granules).toHaveLength(1);
      const [g] = plan.granules;
      const { rows: inside, good } = await insideRows(file);
      const hit = g!.chunks.filter((c) =>
        inside
          .get(c.chunk.beam)!
          .some((i) => i >= c.chunk.row_start && i < c.chunk.row_start + c.chunk.row_count),
      );
      const refsOf = (keep: (v: string) => boolean, reads: typeof g.chunks) =>
        reads.flatMap((c) => [...c.refs].filter(([v]) => keep(v)).flatMap(([, refs]) => refs));
      const ranges = (refs: { offset: number; size: number }[]) =>
        coalesceRanges(
          refs.map((r) => ({ offset: r.offset, length: r.size })),
          g!.maxGap,
        );
      const round1 = ranges(refsOf((v) => COORDINATES.includes(v), g!.chunks));
      const round2 = ranges(refsOf((v) => !COORDINATES.includes(v), hit));
      const expected = [...round1, ...round2].sort((a, b) => a.offset - b.offset);
      const seen = rec.reads
        .map(({ offset, length }) => ({ offset, length }))
        .sort((a, b) => a.offset - b.offset);
      expect(seen).toEqual(expected);
      // Pinned for this fixture: candidates, chunk rows with hits, requests of each round (the other
      // variables of a chunk row are not all adjacent, so round two makes more ranges).
      expect([g!.chunks.length, hit.length, round1.length, round2.length]).toEqual([12, 12, 12, 18]);
      expect(stats.requests).toBe(expected.length);
      expect(stats.bytes_read).toBe(expected.reduce((s, r) => s + r.length, 0));
      expect(stats.chunks_read).toBe(g!.chunks.length);
      // The quality filter needs no dataset besides the profile's columns: the same reads, fewer rows.
      const all = [...inside.values()].reduce((s, r) => s + r.length, 0);
      expect(good).toBeLessThan(all);
      expect(rows).toBe(quality ? good : all);
      expect(stats.rows).toBe(rows);
      // The granule is opened once and closed once, by the executor's injected `open`.
      expect(rec.opened).toEqual([g!.granule.url]);
      expect(rec.closed).toEqual([g!.granule.url]);
    });
  }
});
