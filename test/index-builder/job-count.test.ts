import { describe, expect, it } from "vitest";
import { CORES_PER_THREAD, jobCount, threadsForCores } from "../../src/index-builder/pool.js";

describe("threads of an index run", () => {
  it("starts one thread per 1.5 cores by default: 1 on 2 cores, 2 on 4, 5 on 8", () => {
    expect(CORES_PER_THREAD).toBe(1.5);
    expect([1, 2, 3, 4, 8, 16].map(threadsForCores)).toEqual([1, 1, 2, 2, 5, 10]);
    expect(jobCount({}, 10, 2)).toBe(1);
    expect(jobCount({}, 10, 4)).toBe(2);
    expect(jobCount({}, 10, 8)).toBe(5);
  });

  it("keeps at least two inputs per thread and at most one thread per granule read at a time", () => {
    expect(jobCount({}, 3, 8)).toBe(1);
    expect(jobCount({}, 6, 8)).toBe(3);
    expect(jobCount({ concurrency: 2 }, 100, 8)).toBe(2);
  });

  it("takes jobs as given, up to one thread per input, whatever the cores", () => {
    expect(jobCount({ jobs: 2 }, 10, 2)).toBe(2);
    expect(jobCount({ jobs: 4 }, 3, 16)).toBe(3);
    expect(jobCount({ jobs: 0 }, 3, 16)).toBe(1);
  });

  it("stays in this thread when the source options cannot cross threads", () => {
    const fetch = (() => Promise.reject(new Error("not called"))) as never;
    expect(jobCount({ jobs: 4, source: { http: { fetch } } }, 10, 16)).toBe(1);
  });
});
