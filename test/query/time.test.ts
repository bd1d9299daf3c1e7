import { describe, expect, it } from "vitest";
import { GPS_SINCE_2018, gpsTimeScale } from "../../src/products/time.js";
import { unixNsInto } from "../../src/query/time.js";

/** Deterministic values in [lo, hi): a linear congruential sequence. */
function values(n: number, lo: number, hi: number): Float64Array {
  const out = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out[i] = lo + ((hi - lo) * x) / 2 ** 31;
  }
  return out;
}

describe("float time conversion", () => {
  it("equals TimeScale.toUnixNs bit for bit on masked rows, leaving the others", () => {
    // delta_time over the mission (2018-2030), fractional seconds.
    const dt = values(20_000, 0, 4e8);
    dt[0] = 0;
    dt[1] = 123_456_789.123_456_79;
    const mask = new Uint8Array(dt.length).map((_, i) => (i % 7 === 3 ? 0 : 1));
    const out = new BigInt64Array(dt.length);
    const count = unixNsInto(GPS_SINCE_2018, dt, mask, out, {});
    expect(count).toBe(mask.reduce((s, m) => s + m, 0));
    for (let i = 0; i < dt.length; i++) {
      expect(out[i]).toBe(i % 7 === 3 ? 0n : GPS_SINCE_2018.toUnixNs(dt[i]!));
    }
  });

  it("keeps [start, end) exactly at the nanosecond", () => {
    const dt = Float64Array.from([100, 100.000000001, 200, 299.999999999, 300]);
    const ns = [...dt].map((v) => GPS_SINCE_2018.toUnixNs(v));
    const mask = new Uint8Array(dt.length).fill(1);
    const out = new BigInt64Array(dt.length);
    const count = unixNsInto(GPS_SINCE_2018, dt, mask, out, { startNs: ns[1], endNs: ns[4] });
    expect([...mask]).toEqual([0, 1, 1, 1, 0]);
    expect(count).toBe(3);
  });

  it("takes the per-row path across a leap second, with the same answer", () => {
    // GPS seconds since an epoch just before the 2017-01-01 leap second: the shift changes mid-rows.
    const scale = gpsTimeScale(1_167_264_000);
    const dt = Float64Array.from([0, 10, 17.5, 18, 18.25, 40]);
    const mask = new Uint8Array(dt.length).fill(1);
    const out = new BigInt64Array(dt.length);
    unixNsInto(scale, dt, mask, out, {});
    expect([...out]).toEqual([...dt].map((v) => scale.toUnixNs(v)));
    expect(out[3]! - out[2]!).toBe(-500_000_000n);
  });
});
