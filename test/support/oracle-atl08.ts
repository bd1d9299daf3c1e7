import { basename } from "node:path";
import { booleanPointInPolygon } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import type { Dataset, File } from "h5wasm/node";
import h5wasm from "h5wasm/node";

/*
 * Brute-force oracle for ATL08 queries: read every 100 m land segment of every granule with the HDF5
 * C library (h5wasm) and test it against the AOI with turf, so neither our HDF5 reader nor our
 * point-in-polygon kernel is involved in the expected answer. The helpers here are shared with the
 * GEDI L2A oracle.
 */

/** ATL08 ground-track beams, in the order rows are returned. */
export const ATL08_BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] as const;

/** 2018-01-01T00:00:00Z (the ATLAS and GEDI epoch) in ns since the Unix epoch. */
export const EPOCH_2018_NS = 1514764800000000000n;

/** float32 fill of ICESat-2 products (largest finite float32). */
const F4_FILL = Math.fround(3.4028235e38);
/** float64 fill of ICESat-2 products (largest finite float64). */
const F8_FILL = Number.MAX_VALUE;
/** int32 fill of ICESat-2 flags and counts. */
const I4_FILL = 2147483647;

/** A value of an oracle row: numbers (null for fill values), exact 64-bit integers, or one row of a 2-D dataset. */
export type OracleValue = string | number | bigint | null | (number | bigint | null)[];

/** An AOI: a GeoJSON Polygon or MultiPolygon, or a Feature of one. */
export type Area = Polygon | MultiPolygon | Feature<Polygon | MultiPolygon>;

/** Options shared by the brute-force oracles. */
export interface BruteForceOptions {
  /** Keep rows with time >= start (inclusive). Default: no lower bound. */
  start?: Date;
  /** Keep rows with time < end (exclusive). Default: no upper bound. */
  end?: Date;
  /** Only these beams. Default: every beam of the product. */
  beams?: string[];
  /**
   * More variables per row, each under the name given: a path relative to the row group (`canopy/h_canopy`)
   * or, for ATL08, a bare name found in `land_segments`, `land_segments/canopy` or `land_segments/terrain`.
   * 2-D (N, k) variables give k-element arrays.
   */
  vars?: string[];
}

/** One ATL08 land segment as a query result row should report it. */
export interface Atl08OracleRow {
  /** The producer's granule id: METADATA/DatasetIdentification fileName without `.h5` (else the file name). */
  granule_id: string;
  beam: string;
  /** Degrees: the float32 value the file holds, widened to float64. */
  lat: number;
  /** Degrees: the float32 value the file holds, widened to float64. */
  lon: number;
  /** ns since the Unix epoch, UTC: BigInt(round(delta_time * 1e9)) + 2018-01-01 in ns. */
  time_ns: bigint;
  /** First 20 m geolocation segment of the land segment. */
  segment_id_beg: number;
  /** 1 night, 0 day; null where the file holds the fill value. */
  night_flag: number | null;
  /** Metres above the ground; null where there is no canopy height (fill value). */
  h_canopy: number | null;
  /** Metres above the ellipsoid; null where the fit failed (fill value). */
  h_te_best_fit: number | null;
  /** Canopy height of each of the five 20 m segments (null where none: fill value). */
  h_canopy_20m: (number | null)[];
  /** Terrain height of each of the five 20 m segments (null where none: fill value). */
  h_te_best_fit_20m: (number | null)[];
  /** Values of {@link BruteForceOptions.vars}, by the name given. */
  vars: Record<string, OracleValue>;
}

/** The dataset at `path`, or undefined when the file has none there. */
export function datasetAt(file: File, path: string): Dataset | undefined {
  const found = file.get(path);
  return found instanceof h5wasm.Dataset ? found : undefined;
}

/** A whole dataset's values as a flat typed array, with its row width (1 for 1-D). */
export function readColumn(file: File, path: string): { values: ArrayLike<number | bigint>; width: number } {
  const dataset = datasetAt(file, path);
  if (!dataset) throw new Error(`${file.filename}: ${path} is not a dataset`);
  const value = dataset.value;
  if (!ArrayBuffer.isView(value) || value instanceof DataView) {
    throw new Error(`${file.filename}: ${path} is not a numeric array`);
  }
  const width =
    dataset.shape && dataset.shape.length > 1 ? dataset.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  return { values: value as unknown as ArrayLike<number | bigint>, width };
}

/**
 * Reads a dataset for per-row lookup: `at(i)` is row i, null where the element equals the dataset's
 * `_FillValue` attribute or is an ICESat-2 float fill; a k-element array for a 2-D dataset.
 */
export function rowReader(file: File, path: string): (i: number) => OracleValue {
  const { values, width } = readColumn(file, path);
  const attr = datasetAt(file, path)?.attrs._FillValue?.value;
  const fill = typeof attr === "number" || typeof attr === "bigint" ? attr : undefined;
  const clean = (v: number | bigint) => (v === fill || v === F4_FILL || v === F8_FILL ? null : v);
  if (width === 1) return (i) => clean(values[i]!);
  return (i) => Array.from({ length: width }, (_, j) => clean(values[i * width + j]!));
}

