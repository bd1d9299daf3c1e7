/**
 * `index --shard auto`: the task's shard from the variables Kubernetes Indexed Jobs, AWS Batch
 * array jobs and SLURM job arrays set (names as each engine documents them).
 */
import { describe, expect, it } from "vitest";
import { shardFromEnvironment } from "../../src/cli/batch-engines.js";
import { exitCodeOf } from "../../src/cli/errors.js";

/** The error `shardFromEnvironment` throws, with its exit code. */
function refusal(env: Record<string, string>, shards?: number): { message: string; code: number } {
  try {
    shardFromEnvironment(env, { shards });
  } catch (err) {
    return { message: (err as Error).message, code: exitCodeOf(err) };
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe("Kubernetes Indexed Job", () => {
  it("takes the index from JOB_COMPLETION_INDEX and the count from --shards or GEOCHUNKS_SHARDS", () => {
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: "3" }, { shards: 8 })).toEqual({
      index: 3,
      count: 8,
      engine: "Kubernetes Indexed Job",
      from: ["JOB_COMPLETION_INDEX=3", "--shards 8"],
    });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: "0", GEOCHUNKS_SHARDS: "2" })).toMatchObject({
      index: 0,
      count: 2,
    });
  });

  it("refuses a missing count, an index past it, a non-number, and disagreeing counts", () => {
    expect(refusal({ JOB_COMPLETION_INDEX: "1" })).toEqual({
      message:
        "JOB_COMPLETION_INDEX=1 gives this task's shard but not how many there are: pass --shards N " +
        "(the number of tasks) or set GEOCHUNKS_SHARDS",
      code: 2,
    });
    expect(refusal({ JOB_COMPLETION_INDEX: "4" }, 4).message).toBe(
      "JOB_COMPLETION_INDEX=4: shard 4 is not below the 4 shards of --shards 4",
    );
    expect(refusal({ JOB_COMPLETION_INDEX: "x1" }, 4).message).toBe(
      "JOB_COMPLETION_INDEX=x1 is not a whole number",
    );
    expect(refusal({ JOB_COMPLETION_INDEX: "1", GEOCHUNKS_SHARDS: "3" }, 4).message).toBe(
      "--shard auto: --shards 4 disagrees with GEOCHUNKS_SHARDS=3",
    );
  });
});

describe("AWS Batch array job", () => {
  it("takes index and count from AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE", () => {
    expect(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: "9", AWS_BATCH_JOB_ARRAY_SIZE: "10" })).toEqual({
      index: 9,
      count: 10,
      engine: "AWS Batch array job",
      from: ["AWS_BATCH_JOB_ARRAY_INDEX=9", "AWS_BATCH_JOB_ARRAY_SIZE=10"],
    });
    // --shards agreeing with the engine is fine; disagreeing is refused.
    expect(
      shardFromEnvironment(
        { AWS_BATCH_JOB_ARRAY_INDEX: "0", AWS_BATCH_JOB_ARRAY_SIZE: "10" },
        { shards: 10 },
      ),
    ).toMatchObject({ index: 0, count: 10 });
    expect(refusal({ AWS_BATCH_JOB_ARRAY_INDEX: "0", AWS_BATCH_JOB_ARRAY_SIZE: "10" }, 5)).toEqual({
      message: "--shard auto: --shards 5 disagrees with AWS_BATCH_JOB_ARRAY_SIZE=10",
      code: 2,
    });
    expect(refusal({ AWS_BATCH_JOB_ARRAY_INDEX: "0", AWS_BATCH_JOB_ARRAY_SIZE: "0" }).message).toBe(
      "AWS_BATCH_JOB_ARRAY_SIZE=0 is not a whole number >= 1",
    );
  });

  it("uses --shards when the size variable is absent", () => {
    expect(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: "2" }, { shards: 3 })).toMatchObject({
      index: 2,
      count: 3,
    });
  });
});

describe("SLURM job array", () => {
  it("counts from SLURM_ARRAY_TASK_MIN, so --array=1-4 gives shards 0..3", () => {
    const task = (id: number) =>
      shardFromEnvironment({
        SLURM_ARRAY_TASK_ID: String(id),
        SLURM_ARRAY_TASK_MIN: "1",
        SLURM_ARRAY_TASK_MAX: "4",
        SLURM_ARRAY_TASK_STEP: "1",
        SLURM_ARRAY_TASK_COUNT: "4",
      });
    expect([1, 2, 3, 4].map((id) => [task(id).index, task(id).count])).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
    expect(task(3).from).toEqual([
      "SLURM_ARRAY_TASK_ID=3",
      "SLURM_ARRAY_TASK_MIN=1",
      "SLURM_ARRAY_TASK_COUNT=4",
    ]);
    expect(task(3).engine).toBe("SLURM job array");
  });

  it("follows a step (--array=0-15:5 is tasks 0, 5, 10, 15)", () => {
    const env = { SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_MAX: "15", SLURM_ARRAY_TASK_STEP: "5" };
    const task = (id: number) =>
      shardFromEnvironment({ ...env, SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_COUNT: "4" });
    expect([0, 5, 10, 15].map((id) => task(id).index)).toEqual([0, 1, 2, 3]);
  });

  it("refuses an array that is not contiguous (--array=1,4,9) and a task off its range", () => {
    const env = {
      SLURM_ARRAY_TASK_ID: "4",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_MAX: "9",
      SLURM_ARRAY_TASK_STEP: "1",
      SLURM_ARRAY_TASK_COUNT: "3",
    };
    expect(refusal(env)).toEqual({
      message:
        "SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_MAX=9, SLURM_ARRAY_TASK_STEP=1 and SLURM_ARRAY_TASK_COUNT=3 " +
        "are not a contiguous array: submit it as --array=FIRST-LAST[:STEP]",
      code: 2,
    });
    expect(
      refusal({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_STEP: "2" }).message,
    ).toBe("SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_STEP=2: the task id is not on the array's range");
  });

  it("takes the count from --shards when SLURM_ARRAY_TASK_COUNT is absent", () => {
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "2" }, { shards: 3 })).toMatchObject({
      index: 2,
      count: 3,
    });
  });
});

describe("no engine, or two", () => {
  it("names the variables it looked for when no engine set one (exit code 2)", () => {
    expect(refusal({ SLURM_JOB_ID: "17", HOME: "/root" }, 4)).toEqual({
      message:
        "--shard auto: no batch engine's task index in the environment (JOB_COMPLETION_INDEX, " +
        "AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID); run it as a task of an array job, or give --shard i/n",
      code: 2,
    });
    expect(refusal({ JOB_COMPLETION_INDEX: "" }, 4).code).toBe(2);
  });

  it("accepts two engines that agree and refuses two that disagree", () => {
    const both = { JOB_COMPLETION_INDEX: "1", SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "2" };
    expect(shardFromEnvironment(both)).toMatchObject({
      index: 1,
      count: 2,
      engine: "Kubernetes Indexed Job",
    });
    expect(refusal({ ...both, SLURM_ARRAY_TASK_ID: "0" }).message).toBe(
      "--shard auto: the variables of two batch engines disagree (JOB_COMPLETION_INDEX=1; " +
        "SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_COUNT=2): give --shard i/n",
    );
  });
});
