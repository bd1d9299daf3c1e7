/**
 * The chunk footprint and H3 cover as geochunks computed them before the one-pass footprint and the
 * bisecting cover: kept here, unchanged, as the oracle the new implementations must equal.
 */
import { areNeighborCells, gridPathCells, latLngToCell } from "h3-js";
import {
  FOOTPRINT_GAP_DEGREES,
  FOOTPRINT_MAX_VERTICES,
  segmentDistance,
} from "../../../src/index-builder/geometry.js";
import { cellToBigint, validLonLat } from "../../../src/store/h3.js";
import { wkbLineString, wkbMultiLineString } from "../../../src/store/wkb.js";

function footprintRuns(lon: Float64Array, lat: Float64Array, start: number, end: number): [number, number][] {
  const runs: [number, number][] = [];
  let first = -1;
  let last = -1;
  for (let i = start; i < end; i++) {
    const x = lon[i]!;
    const y = lat[i]!;
    if (!validLonLat(x, y)) continue;
    const broken =
      last >= 0 &&
      (Math.abs(x - lon[last]!) > 180 || Math.hypot(x - lon[last]!, y - lat[last]!) > FOOTPRINT_GAP_DEGREES);
    if (first < 0 || broken) {
      if (first >= 0) runs.push([first, last]);
      first = i;
    }
    last = i;
  }
  if (first >= 0) runs.push([first, last]);
  return runs;
}

function footprintVertices(lon: Float64Array, lat: Float64Array, start: number, end: number): number[][] {
  const stride = Math.max(1, Math.ceil((end - start) / (FOOTPRINT_MAX_VERTICES - 1)));
  return footprintRuns(lon, lat, start, end).map(([first, last]) => {
    const out: number[] = [];
    for (let i = first; i <= last; i += stride) if (validLonLat(lon[i]!, lat[i]!)) out.push(i);
    if (out[out.length - 1] !== last) out.push(last);
    return out;
  });
}

/** The footprint WKB as the first implementation wrote it. */
export function footprintOfV1(lon: Float64Array, lat: Float64Array, start: number, end: number): Uint8Array {
  const lines = footprintVertices(lon, lat, start, end).map((run) => {
    const xy = run.flatMap((i) => [lon[i]!, lat[i]!]);
    return xy.length === 2 ? [...xy, ...xy] : xy;
  });
  if (lines.length === 0) return wkbLineString([0, 0, 0, 0]);
  return lines.length === 1 ? wkbLineString(lines[0]!) : wkbMultiLineString(lines);
}

/** The footprint error as the first implementation computed it. */
export function footprintErrorV1(lon: Float64Array, lat: Float64Array, start: number, end: number): number {
  let worst = 0;
  for (const v of footprintVertices(lon, lat, start, end)) {
    for (let k = 0; k + 1 < v.length; k++) {
      const a = v[k]!;
      const b = v[k + 1]!;
      for (let i = a + 1; i < b; i++) {
        if (!validLonLat(lon[i]!, lat[i]!)) continue;
        const d = segmentDistance(lon[i]!, lat[i]!, lon[a]!, lat[a]!, lon[b]!, lat[b]!);
        if (d > worst) worst = d;
      }
    }
  }
  return worst;
}

const TRACK_SAMPLE_STEP = 16;

function allValid(lon: Float64Array, lat: Float64Array, from: number, to: number): boolean {
  for (let k = from; k <= to; k++) if (!validLonLat(lon[k]!, lat[k]!)) return false;
  return true;
}

function safeGridPath(a: string, b: string): string[] {
  try {
    return gridPathCells(a, b);
  } catch {
    return [];
  }
}

/** The H3 cells of a track as the sampling implementation found them. */
export function trackCellsV1(
  lon: Float64Array,
  lat: Float64Array,
  start: number,
  end: number,
  resolution: number,
): bigint[] {
  const cells = new Set<string>();
  let prev: string | undefined;
  let ahead = -1;
  let aheadCell: string | undefined;
  const visit = (i: number): string | undefined => {
    if (!validLonLat(lon[i]!, lat[i]!)) return undefined;
    const cell =
      i === ahead && aheadCell !== undefined ? aheadCell : latLngToCell(lat[i]!, lon[i]!, resolution);
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
    ahead = next;
    aheadCell = lookAhead;
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
