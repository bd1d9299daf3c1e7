/** ICESat-2 ATL06 (Land Ice Height) product knowledge: beams, dataset paths, epoch, track ids. */

/** The six ATLAS ground-track beams, in product order. */
export const ATL06_BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] as const;

/** Seconds from the Unix epoch to the ATLAS SDP epoch 2018-01-01T00:00:00Z (UTC; no leap second since 2017). */
export const ATLAS_EPOCH_UNIX_SECONDS = 1_514_764_800;

/** Per-segment group of a beam, relative to the file root. */
export function segmentGroup(beam: string): string {
  return `/${beam}/land_ice_segments`;
}

/** Variables read for every query: coordinates and time, relative to the segment group. */
export const ATL06_COORDINATES = { lat: "latitude", lon: "longitude", time: "delta_time" } as const;

/** Variables in every ATL06 result besides coordinates and time (DESIGN §4). */
export const ATL06_DEFAULT_VARS = ["h_li", "h_li_sigma", "atl06_quality_summary", "segment_id"] as const;

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
export function beamLayout(beam: string, scOrient: number): { spot: number; strong: boolean } | undefined {
  const i = (ATL06_BEAMS as readonly string[]).indexOf(beam);
  if (i < 0 || (scOrient !== 0 && scOrient !== 1)) return undefined;
  const left = i % 2 === 0;
  if (scOrient === 0) return { spot: i + 1, strong: left };
  return { spot: 6 - i, strong: !left };
}

/** `atlas_sdp_gps_epoch`: GPS seconds (since 1980-01-06T00:00:00Z) of the ATLAS epoch 2018-01-01T00:00:00Z. */
export const ATLAS_SDP_GPS_EPOCH = 1_198_800_018;

/** Unix seconds of the GPS epoch 1980-01-06T00:00:00Z. */
const GPS_EPOCH_UNIX_SECONDS = 315_964_800;

/**
 * GPS-UTC offsets (seconds) from the GPS second at which each took effect. Only the entries since
 * the ATLAS epoch matter; a future leap second is added here and every later time shifts by it.
 */
const LEAP_SECONDS: readonly { fromGpsSeconds: number; gpsMinusUtc: number }[] = [
  { fromGpsSeconds: 1_167_264_018, gpsMinusUtc: 18 }, // 2017-01-01T00:00:00Z
];

/** GPS-UTC in seconds at a GPS time. */
function gpsMinusUtc(gpsSeconds: number): number {
  let offset = 17;
  for (const leap of LEAP_SECONDS) if (gpsSeconds >= leap.fromGpsSeconds) offset = leap.gpsMinusUtc;
  return offset;
}

/**
 * Converts `delta_time` (GPS seconds since the ATLAS epoch) to integer nanoseconds since the Unix
 * epoch, UTC. With no leap second since 2017 this is 2018-01-01T00:00:00Z + delta_time.
 */
export function deltaTimeToUnixNs(deltaTime: number): bigint {
  const gps = deltaTime + ATLAS_SDP_GPS_EPOCH;
  const shiftSeconds = GPS_EPOCH_UNIX_SECONDS + ATLAS_SDP_GPS_EPOCH - gpsMinusUtc(gps);
  return BigInt(Math.round(deltaTime * 1e9)) + BigInt(shiftSeconds) * 1_000_000_000n;
}

/** Converts a UTC date to `delta_time` seconds since the ATLAS epoch. */
export function dateToDeltaTime(date: Date): number {
  return date.getTime() / 1000 - ATLAS_EPOCH_UNIX_SECONDS;
}
