/**
 * The engine runs any profile the interface can express: a made-up product with photon-like rows,
 * a coarser parent rate broadcast through a 1-based first-row index (ATL03's shape), a column of a
 * 2-D dataset and the whole dataset as a list column, a sum of a parent-rate and a row-rate dataset
 * (ATL03's x_atc), a contiguous dataset, float32 coordinates (ATL08's), and a filter with a value.
 * The file is written here with the fixtures' HDF5 writer; the expected rows come from the arrays
 * written, not from the engine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDataset, attr, createGroup, writeHdf5File } from "../../fixtures/hdf5-writer/index.js";
import { index, openStore } from "../../src/index.js";
import { attrText, type ProductProfile, registerProfile } from "../../src/products/index.js";
import { GPS_SINCE_2018 } from "../../src/products/time.js";
import { describeStore } from "../../src/store/describe.js";
import { Store } from "../../src/store/store.js";

const BEAMS = ["b1", "b2"] as const;
const ROWS = 23_456;
const SEGMENTS = 400;
const T0 = 150_000_000;

const PROFILE: ProductProfile = {
  name: "TEST03",
  title: "a photon-rate test product",
  shortNames: ["TEST03"],
  rowNoun: ["photon", "photons"],
  beams: BEAMS,
  beamKinds: ["strong", "weak"],
  rows: "photons",
  coordinates: { lat: "lat", lon: "lon", time: "t" },
  time: GPS_SINCE_2018,
  parent: { first: "../segments/first", count: "../segments/count", base: 1 },
  columns: [
    { name: "h", type: "float32", source: { kind: "dataset", path: "h" } },
    "granule_id",
    "product",
    "beam",
    { name: "conf", type: "int8", source: { kind: "dataset", path: "conf", column: 2 } },
    { name: "weight", type: "uint8", source: { kind: "dataset", path: "weight" } },
    { name: "segment_id", type: "int32", source: { kind: "parent", path: "../segments/id" } },
    { name: "segment_h", type: "float64", source: { kind: "parent", path: "../segments/h" } },
    { name: "track_id", type: "utf8", source: { kind: "beam", value: (g, beam) => `${g.track}_${beam}` } },
    {
      name: "h_total",
      type: "float64",
      source: {
        kind: "sum",
        of: [
          { kind: "parent", path: "../segments/h" },
          { kind: "dataset", path: "h" },
        ],
      },
    },
    { name: "conf_all", type: "int8", list: true, source: { kind: "dataset", path: "conf" } },
  ],
  filters: [
    {
      name: "min-conf",
      description: "keep photons whose confidence (column 2) is at least N",
      placeholder: "<n>",
      parse: Number,
      sources: () => [{ kind: "dataset", path: "conf", column: 2 }],
      apply(values, [conf], keep) {
        for (let i = 0; i < keep.length; i++) if (Number(conf![i]) < Number(values["min-conf"])) keep[i] = 0;
      },
    },
  ],
  findBeams: async (file, opts) => {
    const found: string[] = [];
    for (const beam of BEAMS) if ((await file.kindOf(`/${beam}/photons`, opts)) === "group") found.push(beam);
    return found;
  },
  readGranule: async (_file, ctx) => ({
    granule_id: attrText(ctx.root.granule) ?? "",
    product: "TEST03",
    release: "001",
    orbit: 12,
    track: 34,
    cycle: null,
    region: null,
    attrs: {},
  }),
  beamLayout: (beam) => ({ kind: beam === "b1" ? "strong" : "weak", spot: null }),
  trackId: (g, beam) => `${g.track}_${beam}`,
};
registerProfile(PROFILE);

interface Beam {
  lat: Float32Array;
  lon: Float32Array;
  t: Float64Array;
  h: Float32Array;
  conf: Int8Array;
  weight: Uint8Array;
  /** Per row: its segment, or -1. */
  segment: Int32Array;
  segId: Int32Array;
  segH: Float64Array;
}

