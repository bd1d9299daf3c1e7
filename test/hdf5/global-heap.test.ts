import { describe, expect, it } from "vitest";
import { readGlobalHeap, readVlenValues } from "../../src/hdf5/global-heap.js";
import type { MetaReader } from "../../src/hdf5/reader.js";
import { fromBytes } from "../../src/source/index.js";
import type { ByteSource } from "../../src/source/types.js";

/** Address of the collection (0 is the null address of a variable-length descriptor). */
const AT = 1024;

/** A file of 8 KiB with a global heap collection of 4 KiB at {@link AT}: "GCOL", version 1, its size, then objects 1 and 2 (8-aligned). */
function collection(): Uint8Array {
  const file = new Uint8Array(8192);
  const out = file.subarray(AT, AT + 4096);
  const view = new DataView(out.buffer, out.byteOffset);
  out.set([0x47, 0x43, 0x4f, 0x4c, 1]);
  view.setBigUint64(8, BigInt(out.length), true);
  let at = 16;
  for (const [index, text] of [
    [1, "gt1l"],
    [2, "land_ice_segments"],
  ] as const) {
    view.setUint16(at, index, true);
    view.setBigUint64(at + 8, BigInt(text.length), true);
    out.set(new TextEncoder().encode(text), at + 16);
    at += 16 + Math.ceil(text.length / 8) * 8;
  }
  return file;
}

/** A source over `bytes` that counts reads and fails the first `failures` of them. */
function counted(bytes: Uint8Array, failures = 0): { source: ByteSource; reads: () => number } {
  const inner = fromBytes(bytes);
  let reads = 0;
  const source: ByteSource = {
    url: inner.url,
    size: (opts) => inner.size(opts),
    read(offset, length, opts) {
      reads++;
      if (reads <= failures) return Promise.reject(new Error("network down"));
      return inner.read(offset, length, opts);
    },
  };
  return { source, reads: () => reads };
}

const metaOf = (source: ByteSource): MetaReader => ({
  source,
  fileSize: 8192,
  baseAddress: 0,
  offsetSize: 8,
  lengthSize: 8,
});

/** Descriptors of variable-length strings: length, collection address, object index. */
function descriptors(...refs: [number, number][]): Uint8Array {
  const out = new Uint8Array(16 * refs.length);
  const view = new DataView(out.buffer);
  refs.forEach(([length, index], i) => {
    view.setUint32(16 * i, length, true);
    view.setBigUint64(16 * i + 4, BigInt(AT), true);
    view.setUint32(16 * i + 12, index, true);
  });
  return out;
}

describe("global heap collections", () => {
  it("are read and parsed once per open file, shared by every variable-length value", async () => {
    const { source, reads } = counted(collection());
    const meta = metaOf(source);
    const first = await readGlobalHeap(meta, AT);
    const readsOnce = reads();
    expect(readsOnce).toBe(2);
    expect(new TextDecoder().decode(first.get(2))).toBe("land_ice_segments");
    expect(await readGlobalHeap(meta, AT)).toBe(first);
    const type = {
      typeClass: 9,
      size: 16,
      dtype: "other:vlen",
      littleEndian: true,
      signed: false,
      stringPad: 0,
      vlenString: true,
    };
    for (let i = 0; i < 3; i++) {
      expect(await readVlenValues(meta, descriptors([4, 1], [17, 2]), 2, type)).toEqual([
        "gt1l",
        "land_ice_segments",
      ]);
    }
    expect(reads()).toBe(readsOnce);
    // Another open file (another reader) reads its own.
    await readGlobalHeap(metaOf(source), AT);
    expect(reads()).toBe(readsOnce + 2);
  });

  it("are read again after a failed read", async () => {
    const { source, reads } = counted(collection(), 1);
    const meta = metaOf(source);
    await expect(readGlobalHeap(meta, AT)).rejects.toThrow("network down");
    const again = await readGlobalHeap(meta, AT);
    expect(new TextDecoder().decode(again.get(1))).toBe("gt1l");
    expect(reads()).toBe(3);
  });
});
