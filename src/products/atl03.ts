/** ICESat-2 ATL03 (Global Geolocated Photon Data), releases 006 and 007: the product profile. */
import { InvalidQueryError } from "../errors.js";
import { ATL06 } from "./atl06.js";
import {
  findIcesat2Beams,
  ICESAT2_BEAM_KINDS,
  ICESAT2_BEAM_PAIRS,
  ICESAT2_BEAMS,
  ICESAT2_NO_DATA,
  icesat2BoundingPolygon,
  icesat2Layout,
  icesat2TrackId,
  readIcesat2Granule,
} from "./icesat2.js";
import { type FilterValue, type ProductProfile, type ProfileFilter, registerProfile } from "./profile.js";
import { GPS_SINCE_2018 } from "./time.js";

/** Surface types of the `signal_conf_ph` columns (and `geolocation/surf_type`), in file order. */
export const ATL03_SURFACES = ["land", "ocean", "sea_ice", "land_ice", "inland_water"] as const;

/** Signal confidence levels: -2 possible transmitter echo, -1 surface type not considered, 0 noise ... 4 high. */
const CONFIDENCE_MIN = -2;
const CONFIDENCE_MAX = 4;

/** The `quality_ph` value of a nominal photon (others are possible afterpulses, impulse-response effects, TEP). */
const NOMINAL = 0;

/** The per-beam columns every ICESat-2 result has, as ATL06 defines them: track_id, the shared ones, rgt, cycle, spot. */
const ICESAT2_BEAM_COLUMNS = ATL06.columns.filter(
  (c) => typeof c === "string" || ["track_id", "rgt", "cycle", "spot"].includes(c.name),
);

/**
 * The column of `signal_conf_ph` for a surface type given by name or index (default land, 0), as
 * SlideRule's `srt` numbers them.
 * @throws InvalidQueryError for anything else.
 */
export function surfaceColumn(surface: FilterValue | undefined): number {
  if (surface === undefined) return 0;
  const text = String(surface).trim();
  const byName = (ATL03_SURFACES as readonly string[]).indexOf(text);
  const index = byName >= 0 ? byName : /^[0-4]$/.test(text) ? Number(text) : -1;
  if (index < 0) {
    throw new InvalidQueryError(`srt must be one of ${ATL03_SURFACES.join(", ")} (or 0-4), got "${text}"`);
  }
  return index;
}

/**
 * Parses the `cnf` filter's value.
 * @throws InvalidQueryError unless it is an integer from -2 to 4.
 */
function parseConfidence(text: string): FilterValue {
  const level = Number(text);
  if (text.trim() === "" || !Number.isInteger(level) || level < CONFIDENCE_MIN || level > CONFIDENCE_MAX) {
    throw new InvalidQueryError(
      `cnf must be an integer from ${CONFIDENCE_MIN} to ${CONFIDENCE_MAX}, got "${text}"`,
    );
  }
  return level;
}

/** The product's quality filter: nominal photons only. */
const NOMINAL_PHOTONS: ProfileFilter = {
  name: "quality",
  description: "keep only nominal photons (quality_ph == 0: no afterpulse, impulse-response or TEP flag)",
  sources: () => [{ kind: "dataset", path: "quality_ph" }],
  apply(_values, [quality], keep) {
    for (let i = 0; i < keep.length; i++) if (keep[i] && quality![i] !== NOMINAL) keep[i] = 0;
  },
};

/**
 * ICESat-2 ATL03: every photon under `/gtx/heights` (float64 `lat_ph`/`lon_ph`, float32 `h_ph`), with
 * `signal_conf_ph` (N, 5) one confidence per surface type, of which the result holds the `--srt` one;
 * `x_atc` is the segment's `segment_dist_x` plus the photon's `dist_ph_along`, `y_atc` its `dist_ph_across`. The 20 m geolocation segments under
 * `/gtx/geolocation` and `/gtx/geophys_corr` are the parent rate: segment k holds photons
 * `ph_index_beg[k] - 1` to `ph_index_beg[k] + segment_ph_cnt[k] - 2` (1-based, 0 when it has none).
 * Release 007 has the same paths (photon chunks of 100,000, paged files, uint16 `weight_ph`).
 */