/** A beam's arrays: rows along a line, segments of 0..120 rows (some empty), a gap with no segment. */
function beamData(b: number): Beam {
  const lat = new Float32Array(ROWS);
  const lon = new Float32Array(ROWS);
  const t = new Float64Array(ROWS);
  const h = new Float32Array(ROWS);
  const conf = new Int8Array(ROWS * 5);
  const weight = new Uint8Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    lat[i] = 60 + i * 1e-4;
    lon[i] = -45 + b * 0.01 + i * 1e-5;
    t[i] = T0 + i * 1e-3;
    h[i] = 1000 + (i % 97);
    for (let c = 0; c < 5; c++) conf[i * 5 + c] = (i * (c + 1)) % 5;
    weight[i] = i % 251;
  }
  const segment = new Int32Array(ROWS).fill(-1);
  const segId = new Int32Array(SEGMENTS);
  const segH = new Float64Array(SEGMENTS);
  let row = 0;
  for (let k = 0; k < SEGMENTS; k++) {
    segId[k] = 1000 + k;
    segH[k] = 2000 + k / 4;
    const n = k % 7 === 3 ? 0 : 30 + ((k * 13) % 90);
    // Rows [4000, 4100) belong to no segment.
    if (row >= 4000 && row < 4100) row = 4100;
    for (let i = row; i < Math.min(ROWS, row + n); i++) segment[i] = k;
    row += n;
  }
  return { lat, lon, t, h, conf, weight, segment, segId, segH };
}

async function writeGranule(path: string, beams: Beam[]): Promise<void> {
  const root = createGroup([attr("short_name", "TEST03"), attr("granule", "TEST03_GRANULE_A")]);
  const chunked = (rows: number, width?: number) => ({
    kind: "chunked" as const,
    chunks: width ? [rows, width] : [rows],
    deflate: 6,
  });
  beams.forEach((d, b) => {
    const g = `/${BEAMS[b]}`;
    addDataset(root, `${g}/photons/lat`, { dtype: "f4", data: d.lat, storage: chunked(10_000) });
    addDataset(root, `${g}/photons/lon`, { dtype: "f4", data: d.lon, storage: chunked(10_000) });
    addDataset(root, `${g}/photons/t`, { dtype: "f8", data: d.t, storage: chunked(10_000) });
    addDataset(root, `${g}/photons/h`, { dtype: "f4", data: d.h, storage: chunked(10_000) });
    addDataset(root, `${g}/photons/conf`, {
      dtype: "i1",
      data: d.conf,
      shape: [ROWS, 5],
      storage: { ...chunked(10_000, 5), shuffle: true },
    });
    addDataset(root, `${g}/photons/weight`, { dtype: "u1", data: d.weight });
    const first = new BigInt64Array(SEGMENTS);
    const count = new Int32Array(SEGMENTS);
    for (let k = 0; k < SEGMENTS; k++) {
      const rows = d.segment.reduce((n, s) => n + (s === k ? 1 : 0), 0);
      count[k] = rows;
      first[k] = rows > 0 ? BigInt(d.segment.indexOf(k) + 1) : 0n;
    }
    addDataset(root, `${g}/segments/first`, { dtype: "i8", data: first, storage: chunked(64) });
    addDataset(root, `${g}/segments/count`, { dtype: "i4", data: count, storage: chunked(64) });
    addDataset(root, `${g}/segments/id`, { dtype: "i4", data: d.segId, storage: chunked(64) });
    addDataset(root, `${g}/segments/h`, { dtype: "f8", data: d.segH, storage: chunked(64) });
  });
  await writeHdf5File(path, root);
}

