import { describe, expect, it } from "vitest";
import { mapPipelined } from "../src/concurrency.js";

/** A task that can be told when its reads are done and when it finishes. */
interface Task {
  readsDone(): void;
  finish(value: string): void;
  fail(err: Error): void;
}

/** Runs `mapPipelined` over `n` items whose tasks are driven by hand; `started` lists the items started. */
function driven(n: number, limits: { reading: number; open: number }) {
  const tasks = new Map<number, Task>();
  const started: number[] = [];
  const run = mapPipelined(
    Array.from({ length: n }, (_, i) => i),
    limits,
    (item, _i, readsDone) => {
      started.push(item);
      return new Promise<string>((resolve, reject) => {
        tasks.set(item, { readsDone, finish: resolve, fail: reject });
      });
    },
  );
  const settle = () => new Promise((done) => setImmediate(done));
  return { run, tasks, started, settle };
}

describe("mapPipelined", () => {
  it("starts the next item when one's reads are done, up to the open limit, and keeps the order", async () => {
    const { run, tasks, started, settle } = driven(5, { reading: 2, open: 3 });
    await settle();
    expect(started).toEqual([0, 1]);
    tasks.get(0)!.readsDone();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    // Three open (0 working, 1 and 2 reading): 1's reads done, but the open limit holds 3 back.
    tasks.get(1)!.readsDone();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    tasks.get(0)!.finish("a");
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    // Finishing counts as reads done; calling readsDone again changes nothing.
    tasks.get(2)!.finish("c");
    tasks.get(2)!.readsDone();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    tasks.get(4)!.finish("e");
    tasks.get(3)!.finish("d");
    tasks.get(1)!.finish("b");
    await expect(run).resolves.toEqual(["a", "b", "c", "d", "e"]);
  });

  it("rejects with the first error and starts nothing after it", async () => {
    const { run, tasks, started, settle } = driven(4, { reading: 1, open: 2 });
    await settle();
    tasks.get(0)!.fail(new Error("bad granule"));
    await expect(run).rejects.toThrow("bad granule");
    await settle();
    expect(started).toEqual([0]);
  });

  it("resolves at once for no items", async () => {
    await expect(mapPipelined([], { reading: 4, open: 6 }, async () => 1)).resolves.toEqual([]);
  });
});
