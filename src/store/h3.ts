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
 * H3 cells of every valid point in [start, end) at `resolution`, plus the cells on the grid path
 * between consecutive points whose cells are not neighbours, so the track leaves no hole. Sorted.
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
  for (let i = start; i < end; i++) {
    if (!validLonLat(lon[i]!, lat[i]!)) continue;
    const cell = latLngToCell(lat[i]!, lon[i]!, resolution);
    if (cell === prev) continue;
    if (prev !== undefined && !areNeighborCells(prev, cell)) {
      for (const between of safeGridPath(prev, cell)) cells.add(between);
    }
    cells.add(cell);
    prev = cell;
  }
  return [...cells].map(cellToBigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
