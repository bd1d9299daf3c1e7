/**
 * Screen binning: millions of points become at most one mark per cell of a few pixels, each
 * carrying the mean value of its points. Drawing cost then follows the picture's size, not the
 * result's, and no point is dropped: every one contributes to its cell's mean.
 */

/** The marks of binned points, one per occupied cell, in order of the cell's first point. */
export interface Bins {
  /** Mean screen position of each cell's points, pixels. */
  x: Float64Array;
  y: Float64Array;
  /** Mean value of each cell's points (NaN when all are null). */
  value: Float64Array;
  /** Points in each cell. */
  count: Uint32Array;
  /** Index of each cell's first point. */
  first: Uint32Array;
  /** Category of each cell (see {@link binPoints} `category`); 0 without categories. */
  category: Int32Array;
  /** Number of cells. */
  length: number;
}

/**
 * Bins screen points into square cells of `cell` pixels. Points with a non-finite position are
 * left out. With `category`, points of different categories (beams, confidence classes) share no
 * cell, so each keeps its own colour.
 */
export function binPoints(
  xs: Float64Array,
  ys: Float64Array,
  values: Float64Array,
  opts: { cell: number; category?: Int32Array },
): Bins {
  const index = new Map<string | number, number>();
  const sx: number[] = [];
  const sy: number[] = [];
  const sv: number[] = [];
  const nv: number[] = [];
  const count: number[] = [];
  const first: number[] = [];
  const category: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const cx = Math.floor(x / opts.cell);
    const cy = Math.floor(y / opts.cell);
    const c = opts.category?.[i] ?? 0;
    const key = opts.category ? `${cx},${cy},${c}` : cx * 1_000_003 + cy;
    let k = index.get(key);
    if (k === undefined) {
      k = count.length;
      index.set(key, k);
      sx.push(0);
      sy.push(0);
      sv.push(0);
      nv.push(0);
      count.push(0);
      first.push(i);
      category.push(c);
    }
    sx[k]! += x;
    sy[k]! += y;
    count[k]! += 1;
    const v = values[i]!;
    if (!Number.isNaN(v)) {
      sv[k]! += v;
      nv[k]! += 1;
    }
  }
  const n = count.length;
  return {
    x: Float64Array.from(sx, (s, k) => s / count[k]!),
    y: Float64Array.from(sy, (s, k) => s / count[k]!),
    value: Float64Array.from(sv, (s, k) => (nv[k]! > 0 ? s / nv[k]! : Number.NaN)),
    count: Uint32Array.from(count),
    first: Uint32Array.from(first),
    category: Int32Array.from(category),
    length: n,
  };
}
