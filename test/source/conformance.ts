import { describe, expect, it } from "vitest";
import { SourceError } from "../../src/errors.js";
import type { ByteSource } from "../../src/source/index.js";

/** Bytes whose value encodes their own offset, so a mis-sliced read is obvious. */
export function offsetBytes(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i & 0xff);
}

/** Expects `bytes` to be the `length` bytes at `offset` of an {@link offsetBytes} object. */
export function expectOffsetBytes(bytes: Uint8Array, offset: number, length: number): void {
  expect(bytes.length).toBe(length);
  for (let i = 0; i < length; i++) {
    if (bytes[i] !== ((offset + i) & 0xff)) throw new Error(`byte ${i} of read at ${offset} is ${bytes[i]}`);
  }
}

/**
 * The same cases for every ByteSource: `make(bytes)` returns a source over those bytes (and a cleanup).
 */
export function describeByteSource(
  name: string,
  make: (bytes: Uint8Array) => Promise<{ source: ByteSource; close(): Promise<void> }>,
): void {
  describe(`ByteSource conformance: ${name}`, () => {
    const size = 70_000;
    const withSource = async (fn: (source: ByteSource) => Promise<void>) => {
      const { source, close } = await make(offsetBytes(size));
      try {
        await fn(source);
      } finally {
        await close();
      }
    };

    it("reports its size", () =>
      withSource(async (source) => {
        expect(await source.size()).toBe(size);
        expect(await source.size()).toBe(size);
      }));

    it("reads exact ranges anywhere, including the last byte and empty reads", () =>
      withSource(async (source) => {
        for (const [offset, length] of [
          [0, 1],
          [0, 100],
          [1000, 5000],
          [65_535, 3],
          [size - 1, 1],
          [size - 10, 10],
          [123, 0],
          [0, size],
        ] as const) {
          expectOffsetBytes(await source.read(offset, length), offset, length);
        }
      }));

    it("serves concurrent reads correctly", () =>
      withSource(async (source) => {
        const ranges = Array.from(
          { length: 50 },
          (_, i) => [(i * 1337) % (size - 3000), 100 + i * 50] as const,
        );
        const results = await Promise.all(ranges.map(([o, l]) => source.read(o, l)));
        for (const [i, bytes] of results.entries()) expectOffsetBytes(bytes, ranges[i]![0], ranges[i]![1]);
      }));

    it("throws SourceError 416 for a range past the end or a negative range", () =>
      withSource(async (source) => {
        for (const [offset, length] of [
          [size - 1, 2],
          [size, 1],
          [size + 100, 10],
          [-1, 4],
          [0, -4],
          [0.5, 4],
        ] as const) {
          const err = await source.read(offset, length).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(SourceError);
          expect((err as SourceError).status).toBe(416);
          expect((err as SourceError).url).toBe(source.url.href);
        }
      }));

    it("honours an aborted signal", () =>
      withSource(async (source) => {
        const controller = new AbortController();
        controller.abort(new Error("stop"));
        await expect(source.read(0, 10, { signal: controller.signal })).rejects.toThrow("stop");
      }));
  });
}
