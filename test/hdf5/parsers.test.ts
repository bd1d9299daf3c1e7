import { describe, expect, it } from "vitest";
import { InvalidHdf5Error, UnsupportedHdf5Error } from "../../src/errors.js";
import { parseAttribute, parseAttributeMessage } from "../../src/hdf5/attribute.js";
import { parseNodeEntries, parseNodeHeader, readChunkKey } from "../../src/hdf5/btree-v1.js";
import { lookup3, verifyChecksum } from "../../src/hdf5/checksum.js";
import { cursorOf, readAddress, readUintLE, UNDEFINED_ADDRESS } from "../../src/hdf5/cursor.js";
import { chunksCover } from "../../src/hdf5/data.js";
import { parseDataspace } from "../../src/hdf5/dataspace.js";
import { parseDatatype } from "../../src/hdf5/datatype.js";
import { parseFillValue, parseFillValueOld } from "../../src/hdf5/fill-value.js";
import { parseFilterPipeline } from "../../src/hdf5/filter-pipeline.js";
import { parseLayout } from "../../src/hdf5/layout.js";
import { parseLink } from "../../src/hdf5/links.js";
import { parseMessagesV1, parseMessagesV2 } from "../../src/hdf5/object-header.js";
import { parseSuperblock, signatureOffsets } from "../../src/hdf5/superblock.js";

/** Little-endian byte writer for building structures in tests. */
function bytes(...parts: (number | [number, number] | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p & 0xff);
    else if (typeof p === "string") for (const ch of p) out.push(ch.charCodeAt(0));
    else if (p instanceof Uint8Array) out.push(...p);
    else {
      const [value, size] = p;
      let v = BigInt.asUintN(size * 8, BigInt(value));
      for (let i = 0; i < size; i++) {
        out.push(Number(v & 0xffn));
        v >>= 8n;
      }
    }
  }
  return Uint8Array.from(out);
}
const u16 = (v: number): [number, number] => [v, 2];
const u32 = (v: number): [number, number] => [v, 4];
const u64 = (v: number): [number, number] => [v, 8];
const UNDEF = u64(-1);
const view = (b: Uint8Array) => cursorOf(b).view;
const SIG = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
const SIZES = { offsetSize: 8, lengthSize: 8 };

describe("cursor", () => {
  it("reads undefined addresses and refuses integers beyond 2^53", () => {
    expect(readAddress(cursorOf(bytes(UNDEF)), 8)).toBe(UNDEFINED_ADDRESS);
    expect(readAddress(cursorOf(bytes(u32(1234))), 4)).toBe(1234);
    expect(() => readUintLE(cursorOf(bytes(u64(2 ** 53))), 8)).toThrow(InvalidHdf5Error);
    expect(() => readUintLE(cursorOf(bytes(1, 2)), 4, "thing")).toThrow(
      /thing needs 4 bytes at offset 0 but only 2 remain/,
    );
  });
});

describe("superblock", () => {
  it("parses version 0 (root address in the root symbol table entry)", () => {
    const sb = bytes(
      SIG,
      0,
      0,
      0,
      0,
      0,
      8,
      8,
      0,
      u16(4),
      u16(16),
      u32(0),
      u64(0),
      UNDEF,
      u64(5000),
      UNDEF,
      u64(0),
      u64(96),
    );
    expect(parseSuperblock(view(sb), 0)).toMatchObject({
      version: 0,
      offsetSize: 8,
      lengthSize: 8,
      rootAddress: 96,
      eofAddress: 5000,
    });
  });

  it("parses version 2 and rejects unknown versions and sizes", () => {
    const body = bytes(SIG, 2, 8, 8, 0, u64(0), UNDEF, u64(800), u64(48));
    const v2 = bytes(body, u32(lookup3(body)));
    expect(parseSuperblock(view(v2), 0)).toMatchObject({ version: 2, rootAddress: 48, eofAddress: 800 });
    v2[13] = 1; // any changed byte (here the base address) fails the checksum
    expect(() => parseSuperblock(view(v2), 0)).toThrow(/superblock at address 0 fails its checksum/);
    expect(() => parseSuperblock(view(bytes(SIG, 4, 8, 8)), 0)).toThrow(UnsupportedHdf5Error);
    expect(() => parseSuperblock(view(bytes(SIG, 2, 3, 8, 0, u64(0))), 0)).toThrow(/offset size 3/);
    expect(() => parseSuperblock(view(bytes("not hdf5 at all")), 0)).toThrow(InvalidHdf5Error);
  });

  it("searches 0, 512, 1024, ... for the signature", () => {
    expect(signatureOffsets(5000)).toEqual([0, 512, 1024, 2048, 4096]);
    expect(signatureOffsets(100)).toEqual([0]);
  });
});

