/** Nanosecond times as ISO 8601 text (no apache-arrow: the library API loads it before any query). */

const NS_PER_MS = 1_000_000n;

/**
 * ISO 8601 UTC text of nanoseconds since the Unix epoch, always with nine fractional digits.
 * @example
 * isoFromNs(1_561_420_800_000_000_001n); // "2019-06-25T00:00:00.000000001Z"
 */
export function isoFromNs(ns: bigint): string {
  let ms = ns / NS_PER_MS;
  let rest = ns % NS_PER_MS;
  if (rest < 0n) {
    ms -= 1n;
    rest += NS_PER_MS;
  }
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, -1)}${String(rest).padStart(6, "0")}Z`;
}
