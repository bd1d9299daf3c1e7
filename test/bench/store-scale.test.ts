/**
 * The store scale benchmark's bulk builder (bench/lib/bulk-pool.ts): its files match the store's
 * own writers byte for byte (checkColumns), a later cycle's files spliced from an earlier cycle's
 * (bench/lib/parquet-splice.ts) equal the same cycle encoded whole, and the store passes `verify`
 * and reads back through DuckDB with the rows the manifest records.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildPool,
  checkColumns,
  cycleCounts,
  H3_RESOLUTION,
  type Pool,
  writeCycle,
} from "../../bench/lib/bulk-pool.js";
import { openStore } from "../../src/index.js";
import { emptyManifest, type Manifest, publishedPart, writeManifest } from "../../src/store/manifest.js";
import { Store } from "../../src/store/store.js";
import { verifyStore } from "../../src/store/verify.js";

describe("store scale bulk builder", () => {
  let dir: string;
  let pool: Pool;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "geochunks-bulk-"));
    // 200 tracks: 17 000 chunk rows a cycle, so partitions split into Hilbert tiles (of level 1,
    // parts.ts `chunkTileLevel`), and cycle 2
    // crosses a month boundary (files of new rows beside spliced ones).
    pool = buildPool(200);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Cycles `from`..3 into `store`, committed as the benchmark commits them. */
  async function build(store: string, splice: boolean, from = 1): Promise<Manifest> {
    const manifest: Manifest = { ...emptyManifest(H3_RESOLUTION), generation: 0 };
    for (let cycle = from; cycle <= 3; cycle++) {
      manifest.parts.push(publishedPart(await writeCycle(pool, cycle, store, { splice })));
      manifest.generation = cycle;
      await writeManifest(store, manifest);
    }
    return manifest;
  }

  it("gathers and splices the store writer's files byte for byte", () => {
    expect(() => checkColumns(pool, 1, 12)).not.toThrow();
  });

  it("splices later cycles into the files a whole encoding writes; verify and DuckDB read them", async () => {
    const spliced = join(dir, "spliced");
    const whole = join(dir, "whole");
    const before = { ...cycleCounts };
    const a = await build(spliced, true);
    const splicedFiles = cycleCounts.spliced - before.spliced;
    // Cycles 2 and 3 encoded whole (a cycle's files do not depend on the cycles before it).
    const b = await build(whole, false, 2);
    expect(cycleCounts.spliced - before.spliced).toBe(splicedFiles);
    // Cycles 2 and 3 reuse tiles of cycle 1; cycle 2's month boundary makes new ones.
    expect(splicedFiles).toBeGreaterThanOrEqual(4);
    expect(cycleCounts.whole - before.whole).toBeGreaterThan(a.parts[0]!.files.chunks.length);
    for (const [i, part] of a.parts.slice(1).entries()) {
      const other = b.parts[i]!;
      const rename = (f: string) => f.replace(part.id, other.id);
      expect(Object.keys(part.stats!).map(rename).sort()).toEqual(Object.keys(other.stats!).sort());
      for (const [file, stats] of Object.entries(part.stats!)) {
        expect(stats, file).toEqual(other.stats![rename(file)]);
        expect(
          Buffer.compare(await readFile(join(spliced, file)), await readFile(join(whole, rename(file)))),
        ).toBe(0);
      }
    }
    expect((await verifyStore(await Store.open(spliced))).problems).toEqual([]);
    const rows = (table: string) =>
      a.parts.reduce(
        (sum, p) =>
          sum +
          Object.entries(p.stats!).reduce((s, [f, st]) => s + (f.startsWith(`${table}/`) ? st.rows : 0), 0),
        0,
      );
    const store = await openStore(spliced);
    const counts = await store.sql(
      "SELECT (SELECT count(*) FROM chunks) AS chunks, (SELECT count(*) FROM chunk_cells) AS cells, (SELECT count(DISTINCT granule_id) FROM chunks) AS granules",
    );
    expect(counts.rows).toEqual([
      { chunks: String(rows("chunks")), cells: String(rows("chunk_cells")), granules: "600" },
    ]);
  }, 120_000);
});
