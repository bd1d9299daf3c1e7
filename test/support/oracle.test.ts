import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { beforeAll, describe, expect, it } from "vitest";
import { type Aoi, aoiToGeoJSON, parseAoi } from "../../src/query/aoi.js";
import { pointsInAoi } from "../../src/query/pip.js";
import { ATL06_BEAMS, bruteForceAtl06, type OracleRow } from "./oracle.js";

const DATA_DIR = fileURLToPath(new URL("../../../shared/data/atl06/", import.meta.url));
const FILES = existsSync(DATA_DIR)
  ? readdirSync(DATA_DIR)
      .filter((name) => name.startsWith("ATL06_") && name.endsWith(".h5"))
      .map((name) => join(DATA_DIR, name))
  : [];
if (FILES.length === 0) console.warn(`skipping oracle tests: no ATL06 granules in ${DATA_DIR}`);

/** The first granule, which has all six beams (the second has only gt1l and gt1r). */
const SIX_BEAM_GRANULE = "ATL06_20230816161508_08782002_006_02";

interface BeamPoints {
  granule_id: string;
  beam: string;
  lon: Float64Array;
  lat: Float64Array;
  segment_id: Int32Array;
}

/** Every beam's lon/lat/segment_id of every granule, read with h5wasm. */
async function readAllPoints(files: string[]): Promise<BeamPoints[]> {
  await h5wasm.ready;
  const out: BeamPoints[] = [];
  for (const path of files) {
    const file = new h5wasm.File(path, "r");
    try {
      for (const beam of ATL06_BEAMS) {
        if (!file.get(`${beam}/land_ice_segments`)) continue;
        const read = (name: string) => {
          const d = file.get(`${beam}/land_ice_segments/${name}`);
          if (!(d instanceof h5wasm.Dataset)) throw new Error(`${path}: ${beam}/${name} missing`);
          return d.value;
        };
        out.push({
          granule_id: path.replace(/^.*\//, "").replace(/\.h5$/, ""),
          beam,
          lon: Float64Array.from(read("longitude") as Float64Array),
          lat: Float64Array.from(read("latitude") as Float64Array),
          segment_id: Int32Array.from(read("segment_id") as Int32Array),
        });
      }
    } finally {
      file.close();
    }
  }
  return out;
}

const BEAM_ORDER: readonly string[] = ATL06_BEAMS;

const keyOf = (granule_id: string, beam: string, segment_id: number) => `${granule_id}/${beam}/${segment_id}`;

/** Keys of the points pointsInAoi (our kernel) selects, sorted. */
function kernelKeys(points: BeamPoints[], aoi: Aoi): string[] {
  const keys: string[] = [];
  for (const p of points) {
    const inside = pointsInAoi(aoi, p.lon, p.lat);
    for (let i = 0; i < inside.length; i++) {
      if (inside[i]) keys.push(keyOf(p.granule_id, p.beam, p.segment_id[i]!));
    }
  }
  return keys.sort();
}

const oracleKeys = (rows: OracleRow[]) => rows.map((r) => keyOf(r.granule_id, r.beam, r.segment_id)).sort();

describe.skipIf(FILES.length === 0)("bruteForceAtl06 on real ATL06 granules", () => {
  let points: BeamPoints[];
  let trackBox: string;

  beforeAll(async () => {
    points = await readAllPoints(FILES);
    // A box around the middle third of gt2l of the six-beam granule: it cuts across every track
    // of that granule's three pairs and leaves both ends of each track outside.
    const gt2l = points.find((p) => p.granule_id === SIX_BEAM_GRANULE && p.beam === "gt2l");
    if (!gt2l) throw new Error(`${SIX_BEAM_GRANULE} has no gt2l`);
    const from = Math.floor(gt2l.lat.length / 3);
    const to = Math.floor((2 * gt2l.lat.length) / 3);
    const lat = gt2l.lat.subarray(from, to);
    const lon = gt2l.lon.subarray(from, to);
    trackBox = [Math.min(...lon) - 0.2, Math.min(...lat), Math.max(...lon) + 0.2, Math.max(...lat)].join(",");
  });

  it("selects part of the track, the same points as pointsInAoi", async () => {
    const aoi = parseAoi(trackBox);
    const rows = await bruteForceAtl06(FILES, aoiToGeoJSON(aoi));
    const total = points.reduce((n, p) => n + p.lat.length, 0);
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.length).toBeLessThan(total / 2);
    expect(new Set(rows.map((r) => r.beam))).toEqual(new Set(ATL06_BEAMS));
    expect(oracleKeys(rows)).toEqual(kernelKeys(points, aoi));
    for (const r of rows) {
      expect(
        r.lon >= aoi.bbox[0] && r.lon <= aoi.bbox[2] && r.lat >= aoi.bbox[1] && r.lat <= aoi.bbox[3],
      ).toBe(true);
    }
  });

  it("agrees with pointsInAoi on a MultiPolygon touching both granules, and on a concave polygon", async () => {
    const [x0, y0, x1, y1] = trackBox.split(",").map(Number) as [number, number, number, number];
    const ym = (y0 + y1) / 2;
    const xm = (x0 + x1) / 2;
    const wkt = `MULTIPOLYGON (((${x0} ${y0}, ${x1} ${y0}, ${x1} ${y1}, ${xm} ${ym}, ${x0} ${y1}, ${x0} ${y0})), ((52.6 -46.4, 52.8 -46.4, 52.8 -46.3, 52.6 -46.3, 52.6 -46.4), (52.65 -46.38, 52.75 -46.38, 52.75 -46.35, 52.65 -46.35, 52.65 -46.38)))`;
    const aoi = parseAoi(wkt);
    const rows = await bruteForceAtl06(FILES, aoiToGeoJSON(aoi));
    expect(new Set(rows.map((r) => r.granule_id)).size).toBe(2);
    expect(oracleKeys(rows)).toEqual(kernelKeys(points, aoi));
  });

  it("returns every point for a whole-world AOI, skipping absent beams", async () => {
    const rows = await bruteForceAtl06(FILES, aoiToGeoJSON(parseAoi("-180,-90,180,90")));
    const total = points.reduce((n, p) => n + p.lat.length, 0);
    expect(rows.length).toBe(total);
    const second = rows.filter((r) => r.granule_id !== SIX_BEAM_GRANULE);
    expect(new Set(second.map((r) => r.beam))).toEqual(new Set(["gt1l", "gt1r"]));
  });

  it("orders rows by granule_id, beam, time; converts time; turns fill values into null", async () => {
    const rows = await bruteForceAtl06(FILES, aoiToGeoJSON(parseAoi("-180,-90,180,90")));
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1]!;
      const b = rows[i]!;
      const order =
        a.granule_id.localeCompare(b.granule_id) ||
        BEAM_ORDER.indexOf(a.beam) - BEAM_ORDER.indexOf(b.beam) ||
        (a.time_ns < b.time_ns ? -1 : a.time_ns > b.time_ns ? 1 : a.segment_id - b.segment_id);
      expect(order, `rows ${i - 1} and ${i}`).toBeLessThanOrEqual(0);
    }
    // The first granule's name says it starts 2023-08-16T16:15:08Z.
    const first = rows[0]!;
    expect(first.granule_id).toBe(SIX_BEAM_GRANULE);
    const seconds = Number(first.time_ns / 1_000_000_000n);
    expect(seconds).toBeGreaterThanOrEqual(Date.parse("2023-08-16T16:15:08Z") / 1000);
    expect(seconds).toBeLessThan(Date.parse("2023-08-16T16:25:00Z") / 1000);
    // gt1r of the first granule has fill values (886 of its 1099 segments), gt1l none.
    const gt1r = rows.filter((r) => r.granule_id === SIX_BEAM_GRANULE && r.beam === "gt1r");
    expect(gt1r.filter((r) => r.h_li === null).length).toBe(886);
    expect(gt1r.filter((r) => r.h_li_sigma === null).length).toBe(886);
    const gt1l = rows.filter((r) => r.granule_id === SIX_BEAM_GRANULE && r.beam === "gt1l");
    expect(gt1l.every((r) => r.h_li !== null && Math.abs(r.h_li) < 10_000)).toBe(true);
    expect(
      rows.every((r) => Number.isInteger(r.atl06_quality_summary) && Number.isInteger(r.segment_id)),
    ).toBe(true);
  });

  it("filters by time (start inclusive, end exclusive) and by beams", async () => {
    const area = aoiToGeoJSON(parseAoi(trackBox));
    const all = await bruteForceAtl06(FILES, area);
    const pivot = all[Math.floor(all.length / 2)]!.time_ns;
    // Dates have ms resolution: split at the pivot's millisecond.
    const at = new Date(Number(pivot / 1_000_000n));
    const atNs = BigInt(at.getTime()) * 1_000_000n;
    const after = await bruteForceAtl06(FILES, area, { start: at });
    const before = await bruteForceAtl06(FILES, area, { end: at });
    expect(after.every((r) => r.time_ns >= atNs)).toBe(true);
    expect(before.every((r) => r.time_ns < atNs)).toBe(true);
    expect(after.length + before.length).toBe(all.length);
    expect(after.length).toBeGreaterThan(0);
    expect(before.length).toBeGreaterThan(0);
    const exactlyAt = {
      start: new Date(Number(atNs / 1_000_000n)),
      end: new Date(Number(atNs / 1_000_000n)),
    };
    expect(await bruteForceAtl06(FILES, area, exactlyAt)).toEqual([]);
    const beams = await bruteForceAtl06(FILES, area, { beams: ["gt2l", "gt3r"] });
    expect(beams).toEqual(all.filter((r) => r.beam === "gt2l" || r.beam === "gt3r"));
  });
});
