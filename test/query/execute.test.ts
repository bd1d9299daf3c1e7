import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { booleanPointInPolygon } from "@turf/turf";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { findProfile } from "../../src/products/index.js";
import { parseAoi } from "../../src/query/aoi.js";
import {
  firstRoundReads,
  knownHit,
  prepareQuery,
  queryArrayPaths,
  selectionEngine,
} from "../../src/query/index.js";
import { type ChunkRead, coalesceRanges } from "../../src/query/plan.js";
import { type OpenedSource, openFileSource } from "../../src/source/index.js";
import { openLocalStoreReader } from "../../src/store/local-reader.js";
import { selectChunks } from "../../src/store/select.js";
import { selectChunksParquet } from "../../src/store/select-parquet.js";
import { aoiSelection } from "../../src/store/selection.js";
import { Store } from "../../src/store/store.js";
import { ROOT } from "../support/cli.js";

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const COORDINATES = ["latitude", "longitude", "delta_time"];

interface Recorder {
  open: (url: string) => Promise<OpenedSource>;
  /** Every read, with its dependent round: 1 + the latest round among the reads back before it was issued. */
  reads: { url: string; offset: number; length: number; round: number }[];
  opened: string[];
  closed: string[];
}

/** Opens granules as local files and records every read, open and close. */
function recorder(): Recorder {
  let lastRoundBack = 0;
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
        async read(offset, length, o) {
          const round = lastRoundBack + 1;
          rec.reads.push({ url, offset, length, round });
          const bytes = await file.read(offset, length, o);
          lastRoundBack = Math.max(lastRoundBack, round);
          return bytes;
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
    it(`two rounds: each candidate's coordinates, then the other variables of rows with hits${quality ? " (--quality)" : ""}`, async () => {
      const store = await Store.open(storeDir);
      const rec = recorder();
      const spec = { aoi: parseAoi(JSON.stringify(GREENLAND)), quality };
      // A link without latency: a second round costs nothing, so no byte is read before it is known needed.
      const link = { latencyMs: 0, bytesPerSecond: 100e6 };
      const prepared = await prepareQuery(store, spec, { open: rec.open, link });
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
      // Two dependent rounds: the coordinates, then the other variables once the coordinates are back.
      const roundOf = new Map(rec.reads.map((r) => [r.offset, r.round]));
      expect(round1.map((r) => roundOf.get(r.offset))).toEqual(round1.map(() => 1));
      expect(round2.map((r) => roundOf.get(r.offset))).toEqual(round2.map(() => 2));
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

  it("one round where a second costs more than its bytes: every chunk row known to hold an answer is read whole at once", async () => {
    const store = await Store.open(storeDir);
    const rec = recorder();
    const spec = { aoi: parseAoi(JSON.stringify(GREENLAND)) };
    const prepared = await prepareQuery(store, spec, { open: rec.open });
    let rows = 0;
    for await (const batch of prepared.run()) rows += batch.numRows;
    const { plan, stats } = prepared;
    const [g] = plan.granules;
    const { rows: inside } = await insideRows(file);
    const all = [...inside.values()].reduce((s, r) => s + r.length, 0);
    expect(rows).toBe(all);
    // Every candidate here has a footprint vertex inside the polygon, so one round reads everything.
    const known = g!.chunks.filter((c) => knownHit(c, spec));
    expect(known).toHaveLength(g!.chunks.length);
    // Each set coalesced as its own round would be, joined where ranges touch: the bytes of two rounds.
    const ranges = (keep: (v: string) => boolean) =>
      coalesceRanges(
        g!.chunks.flatMap((c) =>
          [...c.refs]
            .filter(([v]) => keep(v))
            .flatMap(([, refs]) => refs.map((r) => ({ offset: r.offset, length: r.size }))),
        ),
        g!.maxGap,
      );
    const expected = coalesceRanges(
      [...ranges((v) => COORDINATES.includes(v)), ...ranges((v) => !COORDINATES.includes(v))],
      0,
    );
    const seen = rec.reads
      .map(({ offset, length }) => ({ offset, length }))
      .sort((a, b) => a.offset - b.offset);
    expect(seen).toEqual(expected);
    // One dependent round: every read leaves before any comes back.
    expect(rec.reads.map((r) => r.round)).toEqual(rec.reads.map(() => 1));
    // Pinned for this fixture: 12 chunk rows in one round of 30 requests (two rounds: 12 + 18) and the
    // same bytes as two rounds (every chunk row has hits).
    expect([g!.chunks.length, expected.length]).toEqual([12, 30]);
    expect(stats.requests).toBe(30);
    expect(stats.bytes_read).toBe(expected.reduce((s, r) => s + r.length, 0));
  });

  it("works out each chunk row once its own ranges are in, while the round's other ranges are still in flight", async () => {
    const quality = findProfile("ATL06")!.filters.find((f) => f.name === "quality")!;
    const apply = vi.spyOn(quality, "apply");
    try {
      const store = await Store.open(storeDir);
      const rec = recorder();
      // One range of the round is held back until every other one is in and handled.
      let release: () => void = () => {};
      const released = new Promise<void>((done) => {
        release = done;
      });
      let held: { offset: number; length: number } | undefined;
      let back = 0;
      let allOthersBack: () => void = () => {};
      const othersBack = new Promise<void>((done) => {
        allOthersBack = done;
      });
      const open = async (url: string): Promise<OpenedSource> => {
        const source = await rec.open(url);
        return {
          ...source,
          async read(offset, length, o) {
            const first = held === undefined;
            if (first) held = { offset, length };
            const bytes = await source.read(offset, length, o);
            if (first) await released;
            else if (++back === 29) allOthersBack();
            return bytes;
          },
        };
      };
      const spec = { aoi: parseAoi(JSON.stringify(GREENLAND)), quality: true };
      const prepared = await prepareQuery(store, spec, { open });
      const rows = (async () => {
        let n = 0;
        for await (const batch of prepared.run()) n += batch.numRows;
        return n;
      })();
      await othersBack;
      // Every chunk row is a known hit read in one round of 30 requests (the test above): those with no
      // chunk in the held range have their points tested and their columns built (the quality filter
      // applied once each) once their chunks are inflated (off this thread), the others wait for it.
      const [g] = prepared.plan.granules;
      const inHeld = (r: { offset: number; size: number }) =>
        r.offset >= held!.offset && r.offset + r.size <= held!.offset + held!.length;
      const waiting = g!.chunks.filter((c) => [...c.refs.values()].flat().some(inHeld));
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting.length).toBeLessThan(g!.chunks.length);
      await vi.waitFor(() => expect(apply).toHaveBeenCalledTimes(g!.chunks.length - waiting.length), {
        timeout: 10_000,
      });
      // Still none of the waiting ones: the held range is not in.
      await new Promise((done) => setTimeout(done, 50));
      expect(apply).toHaveBeenCalledTimes(g!.chunks.length - waiting.length);
      release();
      // The rest once the held range is in; each chunk row filtered once; the rows of the query.
      const { good } = await insideRows(file);
      expect(await rows).toBe(good);
      expect(apply).toHaveBeenCalledTimes(g!.chunks.length);
    } finally {
      apply.mockRestore();
    }
  });

  it("selects the array rows of only the datasets the query reads (--quality, an extra variable): a row budget", async () => {
    const profile = findProfile("ATL06")!;
    const spec = {
      aoi: parseAoi(JSON.stringify(GREENLAND)),
      quality: true,
      vars: ["h_li_sigma", "dem/dem_h"],
    };
    const paths = queryArrayPaths(profile, spec);
    // Coordinates and time, the profile's columns (h_li, its sigma, the quality flag...), the extra
    // variables: a handful per beam, against 45 datasets per beam indexed.
    const perBeam = (beam: string) =>
      paths.filter((p) => p.startsWith(`/${beam}/`)).map((p) => p.split("/").pop());
    expect(perBeam("gt1l")).toEqual(expect.arrayContaining(["latitude", "longitude", "delta_time"]));
    expect(perBeam("gt1l")).toEqual(
      expect.arrayContaining(["h_li", "atl06_quality_summary", "h_li_sigma", "dem_h"]),
    );
    expect(paths).toHaveLength(6 * perBeam("gt1l").length);
    const reader = await openLocalStoreReader(storeDir);
    const sel = {
      ...aoiSelection(spec.aoi),
      product: "ATL06",
    };
    const all = await selectChunksParquet(reader, sel);
    const some = await selectChunksParquet(reader, { ...sel, arrayPaths: paths });
    const byPath = (rows: { path: string }[]) => [...rows].sort((a, b) => a.path.localeCompare(b.path));
    // Every dataset the query reads, no other: the rows of the full selection with those paths.
    expect(byPath(some.arrays)).toEqual(byPath(all.arrays.filter((a) => paths.includes(a.path))));
    expect(some.arrays).toHaveLength(paths.length);
    // Row budget: at most 12 datasets per beam, where the full selection holds every dataset.
    expect(some.arrays.length).toBeLessThanOrEqual(6 * 12);
    expect(all.arrays.length).toBeGreaterThan(200);
    expect(some.chunks).toEqual(all.chunks);
    // DuckDB selects the same rows.
    const duck = await selectChunks(await Store.open(storeDir), { ...sel, arrayPaths: paths });
    expect(byPath(duck.arrays)).toEqual(byPath(some.arrays));
    // The query over that selection reads the extra variables' values (none missing).
    const prepared = await prepareQuery(reader, spec, { selectWith: "typescript" });
    let rows = 0;
    let valid = 0;
    for await (const batch of prepared.run()) {
      rows += batch.numRows;
      const sigma = batch.getChild("h_li_sigma")!;
      const dem = batch.getChild("dem_h")!;
      valid += sigma.length - sigma.nullCount + dem.length - dem.nullCount;
    }
    expect(prepared.stats.warnings).toBeUndefined();
    expect(rows).toBe((await insideRows(file)).good);
    expect(valid).toBeGreaterThan(0);
  });

  it("a local folder opened as the command line opens it selects with DuckDB as with TypeScript, at the reader's snapshot", async () => {
    const reader = await openLocalStoreReader(storeDir);
    const spec = { aoi: parseAoi(JSON.stringify(GREENLAND)) };
    // A local reader may take DuckDB (chosen past TYPESCRIPT_SELECTION_MAX_BYTES); a remote one may not.
    expect(selectionEngine(reader, "duckdb")).toBe("duckdb");
    expect(selectionEngine({ ...reader, local: false }, undefined)).toBe("typescript");
    const plans = [];
    for (const selectWith of ["typescript", "duckdb"] as const) {
      const { plan } = await prepareQuery(reader, spec, { selectWith });
      plans.push(plan);
    }
    expect(plans[0]!.chunksCandidate).toBeGreaterThan(0);
    // DuckDB gives the chunk rows' times in microseconds: the same plans at that precision.
    const inMicroseconds = (plan: unknown) =>
      JSON.stringify(plan, (_, v) =>
        typeof v === "bigint" ? String(v / 1000n) : v instanceof Map ? [...v] : v,
      );
    expect(inMicroseconds(plans[1])).toEqual(inMicroseconds(plans[0]));
    await expect(prepareQuery({ ...reader, local: false }, spec, { selectWith: "duckdb" })).rejects.toThrow(
      /DuckDB selection reads local stores only/,
    );
  });

  it("chunk rows not known to hold an answer wait for their coordinates unless their bytes cost less than a round", () => {
    const aoi = parseAoi(JSON.stringify(GREENLAND));
    const ref = (offset: number, size: number) => ({ path: "x", offset, size, filter_mask: 0 });
    // A chunk row far from the polygon (its footprint has no vertex inside), 1 MB of other variables.
    const far = {
      chunk: {
        geometry: wkbLine([
          [10, 10],
          [10.1, 10.1],
        ]),
        time_start: 0n,
        time_end: 1n,
      },
      refs: new Map([
        ["latitude", [ref(0, 100_000)]],
        ["h_li", [ref(100_000, 1_000_000)]],
      ]),
    } as unknown as ChunkRead;
    const inside = {
      chunk: {
        geometry: wkbLine([
          [-45, 62.8],
          [-44.9, 62.85],
        ]),
        time_start: 0n,
        time_end: 1n,
      },
      refs: new Map([
        ["latitude", [ref(0, 30_000_000)]],
        ["h_li", [ref(30_000_000, 200_000)]],
      ]),
    } as unknown as ChunkRead;
    const opts = (latencyMs: number, bytesPerSecond: number) => ({
      coordinates: (r: ChunkRead) => r.refs.get("latitude")!,
      others: (r: ChunkRead) => r.refs.get("h_li")!,
      link: { latencyMs, bytesPerSecond },
    });
    expect(knownHit(inside, { aoi })).toBe(true);
    expect(knownHit(far, { aoi })).toBe(false);
    // 1 MB at 100 MB/s is 10 ms, under a 20 ms round, and under 5% of the first round's 30.2 MB.
    expect(firstRoundReads([inside, far], { aoi }, opts(20, 100e6))).toEqual(new Set([inside, far]));
    // At 25 MB/s the 1 MB costs 40 ms, more than the round it would save.
    expect(firstRoundReads([inside, far], { aoi }, opts(20, 25e6))).toEqual(new Set([inside]));
    // Alone it would be all of the first round's other bytes: past the speculative share.
    expect(firstRoundReads([far], { aoi }, opts(20, 100e6))).toEqual(new Set());
    // Outside the query's time range in part: not known.
    expect(knownHit(inside, { aoi, start: new Date(1) })).toBe(false);
    expect(firstRoundReads([inside, far], { aoi }, opts(0, 100e6))).toEqual(new Set());
  });
});

/** A little-endian WKB LineString of lon/lat pairs. */
function wkbLine(points: [number, number][]): Uint8Array {
  const out = new Uint8Array(9 + points.length * 16);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, 2, true);
  view.setUint32(5, points.length, true);
  points.forEach(([x, y], i) => {
    view.setFloat64(9 + i * 16, x, true);
    view.setFloat64(17 + i * 16, y, true);
  });
  return out;
}
