import { describe, expect, it } from "vitest";
import { nameDimensions } from "../../src/export/dimensions.js";
import { zstdStored } from "../../src/export/icechunk/format.js";
import { crockford, fromCrockford, INITIAL_SNAPSHOT_ID } from "../../src/export/icechunk/ids.js";
import { vlenUtf8 } from "../../src/export/icechunk/zarr-v3.js";
import { encodeValues } from "../../src/export/values.js";
import { codecsOf, zarrAttrs, zarrFillValue } from "../../src/export/zarr-v2.js";

describe("export building blocks", () => {
  it("maps HDF5 pipelines to numcodecs: [shuffle] + zlib compressor, fletcher32 after deflate as filters", () => {
    const shuffle = { id: 2, name: "shuffle", flags: 1, params: [4] };
    const deflate = { id: 1, name: "deflate", flags: 1, params: [6] };
    const fletcher = { id: 3, name: "fletcher32", flags: 0, params: [] };
    expect(codecsOf([shuffle, deflate], 4)).toEqual({
      filters: [{ id: "shuffle", elementsize: 4 }],
      compressor: { id: "zlib", level: 6 },
    });
    expect(codecsOf([deflate], 8)).toEqual({ filters: null, compressor: { id: "zlib", level: 6 } });
    expect(codecsOf([shuffle, deflate, fletcher], 4)).toEqual({
      filters: [{ id: "shuffle", elementsize: 4 }, { id: "zlib", level: 6 }, { id: "fletcher32" }],
      compressor: null,
    });
    expect(codecsOf([{ id: 4, name: "szip", flags: 0, params: [] }], 4)).toEqual({
      unsupported: "HDF5 filter 4 (szip)",
    });
  });

  it("writes fill values JSON-safe and drops HDF5 plumbing attributes", () => {
    expect(zarrFillValue(3.4028234663852886e38, "<f4")).toBe(3.4028234663852886e38);
    expect(zarrFillValue(Number.NaN, "<f8")).toBe("NaN");
    expect(zarrFillValue([-9999], "<i4")).toBe(-9999);
    expect(zarrFillValue("x", "|S4")).toBeNull();
    expect(zarrAttrs({ units: "m", DIMENSION_LIST: [1], _FillValue: 1, big: 2n ** 60n }, ["t"])).toEqual({
      units: "m",
      big: "1152921504606846976",
      _ARRAY_DIMENSIONS: ["t"],
    });
  });

  it("names dimensions after the nearest dimension scale of that length, else phony names", () => {
    const dims = nameDimensions([
      { path: "/b/rows/delta_time", shape: [5], isScale: true },
      { path: "/b/rows/h", shape: [5], isScale: false },
      { path: "/b/rows/sub/x", shape: [5, 3], isScale: false },
      { path: "/b/other/y", shape: [7], isScale: false },
    ]);
    expect(dims.get("/b/rows/delta_time")).toEqual(["delta_time"]);
    expect(dims.get("/b/rows/h")).toEqual(["delta_time"]);
    expect(dims.get("/b/rows/sub/x")).toEqual(["delta_time", "phony_dim_3"]);
    expect(dims.get("/b/other/y")).toEqual(["phony_dim_7"]);
  });

  it("encodes recorded values as chunk bytes: fixed and variable-length strings, numbers", () => {
    expect(encodeValues(["ab", "c"], "|S3")).toEqual({
      dtype: "|S3",
      bytes: Uint8Array.from([97, 98, 0, 99, 0, 0]),
    });
    expect(encodeValues(["ab", "c"], "other:vlen").dtype).toBe("|S2");
    expect(new Float32Array(encodeValues([1.5], "<f4").bytes.buffer)[0]).toBe(1.5);
    expect(new BigInt64Array(encodeValues(["-5"], "<i8").bytes.buffer)[0]).toBe(-5n);
    expect(Array.from(encodeValues([258], ">u2").bytes)).toEqual([1, 2]);
  });

  it("spells ids in Crockford base 32 as the Icechunk spec's example", () => {
    expect(crockford(INITIAL_SNAPSHOT_ID)).toBe("1CECHNKREP0F1RSTCMT0");
    expect(fromCrockford("1CECHNKREP0F1RSTCMT0", 12)).toEqual(INITIAL_SNAPSHOT_ID);
    expect(crockford(new Uint8Array(8))).toHaveLength(13);
  });

  it("writes zstd frames of raw blocks and vlen-utf8 string chunks", () => {
    const data = new Uint8Array(300_000).map((_, i) => i & 0xff);
    const frame = zstdStored(data);
    expect(Array.from(frame.subarray(0, 4))).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    // Three raw blocks (128 KiB, 128 KiB, rest), each with a 3-byte header; the last one flagged.
    expect(frame.length).toBe(13 + 3 * 3 + data.length);
    const last = frame.subarray(13 + 2 * (3 + 131072));
    expect(last[0]! & 1).toBe(1);
    expect(Buffer.from(frame.subarray(16, 16 + 10)).equals(Buffer.from(data.subarray(0, 10)))).toBe(true);
    expect(Array.from(vlenUtf8(Uint8Array.from([97, 98, 0, 99, 0, 0]), 3))).toEqual([
      2, 0, 0, 0, 2, 0, 0, 0, 97, 98, 1, 0, 0, 0, 99,
    ]);
  });
});
