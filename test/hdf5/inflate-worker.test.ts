import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InvalidHdf5Error } from "../../src/errors.js";
import { decodeChunk, decodeChunkInto, decodeChunkOffThread } from "../../src/hdf5/filters.js";
import { releaseInflated } from "../../src/hdf5/inflate-worker.js";
import type { DecodeSpec } from "../../src/hdf5/types.js";
import { xxhash32 } from "../../src/source/xxhash32.js";
import { ROOT } from "../support/cli.js";

const DEFLATE = { id: 1, name: "deflate", flags: 1, params: [6] };
const SHUFFLE = { id: 2, name: "shuffle", flags: 1, params: [8] };

/** A chunk of `n` doubles stored through `filters` (shuffle by HDF5's rule, then deflate). */
function storedChunk(n: number, seed: number, filters: DecodeSpec["filters"]) {
  const values = Float64Array.from({ length: n }, (_, i) => seed + i * 1e-4 + Math.sin(i * seed) * 1e-6);
  let bytes = new Uint8Array(values.buffer);
  for (const f of filters) {
    if (f.id === 2) {
      const out = new Uint8Array(bytes.length);
      for (let i = 0; i < n; i++) for (let k = 0; k < 8; k++) out[k * n + i] = bytes[i * 8 + k]!;
      bytes = out;
    } else if (f.id === 1) bytes = new Uint8Array(deflateSync(bytes));
  }
  const spec: DecodeSpec = { path: `/beam/v${seed}`, dtype: "<f8", chunkShape: [n], filters };
  return { values, bytes, spec };
}

