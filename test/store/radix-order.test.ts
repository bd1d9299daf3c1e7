import { describe, expect, it } from "vitest";
import { seededRandom } from "../../fixtures/index/synthetic-index.js";
import { radixOrder } from "../../src/store/parts.js";

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
