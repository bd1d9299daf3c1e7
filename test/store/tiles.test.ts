import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { startRangeServer } from "../../fixtures/servers/range-server.js";
import { parseAoi } from "../../src/query/aoi.js";
import { HILBERT_BITS } from "../../src/store/hilbert.js";
import { localStoreReader } from "../../src/store/local-reader.js";
import {
  CHUNKS_TILE_LEVEL,
  CHUNKS_TILE_MIN_ROWS,
  chunkTile,
  chunkTileLevel,
  chunkTiles,
  mergeBatches,
  type StoreBatch,
} from "../../src/store/parts.js";
import type { StoreReader } from "../../src/store/reader.js";
import { openRemoteStore } from "../../src/store/remote.js";
import { selectChunks } from "../../src/store/select.js";
import { selectChunksParquet } from "../../src/store/select-parquet.js";
import { aoiSelection, type ChunkSelection, type SelectedIndex } from "../../src/store/selection.js";
import { Store } from "../../src/store/store.js";
import { verifyStore } from "../../src/store/verify.js";

/** `n` Hilbert keys spread evenly over the curve (all 64 tiles of level 3 occupied from n = 64). */
const evenKeys = (n: number) => Array.from({ length: n }, (_, i) => Math.floor((i / n) * 4 ** HILBERT_BITS));

describe("the tile level of a partition", () => {
  it("is the deepest level whose occupied tiles hold CHUNKS_TILE_MIN_ROWS rows on average", () => {
    expect(CHUNKS_TILE_MIN_ROWS).toBe(4096);
    expect(CHUNKS_TILE_LEVEL).toBe(3);
    // A smaller append than a day's: one file.
    expect(chunkTileLevel(evenKeys(4000))).toBe(0);
    // A daily ATL06 append (about 18 000 rows over the globe): 4 files of about 4 500 rows.
    expect(chunkTileLevel(evenKeys(18_000))).toBe(1);
    // Four days: 16 files of about 4 400 rows; a cycle's month: 64 files.
    expect(chunkTileLevel(evenKeys(70_000))).toBe(2);
    expect(chunkTileLevel(evenKeys(500_000))).toBe(3);
    // Rows all in one level-3 tile: that tile, however few tiles hold rows at level 3.
    expect(chunkTileLevel(Array.from({ length: 5000 }, (_, i) => 4 ** 13 * 17 + i))).toBe(3);
    expect(chunkTileLevel(Array.from({ length: 4095 }, (_, i) => 4 ** 13 * 17 + i))).toBe(0);
    // 0 splits at the deepest level; no rows is one (empty) file.
    expect(chunkTileLevel([5], 0)).toBe(3);
    expect(chunkTileLevel([])).toBe(0);
    expect(chunkTileLevel(evenKeys(18_000), 1000)).toBe(2);
  });
});

/** Chunk ids, granule ids and array keys of a selection, sorted. */
function ids(r: SelectedIndex) {
  return {
    chunks: r.chunks.map((c) => c.chunk_id).sort(),
    granules: r.granules.map((g) => g.granule_id).sort(),
    arrays: r.arrays.map((a) => `${a.granule_id} ${a.path}`).sort(),
  };
}

const selection = (aoi: string, extra: Partial<ChunkSelection> = {}): ChunkSelection => ({
  ...aoiSelection(parseAoi(aoi)),
  ...extra,
});

const cases: [string, ChunkSelection][] = [
  ["greenland box", selection("-45.38,62.63,-44.62,62.98", { product: "ATL06" })],
  ["5 km box, h3", selection("-45.05,62.78,-44.95,62.83", { product: "ATL06", method: "h3" })],
  ["large box, bbox", selection("-50,60,-38,66", { product: "ATL06", method: "bbox" })],
  ["world", selection("-180,-90,180,90", { product: "ATL06" })],
];

/** Floor of rows per tile that splits the first commit's 16 granules but not the second's 4. */
const FLOOR = 300;

