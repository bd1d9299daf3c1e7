import { describe, expect, it } from "vitest";
import { floorModel, runFloors } from "../../bench/lib/floor.js";
import { checkGoals } from "../../bench/lib/report.js";

describe("benchmark floor model", () => {
  it("adds waves of latency, bytes over the link and CPU over the cores", () => {
    // 300 requests through a pool of 128: 3 waves of 20 ms; 10 MB at 25 MB/s; 1.2 s of CPU on 2 cores.
    const floor = floorModel({
      latencyMs: 20,
      requests: 300,
      pool: 128,
      bytes: 10e6,
      bytesPerSecond: 25e6,
      cpuSeconds: 1.2,
      cores: 2,
    });
    expect(floor).toEqual({ rounds: 3, latency: 0.06, transfer: 0.4, cpu: 0.6, seconds: 0.06 + 0.4 + 0.6 });
    // The uncapped loopback: no transfer term; a query of a few requests is still one wave.
    expect(
      floorModel({ latencyMs: 60, requests: 5, pool: 128, bytes: 1e9, cpuSeconds: 0, cores: 2 }),
    ).toEqual({
      rounds: 1,
      latency: 0.06,
      transfer: 0,
      cpu: 0,
      seconds: 0.06,
    });
  });

  it("takes the link's bandwidth, else the per-response cap times the requests in flight", () => {
    const row = {
      aoi: "a",
      latency: 20,
      contender: "geochunks",
      requests: 64,
      bytesMinimal: 32e6,
      cpuSeconds: 0,
    };
    const other = { ...row, contender: "h5coro" };
    const [linked] = runFloors([row, other], { linkBytesPerSecond: 16e6, pool: 128, cores: 2 });
    expect(linked).toMatchObject({ aoi: "a", latencyMs: 20, transfer: 2 });
    const perResponse = runFloors([row], { bytesPerSecond: 1e6, pool: 128, cores: 2 });
    expect(perResponse[0]!.transfer).toBe(0.5);
    expect(runFloors([other], { pool: 128, cores: 2 })).toEqual([]);
  });

  it("checks geochunks against the floor, H5Coro per latency and downloads only over a 25 MB/s link", () => {
    const row = (contender: string, latency: number, seconds: number) => ({
      aoi: "g",
      latency,
      contender,
      seconds,
      times: [seconds],
      cpuSeconds: 0,
      requests: 10,
      bytes: 100,
      bytesMinimal: 100,
      rows: 1,
      hash: "",
      matchesOracle: true,
    });
    const result = {
      granules: { total: 1, bytes: 1 },
      aois: [],
      rows: [row("geochunks", 20, 1), row("h5coro", 20, 6.5), row("download-h5py", 20, 20)],
      skipped: [],
      indexBuild: [],
      storeDir: "",
    };
    result.aois.push({ name: "g" } as never);
    const floors = [
      { aoi: "g", latencyMs: 20, rounds: 1, latency: 0.02, transfer: 0, cpu: 0.6, seconds: 0.62 },
    ];
    const goals = checkGoals(result, [20], { floors, linkBytesPerSecond: 100e6 });
    const byGoal = new Map(goals.map((g) => [g.goal, g]));
    expect(byGoal.get("time: h5coro / geochunks")).toMatchObject({ target: ">= 6", value: 6.5, met: true });
    expect(byGoal.get("time: geochunks / floor model")).toMatchObject({ target: "<= 1.5", met: false });
    // Over a VM's link the download goal is shown but not judged.
    expect(byGoal.get("time: download-then-read / geochunks")).toMatchObject({ value: 20, met: null });
    const laptop = checkGoals(result, [20], { floors, linkBytesPerSecond: 25e6 });
    expect(laptop.find((g) => g.goal === "time: download-then-read / geochunks")?.met).toBe(false);
  });
});