describe("a profile with a parent rate, 2-D and contiguous datasets", () => {
  let dir: string;
  let beams: Beam[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-engine-"));
    beams = BEAMS.map((_, b) => beamData(b));
    await writeGranule(join(dir, "granule.h5"), beams);
    const report = await index([join(dir, "granule.h5")], { store: join(dir, "store") });
    expect(report.added).toEqual(["TEST03_GRANULE_A"]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Rows inside the box [lon0, lat0, lon1, lat1], boundary inclusive, as the query should give them. */
  function expected(box: number[], minConf?: number) {
    const rows: Record<string, unknown>[] = [];
    beams.forEach((d, b) => {
      for (let i = 0; i < ROWS; i++) {
        const lat = d.lat[i]!;
        const lon = d.lon[i]!;
        if (lon < box[0]! || lon > box[2]! || lat < box[1]! || lat > box[3]!) continue;
        if (minConf !== undefined && d.conf[i * 5 + 2]! < minConf) continue;
        const k = d.segment[i]!;
        rows.push({
          lat,
          lon,
          h: d.h[i],
          beam: BEAMS[b],
          conf: d.conf[i * 5 + 2],
          weight: d.weight[i],
          segment_id: k < 0 ? null : d.segId[k],
          segment_h: k < 0 ? null : d.segH[k],
          track_id: `34_${BEAMS[b]}`,
          h_total: k < 0 ? null : d.segH[k]! + d.h[i]!,
          conf_all: Array.from(d.conf.subarray(i * 5, i * 5 + 5)),
        });
      }
    });
    return rows;
  }

  const BOX = [-45.2, 60.3, -44.7, 61.5];

  it("reads rows, 2-D columns, contiguous datasets and broadcast parent values as the file holds them", async () => {
    const store = await openStore(join(dir, "store"));
    const rows = await store.query({ aoi: BOX.join(",") }).toRows();
    const want = expected(BOX);
    expect(want.length).toBeGreaterThan(20_000);
    expect(want.some((r) => r.segment_id === null)).toBe(true);
    expect(
      rows.map(({ lat, lon, h, beam, conf, weight, segment_id, segment_h, track_id, h_total, conf_all }) => ({
        lat,
        lon,
        h,
        beam,
        conf,
        weight,
        segment_id,
        segment_h,
        track_id,
        h_total,
        conf_all,
      })),
    ).toEqual(want);
    expect(Object.keys(rows[0]!)).toEqual([
      "lat",
      "lon",
      "time",
      "h",
      "granule_id",
      "product",
      "beam",
      "conf",
      "weight",
      "segment_id",
      "segment_h",
      "track_id",
      "h_total",
      "conf_all",
    ]);
    expect(rows[0]!.product).toBe("TEST03");
    const first = beams[0]!.lat.findIndex((lat, i) => lat >= BOX[1]! && beams[0]!.lon[i]! >= BOX[0]!);
    expect(Date.parse(String(rows[0]!.time))).toBe(Math.floor((T0 + 1_514_764_800 + first * 1e-3) * 1000));
  });

  it("applies the product's filter with its value, and selects beams by kind", async () => {
    const store = await openStore(join(dir, "store"));
    const rows = await store.query({ aoi: BOX.join(","), filters: { "min-conf": 3 } }).toRows();
    expect(rows.map((r) => [r.lat, r.conf, r.segment_id])).toEqual(
      expected(BOX, 3).map((r) => [r.lat, r.conf, r.segment_id]),
    );
    const strong = await store.query({ aoi: BOX.join(","), beams: ["strong"] }).toRows();
    expect(new Set(strong.map((r) => r.beam))).toEqual(new Set(["b1"]));
  });

  it("reads only the candidate chunk rows' refs, parent refs included", async () => {
    const store = await openStore(join(dir, "store"));
    const small = [-44.998, 60.05, -44.99, 60.07];
    const result = store.query({ aoi: small.join(",") });
    const rows = await result.toRows();
    expect(rows.length).toBe(expected(small).length);
    const plan = await result.plan();
    const chunk = plan.granules[0]!.chunks[0]!;
    expect(chunk.refs["../segments/id"]!.length).toBeGreaterThan(0);
    // Small chunks sit close together here: the 4 KiB coalescing gap reads a little between them.
    expect(result.stats.bytes_read).toBeLessThanOrEqual(Math.ceil(result.stats.bytes_minimal * 1.25));
  });

  it("describes row-rate and parent-rate variables by the names --vars takes", async () => {
    const summary = await describeStore(await Store.open(join(dir, "store")));
    const names = summary.variables.map((v) => `${v.name}${v.default ? "*" : ""}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "h*",
        "lat*",
        "t*",
        "weight*",
        "conf*",
        "../segments/id*",
        "../segments/first",
      ]),
    );
    expect(summary.tracks).toEqual([34]);
    expect(summary.orbits).toEqual([12]);
    expect(summary.cycles).toEqual([]);
  });
});
