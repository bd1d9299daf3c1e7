/** The points of a query result a picture draws: positions, the colour variable, tracks. */
import { InvalidQueryError } from "../errors.js";
import { findProfile, type PlotHints } from "../products/index.js";
import type { ResultTable } from "./table.js";

/** One along-track series: the rows of one beam of one granule. */
export interface Track {
  granule_id: string;
  beam: string;
}

/** What a map or profile needs of a result, as flat arrays of one entry per row. */
export interface PlotPoints {
  lat: Float64Array;
  lon: Float64Array;
  /** The colour variable; NaN where null. */
  value: Float64Array;
  /** Name of the colour variable, e.g. "h_li". */
  variable: string;
  /** Units of the colour variable ("" when unknown). */
  units: string;
  /** Product of the rows (the result's `product` column), when the result names one. */
  product: string | undefined;
  /** Index into {@link PlotPoints.tracks} of each row. */
  track: Uint32Array;
  /** Distinct (granule, beam) series, in order of first appearance. */
  tracks: Track[];
  /** Distinct granules. */
  granules: number;
  /** Earliest and latest time, ISO-like UTC text. */
  timeRange: [string, string] | undefined;
  /** Along-track distance (metres) from the result's column the product names, when present. */
  along?: Float64Array;
  /** Class of each row (ATL03 signal confidence: highest over surface types), when the product has one. */
  classes?: Float64Array;
  /** The product's picture hints, when the product is known. */
  hints: PlotHints | undefined;
}

/** Options of {@link readPoints}. */
export interface ReadPointsOptions {
  /** Colour variable. Default: the product's height ({@link PlotHints.height}), else the first numeric column. */
  color?: string;
  /** Name of the result in error messages (its file name). */
  source: string;
}

/** Columns every result has that are not worth colouring by. */
const NOT_VARIABLES = new Set(["lat", "lon", "time", "geometry", "granule_id", "product", "beam"]);

/**
 * Reads the points of an opened result.
 * @throws InvalidQueryError naming the result when it has no lat/lon columns or lacks `color`
 * (the message lists the columns it has).
 */
export async function readPoints(table: ResultTable, opts: ReadPointsOptions): Promise<PlotPoints> {
  const has = (name: string) => table.columns.includes(name);
  // A result without rows may carry no columns at all (an empty GeoJSON or FlatGeobuf file).
  if (table.rows === 0 && !has("lat")) return emptyPoints(opts.color);
  if (!has("lat") || !has("lon"))
    throw new InvalidQueryError(`${opts.source}: has no lat and lon columns; is it a query result?`);
  const product = has("product") ? await table.firstText("product") : undefined;
  const hints = product === undefined ? undefined : findProfile(product)?.plot;
  const variable = opts.color ?? defaultVariable(table, hints);
  if (variable === undefined || !has(variable)) {
    const choices = table.columns.filter((c) => !NOT_VARIABLES.has(c)).join(", ");
    const what = variable === undefined ? "no variable to colour by" : `has no column "${variable}"`;
    throw new InvalidQueryError(`${opts.source}: ${what}; columns: ${choices || "none"}`);
  }
  const classColumns = hints?.classes ? table.columns.filter((c) => c.startsWith(hints.classes!)) : [];
  const alongColumn = hints?.alongTrack && has(hints.alongTrack) ? hints.alongTrack : undefined;
  const numeric = await table.numbers([
    "lat",
    "lon",
    variable,
    ...(alongColumn ? [alongColumn] : []),
    ...classColumns,
  ]);
  const [lat, lon, value] = numeric as [Float64Array, Float64Array, Float64Array];
  const ids = await trackIds(table);
  return {
    lat,
    lon,
    value,
    variable,
    units: unitsOf(table, variable, hints),
    product,
    ...ids,
    timeRange: await table.timeRange(),
    along: alongColumn ? numeric[3] : undefined,
    classes: classColumns.length > 0 ? maxOf(numeric.slice(alongColumn ? 4 : 3)) : undefined,
    hints,
  };
}

/** The points of a result with no rows and no columns. */
function emptyPoints(color: string | undefined): PlotPoints {
  const none = new Float64Array(0);
  return {
    lat: none,
    lon: none,
    value: none,
    variable: color ?? "",
    units: "",
    product: undefined,
    track: new Uint32Array(0),
    tracks: [],
    granules: 0,
    timeRange: undefined,
    hints: undefined,
  };
}

/** The product's height when the result has it, else the first column that holds numbers. */
function defaultVariable(table: ResultTable, hints: PlotHints | undefined): string | undefined {
  if (hints && table.columns.includes(hints.height)) return hints.height;
  return table.columns.find((c) => !NOT_VARIABLES.has(c));
}

/**
 * Units of a variable: a `units` metadata entry of the file (a JSON object of column -> units),
 * else the product's units of its height, else none.
 */
function unitsOf(table: ResultTable, variable: string, hints: PlotHints | undefined): string {
  const recorded = table.metadata.units;
  if (recorded) {
    try {
      const units = JSON.parse(recorded) as Record<string, unknown>;
      if (typeof units[variable] === "string") return units[variable];
    } catch {
      // A units entry that is not JSON says nothing about this variable.
    }
  }
  return hints && hints.height === variable ? hints.units : "";
}

/** Row-wise maximum of columns (NaN ignored). */
function maxOf(columns: Float64Array[]): Float64Array {
  const out = new Float64Array(columns[0]!.length).fill(Number.NaN);
  for (const c of columns)
    for (let i = 0; i < c.length; i++)
      if (!(c[i]! <= out[i]!)) out[i] = Number.isNaN(c[i]!) ? out[i]! : c[i]!;
  return out;
}

/** The track of every row, from its `granule_id` and `beam` (one track when the result lacks them). */
async function trackIds(table: ResultTable) {
  const names = ["granule_id", "beam"].filter((c) => table.columns.includes(c));
  const { keys, index } = await table.groups(names);
  const at = (key: string[], name: string) => (names.includes(name) ? key[names.indexOf(name)]! : "");
  const tracks: Track[] = keys.map((key) => ({ granule_id: at(key, "granule_id"), beam: at(key, "beam") }));
  return { track: index, tracks, granules: new Set(tracks.map((t) => t.granule_id)).size };
}
