import { decompress } from "fzstd";
import { describe, expect, it } from "vitest";
import { zstdStored } from "../../src/export/icechunk/format.js";
import { storedFrameContent } from "../../src/store/zstd.js";

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** A 3-byte block header: last-block bit, type (0 raw, 1 RLE, 2 compressed), size. */
const blockHeader = (last: boolean, type: number, size: number) => {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff];
};

/** n bytes of a pattern. */
const pattern = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 3) & 0xff);

/** "geochunks " 12 times, compressed by the zstd command (level 19, no checksum): one compressed block. */
const COMPRESSED = Uint8Array.from([
  0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x78, 0x8d, 0x00, 0x00, 0x50, 0x67, 0x65, 0x6f, 0x63, 0x68, 0x75, 0x6e, 0x6b,
  0x73, 0x20, 0x01, 0x00, 0xab, 0x69, 0x41, 0x02,
]);

describe("storedFrameContent", () => {
  it("reads frames of raw blocks as fzstd does, one block without a copy", () => {
    for (const n of [0, 1, 100, 128 * 1024, 128 * 1024 + 1, 300_000]) {
      const data = pattern(n);
      const frame = zstdStored(data);
      const out = storedFrameContent(frame)!;
      // Compared as Buffers: vitest's deep equality takes seconds on arrays this long.
      expect(Buffer.from(out.buffer, out.byteOffset, out.length).equals(data), String(n)).toBe(true);
      expect(Buffer.from(decompress(frame)).equals(data), String(n)).toBe(true);
      expect(out.length).toBe(n);
      // One raw block (up to 128 KiB): a view into the frame's own bytes.
      if (n <= 128 * 1024) expect(out.buffer).toBe(frame.buffer);
    }
  });

  it("reads RLE blocks, raw and RLE blocks mixed, and every frame header layout, as fzstd does", () => {
    const raw = pattern(40);
    // Descriptor variants: content size field of 1 (single segment), 4 or 8 bytes or none with a
    // window descriptor; a checksum after the blocks (not checked, as by fzstd). A 2-byte size field
    // holds the size less 256, which 90 bytes cannot be: checked below.
    const headers: { name: string; bytes: number[]; checksum?: boolean }[] = [
      { name: "single segment, 1-byte size", bytes: [0x20, 90] },
      { name: "4-byte size, window", bytes: [0x80, 0x50, 90, 0, 0, 0] },
      { name: "no size, window", bytes: [0x00, 0x50] },
      {
        name: "single segment, 8-byte size, checksum",
        bytes: [0xe4, 90, 0, 0, 0, 0, 0, 0, 0],
        checksum: true,
      },
    ];
    const blocks = [
      ...blockHeader(false, 1, 30),
      0x2a,
      ...blockHeader(false, 0, 40),
      ...raw,
      ...blockHeader(true, 1, 20),
      0x07,
    ];
    const expected = new Uint8Array(90);
    expected.fill(0x2a, 0, 30);
    expected.set(raw, 30);
    expected.fill(0x07, 70, 90);
    for (const { name, bytes, checksum } of headers) {
      const frame = Uint8Array.from([...MAGIC, ...bytes, ...blocks, ...(checksum ? [1, 2, 3, 4] : [])]);
      expect(storedFrameContent(frame), name).toEqual(expected);
      // fzstd, an independent reader, gives the same bytes.
      expect(decompress(frame), name).toEqual(expected);
    }
    // A 2-byte size field: 256 + its value.
    const big = pattern(300);
    const frame = Uint8Array.from([...MAGIC, 0x60, 300 - 256, 0, ...blockHeader(true, 0, 300), ...big]);
    expect(storedFrameContent(frame)).toEqual(big);
    expect(decompress(frame)).toEqual(big);
  });

  it("leaves compressed blocks, skippable frames, two frames and damaged frames to fzstd", () => {
    expect(storedFrameContent(COMPRESSED)).toBeUndefined();
    expect(new TextDecoder().decode(decompress(COMPRESSED))).toBe("geochunks ".repeat(12));
    const stored = zstdStored(pattern(50));
    // Two frames back to back.
    expect(storedFrameContent(Uint8Array.from([...stored, ...stored]))).toBeUndefined();
    // Cut inside the block, or the last block missing.
    expect(storedFrameContent(stored.subarray(0, stored.length - 1))).toBeUndefined();
    expect(storedFrameContent(stored.subarray(0, 13))).toBeUndefined();
    // A raw block after a compressed one.
    const mixed = Uint8Array.from([
      ...MAGIC,
      0x20,
      10,
      ...blockHeader(false, 2, 1),
      0,
      ...blockHeader(true, 0, 10),
      ...pattern(10),
    ]);
    expect(storedFrameContent(mixed)).toBeUndefined();
    // Reserved block type, reserved descriptor bit, a skippable frame, not zstd at all.
    expect(
      storedFrameContent(Uint8Array.from([...MAGIC, 0x20, 4, ...blockHeader(true, 3, 4), 1, 2, 3, 4])),
    ).toBeUndefined();
    expect(
      storedFrameContent(Uint8Array.from([...MAGIC, 0x28, 4, ...blockHeader(true, 0, 4), 1, 2, 3, 4])),
    ).toBeUndefined();
    expect(
      storedFrameContent(Uint8Array.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4])),
    ).toBeUndefined();
    expect(storedFrameContent(pattern(64))).toBeUndefined();
  });
});