describe("lookup3 checksum", () => {
  it("matches the reference vectors of Bob Jenkins' lookup3.c", () => {
    const text = new TextEncoder().encode("Four score and seven years ago");
    expect(lookup3(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(lookup3(new Uint8Array(0), 0xdeadbeef)).toBe(0xbd5b7dde);
    expect(lookup3(text)).toBe(0x17770551);
    expect(lookup3(text, 1)).toBe(0xcd628161);
  });

  it("verifies the checksum stored after a structure and names its address on a mismatch", () => {
    const body = bytes("FAHD", 0, 1, 2, 3);
    const good = bytes(body, u32(lookup3(body)));
    expect(() => verifyChecksum(good, body.length, "fixed array header", 4096)).not.toThrow();
    good[5] ^= 1;
    expect(() => verifyChecksum(good, body.length, "fixed array header", 4096)).toThrow(
      /fixed array header at address 4096 fails its checksum/,
    );
    expect(() => verifyChecksum(body, body.length, "x", 1)).toThrow(/too short/);
  });
});

describe("object header messages", () => {
  it("splits v1 messages (8-byte headers) and v2 messages (with creation order when flagged)", () => {
    const v1 = bytes(u16(1), u16(8), 0, 0, 0, 0, u64(7), u16(0x11), u16(16), 1, 0, 0, 0, u64(1), u64(2));
    expect(parseMessagesV1(v1).map((m) => [m.type, m.flags, m.body.length])).toEqual([
      [1, 0, 8],
      [0x11, 1, 16],
    ]);
    const v2 = bytes(3, u16(2), 0, u16(9), 0xaa, 0xbb, 12, u16(1), 1, u16(10), 0x55, 0, 0);
    expect(parseMessagesV2(v2, false, 0x04).map((m) => [m.type, m.flags, [...m.body]])).toEqual([
      [3, 0, [0xaa, 0xbb]],
      [12, 1, [0x55]],
    ]);
    const ochk = bytes("OCHK", 3, u16(1), 0, 7, u32(0));
    expect(parseMessagesV2(ochk, true, 0)).toHaveLength(1);
    // NIL messages (free space) are skipped; a message past the block's end is still an error.
    const nil1 = bytes(
      u16(0),
      u16(8),
      0,
      0,
      0,
      0,
      u64(0),
      u16(1),
      u16(8),
      0,
      0,
      0,
      0,
      u64(7),
      u16(0),
      u16(0),
      0,
      0,
      0,
      0,
    );
    expect(parseMessagesV1(nil1).map((m) => [m.type, [...m.body]])).toEqual([[1, [7, 0, 0, 0, 0, 0, 0, 0]]]);
    expect(() => parseMessagesV1(bytes(u16(0), u16(16), 0, 0, 0, 0, u64(0)))).toThrow(
      "message type 0 needs 16 bytes at offset 8 but only 8 remain",
    );
    expect(() => parseMessagesV1(bytes(u16(3), u16(9), 0, 0, 0, 0, u64(0)))).toThrow(InvalidHdf5Error);
    const nil2 = bytes(0, u16(3), 0, 1, 2, 3, 3, u16(1), 0, 9);
    expect(parseMessagesV2(nil2, false, 0).map((m) => [m.type, [...m.body]])).toEqual([[3, [9]]]);
    expect(() => parseMessagesV2(bytes(0, u16(5), 0, 1), false, 0)).toThrow(/overruns its block/);
    expect(() => parseMessagesV2(bytes("XXXX", u32(0)), true, 0)).toThrow(/OCHK/);
  });
});

describe("dataspace", () => {
  it("parses v1 with unlimited max dims, v2 scalar and null", () => {
    const v1 = bytes(1, 2, 1, 0, u32(0), u64(10), u64(3), UNDEF, u64(3));
    expect(parseDataspace(view(v1), 0, 8)).toEqual({ kind: "simple", shape: [10, 3], maxshape: [null, 3] });
    expect(parseDataspace(view(bytes(2, 0, 0, 0)), 0, 8)).toEqual({
      kind: "scalar",
      shape: [],
      maxshape: [],
    });
    expect(parseDataspace(view(bytes(2, 0, 0, 2)), 0, 8).kind).toBe("null");
    expect(() => parseDataspace(view(bytes(2, 40, 0, 1)), 0, 8)).toThrow(/rank 40/);
  });
});

describe("datatype", () => {
  it("spells fixed-point, float and string types numpy-style", () => {
    const int = (bits: number, size: number) => bytes(0x10, bits, 0, 0, u32(size), u16(0), u16(size * 8));
    expect(parseDatatype(view(int(0x08, 4)), 0).dtype).toBe("<i4");
    expect(parseDatatype(view(int(0x01, 2)), 0).dtype).toBe(">u2");
    expect(parseDatatype(view(int(0x08, 1)), 0).dtype).toBe("|i1");
    const f = (bits: number, size: number) => bytes(0x11, bits, 0, 0, u32(size), new Uint8Array(12));
    expect(parseDatatype(view(f(0x20, 8)), 0).dtype).toBe("<f8");
    expect(parseDatatype(view(f(0x21, 4)), 0).dtype).toBe(">f4");
    const s = parseDatatype(view(bytes(0x13, 0x02, 0, 0, u32(27))), 0);
    expect(s).toMatchObject({ dtype: "|S27", stringPad: 2 });
  });

  it("reports other classes as other:<class> and reads vlen strings' flag", () => {
    expect(parseDatatype(view(bytes(0x17, 0, 0, 0, u32(8))), 0).dtype).toBe("other:reference");
    const vlen = parseDatatype(view(bytes(0x19, 0x01, 0, 0, u32(16), 0x13, 0, 0, 0, u32(1))), 0);
    expect(vlen).toMatchObject({ dtype: "other:vlen", vlenString: true });
    const member = bytes("x", 0, 0, 0, 0, 0, 0, 0, u32(0), 0x11, 0x20, 0, 0, u32(8), new Uint8Array(12));
    const compound = parseDatatype(view(bytes(0x26, 1, 0, 0, u32(8), member)), 0);
    expect(compound.dtype).toBe("other:compound");
    expect(compound.members?.map((m) => [m.name, m.offset, m.type.dtype])).toEqual([["x", 0, "<f8"]]);
  });
});

describe("fill value", () => {
  it("parses new-style versions 2 and 3 and the old message", () => {
    expect(parseFillValue(view(bytes(2, 1, 0, 0)), 0)).toBeUndefined();
    expect([...parseFillValue(view(bytes(2, 2, 2, 1, u32(2), 0x7f, 0)), 0)!]).toEqual([0x7f, 0]);
    expect([...parseFillValue(view(bytes(3, 0x20 | 0x02, u32(1), 0x7f)), 0)!]).toEqual([0x7f]);
    expect(parseFillValue(view(bytes(3, 0x10)), 0)).toBeUndefined();
    expect([...parseFillValueOld(view(bytes(u32(1), 9)), 0)!]).toEqual([9]);
    expect(() => parseFillValue(view(bytes(9)), 0)).toThrow(UnsupportedHdf5Error);
  });
});

describe("filter pipeline", () => {
  it("parses version 1 (padded names, odd client data padded) in application order", () => {
    const shuffle = bytes(u16(2), u16(8), u16(1), u16(1), "shuffle", 0, u32(4), u32(0));
    const deflate = bytes(u16(1), u16(8), u16(1), u16(1), "deflate", 0, u32(6), u32(0));
    const v1 = bytes(1, 2, 0, 0, 0, 0, 0, 0, shuffle, deflate);
    expect(parseFilterPipeline(view(v1), 0)).toEqual([
      { id: 2, name: "shuffle", flags: 1, params: [4] },
      { id: 1, name: "deflate", flags: 1, params: [6] },
    ]);
  });

  it("parses version 2 (no names for predefined ids) and names registered ids", () => {
    const v2 = bytes(2, 2, u16(3), u16(0), u16(0), u16(32015), u16(5), u16(1), u16(1), "zstd", 0, u32(3));
    expect(parseFilterPipeline(view(v2), 0)).toEqual([
      { id: 3, name: "fletcher32", flags: 0, params: [] },
      { id: 32015, name: "zstd", flags: 1, params: [3] },
    ]);
  });
});

describe("layout", () => {
  it("parses version 3 compact, contiguous and chunked (rank + 1 dims)", () => {
    expect(parseLayout(view(bytes(3, 0, u16(3), 1, 2, 3)), 0, SIZES)).toEqual({
      kind: "compact",
      data: Uint8Array.of(1, 2, 3),
    });
    expect(parseLayout(view(bytes(3, 1, u64(4096), u64(800))), 0, SIZES)).toEqual({
      kind: "contiguous",
      address: 4096,
      size: 800,
    });
    expect(parseLayout(view(bytes(3, 1, UNDEF, u64(800))), 0, SIZES)).toMatchObject({
      address: UNDEFINED_ADDRESS,
    });
    const chunked = parseLayout(view(bytes(3, 2, 3, u64(777), u32(10_000), u32(748), u32(4))), 0, SIZES);
    expect(chunked).toEqual({
      kind: "chunked",
      chunkShape: [10_000, 748],
      elementSize: 4,
      index: "btree-v1",
      address: 777,
    });
  });

  it("parses version 4 chunk index types and rejects virtual layouts", () => {
    const single = bytes(4, 2, 0x02, 2, 4, u32(100), u32(8), 1, u64(555), u32(7), u64(9000));
    expect(parseLayout(view(single), 0, SIZES)).toMatchObject({
      index: "single",
      single: { size: 555, filterMask: 7 },
      address: 9000,
    });
    const fixed = bytes(4, 2, 0, 2, 2, u16(100), u16(8), 3, 0, u64(1234));
    expect(parseLayout(view(fixed), 0, SIZES)).toMatchObject({
      index: "fixed-array",
      chunkShape: [100],
      address: 1234,
    });
    expect(() => parseLayout(view(bytes(4, 3)), 0, SIZES)).toThrow(UnsupportedHdf5Error);
    expect(() => parseLayout(view(bytes(7, 1)), 0, SIZES)).toThrow(/version 7/);
  });
});

describe("links", () => {
  it("parses hard links and soft links' targets", () => {
    const hard = bytes(1, 0x00, 4, "gt1l", u64(800));
    expect(parseLink(view(hard), 0, 8)).toEqual({ name: "gt1l", address: 800 });
    const soft = bytes(1, 0x08 | 0x10, 1, 0, 3, "ref", u16(4), "/abc");
    expect(parseLink(view(soft), 0, 8)).toEqual({ name: "ref", address: undefined, soft: "/abc" });
  });
});

describe("B-tree v1", () => {
  it("parses a chunk node: keys hold rank + 1 offsets, the last (element size) dropped", () => {
    const key = (size: number, mask: number, ...offsets: number[]) =>
      bytes(u32(size), u32(mask), ...offsets.map(u64));
    const node = bytes(
      "TREE",
      1,
      0,
      u16(2),
      UNDEF,
      UNDEF,
      key(100, 0, 0, 0),
      u64(5000),
      key(90, 2, 10_000, 0),
      u64(6000),
      key(0, 0, 20_000, 0),
    );
    const head = parseNodeHeader(view(node), 0, 1234);
    expect(head).toEqual({ type: 1, level: 0, entries: 2 });
    const c = cursorOf(node, 24);
    const parsed = parseNodeEntries(c, head.entries, { offsetSize: 8, lengthSize: 8, rank: 1 }, (k) =>
      readChunkKey(k, 1),
    );
    expect(parsed.children).toEqual([5000, 6000]);
    expect(parsed.keys.slice(0, 2)).toEqual([
      { size: 100, filterMask: 0, coords: [0] },
      { size: 90, filterMask: 2, coords: [10_000] },
    ]);
    expect(() => parseNodeHeader(view(bytes("TRAP", 1, 0, u16(0))), 0, 1234)).toThrow(
      /expected TREE signature at address 1234/,
    );
  });
});

describe("attributes", () => {
  it("decodes a v1 fixed-string scalar and a v3 float array", () => {
    const name = bytes("units", 0, 0, 0);
    const type = bytes(0x13, 0, 0, 0, u32(6), 0, 0, 0, 0, 0, 0, 0, 0); // padded to 16
    const space = bytes(1, 0, 0, 0, u32(0));
    const v1 = bytes(1, 0, u16(6), u16(8), u16(8), name, type.subarray(0, 8), space, "meters");
    expect(parseAttribute(view(v1), 0, 8)).toEqual({ name: "units", value: "meters" });
    const ftype = bytes(0x11, 0x20, 0, 0, u32(8), new Uint8Array(12));
    const fspace = bytes(2, 1, 0, 1, u64(2));
    const data = new Uint8Array(new Float64Array([-90, 90]).buffer);
    const v3 = bytes(
      3,
      0,
      u16(10),
      u16(ftype.length),
      u16(fspace.length),
      0,
      "valid_min",
      0,
      ftype,
      fspace,
      data,
    );
    expect(parseAttribute(view(v3), 0, 8)).toEqual({ name: "valid_min", value: [-90, 90] });
  });

  it("decodes a repeated attribute message once, each caller getting its own value", () => {
    const ftype = bytes(0x11, 0x20, 0, 0, u32(8), new Uint8Array(12));
    const fspace = bytes(2, 1, 0, 1, u64(2));
    const data = new Uint8Array(new Float64Array([-90, 90]).buffer);
    const message = (name: string) =>
      bytes(
        3,
        0,
        u16(name.length + 1),
        u16(ftype.length),
        u16(fspace.length),
        0,
        name,
        0,
        ftype,
        fspace,
        data,
      );
    // The same bytes at another place of another buffer (as in another beam's header).
    const first = parseAttributeMessage(message("valid_max").subarray(0), 8);
    const again = parseAttributeMessage(bytes(7, 7, message("valid_max")).subarray(2), 8);
    expect(first).toEqual({ name: "valid_max", value: [-90, 90] });
    expect(again).toEqual({ name: "valid_max", value: [-90, 90] });
    (first.value as number[]).push(0);
    expect(parseAttributeMessage(message("valid_max"), 8).value).toEqual([-90, 90]);
    // Other bytes, other attribute.
    expect(parseAttributeMessage(message("valid_mid"), 8).name).toBe("valid_mid");
    // A dataspace of 4-byte lengths reads the same bytes otherwise: the length size is part of the key.
    const space4 = bytes(2, 1, 0, 1, u32(2));
    const short = bytes(3, 0, u16(3), u16(ftype.length), u16(space4.length), 0, "lo", 0, ftype, space4, data);
    expect(parseAttributeMessage(short, 4)).toEqual({ name: "lo", value: [-90, 90] });
    expect(() => parseAttributeMessage(short, 8)).toThrow(InvalidHdf5Error);
    expect(() => parseAttributeMessage(short, 8)).toThrow(InvalidHdf5Error);
  });

  it("never keeps variable-length attributes, whose values live in the file's global heap", () => {
    const vtype = bytes(0x19, 0x01, 0, 0, u32(16), bytes(0x13, 0, 0, 0, u32(1)));
    const scalar = bytes(2, 0, 0, 0);
    const descriptor = bytes(u32(5), u64(4096), u32(1));
    const message = bytes(
      3,
      0,
      u16(5),
      u16(vtype.length),
      u16(scalar.length),
      0,
      "note",
      0,
      vtype,
      scalar,
      descriptor,
    );
    const first = parseAttributeMessage(message, 8);
    const again = parseAttributeMessage(message, 8);
    expect(first.vlen?.count).toBe(1);
    expect(again.vlen?.data).toEqual(descriptor);
  });
});

describe("chunksCover", () => {
  const ref = (...coords: number[]) => ({ coords, offset: 0, size: 1, filterMask: 0 });
  const rows = (start: number, n: number) => ({ start: [start], shape: [n] });

  it("is true only when aligned, distinct chunks hold every element of the window", () => {
    expect(chunksCover([ref(0), ref(8), ref(16)], [8], rows(0, 20))).toBe(true);
    expect(chunksCover([ref(0), ref(16)], [8], rows(0, 20))).toBe(false);
    expect(chunksCover([ref(8)], [8], rows(9, 5))).toBe(true);
    expect(chunksCover([ref(0), ref(8)], [8], rows(9, 8))).toBe(false);
    expect(chunksCover([], [8], rows(0, 0))).toBe(true);
    // The same chunk twice, out of order or off the grid: not trusted.
    expect(chunksCover([ref(0), ref(0), ref(16)], [8], rows(0, 20))).toBe(false);
    expect(chunksCover([ref(8), ref(0), ref(16)], [8], rows(0, 20))).toBe(false);
    expect(chunksCover([ref(0), ref(4), ref(12)], [8], rows(0, 20))).toBe(false);
    expect(chunksCover([ref(0)], null, rows(0, 8))).toBe(false);
  });

  it("counts the elements of every dimension", () => {
    const grid = [ref(0, 0), ref(0, 8), ref(8, 0), ref(8, 8)];
    expect(chunksCover(grid, [8, 8], { start: [0, 0], shape: [12, 12] })).toBe(true);
    expect(chunksCover(grid.slice(0, 3), [8, 8], { start: [0, 0], shape: [12, 12] })).toBe(false);
    expect(chunksCover(grid.slice(0, 2), [8, 8], { start: [2, 0], shape: [5, 16] })).toBe(true);
  });
});
