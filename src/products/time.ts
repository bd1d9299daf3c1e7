/** Time scales of trajectory products: GPS seconds since a product epoch, converted to UTC. */
import type { TimeScale } from "./profile.js";

/** Unix seconds of the GPS epoch 1980-01-06T00:00:00Z. */
const GPS_EPOCH_UNIX_SECONDS = 315_964_800;

/**
 * GPS-UTC offsets (seconds) from the GPS second at which each took effect. Only the entries since
 * 2018 matter to the products here; a future leap second is added here and every later time
 * shifts by it.
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
 * GPS seconds (since 1980-01-06T00:00:00Z) of 2018-01-01T00:00:00Z UTC: ICESat-2's
 * `atlas_sdp_gps_epoch`, and the epoch GEDI's `delta_time` counts from too.
 */
export const GPS_SECONDS_2018 = 1_198_800_018;

/**
 * The time scale of values counting GPS seconds from `epochGpsSeconds` (GPS seconds since
 * 1980-01-06): UTC is the epoch's UTC plus the value, corrected for leap seconds after it.
 */
export function gpsTimeScale(epochGpsSeconds: number): TimeScale {
  const epochUnix = GPS_EPOCH_UNIX_SECONDS + epochGpsSeconds - gpsMinusUtc(epochGpsSeconds);
  return {
    toUnixNs(value: number): bigint {
      const gps = value + epochGpsSeconds;
      const shiftSeconds = GPS_EPOCH_UNIX_SECONDS + epochGpsSeconds - gpsMinusUtc(gps);
      return BigInt(Math.round(value * 1e9)) + BigInt(shiftSeconds) * 1_000_000_000n;
    },
    fromDate(date: Date): number {
      return date.getTime() / 1000 - epochUnix;
    },
  };
}

/** GPS seconds since 2018-01-01T00:00:00Z (ICESat-2 and GEDI `delta_time`). */
export const GPS_SINCE_2018: TimeScale = gpsTimeScale(GPS_SECONDS_2018);
