/**
 * Decoding one chunk row into result columns: its coordinates and the points inside the AOI and the
 * time range, the product's filters, then the kept rows of every column (plain arrays; the executor
 * makes them a record batch, result.ts).
 */
import { InvalidQueryError } from "../errors.js";
import type { NumericArray } from "../hdf5/types.js";
import { castArray, type ResultColumnData, type ResultColumns } from "../result/columns.js";
import type { GranuleRow } from "../store/schema.js";
import {
  type ColumnOptions,
  type DecodedVariable,
  extraColumn,
  profileColumn,
  sourceValues,
} from "./columns.js";
import type { Fetched } from "./fetch.js";
import { gather } from "./gather.js";
import { pointsInAoi } from "./pip.js";
import type { ChunkRead, QuerySpec } from "./plan.js";
import { unixNsInto } from "./time.js";
import { decodeVariable, variableCache } from "./variables.js";

/** What decoding a chunk row needs besides its bytes: the query's columns and its extra variables. */
export interface DecodeOptions extends ColumnOptions {
  /**
   * Extra variables (`--vars`), relative to the row group, each a column after the profile's: a
   * 2-D dataset as a list column, `path:k` its column k ({@link parseVar}).
   */
  extras: readonly string[];
}

/** Coordinates of one chunk row and which of its points the query keeps. */
export interface Hits {
  lat: Float64Array;
  lon: Float64Array;
  /** ns since the Unix epoch, UTC; only set where `mask` is 1. */
  time: BigInt64Array;
  /** 1 for the points inside the AOI and the time range. */
  mask: Uint8Array;
  /** Number of ones in `mask`. */
  count: number;
}

/** Coordinates as float64 (ATL08 stores float32 latitudes and longitudes). */
function float64Of(values: NumericArray | undefined): Float64Array {
  return values instanceof Float64Array ? values : (castArray(values!, "float64") as Float64Array);
}

/** Decodes a chunk row's coordinates and marks the points inside the AOI and the time range. */
export function coordinateMask(read: ChunkRead, f: Fetched, spec: QuerySpec, opts: DecodeOptions): Hits {
  const { chunk } = read;
  const { coordinates, time: scale } = opts.profile;
  const lat = float64Of(decodeVariable(f, read, coordinates.lat, opts)?.values);
  const lon = float64Of(decodeVariable(f, read, coordinates.lon, opts)?.values);
  const dt = float64Of(decodeVariable(f, read, coordinates.time, opts)?.values);
  const mask = pointsInAoi(spec.aoi, lon, lat);
  const time = new BigInt64Array(chunk.row_count);
  const count = unixNsInto(scale, dt, mask, time, {
    startNs: spec.start ? BigInt(spec.start.getTime()) * 1_000_000n : undefined,
    endNs: spec.end ? BigInt(spec.end.getTime()) * 1_000_000n : undefined,
  });
  return { lat, lon, time, mask, count };
}

/** Applies the query's filters of the profile to `mask`; returns the rows still kept. */
function applyFilters(
  id: string,
  mask: Uint8Array,
  get: (path: string) => DecodedVariable | undefined,
  opts: DecodeOptions,
): number {
  for (const filter of opts.profile.filters) {
    if (opts.filters[filter.name] === undefined || opts.filters[filter.name] === false) continue;
    const columns = filter.sources(opts.filters).map((source) => {
      const found = sourceValues(source, get, opts.filters);
      if (!found) throw new InvalidQueryError(`${id}: no ${source.path} for the ${filter.name} filter`);
      return found.values;
    });
    filter.apply(opts.filters, columns, mask);
  }
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

/**
 * The result columns of one chunk row of `granule`: the rows `hits` marks that pass the product's
 * filters, every column of the profile and the extra variables; undefined when no row is kept.
 * @throws InvalidQueryError when a filter's dataset is missing from the granule.
 */
export function decodeChunkRow(
  granule: GranuleRow,
  read: ChunkRead,
  f: Fetched,
  hits: Hits,
  opts: DecodeOptions,
): ResultColumns | undefined {
  const { chunk } = read;
  const id = chunk.granule_id;
  const get = variableCache(f, read, opts);
  const { mask } = hits;
  const n = applyFilters(id, mask, get, opts);
  if (n === 0) return undefined;
  // Gather through the kept indices: n steps per column instead of a full chunk row each.
  const kept = new Int32Array(n);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) kept[j++] = i;
  const ctx = { get, kept, opts };
  const columns: ResultColumnData[] = [];
  for (const column of opts.profile.columns) {
    if (column === "granule_id") columns.push({ name: column, type: "utf8", value: id });
    else if (column === "product") columns.push({ name: column, type: "utf8", value: granule.product });
    else if (column === "beam") columns.push({ name: column, type: "utf8", value: chunk.beam });
    else if (column.source.kind === "beam") {
      const value = column.source.value(granule, chunk.beam);
      columns.push({ name: column.name, type: column.type, value, nullable: column.nullable ?? false });
    } else {
      const data = profileColumn(column, ctx);
      if (data) columns.push(data);
    }
  }
  for (const name of opts.extras) {
    const data = extraColumn(name, ctx);
    if (data) columns.push(data);
  }
  return {
    lat: gather(hits.lat, kept),
    lon: gather(hits.lon, kept),
    time: gather(hits.time, kept),
    columns,
  };
}
