/**
 * What a query asks of the index, and how candidates are tested (bbox statistics or the AOI's H3
 * cover): shared by the TypeScript selection (select-parquet.ts) and the DuckDB one (select.ts).
 * Loads neither DuckDB nor h3-js until a cover is computed.
 */
import type { BboxArray } from "./geo.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "./schema.js";

/** How candidate chunks are found; "auto" picks per query (see {@link chooseSelection}). */
export type SelectionMethod = "bbox" | "h3" | "auto";

/** Average H3 cell area by resolution, km² (resolutions 0-15). */
const CELL_AREA_KM2 = [
  4357449, 609788, 86801, 12393, 1770, 252.9, 36.13, 5.161, 0.7373, 0.1053, 0.01504, 0.002149, 0.000307,
  0.0000439, 0.00000627, 0.000000895,
];

/**
 * Most cells an H3 cover may have before "auto" falls back to bbox selection. Measured on a
 * 25 200-chunk store (bench/select.ts): the cover selected 1.2-30x fewer candidate chunks than
 * bbox pruning (tracks cross an AOI's bbox far more often than its cells) in similar or less time
 * for AOIs up to ~10 000 resolution-6 cells; beyond that computing and joining the cover grows.
 */
export const MAX_COVER_CELLS = 20_000;

/**
 * Most latitude, degrees, of a polygon the H3 cover handles: H3 polygons cannot contain a pole,
 * so AOI parts reaching closer to one (polar caps are closed along latitude +-90) select by bbox.
 */
export const COVER_MAX_LAT = 89;

/**
 * Whether a polygon with this bbox (degrees) can be covered with H3 cells: at most 180 degrees of
 * longitude (H3 reads wider edges as crossing the antimeridian) and off the poles.
 */
export function isCoverable([xmin, ymin, xmax, ymax]: BboxArray): boolean {
  return xmax - xmin <= 180 && ymax <= COVER_MAX_LAT && ymin >= -COVER_MAX_LAT;
}

/**
 * "h3" when the AOI's cover at `resolution` is small enough to join cheaply and every polygon can
 * be covered ({@link isCoverable}), else "bbox".
 */
export function chooseSelection(bboxes: readonly BboxArray[], resolution: number): "bbox" | "h3" {
  if (!bboxes.every(isCoverable)) return "bbox";
  let km2 = 0;
  for (const [xmin, ymin, xmax, ymax] of bboxes) {
    const midLat = ((ymin + ymax) / 2) * (Math.PI / 180);
    km2 += (xmax - xmin) * 111.32 * Math.cos(midLat) * (ymax - ymin) * 110.57;
  }
  return km2 / (CELL_AREA_KM2[resolution] ?? 1) <= MAX_COVER_CELLS ? "h3" : "bbox";
}

/** What a query asks of the index. */
export interface ChunkSelection {
  /** Bounding boxes of the AOI's polygons; a chunk is a candidate when its bbox meets any. */
  bboxes: BboxArray[];
  /** The AOI's polygons (rings of interleaved lon/lat), for the H3 cover. */
  polygons: readonly (readonly Float64Array[])[];
  /** Inclusive start, ns since the Unix epoch. */
  start?: bigint;
  /** Exclusive end, ns since the Unix epoch. */
  end?: bigint;
  /** Beam names and/or beam kinds ("strong", "weak", "full"...); all when empty. */
  beams?: string[];
  /** Beam kinds of the product: names in `beams` that select by kind rather than by beam name. */
  beamKinds?: readonly string[];
  /** Only this product's chunks (its partitions); all products when undefined. */
  product?: string;
  /** Candidate test. Default "auto". */
  method?: SelectionMethod;
  /**
   * Dataset paths (`/gt1l/land_ice_segments/h_li`) whose `arrays` rows the query needs; every
   * dataset of the selected granules when undefined. A query reads a few datasets per beam of the
   * hundreds a granule indexes, and decoding the others' rows was most of a small store's selection.
   */
  arrayPaths?: readonly string[];
}

