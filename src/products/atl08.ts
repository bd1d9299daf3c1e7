/** ICESat-2 ATL08 (Land and Vegetation Height), release 006 layout: the product profile. */
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
import { type FilterValue, type ProductProfile, registerProfile } from "./profile.js";
import { GPS_SINCE_2018 } from "./time.js";

/** The fill value of ATL08 float32 variables (`h_canopy`, `h_te_best_fit`...): the largest finite float32. */
export const ATL08_FLOAT_FILL = Math.fround(3.4028235e38);

/** The per-beam columns every ICESat-2 result has, as ATL06 defines them: track_id, the shared ones, rgt, cycle, spot. */
const ICESAT2_BEAM_COLUMNS = ATL06.columns.filter(
  (c) => typeof c === "string" || ["track_id", "rgt", "cycle", "spot"].includes(c.name),
);

/** `canopy_rh_conf` values: 0 canopy < 5%, 1 canopy > 5% but ground < 5%, 2 both > 5% of the photons. */
const RH_CONF_LEVELS = [0, 1, 2] as const;

/**
 * Parses the `rh-conf` filter's value.
 * @throws InvalidQueryError unless it is 0, 1 or 2.
 */
function parseRhConf(text: string): FilterValue {
  const level = Number(text);
  if (text.trim() === "" || !RH_CONF_LEVELS.includes(level as 0 | 1 | 2)) {
    throw new InvalidQueryError(`rh-conf must be one of ${RH_CONF_LEVELS.join(", ")}, got "${text}"`);
  }
  return level;
}

/**
 * ICESat-2 ATL08: 100 m land segments under `/gtx/land_segments`, each five 20 m geolocation segments
 * (`segment_id_beg`..`segment_id_end`); float32 latitude and longitude; canopy heights under `canopy/` and
 * terrain heights under `terrain/` (float32, 3.4028235e38 where there is none); 20 m variables are (N, 5),
 * one list of five values a row (`h_canopy_20m`, `h_te_best_fit_20m`; others with `--vars`).
 */
export const ATL08: ProductProfile = {
  name: "ATL08",
  title: "ICESat-2 ATL08 Land and Vegetation Height",
  shortNames: ["ATL08"],
  rowNoun: ["land segment", "land segments"],
  beams: ICESAT2_BEAMS,
  beamKinds: ICESAT2_BEAM_KINDS,
  rows: "land_segments",
  coordinates: { lat: "latitude", lon: "longitude", time: "delta_time" },
  time: GPS_SINCE_2018,
  noData: ICESAT2_NO_DATA,
  columns: [
    { name: "h_canopy", type: "float32", source: { kind: "dataset", path: "canopy/h_canopy" } },
    { name: "h_te_best_fit", type: "float32", source: { kind: "dataset", path: "terrain/h_te_best_fit" } },
    { name: "canopy_rh_conf", type: "int8", source: { kind: "dataset", path: "canopy/canopy_rh_conf" } },
    { name: "night_flag", type: "int32", source: { kind: "dataset", path: "night_flag" } },
    ...ICESAT2_BEAM_COLUMNS,
    { name: "segment_id_beg", type: "int32", source: { kind: "dataset", path: "segment_id_beg" } },
    {
      name: "h_canopy_20m",
      type: "float32",
      list: true,
      source: { kind: "dataset", path: "canopy/h_canopy_20m" },
    },
    {
      name: "h_te_best_fit_20m",
      type: "float32",
      list: true,
      source: { kind: "dataset", path: "terrain/h_te_best_fit_20m" },
    },
  ],
  exampleVars: ["terrain/h_te_median", "latitude_20m"],
  filters: [
    {
      name: "canopy",
      description: "keep only segments with a canopy height (h_canopy not the fill value)",
      sources: () => [{ kind: "dataset", path: "canopy/h_canopy" }],
      apply(_values, [heights], keep) {
        for (let i = 0; i < keep.length; i++) if (keep[i] && heights![i] === ATL08_FLOAT_FILL) keep[i] = 0;
      },
    },
    {
      name: "night",
      description:
        "keep only night-time segments (night_flag == 1), the ones with the least solar background",
      sources: () => [{ kind: "dataset", path: "night_flag" }],
      apply(_values, [night], keep) {
        for (let i = 0; i < keep.length; i++) if (keep[i] && night![i] !== 1) keep[i] = 0;
      },
    },
    {
      name: "rh-conf",
      description: "keep only segments whose canopy_rh_conf is at least <n> (0, 1 or 2)",
      placeholder: "<n>",
      example: "1",
      parse: parseRhConf,
      sources: () => [{ kind: "dataset", path: "canopy/canopy_rh_conf" }],
      apply(values, [conf], keep) {
        const min = Number(values["rh-conf"]);
        // 127 is the int8 fill value: no confidence, so never kept.
        for (let i = 0; i < keep.length; i++) {
          if (keep[i] && !(conf![i]! >= min && conf![i] !== 127)) keep[i] = 0;
        }
      },
    },
  ],
  plot: { height: "h_canopy", units: "m", pairs: ICESAT2_BEAM_PAIRS },
  findBeams: (file, opts) => findIcesat2Beams(file, "land_segments", opts),
  readGranule: (file, ctx) =>
    readIcesat2Granule(file, {
      ...ctx,
      product: "ATL08",
      firstTime: `/${ctx.beams[0]}/land_segments/delta_time`,
    }),
  boundingPolygon: icesat2BoundingPolygon,
  beamLayout: icesat2Layout,
  trackId: icesat2TrackId,
};

registerProfile(ATL08);
