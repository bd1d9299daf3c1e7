import { booleanPointInPolygon } from "@turf/turf";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import h5wasm from "h5wasm/node";
import { granuleIdOf, type OracleValue, rowReader } from "./oracle-atl08.js";

/*
 * The brute-force correctness oracle for query tests: read every ATL06 land-ice segment of every
 * granule with the HDF5 C library (h5wasm) and test each one against the AOI with turf, so that
 * neither our HDF5 reader nor our point-in-polygon kernel is involved in the expected answer.
 */

/** ATL06 ground-track beams, in the order rows are returned. */
export const ATL06_BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] as const;

/** ATLAS standard data product epoch (2018-01-01T00:00:00Z) in ns since the Unix epoch. */
const ATLAS_EPOCH_NS = 1514764800000000000n;

/** The float32 fill value of ATL06 `h_li` and `h_li_sigma`. */
const ATL06_FILL = Math.fround(3.4028235e38);

/** One land-ice segment as a query result row should report it. */
export interface OracleRow {
  /** File name without `.h5`. */
  granule_id: string;
  beam: string;
  segment_id: number;
  /** Degrees. */
  lat: number;
  /** Degrees. */
  lon: number;
  /** ns since the Unix epoch, UTC: BigInt(round(delta_time * 1e9)) + 2018-01-01 in ns. */
  time_ns: bigint;
  /** Metres; null where the file holds the fill value. */
  h_li: number | null;
  /** Metres; null where the file holds the fill value. */
  h_li_sigma: number | null;
  atl06_quality_summary: number;
  /** Values of {@link OracleOptions.vars} by the name given (null where the granule lacks one); only with `vars`. */
  vars?: Record<string, OracleValue>;
}

/** Options of {@link bruteForceAtl06}. */
export interface OracleOptions {
  /** Keep rows with time >= start (inclusive). Default: no lower bound. */
  start?: Date;
  /** Keep rows with time < end (exclusive). Default: no upper bound. */
  end?: Date;
  /** Only these beams. Default: all six. */
  beams?: string[];
  /**
   * More variables per row, paths relative to `land_ice_segments`: fill values and variables the
   * granule lacks (older releases, subsetted files) give null. Default none.
   */
  vars?: string[];
}

type Area = Polygon | MultiPolygon | Feature<Polygon | MultiPolygon>;

/** Reads a whole 1-D numeric dataset, or throws naming the file and path. */
function readNumbers(file: InstanceType<typeof h5wasm.File>, path: string): ArrayLike<number> {
  const dataset = file.get(path);
  if (!(dataset instanceof h5wasm.Dataset)) throw new Error(`${file.filename}: ${path} is not a dataset`);
  const value = dataset.value;
  if (!ArrayBuffer.isView(value) || value instanceof DataView || value instanceof BigInt64Array) {
    throw new Error(`${file.filename}: ${path} is not a numeric array`);
  }
  if (value instanceof BigUint64Array) throw new Error(`${file.filename}: ${path} is a 64-bit integer array`);
  return value;
}

/**
 * The producer's granule id: METADATA fileName (else the file's name) without its extension and a
 * subsetter's `processed_` prefix.
 */
function granuleIdFor(path: string): string {
  const file = new h5wasm.File(path, "r");
  try {
    return granuleIdOf(file, path).replace(/^processed_/, "");
  } finally {
    file.close();
  }
}

function dropFill(v: number): number | null {
  return v === ATL06_FILL ? null : v;
}

/**
 * Every ATL06 land-ice segment of `files` inside `aoiGeoJSON` (boundary inclusive, turf
 * `booleanPointInPolygon`), optionally within a time range and a set of beams. Absent beams are
 * skipped. Rows are ordered by granule_id, beam (gt1l..gt3r), delta_time, then segment_id.
 *
 * @param files local ATL06 granule paths
 * @param aoiGeoJSON a GeoJSON Polygon or MultiPolygon (or a Feature of one)
 */
export async function bruteForceAtl06(
  files: string[],
  aoiGeoJSON: object,
  opts: OracleOptions = {},
): Promise<OracleRow[]> {
  await h5wasm.ready;
  const area = aoiGeoJSON as Area;
  const startNs = opts.start ? BigInt(opts.start.getTime()) * 1_000_000n : undefined;
  const endNs = opts.end ? BigInt(opts.end.getTime()) * 1_000_000n : undefined;
  const beams = ATL06_BEAMS.filter((b) => !opts.beams || opts.beams.includes(b));
  const granules = files
    .map((path) => ({ path, granule_id: granuleIdFor(path) }))
    .sort((a, b) => (a.granule_id < b.granule_id ? -1 : a.granule_id > b.granule_id ? 1 : 0));
  const rows: OracleRow[] = [];
  for (const { path, granule_id } of granules) {
    const file = new h5wasm.File(path, "r");
    try {
      for (const beam of beams) {
        if (!file.get(`${beam}/land_ice_segments`)) continue;
        const read = (name: string) => readNumbers(file, `${beam}/land_ice_segments/${name}`);
        const lat = read("latitude");
        const lon = read("longitude");
        const deltaTime = read("delta_time");
        const segmentId = read("segment_id");
        const hLi = read("h_li");
        // a subsetted file may lack h_li_sigma: null in every row
        const hLiSigma = file.get(`${beam}/land_ice_segments/h_li_sigma`) ? read("h_li_sigma") : undefined;
        const extras = (opts.vars ?? []).map((name) => {
          const path = `${beam}/land_ice_segments/${name}`;
          return [name, file.get(path) ? rowReader(file, path) : () => null] as const;
        });
        const quality = read("atl06_quality_summary");
        const beamRows: { row: OracleRow; dt: number }[] = [];
        for (let i = 0; i < lat.length; i++) {
          const time_ns = BigInt(Math.round(deltaTime[i]! * 1e9)) + ATLAS_EPOCH_NS;
          if (startNs !== undefined && time_ns < startNs) continue;
          if (endNs !== undefined && time_ns >= endNs) continue;
          if (!booleanPointInPolygon([lon[i]!, lat[i]!], area, { ignoreBoundary: false })) continue;
          beamRows.push({
            dt: deltaTime[i]!,
            row: {
              granule_id,
              beam,
              segment_id: segmentId[i]!,
              lat: lat[i]!,
              lon: lon[i]!,
              time_ns,
              h_li: dropFill(hLi[i]!),
              h_li_sigma: hLiSigma ? dropFill(hLiSigma[i]!) : null,
              atl06_quality_summary: quality[i]!,
              ...(opts.vars ? { vars: Object.fromEntries(extras.map(([name, at]) => [name, at(i)])) } : {}),
            },
          });
        }
        beamRows.sort((a, b) => a.dt - b.dt || a.row.segment_id - b.row.segment_id);
        for (const { row } of beamRows) rows.push(row);
      }
    } finally {
      file.close();
    }
  }
  return rows;
}
