/**
 * A granule's rows come in one order whatever order its reads come back in: the beams' rows joined in
 * the order of the beams, so the same granule always makes the same part files.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { indexGranule } from "../../src/index-builder/granule.js";
import { openFileSource } from "../../src/source/index.js";
import { DEFAULT_H3_RESOLUTION } from "../../src/store/store.js";
import { delayedReads } from "../support/delayed-reads.js";

describe("the rows of a granule", () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-row-order-"));
    // Six beams, so their reads interleave.
    path = await writeSyntheticAtl06(dir, demoGranuleSet()[0]!);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("come in the beams' order whatever order the reads come back in", async () => {
    const batches = [];
    const fingerprint = { size: statSync(path).size, etag: null, mtime: null };
    for (const seed of [1, 2, 3]) {
      const source = delayedReads(await openFileSource(path), seed);
      batches.push(await indexGranule(source, { h3Resolution: DEFAULT_H3_RESOLUTION, fingerprint }));
    }
    const [first, ...others] = batches;
    const beams = first!.chunks.map((c) => c.beam);
    expect(new Set(beams).size).toBe(6);
    // Beam by beam, each beam's rows along the track.
    const order = [...new Set(beams)];
    expect(beams).toEqual([...beams].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    expect(order).toEqual([...order].sort());
    for (const other of others) {
      expect(other.chunks.map((c) => c.chunk_id)).toEqual(first!.chunks.map((c) => c.chunk_id));
      expect(other.arrays.map((a) => a.path)).toEqual(first!.arrays.map((a) => a.path));
      expect(other.chunkCells).toEqual(first!.chunkCells);
    }
  });
});
