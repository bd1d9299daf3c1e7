/**
 * A uniform grid over a polygon's edges, so a question about the edges near a segment (does a
 * chunk's footprint come within its error of the AOI's boundary?) looks at the few cells the
 * segment passes, not at every edge. Built for polygons of at least {@link EDGE_GRID_MIN_EDGES}
 * edges; a 1 000 000-vertex AOI then plans in about the time of a small one.
 */
import type { Aoi } from "./aoi.js";

/** Polygons with fewer edges are scanned edge by edge (as fast below this size). */
export const EDGE_GRID_MIN_EDGES = 64;

type AoiPolygon = Aoi["polygons"][number];

/** Edges of one polygon bucketed by the grid cells their bounding boxes meet. */
export interface EdgeGrid {
  xmin: number;
  ymin: number;
  /** Cell width and height, degrees. */
  cw: number;
  ch: number;
  nx: number;
  ny: number;
  /** Start of cell c's edges in `ids` (length nx * ny + 1). */
  start: Uint32Array;
  /** Edge numbers (index into `xy` / 4), cell by cell. */
  ids: Uint32Array;
  /** Edges as x1, y1, x2, y2. */
  xy: Float64Array;
}

function flatEdges(rings: readonly Float64Array[]): Float64Array {
  let total = 0;
  for (const ring of rings) total += ring.length / 2 - 1;
  const xy = new Float64Array(total * 4);
  let o = 0;
  for (const ring of rings) {
    for (let k = 0; k + 3 < ring.length; k += 2) {
      xy[o++] = ring[k]!;
      xy[o++] = ring[k + 1]!;
      xy[o++] = ring[k + 2]!;
      xy[o++] = ring[k + 3]!;
    }
  }
  return xy;
}

/**
 * Most cell entries per edge, on average: a grid fine enough for two edges per cell would list a
 * ring of long edges (a star's spikes, a comb's teeth) in a great many cells each (about 30 per
 * edge for a 100 000-vertex star, 120 MB of entries), so such rings get a coarser grid.
 */
const MAX_ENTRIES_PER_EDGE = 16;

/**
 * Builds the grid: about two edges per cell for an ordinary ring, at most 2^22 cells, coarser
 * when its edges are long ({@link MAX_ENTRIES_PER_EDGE}). An edge is listed in the cells it passes
 * (not all those of its bounding box).
 */
export function buildEdgeGrid(polygon: AoiPolygon): EdgeGrid {
  const xy = flatEdges(polygon.rings);
  const edges = xy.length / 4;
  const [xmin, ymin, xmax, ymax] = polygon.bbox;
  const w = xmax - xmin || 1;
  const h = ymax - ymin || 1;
  // Cells an edge passes in a side x side grid: about side * (|dx| / w + |dy| / h) + 1.
  let length = 0;
  for (let o = 0; o < xy.length; o += 4) {
    length += Math.abs(xy[o + 2]! - xy[o]!) / w + Math.abs(xy[o + 3]! - xy[o + 1]!) / h;
  }
  const fine = Math.ceil(Math.sqrt(edges / 2));
  const bounded = length > 0 ? Math.floor(((MAX_ENTRIES_PER_EDGE - 1) * edges) / length) : fine;
  const side = Math.max(1, Math.min(2048, fine, bounded));
  const nx = side;
  const ny = side;
  const cw = (xmax - xmin) / nx || 1;
  const ch = (ymax - ymin) / ny || 1;
  const cx = (x: number) => Math.min(nx - 1, Math.max(0, Math.floor((x - xmin) / cw)));
  const cy = (y: number) => Math.min(ny - 1, Math.max(0, Math.floor((y - ymin) / ch)));
  const count = new Uint32Array(nx * ny + 1);
  const visit = (e: number, fn: (cell: number) => void) => {
    const o = e * 4;
    // West end first; then column by column, the rows the edge's piece in that column spans.
    const [ax, ay, bx, by] =
      xy[o]! <= xy[o + 2]!
        ? [xy[o]!, xy[o + 1]!, xy[o + 2]!, xy[o + 3]!]
        : [xy[o + 2]!, xy[o + 3]!, xy[o]!, xy[o + 1]!];
    const i0 = cx(ax);
    const i1 = cx(bx);
    const yAt = (x: number) => (bx === ax ? ay : ay + ((by - ay) * (x - ax)) / (bx - ax));
    for (let i = i0; i <= i1; i++) {
      // The column's x range, clipped to the edge, widened a hair so rounding never drops a cell.
      const xa = i === i0 ? ax : xmin + i * cw;
      const xb = i === i1 ? bx : xmin + (i + 1) * cw;
      const ya = i === i0 ? ay : yAt(xa);
      const yb = i === i1 ? by : yAt(xb);
      const slack = Math.abs(by - ay) * 1e-12;
      const j0 = cy(Math.min(ya, yb) - slack);
      const j1 = cy(Math.max(ya, yb) + slack);
      for (let j = j0; j <= j1; j++) fn(j * nx + i);
    }
  };
  for (let e = 0; e < edges; e++) visit(e, (c) => count[c + 1]!++);
  for (let c = 0; c < nx * ny; c++) count[c + 1]! += count[c]!;
  const start = count.slice();
  const fill = count.slice(0, nx * ny);
  const ids = new Uint32Array(start[nx * ny]!);
  for (let e = 0; e < edges; e++) visit(e, (c) => (ids[fill[c]!++] = e));
  return { xmin, ymin, cw, ch, nx, ny, start, ids, xy };
}

