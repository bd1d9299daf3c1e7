import { describe, expect, it } from "vitest";
import { BufferPool } from "../../src/source/buffer-pool.js";

describe("BufferPool with exact sizes", () => {
  it("keeps and matches buffers at the size asked, counts reuse, and makes new ones with `allocate`", () => {
    const made: number[] = [];
    const pool = new BufferPool({
      exactSizes: true,
      minBytes: 1024,
      maxBytes: 1 << 20,
      allocate: (bytes) => {
        made.push(bytes);
        return new ArrayBuffer(bytes);
      },
    });
    const a = pool.take(3000);
    // Not rounded up to 4096.
    expect(a.buffer.byteLength).toBe(3000);
    pool.give(a);
    expect(pool.freeBytes).toBe(3000);
    // Another size does not take it; the same size does.
    expect(pool.take(3001).buffer).not.toBe(a.buffer);
    expect(pool.reused).toBe(0);
    expect(pool.take(3000).buffer).toBe(a.buffer);
    expect(pool.reused).toBe(1);
    // Outside the pooled sizes: made by `allocate` too, never kept.
    const small = pool.take(10);
    pool.give(small);
    expect(pool.freeBytes).toBe(0);
    expect(made).toEqual([3000, 3001, 10]);
  });
});