export const ATL03: ProductProfile = {
  name: "ATL03",
  title: "ICESat-2 ATL03 Global Geolocated Photon Data",
  shortNames: ["ATL03"],
  rowNoun: ["photon", "photons"],
  beams: ICESAT2_BEAMS,
  beamKinds: ICESAT2_BEAM_KINDS,
  rows: "heights",
  coordinates: { lat: "lat_ph", lon: "lon_ph", time: "delta_time" },
  time: GPS_SINCE_2018,
  noData: ICESAT2_NO_DATA,
  parent: {
    first: "../geolocation/ph_index_beg",
    count: "../geolocation/segment_ph_cnt",
    base: 1,
    // A segment is 20 m along track and the footprint ~11 m wide; its reference photon is one of its
    // photons (the signal photon nearest its centre), so every photon lies within ~25 m and ~3 ms of it.
    locate: {
      lat: "../geolocation/reference_photon_lat",
      lon: "../geolocation/reference_photon_lon",
      time: "../geolocation/delta_time",
      radius: 50,
      timeRadius: 0.01,
    },
  },
  columns: [
    { name: "h_ph", type: "float32", source: { kind: "dataset", path: "h_ph" } },
    {
      name: "x_atc",
      type: "float64",
      source: {
        kind: "sum",
        of: [
          { kind: "parent", path: "../geolocation/segment_dist_x" },
          { kind: "dataset", path: "dist_ph_along" },
        ],
      },
    },
    { name: "y_atc", type: "float64", source: { kind: "dataset", path: "dist_ph_across" } },
    {
      name: "signal_conf_ph",
      type: "int8",
      source: { kind: "dataset", path: "signal_conf_ph", column: (filters) => surfaceColumn(filters.srt) },
      metadata: (filters) => ({ surface_type: ATL03_SURFACES[surfaceColumn(filters.srt)]! }),
    },
    { name: "quality_ph", type: "int8", source: { kind: "dataset", path: "quality_ph" } },
    ...ICESAT2_BEAM_COLUMNS,
    { name: "segment_id", type: "int32", source: { kind: "parent", path: "../geolocation/segment_id" } },
  ],
  filters: [
    {
      name: "srt",
      description: `surface type whose signal confidence signal_conf_ph holds and --cnf tests: ${ATL03_SURFACES.join(", ")} (default land)`,
      placeholder: "<surface>",
      example: "land_ice",
      parse: (text) => ATL03_SURFACES[surfaceColumn(text)]!,
      sources: () => [],
      apply() {
        // a parameter of signal_conf_ph and --cnf, which read the column it names: nothing to drop here
      },
    },
    {
      name: "cnf",
      description: "keep only photons whose signal confidence for --srt is at least <n> (-2 to 4; 4 high)",
      placeholder: "<n>",
      example: "3",
      parse: parseConfidence,
      sources: (values) => [{ kind: "dataset", path: "signal_conf_ph", column: surfaceColumn(values.srt) }],
      apply(values, [confidence], keep) {
        const min = Number(values.cnf);
        for (let i = 0; i < keep.length; i++) if (keep[i] && confidence![i]! < min) keep[i] = 0;
      },
    },
    NOMINAL_PHOTONS,
    // SlideRule's name for the same filter.
    { ...NOMINAL_PHOTONS, name: "quality-ph", description: "the same as --quality (quality_ph == 0)" },
  ],
  exampleVars: ["dist_ph_along", "../geophys_corr/dem_h"],
  plot: { height: "h_ph", units: "m", pairs: ICESAT2_BEAM_PAIRS, classes: "signal_conf_ph" },
  findBeams: (file, opts) => findIcesat2Beams(file, "heights", opts),
  readGranule: (file, ctx) =>
    readIcesat2Granule(file, { ...ctx, product: "ATL03", firstTime: `/${ctx.beams[0]}/heights/delta_time` }),
  boundingPolygon: icesat2BoundingPolygon,
  beamLayout: icesat2Layout,
  trackId: icesat2TrackId,
};

registerProfile(ATL03);
