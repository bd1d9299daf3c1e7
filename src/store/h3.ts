/** H3 cells of the store: per-chunk cells along a track, and the cover of a query polygon. */
import {
  areNeighborCells,
  gridPathCells,
  latLngToCell,
  POLYGON_TO_CELLS_FLAGS,
  polygonToCellsExperimental,
} from "h3-js";

/** A cell as the store keeps it: the H3 index as an unsigned 64-bit integer. */
export const cellToBigint = (cell: string): bigint => BigInt(`0x${cell}`);

/** True for a usable coordinate pair (fill values and NaN are skipped everywhere). */
export function validLonLat(lon: number, lat: number): boolean {
  return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90;
}

/**
 * Points between two sampled points of {@link trackCells}. 20 m ATL06 segments, so a 320 m step:
 * far below the ~3 km edge of resolution-6 cells, so both samples in one cell means the nearly
 * straight track between them stays in that (convex) cell; only where the sampled cells differ are
 * the points between looked up one by one. Six times fewer lookups than every point.
 */
export const TRACK_SAMPLE_STEP = 16;

/**
 * H3 cells of every valid point in [start, end) at `resolution`, plus the cells on the grid path
 * between consecutive points whose cells are not neighbours (gaps in the track), so the track
 * leaves no hole. Sorted ascending.
 */
export function trackCells(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
  resolution: number,
): bigint[] {
  const cells = new Set<string>();
  let prev: string | undefined;
  const visit = (i: number): string | undefined => {
    if (!validLonLat(lon[i]!, lat[i]!)) return undefined;
    const cell = latLngToCell(lat[i]!, lon[i]!, resolution);
    if (cell !== prev) {
      if (prev !== undefined && !areNeighborCells(prev, cell)) {
        for (const between of safeGridPath(prev, cell)) cells.add(between);
      }
      cells.add(cell);
      prev = cell;
    }
    return cell;
  };
  let i = start;
  while (i < end) {
    const here = visit(i);
    const next = Math.min(end - 1, i + TRACK_SAMPLE_STEP);
    if (next <= i) break;
    const lookAhead = validLonLat(lon[next]!, lat[next]!)
      ? latLngToCell(lat[next]!, lon[next]!, resolution)
      : undefined;
    if (here !== undefined && lookAhead === here && allValid(lon, lat, i, next)) {
      i = next;
      continue;
    }
    for (let k = i + 1; k <= next; k++) visit(k);
    i = next;
    if (i === end - 1) break;
  }
  return [...cells].map(cellToBigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function allValid(lon: Float64Array, lat: Float64Array, from: number, to: number): boolean {
  for (let k = from; k <= to; k++) if (!validLonLat(lon[k]!, lat[k]!)) return false;
  return true;
}

/** Grid path between two cells; empty when H3 cannot compute one (across pentagons or faces). */
function safeGridPath(a: string, b: string): string[] {
  try {
    return gridPathCells(a, b);
  } catch {
    // H3 has no path across some pentagon distortions; the two end cells are still recorded.
    return [];
  }
}

/**
 * Every cell at `resolution` that overlaps any of the polygons (rings as interleaved lon/lat,
 * closed), so no chunk touching the polygon is missed. Sorted, without duplicates.
 */
export function polygonCover(polygons: readonly (readonly Float64Array[])[], resolution: number): bigint[] {
  const cells = new Set<bigint>();
  for (const rings of polygons) {
    const latLng = rings.map((ring) => {
      const out: [number, number][] = [];
      for (let i = 0; i < ring.length; i += 2) out.push([ring[i + 1]!, ring[i]!]);
      return out;
    });
    const found = polygonToCellsExperimental(
      latLng,
      resolution,
      POLYGON_TO_CELLS_FLAGS.containmentOverlapping,
    );
    for (const c of found) cells.add(cellToBigint(c));
  }
  return [...cells].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