describe("stores tiled by partition size", () => {
  let dir: string;
  const stores: Record<"sized" | "untiled" | "deepest", Store> = {} as never;
  const commits: StoreBatch[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-tiles-"));
    const random = seededRandom(7);
    commits.push(mergeBatches(Array.from({ length: 16 }, (_, g) => syntheticBatch(g, random))));
    commits.push(mergeBatches(Array.from({ length: 4 }, (_, g) => syntheticBatch(40 + g, random))));
    // Infinity: one file a partition (as small appends were); 0: every partition at level 3 (as
    // large partitions were).
    for (const [name, floor] of [
      ["sized", FLOOR],
      ["untiled", Number.POSITIVE_INFINITY],
      ["deepest", 0],
    ] as const) {
      const store = await Store.open(join(dir, name), { create: true, chunkTileMinRows: floor });
      for (const batch of commits) await store.commit(batch);
      stores[name] = store;
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes each commit's partition at its own level", () => {
    const files = stores.sized.manifest.parts.map((p) => p.files.chunks);
    // 16 granules (1 356 rows): level 1; 4 granules (342 rows): one file.
    expect(commits.map((c) => c.chunks.length)).toEqual([1356, 342]);
    expect(files.map((f) => f.length)).toEqual([4, 1]);
    expect(files[1]![0]).not.toMatch(/-t\d+\.parquet$/);
    // The files hold the rows of the occupied level-1 tiles, as chunkTile puts them.
    const tiles = new Set(commits[0]!.chunks.map((c) => chunkTile(c.bbox, 1)));
    expect(files[0]!.map((f) => Number(/-t(\d+)\.parquet$/.exec(f)![1])).sort((a, b) => a - b)).toEqual(
      [...tiles].sort((a, b) => a - b),
    );
    expect(stores.deepest.manifest.parts.map((p) => p.files.chunks.length)).toEqual(
      commits.map((c) => chunkTiles(c.chunks, 0).length),
    );
    expect(stores.untiled.manifest.parts.map((p) => p.files.chunks.length)).toEqual([1, 1]);
  });

  it("selects in TypeScript as DuckDB does, and as the untiled and deepest-tiled stores", async () => {
    for (const [name, sel] of cases) {
      const want = ids(await selectChunksParquet(localStoreReader(stores.untiled), sel));
      expect(want.chunks.length, name).toBeGreaterThan(0);
      expect(ids(await selectChunksParquet(localStoreReader(stores.sized), sel)), name).toEqual(want);
      expect(ids(await selectChunks(stores.sized, sel)), name).toEqual(want);
      expect(ids(await selectChunksParquet(localStoreReader(stores.deepest), sel)), name).toEqual(want);
    }
  });

  it("opens only the tiles' files whose recorded bbox meets a small box", async () => {
    const reader = localStoreReader(stores.sized);
    const opened: string[] = [];
    const counting: StoreReader = {
      ...reader,
      products: () => reader.products(),
      openParts(paths, opts) {
        opened.push(...paths.filter((p) => p.startsWith("chunks/")));
        return reader.openParts(paths, opts);
      },
    };
    await selectChunksParquet(counting, cases[1]![1]);
    // The Greenland tile of the first commit and the second commit's one file.
    expect(opened).toHaveLength(2);
  });

  it("passes verify, and reads the same over HTTP", async () => {
    const report = await verifyStore(stores.sized);
    expect(report.problems).toEqual([]);
    expect(report.granules).toBe(20);
    const server = await startRangeServer({ root: stores.sized.dir });
    try {
      const remote = await openRemoteStore(server.url.replace(/\/$/, ""));
      for (const [name, sel] of cases.slice(0, 2))
        expect(ids(await selectChunksParquet(remote, sel)), name).toEqual(
          ids(await selectChunksParquet(localStoreReader(stores.untiled), sel)),
        );
    } finally {
      await server.close();
    }
  });

  it("compacts into one part set tiled at the merged partition's level", async () => {
    const want = await Promise.all(
      cases.map(async ([, sel]) => ids(await selectChunksParquet(localStoreReader(stores.untiled), sel))),
    );
    const result = await stores.sized.compact({ vacuum: true });
    expect(result).toMatchObject({ before: 2, after: 1 });
    const [part] = stores.sized.manifest.parts;
    // 1 698 rows at a floor of 300: level 1 (all 4 tiles hold rows).
    expect(part!.files.chunks).toHaveLength(chunkTiles(mergeBatches(commits).chunks, FLOOR).length);
    expect(part!.files.chunks).toHaveLength(4);
    for (const [i, [name, sel]] of cases.entries())
      expect(ids(await selectChunksParquet(localStoreReader(stores.sized), sel)), name).toEqual(want[i]);
    expect((await verifyStore(stores.sized)).problems).toEqual([]);
  });
});
