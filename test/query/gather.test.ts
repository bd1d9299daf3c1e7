import { describe, expect, it } from "vitest";
import { gather } from "../../src/query/gather.js";

/** A seeded generator of 32-bit integers (xorshift). */
function random(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** Kept rows of n: long runs, isolated rows and gaps, increasing. */
function keptRows(n: number, next: () => number): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < n; ) {
    const run = next() % 3 === 0 ? 1 + (next() % 40) : 1;
    for (let r = 0; r < run && i < n; r++) rows.push(i++);
    i += next() % 5;
  }
  return Int32Array.from(rows);
}

/** The bytes of each row `kept` names, row after row: what gather must return. */
function expectedBytes(values: ArrayBufferView, elementBytes: number, kept: Int32Array, width: number) {
  const all = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const rowBytes = elementBytes * width;
  return Array.from(kept).flatMap((row) => [...all.subarray(row * rowBytes, (row + 1) * rowBytes)]);
}

describe("gather", () => {
  it("copies the kept rows' bits of every element type, runs and isolated rows, views at an offset", () => {
    const next = random(7);
    const n = 1000;
    const bytes = Uint8Array.from({ length: 8 * 2 * (n + 3) }, () => next() & 0xff);
    const kinds = [
      Int8Array,
      Uint8Array,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
      BigInt64Array,
      BigUint64Array,
    ] as const;
    for (const Kind of kinds) {
      for (const width of [1, 2]) {
        // A view starting three elements into its buffer (random bits: NaN payloads included).
        const values = new Kind(bytes.buffer, 3 * Kind.BYTES_PER_ELEMENT, n * width);
        const kept = keptRows(n, next);
        const out = gather(values, kept, width);
        expect(out).toBeInstanceOf(Kind);
        expect(out.length).toBe(kept.length * width);
        expect([...new Uint8Array(out.buffer)]).toEqual(
          expectedBytes(values, Kind.BYTES_PER_ELEMENT, kept, width),
        );
      }
    }
  });

  it("gives the values an element by element pick gives, and nothing for no kept row", () => {
    const values = Float64Array.from({ length: 200 }, (_, i) => i * 0.25 - 7);
    const kept = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 40, 42, 100, 101, 199]);
    expect(Array.from(gather(values, kept))).toEqual(Array.from(kept, (k) => values[k]));
    expect(gather(values, new Int32Array(0))).toEqual(new Float64Array(0));
  });
});
