import { bbox } from "@turf/turf";
import type { File } from "h5wasm/node";
import type { Area, BruteForceOptions, OracleValue } from "./oracle-atl08.js";
import { datasetAt, eachGranule, insideArea, readColumn, rowReader, timeFilter } from "./oracle-atl08.js";

/*
 * Brute-force oracle for ATL03 queries: read every photon of every beam with the HDF5 C library
 * (h5wasm), find its 20 m segment from the segments' photon ranges, and test it against the AOI with
 * turf, so neither our HDF5 reader nor our point-in-polygon kernel is involved in the expected answer.
 */

/** ATL03 ground-track beams, in the order rows are returned. */
export const ATL03_BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] as const;

/** Columns of `signal_conf_ph`, one per surface type, in file order. */
export const ATL03_SURFACES = ["land", "ocean", "sea_ice", "land_ice", "inland_water"] as const;

/** Options of {@link bruteForceAtl03}. */
export interface Atl03OracleOptions extends BruteForceOptions {
  /** Surface type whose `signal_conf_ph` column is reported and filtered: 0..4 or its name. Default 0 (land). */
  surface?: number | (typeof ATL03_SURFACES)[number];
  /** Keep photons whose signal confidence for the surface type is at least this (-2..4). Default: all. */
  cnf?: number;
  /** Keep only photons with `quality_ph` 0 (nominal). Default false. */
  quality?: boolean;
  /**
   * More variables per photon, each under the name given: a path relative to `heights` (`weight_ph`,
   * `../geophys_corr/dem_h`), relative to the beam group (`geophys_corr/dem_h`), or a bare name looked up in
   * `heights`, then `geolocation`, then `geophys_corr`. A segment-rate variable is broadcast to the photons of
   * each segment; 2-D (N, k) variables give k-element arrays; fill values give null.
   */
  vars?: string[];
}

/** One photon as an ATL03 query result row should report it. */
export interface Atl03OracleRow {
  /** The producer's granule id: METADATA/DatasetIdentification fileName without `.h5` (else the file name). */
  granule_id: string;
  beam: string;
  /** Degrees. */
  lat: number;
  /** Degrees. */
  lon: number;
  /** ns since the Unix epoch, UTC: BigInt(round(delta_time * 1e9)) + 2018-01-01 in ns. */
  time_ns: bigint;
  /** Metres above the WGS 84 ellipsoid (the float32 value, widened). */
  h_ph: number;
  /** Along-track distance from the equator crossing, metres: the segment's `segment_dist_x` + `dist_ph_along`. */
  x_atc: number;
  /** Across-track distance from the reference ground track, metres: `dist_ph_across`. */
  y_atc: number;
  /** `signal_conf_ph` for the chosen surface type (-2..4). */
  signal_conf: number;
  quality_ph: number;
  /** `segment_id` of the 20 m segment whose photon range holds the photon. */
  segment_id: number;
  /** Index of the photon in its beam's `heights` datasets (0-based). */
  ph_index: number;
  /** Values of {@link Atl03OracleOptions.vars}, by the name given. */
  vars: Record<string, OracleValue>;
}

/**
 * The segment (0-based row of `geolocation`) of every photon, from `ph_index_beg` (1-based, 0 = no photons)
 * and `segment_ph_cnt`.
 * @throws if the ranges leave a photon out, overlap, or run past the photons.
 */
export function photonSegments(begin: ArrayLike<number | bigint>, count: ArrayLike<number>, photons: number) {
  const segmentOf = new Int32Array(photons).fill(-1);
  for (let k = 0; k < count.length; k++) {
    const n = count[k]!;
    if (n === 0) continue;
    const first = Number(begin[k]!) - 1;
    if (first < 0 || first + n > photons) {
      throw new Error(`segment row ${k}: photons [${first}, ${first + n}) outside 0..${photons}`);
    }
    for (let i = first; i < first + n; i++) {
      if (segmentOf[i] !== -1) throw new Error(`photon ${i} is in segment rows ${segmentOf[i]} and ${k}`);
      segmentOf[i] = k;
    }
  }
  const orphan = segmentOf.indexOf(-1);
  if (orphan >= 0) throw new Error(`photon ${orphan} is in no segment`);
  return segmentOf;
}

