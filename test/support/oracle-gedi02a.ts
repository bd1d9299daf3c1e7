import { GEDI_BEAMS } from "../../fixtures/gedi02a/variables.js";
import type { Area, BruteForceOptions, OracleValue } from "./oracle-atl08.js";
import { datasetAt, eachGranule, insideArea, readColumn, rowReader, timeFilter } from "./oracle-atl08.js";

/*
 * Brute-force oracle for GEDI L2A queries: every shot of every granule read with the HDF5 C library
 * (h5wasm), tested against the AOI with turf. Shot numbers stay exact 64-bit integers (bigint).
 * GEDI writes -9999 for "no data" in its float variables (a shot with no detected mode), with no
 * `_FillValue` attribute: users read it as missing, so the oracle reports null for it.
 */

/** GEDI L2A's no-data value in float variables. */
export const GEDI_NO_DATA = -9999;

/** A float value, null for GEDI's no-data value. */
const orNull = (v: number | bigint) => (v === GEDI_NO_DATA ? null : Number(v));

/** Options of {@link bruteForceGedi02a}. */
export interface GediOracleOptions extends BruteForceOptions {
  /** Keep only shots with quality_flag == 1 and degrade_flag == 0. Default false. */
  quality?: boolean;
  /**
   * Which relative heights to report: "all" (default) puts the 101 values rh0..rh100 in `rh`; a list of
   * percentiles puts each in `vars` as `rh<p>` (e.g. rh98) and leaves `rh` out.
   */
  rh?: "all" | readonly number[];
}

/** One GEDI L2A shot as a query result row should report it. */
export interface GediOracleRow {
  /** The producer's granule id: METADATA/DatasetIdentification fileName without `.h5` (else the file name). */
  granule_id: string;
  beam: string;
  /** lat_lowestmode, degrees. */
  lat: number;
  /** lon_lowestmode, degrees. */
  lon: number;
  /** ns since the Unix epoch, UTC: BigInt(round(delta_time * 1e9)) + 2018-01-01 in ns. */
  time_ns: bigint;
  /** Exact unsigned 64-bit shot number. */
  shot_number: bigint;
  /** Metres; null where GEDI wrote -9999 (no detected mode). */
  elev_lowestmode: number | null;
  elev_highestreturn: number | null;
  sensitivity: number;
  quality_flag: number;
  degrade_flag: number;
  /**
   * rh0..rh100, metres above the lowest mode (null for -9999); absent when {@link GediOracleOptions.rh}
   * lists percentiles.
   */
  rh?: (number | null)[];
  /** Chosen `rh<p>` percentiles and the values of {@link BruteForceOptions.vars} (paths relative to the beam group). */
  vars: Record<string, OracleValue>;
}

/** A value of a `vars` variable with GEDI's no-data value as null (element by element for a 2-D one). */
function noData(value: OracleValue): OracleValue {
  if (Array.isArray(value)) return value.map((v) => (v === GEDI_NO_DATA ? null : v));
  return value === GEDI_NO_DATA ? null : value;
}

/**
 * Every GEDI L2A shot of `files` inside `aoiGeoJSON` (boundary inclusive, turf `booleanPointInPolygon` on
 * lat_lowestmode/lon_lowestmode), optionally within a time range, a set of beams and the quality filter.
 * Absent beams are skipped. Rows are ordered by granule_id, beam (BEAM0000..BEAM1011, the generator's
 * GEDI_BEAMS), delta_time, then
 * shot_number.
 *
 * @param files local GEDI02_A granule paths
 * @param aoiGeoJSON a GeoJSON Polygon or MultiPolygon (or a Feature of one)
 */
export async function bruteForceGedi02a(
  files: string[],
  aoiGeoJSON: object,
  opts: GediOracleOptions = {},
): Promise<GediOracleRow[]> {
  const area = aoiGeoJSON as Area;
  const timeOf = timeFilter(opts);
  const beams = GEDI_BEAMS.filter((b) => !opts.beams || opts.beams.includes(b));
  const percentiles = opts.rh === undefined || opts.rh === "all" ? undefined : opts.rh;
  return eachGranule(files, (file, granule_id) =>
    beams.flatMap((beam) => {
      if (!datasetAt(file, `${beam}/lat_lowestmode`)) return [];
      const read = (name: string) => readColumn(file, `${beam}/${name}`).values;
      const [lat, lon, deltaTime, low, high, sensitivity, quality, degrade] = [
        "lat_lowestmode",
        "lon_lowestmode",
        "delta_time",
        "elev_lowestmode",
        "elev_highestreturn",
        "sensitivity",
        "quality_flag",
        "degrade_flag",
      ].map((name) => read(name) as ArrayLike<number>);
      const shots = read("shot_number") as BigUint64Array;
      const rh = readColumn(file, `${beam}/rh`);
      const extras = (opts.vars ?? []).map((name) => [name, rowReader(file, `${beam}/${name}`)] as const);
      const rows: GediOracleRow[] = [];
      for (let i = 0; i < lat.length; i++) {
        if (opts.quality && (quality[i] !== 1 || degrade[i] !== 0)) continue;
        const time_ns = timeOf(deltaTime[i]!);
        if (time_ns === undefined || !insideArea(area, lon[i]!, lat[i]!)) continue;
        const heights = Array.from({ length: rh.width }, (_, p) => orNull(rh.values[i * rh.width + p]!));
        const vars: Record<string, OracleValue> = {};
        for (const p of percentiles ?? []) vars[`rh${p}`] = heights[p] ?? null;
        for (const [name, at] of extras) vars[name] = noData(at(i));
        rows.push({
          granule_id,
          beam,
          lat: lat[i]!,
          lon: lon[i]!,
          time_ns,
          shot_number: shots[i]!,
          elev_lowestmode: orNull(low[i]!),
          elev_highestreturn: orNull(high[i]!),
          sensitivity: sensitivity[i]!,
          quality_flag: quality[i]!,
          degrade_flag: degrade[i]!,
          ...(percentiles ? {} : { rh: heights }),
          vars,
        });
      }
      const order = (a: GediOracleRow, b: GediOracleRow) =>
        a.time_ns < b.time_ns ? -1 : a.time_ns > b.time_ns ? 1 : a.shot_number < b.shot_number ? -1 : 1;
      return rows.sort(order);
    }),
  );
}
