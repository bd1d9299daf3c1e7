import { describe, expect, it } from "vitest";
import { mapPipelined } from "../src/concurrency.js";

/** A task that can be told when its reads are done and when it finishes. */
interface Task {
  readsDone(heldBytes?: number): void;
  finish(value: string): void;
  fail(err: Error): void;
}

/** Runs `mapPipelined` over `n` items whose tasks are driven by hand; `started` lists the items started. */
function driven(n: number, limits: { reading: number; open: number; heldBytes?: number }) {
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

  it("opens items past `reading` only while those done reading hold fewer bytes than `heldBytes`", async () => {
    const { run, tasks, started, settle } = driven(7, { reading: 2, open: 4, heldBytes: 100 });
    await settle();
    expect(started).toEqual([0, 1]);
    // 0's reads done, holding 150 bytes: a third item would be past `reading`, and 150 >= 100.
    tasks.get(0)!.readsDone(150);
    await settle();
    expect(started).toEqual([0, 1]);
    tasks.get(1)!.readsDone(30);
    await settle();
    expect(started).toEqual([0, 1]);
    // 0 finished: 2 starts within `reading`, and 3 past it (30 bytes held, under 100).
    tasks.get(0)!.finish("a");
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    // 2 and 3 done, holding little: the open limit (4) is what holds 5 back.
    tasks.get(2)!.readsDone(10);
    tasks.get(3)!.readsDone(10);
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    for (const k of [1, 2, 3, 4]) tasks.get(k)!.finish(String(k));
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    tasks.get(5)!.finish("5");
    tasks.get(6)!.finish("6");
    await expect(run).resolves.toEqual(["a", "1", "2", "3", "4", "5", "6"]);
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
