import { describe, expect, it } from "vitest";
import { withReadRecording, xxhash32 } from "../../src/source/index.js";
import { fromBytes } from "../../src/source/memory.js";

const text = (s: string) => new TextEncoder().encode(s);
/** 1000 bytes, byte i = (31 i + 7) mod 256. */
const pattern = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 255);

describe("xxhash32", () => {
  // Digests of the reference C implementation (XXH32, as compiled by the xxhash-wasm package);
  // the first three are also the published ones.
  it.each([
    ["empty", new Uint8Array(), 0, 0x02cc5d05],
    ["a", text("a"), 0, 0x550d7456],
    ["abc", text("abc"), 0, 0x32d153ff],
    ["36 bytes", text("abcdefghijklmnopqrstuvwxyz0123456789"), 0, 0x42ae804d],
    ["1000 bytes", pattern, 0, 0xa793e7c7],
    ["a view at an odd offset", pattern.subarray(3, 998), 0, 0x1f3b57da],
    ["abc with a seed", text("abc"), 0x9e3779b1, 0xa1ae7709],
  ])("%s", (_name, bytes, seed, want) => {
    expect(xxhash32(bytes, seed)).toBe(want);
  });
});

describe("withReadRecording", () => {
  it("gives the checksum of any range inside one read, and none for bytes never read whole", async () => {
    const { source, recorded } = withReadRecording(fromBytes(pattern));
    await source.read(500, 300);
    await source.read(100, 200);
    expect(recorded.checksumOf(100, 200)).toBe(xxhash32(pattern.subarray(100, 300)));
    expect(recorded.checksumOf(503, 295)).toBe(xxhash32(pattern.subarray(503, 798)));
    expect(recorded.checksumOf(250, 300)).toBeUndefined();
    expect(recorded.checksumOf(0, 10)).toBeUndefined();
  });
});