/** The AOI part of a {@link ChunkSelection}: the boxes and rings of an AOI's polygons (query/aoi.ts `Aoi`). */
export function aoiSelection(aoi: {
  polygons: readonly { bbox: BboxArray; rings: readonly Float64Array[] }[];
}): Pick<ChunkSelection, "bboxes" | "polygons"> {
  return { bboxes: aoi.polygons.map((p) => p.bbox), polygons: aoi.polygons.map((p) => p.rings) };
}

/** Index rows a query needs: its candidate chunks, their granules and the arrays to decode them. */
export interface SelectedIndex {
  granules: GranuleRow[];
  chunks: ChunkRow[];
  arrays: ArrayRow[];
  /** The method that ran. */
  method: "bbox" | "h3";
  /** Cells of the AOI's H3 cover when the H3 method ran. */
  coverCells?: number;
}

/** The AOI's H3 cover: its sorted cells, and which polygons it covers (the others match by bbox). */
export interface SelectionCover {
  cells: bigint[];
  covered: boolean[];
}

/**
 * Most chunk rows meeting the AOI's boxes (and its time window and beams) for which "auto" selects by
 * bbox rather than compute the H3 cover. The cover only removes candidates the planner's footprint
 * test removes too (same reads, same rows), so for few rows it costs more than it saves: loading
 * h3-js and covering the AOI took about 10% of a query's CPU before its first request on the demo
 * store (bench/startup.ts), while the footprint test costs well under a millisecond per row.
 */
export const BBOX_ENOUGH_ROWS = 256;

/** What {@link selectionPlan} may ask of the store. */
export interface SelectionPlanOptions {
  /**
   * The number of chunk rows whose bbox meets one of the AOI's boxes (time window and beams
   * applied), asked only when "auto" would cover the AOI; 0 when not given.
   */
  bboxRows?: () => Promise<number>;
}

/**
 * The method a selection runs and, for "h3", the AOI's cover at `resolution`: polygons H3 cannot
 * express (polar caps, over 180 degrees wide) always select by bbox, and "auto" selects by bbox
 * when at most {@link BBOX_ENOUGH_ROWS} rows meet the AOI's boxes.
 */
export async function selectionPlan(
  sel: ChunkSelection,
  resolution: number,
  opts: SelectionPlanOptions = {},
): Promise<{ method: "bbox" | "h3"; cover?: SelectionCover }> {
  const covered = sel.bboxes.map(isCoverable);
  const chosen =
    sel.method === "bbox" || sel.method === "h3" ? sel.method : chooseSelection(sel.bboxes, resolution);
  if (chosen !== "h3" || !covered.some(Boolean)) return { method: "bbox" };
  if (sel.method !== "h3" && ((await opts.bboxRows?.()) ?? 0) <= BBOX_ENOUGH_ROWS) return { method: "bbox" };
  const { polygonCover } = await import("./h3.js");
  const cells = polygonCover(
    sel.polygons.filter((_, i) => covered[i]),
    resolution,
  );
  return { method: "h3", cover: { cells, covered } };
}

const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/**
 * The query's time window in whole microseconds, rounded outwards, as both selections compare it:
 * DuckDB reads the stored nanosecond times truncated to microseconds, so a chunk matches when its
 * `time_end` (in µs) >= `startUs` and its `time_start` (in µs) < `endUs`.
 */
export function microsecondWindow(sel: Pick<ChunkSelection, "start" | "end">): {
  startUs?: bigint;
  endUs?: bigint;
} {
  return {
    startUs: sel.start === undefined ? undefined : floorDiv(sel.start, 1000n),
    endUs: sel.end === undefined ? undefined : floorDiv(sel.end, 1000n) + 1n,
  };
}

/** Nanoseconds to whole microseconds, rounded down (DuckDB's reading of a nanosecond timestamp). */
export const toMicros = (ns: bigint): bigint => floorDiv(ns, 1000n);
