import { describe, expect, it } from "vitest";
import { interleavedMedians, medianRun } from "../../bench/lib/stats.js";

describe("interleavedMedians", () => {
  it("runs the contenders in turn, rep by rep, and keeps each one's median run", async () => {
    const calls: string[] = [];
    const times = { a: [3, 1, 2], b: [10, 30, 20] };
    const runner = (name: "a" | "b") => {
      let rep = 0;
      return async () => {
        calls.push(`${name}${rep}`);
        return { seconds: times[name][rep++]!, name };
      };
    };
    const [a, b] = await interleavedMedians(3, [runner("a"), runner("b")]);
    expect(calls).toEqual(["a0", "b0", "a1", "b1", "a2", "b2"]);
    expect(a).toEqual({ seconds: 2, name: "a" });
    expect(b).toEqual({ seconds: 20, name: "b" });
  });

  it("runs warm-up rounds first, in the same order, and keeps none of them", async () => {
    const calls: string[] = [];
    let n = 0;
    const runner = (name: string) => async () => {
      calls.push(name);
      // The warm-up rounds are the slowest: a median that kept them would be 100.
      return { seconds: n++ < 2 ? 100 : 1, name };
    };
    const [a, b] = await interleavedMedians(1, [runner("a"), runner("b")], 1);
    expect(calls).toEqual(["a", "b", "a", "b"]);
    expect([a!.seconds, b!.seconds]).toEqual([1, 1]);
  });

  it("picks the run medianRun picks for one contender, and runs once at least", async () => {
    const seq = [5, 4, 9, 1];
    let i = 0;
    let j = 0;
    const [one] = await interleavedMedians(4, [async () => ({ seconds: seq[i++]! })]);
    const other = await medianRun(4, async () => ({ seconds: seq[j++]! }));
    expect(one).toEqual(other);
    expect(one!.seconds).toBe(5);
    let n = 0;
    await interleavedMedians(0, [async () => ({ seconds: n++ })]);
    expect(n).toBe(1);
  });
});
