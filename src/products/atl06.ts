/** ICESat-2 ATL06 (Land Ice Height), every release: the product profile and its name conventions. */
import {
  findIcesat2Beams,
  ICESAT2_BEAM_KINDS,
  ICESAT2_BEAM_PAIRS,
  ICESAT2_BEAMS,
  ICESAT2_NO_DATA,
  icesat2BeamLayout,
  icesat2BoundingPolygon,
  icesat2Layout,
  icesat2TrackId,
  readIcesat2Granule,
} from "./icesat2.js";
import { type ProductProfile, registerProfile } from "./profile.js";
import { GPS_SINCE_2018 } from "./time.js";

/** The QA flag value of a best-quality segment. */
const BEST_QUALITY = 0;

/** ICESat-2 ATL06: 40 m land-ice segments at 20 m posting under `/gtx/land_ice_segments`. */
export const ATL06: ProductProfile = {
  name: "ATL06",
  title: "ICESat-2 ATL06 Land Ice Height",
  shortNames: ["ATL06"],
  rowNoun: ["segment", "segments"],
  beams: ICESAT2_BEAMS,
  beamKinds: ICESAT2_BEAM_KINDS,
  rows: "land_ice_segments",
  coordinates: { lat: "latitude", lon: "longitude", time: "delta_time" },
  time: GPS_SINCE_2018,
  // Segments are written in along-track order, the order they were measured in.
  timeSorted: true,
  noData: ICESAT2_NO_DATA,
  columns: [
    { name: "h_li", type: "float32", source: { kind: "dataset", path: "h_li" } },
    { name: "h_li_sigma", type: "float32", source: { kind: "dataset", path: "h_li_sigma" } },
    {
      name: "atl06_quality_summary",
      type: "int8",
      source: { kind: "dataset", path: "atl06_quality_summary" },
    },
    { name: "track_id", type: "utf8", source: { kind: "beam", value: icesat2TrackId } },
    "granule_id",
    "product",
    "beam",
    { name: "rgt", type: "int16", source: { kind: "beam", value: (g) => g.track } },
    { name: "cycle", type: "int16", source: { kind: "beam", value: (g) => g.cycle } },
    { name: "spot", type: "int8", source: { kind: "beam", value: (g, beam) => icesat2Layout(beam, g).spot } },
    { name: "segment_id", type: "int32", source: { kind: "dataset", path: "segment_id" } },
  ],
  filters: [
    {
      name: "quality",
      description: "keep only best-quality segments (atl06_quality_summary == 0)",
      sources: () => [{ kind: "dataset", path: "atl06_quality_summary" }],
      apply(_values, [flags], keep) {
        for (let i = 0; i < keep.length; i++) if (keep[i] && flags![i] !== BEST_QUALITY) keep[i] = 0;
      },
    },
  ],
  exampleVars: ["ground_track/x_atc", "fit_statistics/n_fit_photons"],
  plot: { height: "h_li", units: "m", pairs: ICESAT2_BEAM_PAIRS, alongTrack: "x_atc" },
  findBeams: (file, opts) => findIcesat2Beams(file, "land_ice_segments", opts),
  readGranule: (file, ctx) =>
    readIcesat2Granule(file, {
      ...ctx,
      product: "ATL06",
      firstTime: `/${ctx.beams[0]}/land_ice_segments/delta_time`,
    }),
  boundingPolygon: icesat2BoundingPolygon,
  beamLayout: icesat2Layout,
  trackId: icesat2TrackId,
};

registerProfile(ATL06);

/** Fields of an ATL06 file name `ATL06_YYYYMMDDhhmmss_RRRRCCGG_VVV_RR.h5`. */
export interface Atl06Name {
  /** Acquisition start, UTC. */
  start: Date;
  rgt: number;
  cycle: number;
  region: number;
  /** Release, e.g. "006". */
  release: string;
  /** Processing version, e.g. "01". */
  version: string;
  /** The `RRRRCCGG` field, the prefix of every track id. */
  trackField: string;
}

const NAME_PATTERN =
  /^(?:processed_)?ATL06_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_(\d{4})(\d{2})(\d{2})_(\d{3})_(\d{2})/;

/** Parses an ATL06 granule id or file name; undefined when it does not follow the pattern. */
export function parseAtl06Name(name: string): Atl06Name | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, rgt, cycle, region, release, version] = m as unknown as string[];
  return {
    start: new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!)),
    rgt: Number(rgt),
    cycle: Number(cycle),
    region: Number(region),
    release: release!,
    version: version!,
    trackField: `${rgt}${cycle}${region}`,
  };
}

/** Track id of a beam: the granule's `RRRRCCGG` field and the beam, e.g. `08782002_gt1l`. */
export function trackId(trackField: string, beam: string): string {
  return `${trackField}_${beam}`;
}

/**
 * Spot number (1-6) and strength of a beam for a spacecraft orientation (0 backward, 1 forward),
 * as in the ATL06 beam attributes; undefined during a yaw flip (2) or for an unknown beam.
 */
export const beamLayout = icesat2BeamLayout;

/**
 * Converts `delta_time` (GPS seconds since the ATLAS epoch) to integer nanoseconds since the Unix
 * epoch, UTC. With no leap second since 2017 this is 2018-01-01T00:00:00Z + delta_time.
 */
export function deltaTimeToUnixNs(deltaTime: number): bigint {
  return GPS_SINCE_2018.toUnixNs(deltaTime);
}

/** Converts a UTC date to `delta_time` seconds since the ATLAS epoch. */
export function dateToDeltaTime(date: Date): number {
  return GPS_SINCE_2018.fromDate(date);
}
