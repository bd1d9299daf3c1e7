/**
 * The beams' coordinate arrays are read into buffers that go round (`arrayBuffers`): each beam gives
 * its arrays back once its rows are made, and later reads write over them. Rows made while other
 * granules' reads reuse the buffers must be the rows made alone.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { arrayBuffers, indexGranule } from "../../src/index-builder/granule.js";
import { openFileSource } from "../../src/source/index.js";
import type { StoreBatch } from "../../src/store/store.js";
import { DEFAULT_H3_RESOLUTION } from "../../src/store/store.js";
import { delayedReads } from "../support/delayed-reads.js";

describe("coordinate arrays in pooled buffers", () => {
  let dir: string;
  let paths: string[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-pooled-"));
    // 20 000 rows per beam: 160 KB arrays, pooled.
    paths = await Promise.all(
      demoGranuleSet()
        .slice(0, 3)
        .map((g) => writeSyntheticAtl06(dir, g)),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function index(path: string, seed?: number): Promise<StoreBatch> {
    const file = await openFileSource(path);
    const source = seed === undefined ? file : delayedReads(file, seed);
    const fingerprint = { size: statSync(path).size, etag: null, mtime: null };
    return indexGranule(source, { h3Resolution: DEFAULT_H3_RESOLUTION, fingerprint });
  }

  it("give the rows of each granule indexed alone while other granules reuse them", async () => {
    arrayBuffers.clear();
    const alone: StoreBatch[] = [];
    for (const path of paths) alone.push(await index(path));
    // Every beam gave its arrays back.
    expect(arrayBuffers.freeBytes).toBeGreaterThan(0);
    expect(alone.every((b) => b.chunks.length > 0)).toBe(true);
    for (const seed of [1, 2, 3]) {
      const before = arrayBuffers.freeBytes;
      const together = await Promise.all(paths.map((path, i) => index(path, seed * 10 + i)));
      // The buffers the first granules gave back were taken again (and given back again).
      expect(before).toBeGreaterThan(0);
      for (let i = 0; i < paths.length; i++) {
        expect(together[i]!.chunks).toEqual(alone[i]!.chunks);
        expect(together[i]!.chunkCells).toEqual(alone[i]!.chunkCells);
      }
    }
  });
});
