import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoAtl03Set, writeSyntheticAtl03 } from "../../fixtures/atl03/generate.js";
import { index, openStore } from "../../src/index.js";
import { windowsOf } from "../../src/query/execute.js";
import { bruteForceAtl03 } from "../support/oracle-atl03.js";
import { boxPolygon } from "../support/results.js";

/*
 * A large granule is read in windows of chunk rows (bounded memory): the rows must not depend on the
 * window size, and a whole-granule query must still equal the brute-force oracle.
 */

/** Everything the two demo granules cover. */
const AOI = boxPolygon(-46, 62, -44, 64);
const PHOTONS = 60_000;

describe("windows of chunk rows", () => {
  let dir: string;
  let files: string[];
  let storeDir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-windows-"));
    const [r006, r007] = demoAtl03Set();
    files = [
      await writeSyntheticAtl03(dir, { ...r006!, photonsPerStrongBeam: PHOTONS }),
      await writeSyntheticAtl03(dir, { ...r007!, photonsPerStrongBeam: PHOTONS, release: "007" }),
    ];
    storeDir = join(dir, "store");
    await index(files, { store: storeDir });
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("splits a granule's chunk rows in order, at most the limit each unless one row is larger", () => {
    const read = (n: number) => ({ chunk: { row_count: n }, refs: new Map() }) as never;
    const sizes = (limit: number, rows: number[]) =>
      windowsOf(rows.map(read), limit).map((w) =>
        w.map((r: { chunk: { row_count: number } }) => r.chunk.row_count),
      );
    expect(sizes(10, [4, 4, 4, 12, 1, 9, 10])).toEqual([[4, 4], [4], [12], [1, 9], [10]]);
    expect(sizes(100, [])).toEqual([]);
  });

  it("gives the same rows, equal to the oracle, whatever the window size", async () => {
    const store = await openStore(storeDir);
    const whole = store.query({ aoi: AOI });
    const wholeTable = await whole.toTable();
    const small = store.query({ aoi: AOI, windowPoints: 20_000, granuleConcurrency: 3 });
    const smallTable = await small.toTable();
    const oracle = await bruteForceAtl03(files, AOI);
    expect(wholeTable.numRows).toBe(oracle.length);
    expect(smallTable.numRows).toBe(oracle.length);
    for (const name of ["granule_id", "beam", "lat", "lon", "time", "h_ph", "segment_id"]) {
      const a = wholeTable.getChild(name)!.toArray();
      const b = smallTable.getChild(name)!.toArray();
      expect(Array.from(b), name).toEqual(Array.from(a));
    }
    const segments = Array.from(smallTable.getChild("segment_id")!.toArray(), Number);
    expect(segments).toEqual(oracle.map((r) => r.segment_id));
    // Same chunks and bytes, more rounds: every window reads its own coordinates, then its other variables.
    expect(small.stats.granules).toBe(2);
    expect(small.stats.chunks_read).toBe(whole.stats.chunks_read);
    expect(small.stats.bytes_minimal).toBe(whole.stats.bytes_minimal);
    expect(small.stats.requests).toBeGreaterThan(whole.stats.requests);
  }, 120_000);
});
