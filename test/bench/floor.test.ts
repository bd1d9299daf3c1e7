import { describe, expect, it } from "vitest";
import { decodeBound, downloadBound, floorModel, runFloors } from "../../bench/lib/floor.js";
import { checkGoals } from "../../bench/lib/report.js";

/** A contender's timed row of AOI "g": 10 requests reading the 100 minimal bytes, matching the oracle. */
function timedRow(contender: string, latency: number, seconds: number) {
  return {
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
  };
}

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
    const result = {
      granules: { total: 1, bytes: 1 },
      aois: [],
      rows: [timedRow("geochunks", 20, 1), timedRow("h5coro", 20, 6.5), timedRow("download-h5py", 20, 20)],
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

  it("bounds the bytes goal by H5Coro's bytes over bytes_minimal", () => {
    const result = {
      granules: { total: 1, bytes: 1 },
      aois: [{ name: "g" } as never],
      rows: [timedRow("geochunks", 20, 1), { ...timedRow("h5coro", 20, 2), bytes: 468 }],
      skipped: [],
      indexBuild: [],
      storeDir: "",
    };
    const goal = () => checkGoals(result, [20], {}).find((g) => g.goal === "bytes: h5coro / geochunks")!;
    // 468 bytes against 100 minimal: 4.68 at best, whatever geochunks reads.
    expect(goal()).toMatchObject({ value: 4.68, met: false });
    expect(goal().note).toBe("best possible 4.68 (h5coro's bytes / bytes_minimal): 10x is out of reach here");
    result.rows[1] = { ...timedRow("h5coro", 20, 2), bytes: 3600 };
    expect(goal()).toMatchObject({ value: 36, met: true });
    expect(goal().note).toBe("best possible 36.00 (h5coro's bytes / bytes_minimal)");
  });

  it("bounds download-then-read / geochunks by whole granules against bytes_minimal over the link", () => {
    // 4 granules of 68 MB against 5.7 MB of answer chunks over 25 MB/s at 20 ms, geochunks in 2 waves.
    const floor = floorModel({
      latencyMs: 20,
      requests: 168,
      pool: 128,
      bytes: 5.7e6,
      bytesPerSecond: 25e6,
      cpuSeconds: 0.42,
      cores: 2,
    });
    const bound = downloadBound(floor, 272e6, 20, 25e6)!;
    expect(bound.downloadSeconds).toBeCloseTo(272 / 25 + 0.02, 12);
    expect(bound.bytesAndLatency).toBeCloseTo((272 / 25 + 0.02) / (0.04 + 5.7 / 25), 12);
    expect(bound.withCpu).toBeCloseTo((272 / 25 + 0.02) / (0.04 + 5.7 / 25 + 0.21), 12);
    // No link: the loopback moves whole granules for free, so there is no bound.
    expect(downloadBound(floor, 272e6, 20, undefined)).toBeUndefined();
    // runFloors takes each AOI's listed bytes and bounds only over a client link.
    const row = {
      aoi: "a",
      latency: 20,
      contender: "geochunks",
      requests: 168,
      bytesMinimal: 5.7e6,
      cpuSeconds: 0.42,
    };
    const listedBytes = new Map([["a", 272e6]]);
    const [linked] = runFloors([row], { linkBytesPerSecond: 25e6, pool: 128, cores: 2, listedBytes });
    expect(linked!.download!.bytesAndLatency).toBeCloseTo(bound.bytesAndLatency, 12);
    const [perResponse] = runFloors([row], { bytesPerSecond: 25e6, pool: 128, cores: 2, listedBytes });
    expect(perResponse!.download).toBeUndefined();
  });

  it("says when the download goal is out of reach on the AOI and link", () => {
    const row = (contender: string, seconds: number) => timedRow(contender, 20, seconds);
    const result = {
      granules: { total: 1, bytes: 1 },
      aois: [{ name: "g" } as never],
      rows: [row("geochunks", 1), row("download-h5py", 8)],
      skipped: [],
      indexBuild: [],
      storeDir: "",
    };
    const floor = { rounds: 1, latency: 0.02, transfer: 0.2, cpu: 0.2, seconds: 0.42 };
    const bound = (listed: number) => downloadBound(floor, listed, 20, 25e6);
    const goal = (listed: number) =>
      checkGoals(result, [20], {
        floors: [{ aoi: "g", latencyMs: 20, ...floor, download: bound(listed) }],
        linkBytesPerSecond: 25e6,
      }).find((g) => g.goal === "time: download-then-read / geochunks")!;
    // 48 MB downloaded: (1.92 + 0.02) / 0.22 = 8.8x at best.
    expect(goal(48e6).note).toContain("best possible on this AOI and link 8.8x (bytes + latency), 4.6x with");
    expect(goal(48e6).note).toContain("30x is out of reach here");
    expect(goal(48e6).met).toBe(false);
    // 272 MB: 49.5x at best, reachable.
    expect(goal(272e6).note).toContain("best possible on this AOI and link 49.5x");
    expect(goal(272e6).note).not.toContain("out of reach");
  });

  it("bounds H5Coro / geochunks by the decoding of bytes_minimal and the server's CPU on the cores", () => {
    // 67 MB of stored chunks at 140 MB per CPU second, 0.15 s of server CPU, 2 cores, 20 ms, no link.
    const bound = decodeBound({
      latencyMs: 20,
      transfer: 0,
      bytes: 67e6,
      bytesPerCpuSecond: 140e6,
      serverCpuSeconds: 0.15,
      cores: 2,
    });
    expect(bound.decodeSeconds).toBeCloseTo(67 / 140, 12);
    expect(bound.seconds).toBeCloseTo(0.02 + (67 / 140 + 0.15) / 2, 12);
    const row = {
      aoi: "g",
      latency: 20,
      contender: "geochunks",
      requests: 728,
      bytesMinimal: 67e6,
      cpuSeconds: 1,
      serverCpuSeconds: 0.15,
    };
    const [floor] = runFloors([row], { pool: 128, cores: 2, decodeBytesPerCpuSecond: 140e6 });
    expect(floor!.decode!.seconds).toBeCloseTo(bound.seconds, 12);
    // Without a measured rate there is no bound.
    expect(runFloors([row], { pool: 128, cores: 2 })[0]!.decode).toBeUndefined();
    const result = {
      granules: { total: 1, bytes: 1 },
      aois: [{ name: "g" } as never],
      rows: [timedRow("geochunks", 20, 0.7), timedRow("h5coro", 20, 1.5)],
      skipped: [],
      indexBuild: [],
      storeDir: "",
    };
    const goal = (h5coroSeconds: number) => {
      result.rows[1] = timedRow("h5coro", 20, h5coroSeconds);
      return checkGoals(result, [20], { floors: [floor!] }).find(
        (g) => g.goal === "time: h5coro / geochunks",
      )!;
    };
    // 1.5 s / 0.334 s: 4.5x at best, so 6x is out of reach.
    expect(goal(1.5).note).toContain("best possible on this machine 4.5x");
    expect(goal(1.5).note).toContain("6x is out of reach here");
    // 3 s: 9x at best, reachable (not met by 0.7 s).
    expect(goal(3).note).toContain("best possible on this machine 9.0x");
    expect(goal(3).note).not.toContain("out of reach");
    expect(goal(3).met).toBe(false);
  });
});