/** What decodeChunk throws for a stored chunk (named as the tests name it), or undefined. */
function decodeError(stored: Uint8Array, spec: DecodeSpec): Error | undefined {
  try {
    decodeChunk(stored, spec, 0, "chunk [0] at offset 9");
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

describe("decodeChunkOffThread", () => {
  it("gives decodeChunk's bytes for many chunks asked at once, leaving the stored views intact", async () => {
    // 40 chunks in one turn: three messages of at most 16; sizes from 1 KiB outputs (Node's buffer
    // pool) to 80 KB; each stored chunk a view into one shared line, as the block cache hands them out.
    const chunks = Array.from({ length: 40 }, (_, k) =>
      storedChunk(k % 5 === 0 ? 128 : 10_000, k + 1, k % 2 ? [SHUFFLE, DEFLATE] : [DEFLATE]),
    );
    const line = new Uint8Array(chunks.reduce((a, c) => a + c.bytes.length + 7, 0));
    let at = 0;
    const views = chunks.map((c) => {
      line.set(c.bytes, at);
      const view = line.subarray(at, at + c.bytes.length);
      at += c.bytes.length + 7;
      return view;
    });
    const copy = line.slice();
    const decoded = await Promise.all(chunks.map((c, k) => decodeChunkOffThread(views[k]!, c.spec, 0)));
    for (const [k, c] of chunks.entries()) {
      const bytes = Buffer.from(decoded[k]!.buffer, decoded[k]!.byteOffset, decoded[k]!.byteLength);
      expect(bytes.equals(decodeChunk(views[k]!, c.spec, 0))).toBe(true);
      expect(bytes.equals(new Uint8Array(c.values.buffer))).toBe(true);
    }
    expect(line.byteLength).toBe(copy.byteLength);
    expect(Buffer.from(line).equals(Buffer.from(copy))).toBe(true);
  });

  it("reads chunks in shared memory where they lie, mixed with chunks it copies, with their sums", async () => {
    // Lines the network thread read are SharedArrayBuffers: their chunks go to the worker uncopied.
    const chunks = Array.from({ length: 30 }, (_, k) =>
      storedChunk(8000, k + 3, k % 3 ? [DEFLATE] : [SHUFFLE, DEFLATE]),
    );
    const shared = new Uint8Array(new SharedArrayBuffer(chunks.reduce((a, c) => a + c.bytes.length + 5, 0)));
    let at = 3;
    const views = chunks.map((c, k) => {
      if (k % 2) return c.bytes;
      shared.set(c.bytes, at);
      const view = shared.subarray(at, at + c.bytes.length);
      at += c.bytes.length + 5;
      return view;
    });
    const sums: number[] = [];
    const decoded = await Promise.all(
      chunks.map((c, k) => decodeChunkOffThread(views[k]!, c.spec, 0, "a chunk", (sum) => (sums[k] = sum))),
    );
    for (const [k, c] of chunks.entries()) {
      expect(Buffer.from(decoded[k]!).equals(new Uint8Array(c.values.buffer)), `chunk ${k}`).toBe(true);
      expect(sums[k], `chunk ${k}`).toBe(xxhash32(c.bytes));
    }
  });

  it("uses given-back buffers again without touching chunks still held", async () => {
    // Three rounds of 70 chunks (more than the batches in flight): after each round, every other
    // chunk is given back and the rest are kept; a buffer used again too early would overwrite them.
    const held: { bytes: Uint8Array; values: Float64Array }[] = [];
    for (let round = 0; round < 3; round++) {
      const chunks = Array.from({ length: 70 }, (_, k) =>
        storedChunk(k % 7 === 0 ? 600 : 10_000, round * 100 + k + 1, k % 3 ? [DEFLATE] : [SHUFFLE, DEFLATE]),
      );
      const decoded = await Promise.all(chunks.map((c) => decodeChunkOffThread(c.bytes, c.spec, 0)));
      for (const [k, bytes] of decoded.entries()) {
        const expected = new Uint8Array(chunks[k]!.values.buffer);
        expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(expected)).toBe(true);
        if (k % 2) releaseInflated(bytes);
        else held.push({ bytes, values: chunks[k]!.values });
      }
    }
    for (const { bytes, values } of held) {
      const expected = new Uint8Array(values.buffer);
      expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(expected)).toBe(true);
    }
  });

  it("rejects as decodeChunk throws: corrupt streams, outputs past the limit, wrong sizes", async () => {
    const spec: DecodeSpec = { path: "/x", dtype: "<f8", chunkShape: [10], filters: [DEFLATE] };
    const cases = [
      Uint8Array.of(1, 2, 3, 4),
      new Uint8Array(deflateSync(new Uint8Array(72))),
      new Uint8Array(deflateSync(new Uint8Array(200_000))),
    ];
    for (const stored of cases) {
      const sync = decodeError(stored, spec);
      expect(sync).toBeInstanceOf(InvalidHdf5Error);
      const off = await decodeChunkOffThread(stored, spec, 0, () => "chunk [0] at offset 9").catch(
        (err: unknown) => err as Error,
      );
      expect(off).toBeInstanceOf(InvalidHdf5Error);
      expect((off as Error).message).toBe(sync!.message);
    }
  });

  it("gives each stored chunk's XXH32: from the worker when deflate comes first, else on this thread", async () => {
    const sums = (chunks: { bytes: Uint8Array; spec: DecodeSpec; mask: number }[]) => {
      const got: (number | undefined)[] = chunks.map(() => undefined);
      let sync = 0;
      let inTurn = true;
      const done = Promise.all(
        chunks.map((c, k) =>
          decodeChunkOffThread(c.bytes, c.spec, c.mask, "a chunk", (sum) => {
            expect(got[k]).toBeUndefined();
            got[k] = sum;
            if (inTurn) sync += 1;
          }).catch(() => undefined),
        ),
      );
      inTurn = false;
      return done.then(() => ({ got, sync }));
    };
    // Two rounds, so that a worker that failed to start in the first would show in the second
    // (its chunks then inflate on the threadpool, their sums taken at once on this thread).
    for (let round = 0; round < 2; round++) {
      const deflated = Array.from({ length: 20 }, (_, k) => {
        const c = storedChunk(5000, round * 50 + k + 1, k % 2 ? [SHUFFLE, DEFLATE] : [DEFLATE]);
        return { ...c, mask: 0 };
      });
      // A stream that does not inflate still has its sum.
      const corrupt = { ...storedChunk(10, 7, [DEFLATE]), bytes: Uint8Array.of(1, 2, 3, 4), mask: 0 };
      const { got, sync } = await sums([...deflated, corrupt]);
      expect(sync).toBe(0);
      expect(got).toEqual([...deflated, corrupt].map((c) => xxhash32(c.bytes)));
    }
    // Deflate skipped by the chunk's filter mask: the stored bytes are the values, summed here.
    const raw = storedChunk(1000, 5, []);
    const { got, sync } = await sums([{ ...raw, spec: { ...raw.spec, filters: [DEFLATE] }, mask: 1 }]);
    expect(sync).toBe(1);
    expect(got).toEqual([xxhash32(raw.bytes)]);
  });

  it("writes plain deflated chunks where they are placed in shared memory, and nothing around them", async () => {
    // Chunks of 1000 doubles placed end to end in one values buffer, each cut as a dataset window
    // cuts its first and last chunks; chunks with a shuffle to undo are not placed (undefined) and go
    // the usual way, in the same batches.
    const n = 1000;
    const chunks = Array.from({ length: 24 }, (_, k) =>
      storedChunk(n, k + 11, k % 5 === 4 ? [SHUFFLE, DEFLATE] : [DEFLATE]),
    );
    const out = new Uint8Array(new SharedArrayBuffer(8 + chunks.length * n * 8 + 8)).fill(0xee);
    const sums: number[] = [];
    const cuts = chunks.map((_, k) => ({
      from: k === 0 ? 40 * 8 : 0,
      length: k === chunks.length - 1 ? 300 * 8 : n * 8,
    }));
    // Each place asked for once, when its chunk is sent to the worker, not when it is handed over.
    const asked = chunks.map(() => 0);
    const results = Promise.all(
      chunks.map((c, k) => {
        const place = () => {
          asked[k]! += 1;
          return { shared: out.buffer as SharedArrayBuffer, at: 8 + k * n * 8 + cuts[k]!.from, ...cuts[k]! };
        };
        const placing = decodeChunkInto(c.bytes, c.spec, 0, place, "a chunk", (sum) => (sums[k] = sum));
        return placing
          ? placing.then(() => "placed")
          : decodeChunkOffThread(c.bytes, c.spec, 0, "a chunk", (sum) => (sums[k] = sum));
      }),
    );
    expect(asked.every((a) => a === 0)).toBe(true);
    const got = await results;
    expect(asked).toEqual(chunks.map((_, k) => (k % 5 === 4 ? 0 : 1)));
    const expected = new Uint8Array(out.length).fill(0xee);
    for (const [k, c] of chunks.entries()) {
      const values = new Uint8Array(c.values.buffer);
      if (k % 5 === 4) {
        expect(got[k]).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(got[k] as Uint8Array).equals(values)).toBe(true);
      } else {
        expect(got[k]).toBe("placed");
        const { from, length } = cuts[k]!;
        expected.set(values.subarray(from, from + length), 8 + k * n * 8 + from);
      }
      expect(sums[k], `chunk ${k}`).toBe(xxhash32(c.bytes));
    }
    expect(Buffer.from(out).equals(expected)).toBe(true);
  });

  it("rejects a placed chunk as decodeChunk throws, and leaves chunks it masks to the caller", async () => {
    const spec: DecodeSpec = { path: "/x", dtype: "<f8", chunkShape: [10], filters: [DEFLATE] };
    const shared = new SharedArrayBuffer(80);
    const place = () => ({ shared, at: 0, from: 0, length: 80 });
    for (const stored of [
      Uint8Array.of(1, 2, 3, 4),
      new Uint8Array(deflateSync(new Uint8Array(72))),
      new Uint8Array(deflateSync(new Uint8Array(88))),
      new Uint8Array(deflateSync(new Uint8Array(200_000))),
    ]) {
      const sync = decodeError(stored, spec);
      const placed = await decodeChunkInto(stored, spec, 0, place, () => "chunk [0] at offset 9")!.catch(
        (err: unknown) => err as Error,
      );
      expect(placed).toBeInstanceOf(InvalidHdf5Error);
      expect((placed as Error).message).toBe(sync!.message);
    }
    // A place that cannot be given (values not in shared memory) rejects its chunk alone.
    const good = storedChunk(1000, 9, [DEFLATE]);
    const out = new SharedArrayBuffer(8000);
    const [refused, fine] = await Promise.allSettled([
      decodeChunkInto(good.bytes, good.spec, 0, () => {
        throw new TypeError("no place");
      })!,
      decodeChunkInto(good.bytes, good.spec, 0, () => ({ shared: out, at: 0, from: 0, length: 8000 }))!,
    ]);
    expect(refused).toMatchObject({ status: "rejected", reason: { message: "no place" } });
    expect(fine.status).toBe("fulfilled");
    expect(Buffer.from(new Uint8Array(out)).equals(new Uint8Array(good.values.buffer))).toBe(true);
    // Deflate skipped by the mask, or a filter this reader does not undo: nothing placed.
    expect(decodeChunkInto(new Uint8Array(80), spec, 1, place)).toBeUndefined();
    const lzf = { id: 32000, name: "lzf", flags: 1, params: [] };
    expect(decodeChunkInto(new Uint8Array(80), { ...spec, filters: [lzf] }, 0, place)).toBeUndefined();
  });

  it("does not hold the process open (a script exits by itself after a read)", () => {
    const { bytes, spec } = storedChunk(1000, 3, [DEFLATE]);
    // A module file, not -e: the process of an evaluated module exits when it ends, whatever is left open.
    const dir = mkdtempSync(join(tmpdir(), "inflate-worker-"));
    const script = join(dir, "read.mjs");
    writeFileSync(
      script,
      `import { decodeChunkOffThread } from ${JSON.stringify(pathToFileURL(join(ROOT, "dist/hdf5/filters.js")).href)};
      const spec = ${JSON.stringify(spec)};
      const stored = Buffer.from("${Buffer.from(bytes).toString("base64")}", "base64");
      let sum;
      const out = await decodeChunkOffThread(stored, spec, 0, "a chunk", (s) => { sum = s; });
      console.log(out.length, sum);`,
    );
    try {
      // A process held open would be killed at the timeout, and execFileSync would throw.
      const out = execFileSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
      // The compiled worker's sum (its XXH32 is the compiled function's source text) is the reference's.
      expect(out.trim()).toBe(`8000 ${xxhash32(bytes)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