/** Path of a variable named as {@link Atl03OracleOptions.vars} allows, under beam `beam`. */
function atl03Path(file: File, beam: string, name: string): string {
  if (name.startsWith("../")) return `${beam}/${name.slice(3)}`;
  if (name.includes("/")) {
    return datasetAt(file, `${beam}/heights/${name}`) ? `${beam}/heights/${name}` : `${beam}/${name}`;
  }
  for (const group of ["heights", "geolocation", "geophys_corr"]) {
    if (datasetAt(file, `${beam}/${group}/${name}`)) return `${beam}/${group}/${name}`;
  }
  throw new Error(`${file.filename}: no ATL03 variable ${name} under ${beam}`);
}

function surfaceIndex(surface: Atl03OracleOptions["surface"]): number {
  const index = typeof surface === "string" ? ATL03_SURFACES.indexOf(surface) : (surface ?? 0);
  if (!Number.isInteger(index) || index < 0 || index > 4) throw new Error(`surface ${surface} is not 0..4`);
  return index;
}

/**
 * Every photon of `files` inside `aoiGeoJSON` (boundary inclusive, turf `booleanPointInPolygon`), optionally
 * within a time range, a set of beams, a minimum signal confidence for a surface type and nominal quality.
 * Absent beams are skipped. Rows are ordered by granule_id, beam (gt1l..gt3r), then photon index.
 *
 * @param files local ATL03 granule paths
 * @param aoiGeoJSON a GeoJSON Polygon or MultiPolygon (or a Feature of one)
 * @throws if a beam's segment photon ranges do not cover its photons exactly once.
 */
export async function bruteForceAtl03(
  files: string[],
  aoiGeoJSON: object,
  opts: Atl03OracleOptions = {},
): Promise<Atl03OracleRow[]> {
  const area = aoiGeoJSON as Area;
  const [west, south, east, north] = bbox(area);
  const timeOf = timeFilter(opts);
  const surface = surfaceIndex(opts.surface);
  const beams = ATL03_BEAMS.filter((b) => !opts.beams || opts.beams.includes(b));
  return eachGranule(files, (file, granule_id) =>
    beams.flatMap((beam) => {
      if (!datasetAt(file, `${beam}/heights/lat_ph`)) return [];
      const read = (path: string) => readColumn(file, `${beam}/${path}`).values as ArrayLike<number>;
      const lat = read("heights/lat_ph");
      const lon = read("heights/lon_ph");
      const deltaTime = read("heights/delta_time");
      const h = read("heights/h_ph");
      const along = read("heights/dist_ph_along");
      const across = read("heights/dist_ph_across");
      const quality = read("heights/quality_ph");
      const conf = read("heights/signal_conf_ph");
      const segmentId = read("geolocation/segment_id");
      const distX = read("geolocation/segment_dist_x");
      const begin = readColumn(file, `${beam}/geolocation/ph_index_beg`).values;
      const segmentOf = photonSegments(begin, read("geolocation/segment_ph_cnt"), lat.length);
      const extras = (opts.vars ?? []).map((name) => {
        const path = atl03Path(file, beam, name);
        const at = rowReader(file, path);
        const perSegment = datasetAt(file, path)?.shape?.[0] !== lat.length;
        return { name, at: perSegment ? (i: number) => at(segmentOf[i]!) : at };
      });
      const rows: Atl03OracleRow[] = [];
      for (let i = 0; i < lat.length; i++) {
        const [y, x] = [lat[i]!, lon[i]!];
        if (y < south || y > north || x < west || x > east) continue; // outside the AOI's bbox: turf says no too
        const signal_conf = conf[i * 5 + surface]!;
        if (opts.cnf !== undefined && signal_conf < opts.cnf) continue;
        if (opts.quality && quality[i] !== 0) continue;
        const time_ns = timeOf(deltaTime[i]!);
        if (time_ns === undefined || !insideArea(area, x, y)) continue;
        const k = segmentOf[i]!;
        rows.push({
          granule_id,
          beam,
          lat: y,
          lon: x,
          time_ns,
          h_ph: h[i]!,
          x_atc: distX[k]! + along[i]!,
          y_atc: across[i]!,
          signal_conf,
          quality_ph: quality[i]!,
          segment_id: segmentId[k]!,
          ph_index: i,
          vars: Object.fromEntries(extras.map(({ name, at }) => [name, at(i)])),
        });
      }
      return rows;
    }),
  );
}
