import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { Fetched } from "../../src/query/fetch.js";
import { decodeRefs, QueryArrays, readVariable as readAny } from "../../src/query/variables.js";
import type { ArrayRow, ChunkRefRow } from "../../src/store/schema.js";

/*
 * A chunk row's values from its chunks: one decoded chunk holding the rows whole is read as a view of
 * it (no copy); rows over two chunks, or a chunk not decoded beforehand, are copied out as before.
 */

const CHUNK = 4;
const row: ArrayRow = {
  granule_id: "G",
  path: "/gt1l/land_ice_segments/h_li",
  dtype: "<f8",
  shape: [3 * CHUNK],
  chunk_shape: [CHUNK],
  filters: JSON.stringify([{ id: 1, name: "deflate", params: [6] }]),
  fill_value: "null",
  attrs: "{}",
};

/** Three deflated chunks of values 0.5, 1.5, ... laid one after another in one fetched range. */
function fetched(): { f: Fetched; refs: ChunkRefRow[] } {
  const stored = [0, 1, 2].map((c) => {
    const values = Float64Array.from({ length: CHUNK }, (_, i) => c * CHUNK + i + 0.5);
    return new Uint8Array(deflateSync(new Uint8Array(values.buffer)));
  });
  const refs: ChunkRefRow[] = [];
  let offset = 1000;
  for (const [c, bytes] of stored.entries()) {
    refs.push({
      path: row.path,
      chunk_start: c * CHUNK,
      col_start: 0,
      offset,
      size: bytes.length,
      filter_mask: 0,
    });
    offset += bytes.length;
  }
  const buffer = new Uint8Array(offset - 1000);
  for (const [c, bytes] of stored.entries()) buffer.set(bytes, refs[c]!.offset - 1000);
  return {
    f: { ranges: [{ offset: 1000, length: buffer.length }], buffers: [buffer], decoded: new Map() },
    refs,
  };
}

/** The values of an `<f8` dataset. */
const readVariable = (...args: Parameters<typeof readAny>) => readAny(...args) as Float64Array;

describe("query variables", () => {
  it("reads rows one decoded chunk holds as a view of it, and rows over two chunks as a copy", async () => {
    const { f, refs } = fetched();
    const arrays = new QueryArrays(new Map([[`G\u0000${row.path}`, row]]));
    const a = arrays.get("G", row.path)!;
    // Not decoded beforehand: decoded here, copied out.
    expect(Array.from(readVariable(f, a, [refs[1]!], CHUNK, CHUNK))).toEqual([4.5, 5.5, 6.5, 7.5]);
    await decodeRefs(f, refs, "G", arrays);
    const whole = readVariable(f, a, [refs[1]!], CHUNK, CHUNK);
    expect(Array.from(whole)).toEqual([4.5, 5.5, 6.5, 7.5]);
    expect(whole.buffer).toBe(f.decoded.get(refs[1]!.offset)!.buffer);
    const part = readVariable(f, a, [refs[2]!], 2 * CHUNK + 1, 2);
    expect(Array.from(part)).toEqual([9.5, 10.5]);
    expect(part.buffer).toBe(f.decoded.get(refs[2]!.offset)!.buffer);
    const across = readVariable(f, a, [refs[0]!, refs[1]!], 2, 4);
    expect(Array.from(across)).toEqual([2.5, 3.5, 4.5, 5.5]);
    expect(across.buffer).not.toBe(f.decoded.get(refs[0]!.offset)!.buffer);
  });

  it("decodes chunks small and large off this thread, each once, to the same values", async () => {
    // Chunks of 8 KB (an ATL06 chunk is 80 KB) and of 1.1 MB (ATL03's photon chunks are up to 0.8 MB).
    for (const rows of [1024, 140_000]) {
      const big: ArrayRow = { ...row, shape: [2 * rows], chunk_shape: [rows] };
      const chunks = [0, 1].map((c) => Float64Array.from({ length: rows }, (_, i) => Math.sin(c * rows + i)));
      const stored = chunks.map((v) => new Uint8Array(deflateSync(new Uint8Array(v.buffer))));
      const buffer = new Uint8Array(stored[0]!.length + stored[1]!.length);
      buffer.set(stored[0]!, 0);
      buffer.set(stored[1]!, stored[0]!.length);
      const refs: ChunkRefRow[] = stored.map((bytes, c) => ({
        path: big.path,
        chunk_start: c * rows,
        col_start: 0,
        offset: c === 0 ? 0 : stored[0]!.length,
        size: bytes.length,
        filter_mask: 0,
      }));
      const f: Fetched = {
        ranges: [{ offset: 0, length: buffer.length }],
        buffers: [buffer],
        decoded: new Map(),
      };
      const arrays = new QueryArrays(new Map([[`G\u0000${big.path}`, big]]));
      // The same ref twice (chunk rows sharing a chunk) is decoded once.
      const pending = decodeRefs(f, [...refs, refs[1]!], "G", arrays);
      // Nothing is decoded on this thread: the chunks are in once the promise resolves.
      expect(pending).toBeInstanceOf(Promise);
      expect(f.decoded.size).toBe(0);
      await pending;
      expect(f.decoded.size).toBe(2);
      const a = arrays.get("G", big.path)!;
      const values = readVariable(f, a, refs, 0, 2 * rows);
      expect(Array.from(values)).toEqual([...chunks[0]!, ...chunks[1]!]);
    }
  });
});
