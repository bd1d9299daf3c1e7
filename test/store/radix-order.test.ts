import { describe, expect, it } from "vitest";
import { seededRandom } from "../../fixtures/index/synthetic-index.js";
import { localeOrder, radixOrder } from "../../src/store/parts.js";

/** The order a comparison sort gives: by each key in turn, ties by row. */
function sortedOrder(keys: readonly Uint32Array[], n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    for (const k of keys) if (k[a] !== k[b]) return k[a]! - k[b]!;
    return a - b;
  });
}

describe("radixOrder", () => {
  it("orders rows as a comparison sort of their keys does, ties in row order", () => {
    const random = seededRandom(3);
    for (const n of [0, 1, 2, 7, 300, 5000]) {
      // High words of few distinct values (as cells' are), low words over the whole range with
      // bytes that all rows share, ranks with ties: every kind of digit, skipped or sorted.
      const hi = Uint32Array.from({ length: n }, () => 0x8600_0000 + Math.floor(random() * 4) * 0x10_0000);
      const lo = Uint32Array.from({ length: n }, () => (Math.floor(random() * 2 ** 32) | 0xffff) >>> 0);
      const rank = Uint32Array.from({ length: n }, () => Math.floor(random() * 5));
      for (const keys of [[hi, lo, rank], [rank], [hi], [new Uint32Array(n).fill(0xffffffff), rank]]) {
        expect(Array.from(radixOrder(keys, n)), `n ${n}`).toEqual(sortedOrder(keys, n));
      }
    }
  });
});

describe("localeOrder", () => {
  it("orders strings as localeCompare does", () => {
    const random = seededRandom(9);
    const alphabet = "0123456789abcdeglrtzABGLRZ_/-. é";
    const word = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    // Chunk ids (granule/beam/start, starts not zero-padded), then strings that share long starts and
    // differ in every class of character, and strings that are others' starts.
    const ids = ["ATL06_20190401165251_01010303_006_01", "ATL06_20200118191958_03920605_006_01"].flatMap(
      (g) =>
        ["gt1l", "gt1r", "gt2l", "gt3r"].flatMap((beam) =>
          [0, 7, 100, 1000, 10_000, 2000, 20_000].map((s) => `${g}/${beam}/${s}`),
        ),
    );
    const made = Array.from({ length: 400 }, () => `ATL06_2019/${word(1 + Math.floor(random() * 4))}`);
    const all = [
      ...ids,
      ...made,
      ...made.slice(0, 50).map((s) => s + word(2)),
      "a",
      "a0",
      "aB",
      "ab",
      "a/",
      "a_",
      "",
    ];
    const wrong: string[] = [];
    for (const a of all)
      for (const b of all)
        if (Math.sign(localeOrder(a, b)) !== Math.sign(a.localeCompare(b))) wrong.push(`${a} ${b}`);
    expect(wrong).toEqual([]);
    expect(all.length).toBeGreaterThan(500);
  });
});