/**
 * Calls `test(x1, y1, x2, y2)` for edges of the grid's polygon that may lie within `reach` of the
 * segment a-b (every such edge is offered at least once; others may be), until a call returns
 * true. The segment is walked in pieces no longer than a cell, each looking at the cells its
 * bounding box, grown by `reach`, meets.
 * @returns whether some call returned true
 */
export function someEdgeNear(
  grid: EdgeGrid,
  a: readonly [number, number],
  b: readonly [number, number],
  reach: number,
  test: (x1: number, y1: number, x2: number, y2: number) => boolean,
): boolean {
  const { xmin, ymin, cw, ch, nx, ny, start, ids, xy } = grid;
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const pieces = Math.max(1, Math.min(1 << 20, Math.ceil(Math.max(Math.abs(dx) / cw, Math.abs(dy) / ch))));
  for (let p = 0; p < pieces; p++) {
    const t0 = p / pieces;
    const t1 = (p + 1) / pieces;
    const px0 = a[0] + dx * t0;
    const px1 = p + 1 === pieces ? b[0] : a[0] + dx * t1;
    const py0 = a[1] + dy * t0;
    const py1 = p + 1 === pieces ? b[1] : a[1] + dy * t1;
    const i0 = Math.floor((Math.min(px0, px1) - reach - xmin) / cw);
    const i1 = Math.floor((Math.max(px0, px1) + reach - xmin) / cw);
    const j0 = Math.floor((Math.min(py0, py1) - reach - ymin) / ch);
    const j1 = Math.floor((Math.max(py0, py1) + reach - ymin) / ch);
    if (i1 < 0 || j1 < 0 || i0 >= nx || j0 >= ny) continue;
    for (let j = Math.max(0, j0); j <= Math.min(ny - 1, j1); j++) {
      for (let i = Math.max(0, i0); i <= Math.min(nx - 1, i1); i++) {
        const c = j * nx + i;
        for (let k = start[c]!; k < start[c + 1]!; k++) {
          const o = ids[k]! * 4;
          if (test(xy[o]!, xy[o + 1]!, xy[o + 2]!, xy[o + 3]!)) return true;
        }
      }
    }
  }
  return false;
}

/** Grids of large polygons, built on first use (a memo of a pure function of the immutable polygon). */
const grids = new WeakMap<AoiPolygon, EdgeGrid | null>();

/** The polygon's edge grid, or null when it is small enough to scan edge by edge. */
export function edgeGridOf(polygon: AoiPolygon): EdgeGrid | null {
  let grid = grids.get(polygon);
  if (grid === undefined) {
    let edges = 0;
    for (const ring of polygon.rings) edges += ring.length / 2 - 1;
    grid = edges >= EDGE_GRID_MIN_EDGES ? buildEdgeGrid(polygon) : null;
    grids.set(polygon, grid);
  }
  return grid;
}
