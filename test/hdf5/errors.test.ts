import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidHdf5Error, isGeochunksError } from "../../src/errors.js";
import { Hdf5File, inspectHdf5 } from "../../src/hdf5/index.js";
import { fromBytes, openFileSource, withReadStats } from "../../src/source/index.js";
import { MISSING_GRANULES, realGranules } from "./granules.js";

const dir = mkdtempSync(join(tmpdir(), "geochunks-hdf5-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function openPath(path: string): Promise<unknown> {
  const source = await openFileSource(path);
  try {
    return await Hdf5File.open(source);
  } finally {
    await source.close();
  }
}

describe("files that are not HDF5", () => {
  it("rejects a text file with InvalidHdf5Error after a handful of reads", async () => {
    const path = join(dir, "not.h5");
    writeFileSync(path, "latitude,longitude\n".repeat(50_000));
    await expect(openPath(path)).rejects.toBeInstanceOf(InvalidHdf5Error);
    const { source, stats } = withReadStats(fromBytes(readFileSync(path)));
    await expect(Hdf5File.open(source)).rejects.toThrow(/no HDF5 signature/);
    expect(stats.requests).toBeLessThanOrEqual(12);
  });

  it("rejects an empty file and a file shorter than a superblock", async () => {
    await expect(Hdf5File.open(fromBytes(new Uint8Array(0)))).rejects.toBeInstanceOf(InvalidHdf5Error);
    const short = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0);
    const err = await Hdf5File.open(fromBytes(short)).catch((e: unknown) => e);
    expect(isGeochunksError(err, "InvalidHdf5Error")).toBe(true);
    expect((err as InvalidHdf5Error).address).toBe(0);
  });
});

const granules = realGranules();

describe.skipIf(granules.length === 0)("damaged copies of a real granule", () => {
  if (granules.length === 0) console.warn(MISSING_GRANULES);
  const original = granules.length > 0 ? readFileSync(granules[granules.length - 1]!) : new Uint8Array(0);

  it("reports a truncated copy as InvalidHdf5Error naming the recorded end of file", async () => {
    for (const keep of [100, 4096, 500_000, original.length - 1]) {
      const path = join(dir, `truncated-${keep}.h5`);
      writeFileSync(path, original.subarray(0, keep));
      await expect(openPath(path)).rejects.toThrow(InvalidHdf5Error);
    }
    writeFileSync(join(dir, "t.h5"), original.subarray(0, 500_000));
    await expect(openPath(join(dir, "t.h5"))).rejects.toThrow(
      /truncated.*end of file at \d+ but size is 500000/,
    );
  });

  it("reports a corrupted signature as InvalidHdf5Error", async () => {
    const bytes = new Uint8Array(original);
    bytes[1] = 0x47; // "GDF"
    const path = join(dir, "badsig.h5");
    writeFileSync(path, bytes);
    await expect(openPath(path)).rejects.toThrow(/no HDF5 signature/);
  });

  it("gives typed errors (or correct answers), never crashes or hangs, on randomly corrupted metadata", async () => {
    let seed = 20240816;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const outcomes = { ok: 0, typed: 0 };
    for (let trial = 0; trial < 40; trial++) {
      const bytes = new Uint8Array(original);
      for (let s = 0; s < 3; s++) {
        const at = Math.floor(random() * Math.min(bytes.length, 800_000));
        const length = 1 + Math.floor(random() * 64);
        for (let i = 0; i < length && at + i < bytes.length; i++) bytes[at + i] = Math.floor(random() * 256);
      }
      try {
        await inspectHdf5(fromBytes(bytes));
        outcomes.ok += 1;
      } catch (err) {
        if (!isGeochunksError(err)) throw new Error(`trial ${trial}: untyped error`, { cause: err });
        outcomes.typed += 1;
      }
    }
    expect(outcomes.ok + outcomes.typed).toBe(40);
    expect(outcomes.typed).toBeGreaterThan(0);
  });

  it("names the address of a structure that points past the end of the file", async () => {
    const bytes = new Uint8Array(original);
    // root object header address in the v0 superblock root symbol table entry (offset 64)
    new DataView(bytes.buffer).setBigUint64(64, BigInt(bytes.length + 10), true);
    const err = await Hdf5File.open(fromBytes(bytes)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidHdf5Error);
    expect((err as InvalidHdf5Error).address).toBe(bytes.length + 10);
    expect((err as Error).message).toMatch(/outside the file/);
  });
});

describe.skipIf(granules.length === 0)("cancellation", () => {
  it("rejects with the signal's reason when aborted before or during a walk", async () => {
    const source = await openFileSource(granules[0]!);
    try {
      const file = await Hdf5File.open(source);
      const early = new AbortController();
      early.abort(new Error("stopped early"));
      await expect(file.listDatasets({ signal: early.signal })).rejects.toThrow("stopped early");
      const late = new AbortController();
      const walk = file.listDatasets({ signal: late.signal });
      late.abort(new Error("stopped late"));
      await expect(walk).rejects.toThrow("stopped late");
      expect((await file.listDatasets()).length).toBeGreaterThan(200); // nothing poisoned the caches
    } finally {
      await source.close();
    }
  });
});