/** The producer's granule id of an open file (METADATA fileName without extension), else the file's own name. */
export function granuleIdOf(file: File, path: string): string {
  const identification = file.get("METADATA/DatasetIdentification");
  const name = identification instanceof h5wasm.Group ? identification.attrs.fileName?.value : undefined;
  const source = typeof name === "string" && name.trim() !== "" ? name.trim() : basename(path);
  return source.replace(/\.(h5|hdf5|he5)$/i, "");
}

/** Time bounds of {@link BruteForceOptions} in ns, and a test of one delta_time against them. */
export function timeFilter(opts: BruteForceOptions): (deltaTime: number) => bigint | undefined {
  const startNs = opts.start ? BigInt(opts.start.getTime()) * 1_000_000n : undefined;
  const endNs = opts.end ? BigInt(opts.end.getTime()) * 1_000_000n : undefined;
  return (deltaTime) => {
    const ns = BigInt(Math.round(deltaTime * 1e9)) + EPOCH_2018_NS;
    if (startNs !== undefined && ns < startNs) return undefined;
    if (endNs !== undefined && ns >= endNs) return undefined;
    return ns;
  };
}

/** Whether (lon, lat) is inside the AOI, boundary included (turf). */
export function insideArea(area: Area, lon: number, lat: number): boolean {
  return booleanPointInPolygon([lon, lat], area, { ignoreBoundary: false });
}

/**
 * Opens each file with h5wasm, in granule id order, and hands it to `visit`; closes it afterwards.
 * @returns what `visit` returned for every file, concatenated.
 */
export async function eachGranule<T>(
  files: readonly string[],
  visit: (file: File, granuleId: string) => T[],
): Promise<T[]> {
  await h5wasm.ready;
  const opened = files.map((path) => ({ path, file: new h5wasm.File(path, "r") }));
  try {
    const named = opened.map(({ path, file }) => ({ file, id: granuleIdOf(file, path) }));
    named.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return named.flatMap(({ file, id }) => visit(file, id));
  } finally {
    for (const { file } of opened) file.close();
  }
}

/** Path of an ATL08 variable given as a bare name or a path relative to `land_segments`. */
function atl08Path(file: File, beam: string, name: string): string {
  const group = `${beam}/land_segments`;
  if (name.includes("/")) return `${group}/${name}`;
  for (const sub of ["", "canopy/", "terrain/"]) {
    if (datasetAt(file, `${group}/${sub}${name}`)) return `${group}/${sub}${name}`;
  }
  throw new Error(`${file.filename}: no ATL08 variable ${name} under ${group}`);
}

/**
 * Every ATL08 land segment of `files` inside `aoiGeoJSON` (boundary inclusive, turf `booleanPointInPolygon`
 * on the float32 latitude/longitude widened to float64), optionally within a time range and a set of beams.
 * Absent beams are skipped. Rows are ordered by granule_id, beam (gt1l..gt3r), delta_time, then
 * segment_id_beg.
 *
 * @param files local ATL08 granule paths
 * @param aoiGeoJSON a GeoJSON Polygon or MultiPolygon (or a Feature of one)
 */
export async function bruteForceAtl08(
  files: string[],
  aoiGeoJSON: object,
  opts: BruteForceOptions = {},
): Promise<Atl08OracleRow[]> {
  const area = aoiGeoJSON as Area;
  const timeOf = timeFilter(opts);
  const beams = ATL08_BEAMS.filter((b) => !opts.beams || opts.beams.includes(b));
  return eachGranule(files, (file, granule_id) =>
    beams.flatMap((beam) => {
      if (!datasetAt(file, `${beam}/land_segments/latitude`)) return [];
      const read = (name: string) =>
        readColumn(file, atl08Path(file, beam, name)).values as ArrayLike<number>;
      const [lat, lon, deltaTime, segmentId] = ["latitude", "longitude", "delta_time", "segment_id_beg"].map(
        read,
      );
      const night = read("night_flag");
      const canopy = rowReader(file, atl08Path(file, beam, "h_canopy"));
      const terrain = rowReader(file, atl08Path(file, beam, "h_te_best_fit"));
      const canopy20 = rowReader(file, atl08Path(file, beam, "h_canopy_20m"));
      const terrain20 = rowReader(file, atl08Path(file, beam, "h_te_best_fit_20m"));
      const extras = (opts.vars ?? []).map(
        (name) => [name, rowReader(file, atl08Path(file, beam, name))] as const,
      );
      const rows: { row: Atl08OracleRow; dt: number }[] = [];
      for (let i = 0; i < lat.length; i++) {
        const time_ns = timeOf(deltaTime[i]!);
        if (time_ns === undefined || !insideArea(area, lon[i]!, lat[i]!)) continue;
        const row: Atl08OracleRow = {
          granule_id,
          beam,
          lat: lat[i]!,
          lon: lon[i]!,
          time_ns,
          segment_id_beg: segmentId[i]!,
          night_flag: night[i] === I4_FILL ? null : night[i]!,
          h_canopy: canopy(i) as number | null,
          h_te_best_fit: terrain(i) as number | null,
          h_canopy_20m: canopy20(i) as (number | null)[],
          h_te_best_fit_20m: terrain20(i) as (number | null)[],
          vars: Object.fromEntries(extras.map(([name, at]) => [name, at(i)])),
        };
        rows.push({ row, dt: deltaTime[i]! });
      }
      rows.sort((a, b) => a.dt - b.dt || a.row.segment_id_beg - b.row.segment_id_beg);
      return rows.map(({ row }) => row);
    }),
  );
}
