import { describe, expect, it } from "vitest";
import { findProfile } from "../../src/products/index.js";
import { parseAoi } from "../../src/query/aoi.js";
import { chunkMatches, coalesceRanges, planQuery, queryVariables } from "../../src/query/plan.js";
import type { ChunkRow, GranuleRow } from "../../src/store/schema.js";

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

function chunk(
  granule: string,
  beam: string,
  rowStart: number,
  bbox: [number, number, number, number],
  offset: number,
): ChunkRow {
  const [xmin, ymin, xmax, ymax] = bbox;
  const path = (v: string) => `/${beam}/land_ice_segments/${v}`;
  return {
    chunk_id: `${granule}/${beam}/${rowStart}`,
    granule_id: granule,
    beam,
    beam_kind: beam.endsWith("l") ? "strong" : "weak",
    row_start: rowStart,
    row_count: 10,
    parent_start: null,
    parent_count: null,
    time_start: ns("2020-01-01T00:00:00Z"),
    time_end: ns("2020-01-01T00:01:00Z"),
    bbox: { xmin, ymin, xmax, ymax },
    geometry: new Uint8Array(),
    footprint_error: 0,
    h3_cells: [],
    refs: ["latitude", "longitude", "delta_time", "h_li", "other"].map((v, i) => ({
      path: path(v),
      chunk_start: rowStart,
      col_start: 0,
      offset: offset + i * 1000,
      size: 900,
      filter_mask: 0,
    })),
  };
}

const granule = (id: string) => ({ granule_id: id }) as GranuleRow;

describe("query planning", () => {
  it("coalesces ranges within the gap, merging overlaps, in offset order", () => {
    const ranges = [
      { offset: 5000, length: 100 },
      { offset: 0, length: 100 },
      { offset: 150, length: 100 },
      { offset: 200, length: 10 },
    ];
    expect(coalesceRanges(ranges, 50)).toEqual([
      { offset: 0, length: 250 },
      { offset: 5000, length: 100 },
    ]);
    expect(coalesceRanges(ranges, 10_000)).toEqual([{ offset: 0, length: 5100 }]);
    expect(coalesceRanges([], 10)).toEqual([]);
  });

  it("selects chunks by polygon bbox, time range and beams", () => {
    const aoi = parseAoi("10,10,20,20");
    const inside = chunk("g", "gt1l", 0, [12, 12, 13, 13], 0);
    expect(chunkMatches(inside, { aoi })).toBe(true);
    expect(chunkMatches(chunk("g", "gt1l", 0, [21, 12, 22, 13], 0), { aoi })).toBe(false);
    expect(chunkMatches(chunk("g", "gt1l", 0, [20, 20, 22, 22], 0), { aoi })).toBe(true); // touching corner
    expect(chunkMatches(inside, { aoi, start: new Date("2020-01-01T00:02:00Z") })).toBe(false);
    expect(chunkMatches(inside, { aoi, end: new Date("2020-01-01T00:00:00Z") })).toBe(false);
    expect(chunkMatches(inside, { aoi, end: new Date("2020-01-01T00:00:00.001Z") })).toBe(true);
    expect(chunkMatches(inside, { aoi, beams: ["weak"] })).toBe(false);
    expect(chunkMatches(inside, { aoi, beams: ["strong"] })).toBe(true);
    expect(chunkMatches(inside, { aoi, beams: ["gt2l", "gt1l"] })).toBe(true);
  });

  it("uses each polygon's own bbox for a MultiPolygon", () => {
    const aoi = parseAoi("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 1, 0 0)), ((10 10, 11 10, 11 11, 10 11, 10 10)))");
    expect(chunkMatches(chunk("g", "gt1l", 0, [5, 5, 6, 6], 0), { aoi })).toBe(false);
    expect(chunkMatches(chunk("g", "gt1l", 0, [10.5, 10.5, 12, 12], 0), { aoi })).toBe(true);
  });

  it("plans only the requested variables' refs, ordered by granule, beam and row", () => {
    const aoi = parseAoi("10,10,20,20");
    const rows = [
      chunk("b", "gt1l", 0, [12, 12, 13, 13], 0),
      chunk("a", "gt2l", 10, [12, 12, 13, 13], 100_000),
      chunk("a", "gt1l", 10, [12, 12, 13, 13], 200_000),
      chunk("a", "gt1l", 0, [12, 12, 13, 13], 300_000),
      chunk("a", "gt1l", 20, [50, 50, 51, 51], 400_000),
    ];
    const profile = findProfile("ATL06")!;
    const variables = queryVariables(profile, ["h_li"]);
    const plan = planQuery(
      { granules: [granule("b"), granule("a")], chunks: rows },
      { aoi },
      { profile, variables, maxGap: 200 },
    );
    expect(plan.chunksCandidate).toBe(4);
    expect(plan.granules.map((g) => g.granule.granule_id)).toEqual(["a", "b"]);
    expect(plan.granules[0]!.chunks.map((c) => c.chunk.chunk_id)).toEqual([
      "a/gt1l/0",
      "a/gt1l/10",
      "a/gt2l/10",
    ]);
    // 4 variables of 900 bytes, 1000 apart: the three coordinates join into one range per chunk
    // (100-byte gaps), h_li is the second round; "other" is not read.
    expect(plan.granules[0]!.ranges).toEqual([
      { offset: 100_000, length: 2900 },
      { offset: 200_000, length: 2900 },
      { offset: 300_000, length: 2900 },
      { offset: 103_000, length: 900 },
      { offset: 203_000, length: 900 },
      { offset: 303_000, length: 900 },
    ]);
    expect(plan.bytes).toBe(4 * 3800);
    expect(plan.requests).toBe(8);
  });
});
