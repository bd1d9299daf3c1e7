import { describe, expect, it } from "vitest";
import { toJson } from "../../src/index-builder/granule.js";

/** The text toJson gave before it skipped the replacer for plain values. */
function withReplacer(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  );
}

describe("toJson", () => {
  it("writes what the replacer wrote, for plain values and for values holding bigints or non-finite numbers", () => {
    const deep: unknown[] = [];
    let at = deep;
    for (let i = 0; i < 80; i++) {
      const next: unknown[] = [i];
      at.push(next);
      at = next;
    }
    const values: unknown[] = [
      { units: "meters", valid_min: [-90, 90], _FillValue: 3.4028234663852886e38, flags: [0, 1], note: null },
      { fill: 18446744073709551615n, nested: { a: [1, 2, { b: -0 }] } },
      [1, Number.NaN, 2, Number.POSITIVE_INFINITY, { x: Number.NEGATIVE_INFINITY }],
      // biome-ignore lint/suspicious/noSparseArray: a hole, which JSON writes as null
      { list: [1, , 3], skip: undefined, f: () => 1, s: Symbol("s") },
      { when: new Date(0), inner: { toJSON: () => 12n } },
      new Float64Array([1.5, Number.NaN]),
      { map: new Map([["a", 1]]), set: new Set([1]) },
      deep,
      [[[[{ big: 1n }]]]],
      "text",
      42,
      Number.NaN,
      7n,
      null,
      true,
    ];
    for (const value of values) expect(toJson(value)).toBe(withReplacer(value));
    expect(toJson({ a: 1n, b: Number.NaN, c: [Number.POSITIVE_INFINITY] })).toBe(
      '{"a":"1","b":"NaN","c":["Infinity"]}',
    );
  });
});
