import { describe, expect, it } from "vitest";
import {
  beamLayout,
  dateToDeltaTime,
  deltaTimeToUnixNs,
  parseAtl06Name,
  trackId,
} from "../../src/products/atl06.js";

describe("ATL06 product knowledge", () => {
  it("parses granule names", () => {
    const name = parseAtl06Name("ATL06_20230816161508_08782002_006_02");
    expect(name).toMatchObject({
      rgt: 878,
      cycle: 20,
      region: 2,
      release: "006",
      version: "02",
      trackField: "08782002",
    });
    expect(name!.start.toISOString()).toBe("2023-08-16T16:15:08.000Z");
    expect(parseAtl06Name("processed_ATL06_20190222031203_08500210_001_01.h5")?.rgt).toBe(850);
    expect(parseAtl06Name("ATL03_20230816161508_08782002_006_02")).toBeUndefined();
    expect(trackId("08782002", "gt1l")).toBe("08782002_gt1l");
  });

  it("converts delta_time to UTC nanoseconds (checked against data_start_utc of real granules)", () => {
    // 177438185.57920742 s -> 2023-08-16T16:23:05.579207Z; 24710233.15795302 s -> 2018-10-13T23:57:13.157953Z.
    const a = deltaTimeToUnixNs(177438185.57920742);
    expect(new Date(Number(a / 1_000_000n)).toISOString()).toBe("2023-08-16T16:23:05.579Z");
    expect(a / 1000n).toBe(1692202985579207n);
    const b = deltaTimeToUnixNs(24710233.15795302);
    expect(b / 1000n).toBe(1539475033157953n);
    expect(deltaTimeToUnixNs(0)).toBe(1514764800000000000n);
    expect(dateToDeltaTime(new Date("2018-01-01T00:00:10Z"))).toBe(10);
  });

  it("maps beams to spots and strength by spacecraft orientation", () => {
    expect(beamLayout("gt1l", 0)).toEqual({ spot: 1, strong: true });
    expect(beamLayout("gt1r", 0)).toEqual({ spot: 2, strong: false });
    expect(beamLayout("gt3r", 0)).toEqual({ spot: 6, strong: false });
    expect(beamLayout("gt1l", 1)).toEqual({ spot: 6, strong: false });
    expect(beamLayout("gt1r", 1)).toEqual({ spot: 5, strong: true });
    expect(beamLayout("gt3r", 1)).toEqual({ spot: 1, strong: true });
    expect(beamLayout("gt1l", 2)).toBeUndefined();
    expect(beamLayout("gt4l", 0)).toBeUndefined();
  });
});
