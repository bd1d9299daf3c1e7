import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InvalidHdf5Error, UnsupportedFilterError, UnsupportedHdf5Error } from "../../src/errors.js";
import type { DecodeSpec } from "../../src/hdf5/index.js";
import {
  decodeChunk,
  decodeSpecOf,
  fletcher32,
  itemSize,
  toTypedArray,
  unshuffle,
} from "../../src/hdf5/index.js";

/** HDF5's shuffle, written independently of the decoder: byte k of element i goes to `k * n + i`. */
function shuffle(src: Uint8Array, size: number): Uint8Array {
  const n = Math.floor(src.length / size);
  const out = new Uint8Array(src);
  for (let i = 0; i < n; i++) for (let k = 0; k < size; k++) out[k * n + i] = src[i * size + k]!;
  return out;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

const DEFLATE = { id: 1, name: "deflate", flags: 1, params: [6] };
const SHUFFLE = (size: number) => ({ id: 2, name: "shuffle", flags: 1, params: [size] });
const FLETCHER = { id: 3, name: "fletcher32", flags: 0, params: [] };

describe("decodeChunk", () => {
  it("undoes shuffle then deflate, in reverse pipeline order", () => {
    for (const size of [2, 4, 8]) {
      const raw = Uint8Array.from({ length: 10_000 * size }, (_, i) => (i * 31 + (i >> 7)) & 0xff);
      const stored = deflateSync(shuffle(raw, size));
      const spec: DecodeSpec = {
        path: "/x",
        dtype: `<i${size}`,
        chunkShape: [10_000],
        filters: [SHUFFLE(size), DEFLATE],
      };
      expect(Buffer.from(decodeChunk(stored, spec, 0)).equals(Buffer.from(raw))).toBe(true);
    }
  });

  it("skips filters whose bit is set in the filter mask", () => {
    const raw = Uint8Array.from({ length: 400 }, (_, i) => i & 0xff);
    const spec: DecodeSpec = { path: "/x", dtype: "<f4", chunkShape: [100], filters: [SHUFFLE(4), DEFLATE] };
    expect(decodeChunk(shuffle(raw, 4), spec, 0b10)).toEqual(raw); // deflate skipped
    expect(decodeChunk(deflateSync(raw), spec, 0b01)).toEqual(raw); // shuffle skipped
  });

  it("verifies and strips fletcher32 (vectors written by the HDF5 library)", () => {
    const a = hex("48f430f818fc0000e803d007b80b000392b1"); // int16 [-3000..3000 step 1000]
    const spec: DecodeSpec = { path: "/a", dtype: "<i2", chunkShape: [7], filters: [FLETCHER] };
    expect([...toTypedArray(decodeChunk(a, spec, 0), "<i2")]).toEqual([
      -3000, -2000, -1000, 0, 1000, 2000, 3000,
    ]);
    const b = hex("010203fa4dfc51fa57"); // uint8, odd length
    const specB: DecodeSpec = { path: "/b", dtype: "|u1", chunkShape: [5], filters: [FLETCHER] };
    expect([...decodeChunk(b, specB, 0)]).toEqual([1, 2, 3, 250, 77]);
    const bad = new Uint8Array(a);
    bad[3] ^= 1;
    expect(() => decodeChunk(bad, spec, 0)).toThrow(/fletcher32 checksum mismatch in a chunk of \/a/);
  });

  it("throws UnsupportedFilterError naming the filter and the dataset", () => {
    const spec: DecodeSpec = {
      path: "/gt1l/h",
      dtype: "<f4",
      chunkShape: [4],
      filters: [{ ...DEFLATE, id: 32001 }],
    };
    const err = (() => {
      try {
        decodeChunk(new Uint8Array(16), spec, 0);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UnsupportedFilterError);
    expect(err).toMatchObject({ filterId: 32001, dataset: "/gt1l/h" });
    expect(decodeChunk(new Uint8Array(16), spec, 1)).toHaveLength(16); // masked out: fine
  });

  it("rejects corrupt deflate streams and wrong decoded sizes with InvalidHdf5Error", () => {
    const spec: DecodeSpec = { path: "/x", dtype: "<f8", chunkShape: [10], filters: [DEFLATE] };
    expect(() => decodeChunk(Uint8Array.of(1, 2, 3, 4), spec, 0)).toThrow(InvalidHdf5Error);
    expect(() => decodeChunk(deflateSync(new Uint8Array(72)), spec, 0)).toThrow(
      /decodes to 72 bytes; expected 80/,
    );
  });
});

describe("unshuffle", () => {
  it("copies trailing bytes that do not make a whole element", () => {
    for (const size of [2, 3, 4, 8]) {
      const raw = Uint8Array.from({ length: 10 * size + size - 1 }, (_, i) => (i * 7) & 0xff);
      expect(unshuffle(shuffle(raw, size), size)).toEqual(raw);
    }
  });

  it("returns single-byte and too-short inputs as they are", () => {
    const raw = Uint8Array.of(1, 2, 3);
    expect(unshuffle(raw, 1)).toBe(raw);
    expect(unshuffle(raw, 4)).toBe(raw);
  });
});

describe("fletcher32", () => {
  it("matches the HDF5 library on even and odd lengths", () => {
    const a = hex("48f430f818fc0000e803d007b80b000392b1");
    expect(fletcher32(a.subarray(0, 14))).toBe(new DataView(a.buffer, 14).getUint32(0, true));
    const b = hex("010203fa4dfc51fa57");
    expect(fletcher32(b.subarray(0, 5))).toBe(new DataView(b.buffer, 5).getUint32(0, true));
  });
});

describe("toTypedArray and itemSize", () => {
  it("views little-endian bytes without copying when aligned", () => {
    const buf = new Float64Array([1.5, Number.NaN, -0]);
    const view = toTypedArray(new Uint8Array(buf.buffer), "<f8");
    expect(view).toBeInstanceOf(Float64Array);
    expect(view.buffer).toBe(buf.buffer);
    expect(Object.is(view[2], -0)).toBe(true);
  });

  it("swaps big-endian data and copies misaligned data", () => {
    const be = Uint8Array.of(0x01, 0x02, 0xff, 0xfe);
    expect([...toTypedArray(be, ">i2")]).toEqual([0x0102, -2]);
    expect([...toTypedArray(be, ">u2")]).toEqual([0x0102, 0xfffe]);
    const big = new Uint8Array(9);
    new DataView(big.buffer).setFloat64(1, Math.PI, true);
    expect([...toTypedArray(big.subarray(1), "<f8")]).toEqual([Math.PI]);
    expect(toTypedArray(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80), "<i8")).toEqual(
      new BigInt64Array([-(2n ** 63n)]),
    );
    expect(toTypedArray(Uint8Array.of(200), "|i1")).toEqual(Int8Array.of(-56));
  });

  it("knows item sizes and rejects what has no typed array", () => {
    expect(["<f8", "<f4", "|i1", ">u2", "|S27", "<i8"].map(itemSize)).toEqual([8, 4, 1, 2, 27, 8]);
    expect(() => itemSize("other:compound")).toThrow(UnsupportedHdf5Error);
    expect(() => toTypedArray(new Uint8Array(4), "|S4")).toThrow(UnsupportedHdf5Error);
    expect(() => toTypedArray(new Uint8Array(4), "<f2")).toThrow(/no typed array/);
  });
});

describe("decodeSpecOf", () => {
  it("takes dtype, chunk shape and filters from a DatasetInfo", () => {
    const info = {
      path: "/a",
      dtype: "<f4",
      shape: [5],
      maxshape: [null],
      layout: "chunked" as const,
      chunkShape: [10_000],
      filters: [DEFLATE],
      fillValue: null,
      attrs: {},
    };
    expect(decodeSpecOf(info)).toEqual({
      path: "/a",
      dtype: "<f4",
      chunkShape: [10_000],
      filters: [DEFLATE],
    });
    expect(decodeSpecOf({ ...info, chunkShape: null }).chunkShape).toEqual([5]);
  });
});
