import { describe, expect, it } from "vitest";
import { startedEarly } from "../../src/cli/commands/query.js";

/** A source that records what was asked of it. */
function counted(items: number[], failAt?: number) {
  const log: string[] = [];
  async function* gen() {
    try {
      for (const [i, item] of items.entries()) {
        log.push(`produce ${item}`);
        if (i === failAt) throw new Error(`item ${item} failed`);
        yield item;
      }
    } finally {
      log.push("finally");
    }
  }
  return { log, source: { [Symbol.asyncIterator]: gen } };
}

describe("startedEarly: a query's work starts before its writer reads it", () => {
  it("asks for the first item at once and yields every item in order", async () => {
    const { log, source } = counted([1, 2, 3]);
    const started = startedEarly(source);
    await new Promise((done) => setImmediate(done));
    expect(log).toEqual(["produce 1"]);
    const got: number[] = [];
    for await (const item of started) got.push(item);
    expect(got).toEqual([1, 2, 3]);
    expect(log).toEqual(["produce 1", "produce 2", "produce 3", "finally"]);
    await started.close();
    expect(log.filter((l) => l === "finally")).toHaveLength(1);
  });

  it("a reader that stops early ends the source", async () => {
    const { log, source } = counted([1, 2, 3]);
    const started = startedEarly(source);
    for await (const item of started) if (item === 1) break;
    expect(log).toEqual(["produce 1", "finally"]);
  });

  it("close() ends a source nobody read (a writer that failed before reading)", async () => {
    const { log, source } = counted([1, 2, 3]);
    const started = startedEarly(source);
    await started.close();
    expect(log).toEqual(["produce 1", "finally"]);
  });

  it("a failure of the first step reaches the reader, and is not unhandled before", async () => {
    const { source } = counted([1, 2], 0);
    const started = startedEarly(source);
    await new Promise((done) => setTimeout(done, 10));
    await expect(
      (async () => {
        for await (const _ of started);
      })(),
    ).rejects.toThrow("item 1 failed");
  });
});
