import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoreBatch } from "../../src/store/store.js";
import { Store } from "../../src/store/store.js";
import { wkbLineString, wkbPolygon } from "../../src/store/wkb.js";
import { visibleGranules } from "../support/granules.js";
import { duckdb } from "../support/results.js";

function batch(id: string, size: number): StoreBatch {
  const bbox = { xmin: 1, ymin: 2, xmax: 3, ymax: 4 };
  return {
    granules: [
      {
        granule_id: id,
        url: `file:///data/${id}.h5`,
        size,
        etag: null,
        mtime: 1000,
        product: "ATL06",
        release: "006",
        orbit: null,
        track: 878,
        cycle: 20,
        region: 2,
        attrs: { sc_orient: 0 },
        time_start: 1692202985579207123n,
        time_end: 1692202995579207123n,
        bbox,
        geometry: wkbPolygon([[1, 2, 3, 2, 3, 4, 1, 2]]),
      },
    ],
    arrays: [
      {
        granule_id: id,
        path: "/gt1l/land_ice_segments/h_li",
        dtype: "<f4",
        shape: [20000],
        chunk_shape: [10000],
        filters: '[{"id":1}]',
        fill_value: "3.4028234663852886e+38",
        attrs: "{}",
      },
    ],
    chunks: [
      {
        chunk_id: `${id}/gt1l/0`,
        granule_id: id,
        beam: "gt1l",
        beam_kind: "strong",
        row_start: 0,
        row_count: 10000,
        parent_start: null,
        parent_count: null,
        time_start: 1692202985579207123n,
        time_end: 1692202995579207123n,
        bbox,
        geometry: wkbLineString([1, 2, 3, 4]),
        footprint_error: 0.001,
        h3_cells: [604189641255419903n, 18446744073709551615n],
        refs: [
          {
            path: "/gt1l/land_ice_segments/h_li",
            chunk_start: 0,
            col_start: 0,
            offset: 2 ** 40,
            size: 33205,
            filter_mask: 0,
          },
          {
            path: "/gt1l/land_ice_segments/latitude",
            chunk_start: 0,
            col_start: 0,
            offset: 2 ** 40 + 33205,
            size: 70066,
            filter_mask: 0,
            checksum: 0xffffffff,
          },
        ],
      },
    ],
    chunkCells: [{ h3_cell: 604189641255419903n, chunk_id: `${id}/gt1l/0` }],
  };
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("store commits", () => {
  it("round-trips every column exactly, 64-bit values included", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    const b = batch("G1", 100);
    await store.commit(b);
    const reopened = await Store.open(dir);
    expect(await reopened.granules()).toEqual(b.granules);
    expect(await reopened.arrays()).toEqual(b.arrays);
    expect(await reopened.chunks()).toEqual(b.chunks);
  });

  it("appends without rewriting, replaces a changed granule, and removes obsolete parts after their grace period", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true, retiredGraceMs: 0 });
    const parquetFiles = () =>
      readdirSync(dir!, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".parquet"));
    await store.commit(batch("G1", 100));
    const first = parquetFiles();
    expect(first.filter((f) => f.startsWith("chunks/product=ATL06/month=2023-08/"))).toHaveLength(1);
    await store.commit(batch("G2", 200));
    expect(parquetFiles()).toEqual(expect.arrayContaining(first));
    await store.commit(batch("G1", 150));
    const granules = await (await Store.open(dir)).granules();
    expect(granules.map((g) => [g.granule_id, g.size]).sort()).toEqual([
      ["G1", 150],
      ["G2", 200],
    ]);
    for (const f of first) expect(parquetFiles()).not.toContain(f);
    const recorded = store.manifest.parts.map((p) => [p.granule_count, p.granule_range]);
    expect(recorded.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual([
      [1, ["G1", "G1"]],
      [1, ["G2", "G2"]],
    ]);
    expect(await visibleGranules(dir)).toEqual(["G1", "G2"]);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("a commit reads the granule ids of only the part sets whose id range can hold a dropped granule", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    await (await Store.open(dir, { create: true })).commit(batch("G1", 100));
    await (await Store.open(dir)).commit(batch("G3", 100));
    const sets = (await Store.open(dir)).manifest.parts;
    expect(sets.map((p) => [p.granules, p.granule_count, p.granule_range])).toEqual([
      [undefined, 1, ["G1", "G1"]],
      [undefined, 1, ["G3", "G3"]],
    ]);
    // G1's granules file replaced by garbage of its size: a commit that read it would fail.
    const g1 = join(dir, sets[0]!.files.granules[0]!);
    writeFileSync(g1, Buffer.alloc(readFileSync(g1).length, 7));
    // G2 and G4 fall outside G1's range; G3's set is read (its range holds G3) and rewritten.
    await (await Store.open(dir)).commit(batch("G2", 100));
    await (await Store.open(dir)).commit(batch("G4", 100));
    await (await Store.open(dir)).commit(batch("G3", 300));
    const after = (await Store.open(dir)).manifest.parts;
    expect(after[0]).toEqual(sets[0]);
    expect(after.map((p) => p.granule_range![0])).toEqual(["G1", "G2", "G4", "G3"]);
    // Re-indexing G1 must read its set: the garbage is named.
    await expect((await Store.open(dir)).commit(batch("G1", 200))).rejects.toThrow(
      new RegExp(`^${g1}: cannot read granule rows \\(`),
    );
  });

  it("two handles committing in turn both land: the second rebases on the first", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const a = await Store.open(dir, { create: true });
    const b = await Store.open(dir);
    await Promise.all([a.commit(batch("G1", 100)), b.commit(batch("G2", 100))]);
    const reopened = await Store.open(dir);
    expect((await reopened.granules()).map((g) => g.granule_id).sort()).toEqual(["G1", "G2"]);
    expect(await visibleGranules(dir)).toEqual(["G1", "G2"]);
  });

  it("stages part sets invisibly until commitStaged, later stages winning", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    await store.stage(batch("G1", 100));
    await store.stage(batch("G2", 100));
    await store.stage(batch("G1", 300));
    expect(await (await Store.open(dir)).granules()).toEqual([]);
    const report = await store.commitStaged();
    expect(report.parts).toBe(3);
    const granules = await (await Store.open(dir)).granules();
    expect(granules.map((g) => [g.granule_id, g.size]).sort()).toEqual([
      ["G1", 300],
      ["G2", 100],
    ]);
    expect(readdirSync(join(dir, "staged"))).toEqual([]);
    expect((await store.commitStaged()).parts).toBe(0);
  });

  it("compacts part sets into one without changing rows, and removes orphaned files", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    for (const id of ["G1", "G2", "G3"]) await store.commit(batch(id, 100));
    const before = await (await Store.open(dir)).chunks();
    const { writeFileSync, mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "chunks", "product=ATL06", "month=1999-01"), { recursive: true });
    writeFileSync(
      join(dir, "chunks", "product=ATL06", "month=1999-01", "part-orphan.parquet"),
      "left by a crashed writer",
    );
    expect(await store.compact({ vacuum: true })).toEqual({ before: 3, after: 1, removed: 12 });
    const after = await (await Store.open(dir)).chunks();
    const byId = (rows: typeof before) => [...rows].sort((x, y) => x.chunk_id.localeCompare(y.chunk_id));
    expect(byId(after)).toEqual(byId(before));
    const files = readdirSync(dir, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith(".parquet"))).toHaveLength(4);
    expect(files).not.toContain("chunks/product=ATL06/month=1999-01/part-orphan.parquet");
  });

  it("compacts in groups of consecutive part sets up to groupRows chunk rows, one group in memory at a time", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    const ids = ["G1", "G2", "G3", "G4", "G5"];
    // As the index makes them: a cells row for each of a chunk row's `h3_cells`.
    for (const id of ids) {
      const b = batch(id, 100);
      b.chunkCells = b.chunks.flatMap((c) =>
        c.h3_cells.map((h3_cell) => ({ h3_cell, chunk_id: c.chunk_id })),
      );
      await store.commit(b);
    }
    const before = await (await Store.open(dir)).chunks();
    const byId = (rows: typeof before) => [...rows].sort((x, y) => x.chunk_id.localeCompare(y.chunk_id));
    // The cells files, as DuckDB reads them (only live files: every compaction below vacuums).
    const cells = () =>
      duckdb(
        `SELECT h3_cell::VARCHAR AS c, chunk_id FROM read_parquet('${dir}/chunk_cells/**/*.parquet') ORDER BY ALL`,
      );
    const cellsBefore = await cells();
    expect(cellsBefore).toHaveLength(2 * ids.length);
    // One chunk row a set: G1+G2 and G3+G4 are rewritten, G5 alone in its group stays as it is.
    const g5 = (await Store.open(dir)).manifest.parts[4]!.id;
    expect(await store.compact({ groupRows: 2, vacuum: true })).toEqual({ before: 5, after: 3, removed: 16 });
    const reopened = await Store.open(dir);
    expect(reopened.manifest.parts.map((p) => p.id)).toContain(g5);
    expect(byId(await reopened.chunks())).toEqual(byId(before));
    expect((await reopened.granules()).map((g) => g.granule_id).sort()).toEqual(ids);
    expect(await cells()).toEqual(cellsBefore);
    // Each group now holds as many rows as allowed: nothing left to merge at that size.
    expect(await store.compact({ groupRows: 2 })).toMatchObject({ before: 3, after: 3 });
    expect(await store.compact({ vacuum: true })).toMatchObject({ before: 3, after: 1 });
    expect(byId(await (await Store.open(dir)).chunks())).toEqual(byId(before));
    expect(await cells()).toEqual(cellsBefore);
  });

  it("breaks a lock left by a process that no longer exists", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    const { writeFileSync } = await import("node:fs");
    const { hostname } = await import("node:os");
    writeFileSync(
      join(dir, "manifest.lock"),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: "x" }),
    );
    await store.commit(batch("G1", 100));
    expect(await visibleGranules(dir)).toEqual(["G1"]);
  });

  it("names a missing store and a directory that is not a store", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    await expect(Store.open(join(dir, "nope"))).rejects.toThrow(/nope: no such store/);
    await expect(Store.open(dir)).rejects.toThrow(/not a geochunks store/);
  });
});

describe("store format versions", () => {
  it("refuses a store of an older format, saying to re-index", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geochunks-v2-"));
    try {
      writeFileSync(
        join(dir, "manifest.json"),
        JSON.stringify({ format: "geochunks-store", version: 2, h3_resolution: 6, parts: [], granules: {} }),
      );
      await expect(Store.open(dir)).rejects.toThrow(
        `${dir}: store format version 2 is not supported by this version of geochunks (it reads versions 3, 4 and 5); ` +
          "re-index the granules with this version into a new store",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("readers keep their snapshot", () => {
  it("a handle opened before a replacing commit and a compaction still reads its granules; vacuum ends that", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const writer = await Store.open(dir, { create: true });
    await writer.commit(batch("G1", 100));
    await writer.commit(batch("G2", 200));
    const reader = await Store.open(dir);
    await writer.commit(batch("G1", 150));
    expect((await writer.compact()).after).toBe(1);
    // The old parts are retired, not removed: the reader's snapshot is intact.
    expect((await reader.granules()).map((g) => [g.granule_id, g.size]).sort()).toEqual([
      ["G1", 100],
      ["G2", 200],
    ]);
    const m = (await Store.open(dir)).manifest;
    expect(m.generation).toBe(4);
    expect(m.retired?.map((r) => r.id)).toEqual(
      expect.arrayContaining(reader.manifest.parts.map((p) => p.id)),
    );
    expect(m.retired).toHaveLength(3);
    // compact --vacuum removes retired parts; the stale reader then fails naming the missing file.
    const vacuum = await (await Store.open(dir)).compact({ vacuum: true });
    expect(vacuum).toEqual({ before: 1, after: 1, removed: 12 });
    const missing = reader.files("granules")[0]!;
    await expect(reader.granules()).rejects.toThrow(
      `${missing}: part file listed in the manifest is missing; the store has moved on (generation 2 -> 5) and the part was retired and removed: reopen the store`,
    );
    const fresh = await Store.open(dir);
    expect(fresh.manifest.retired).toEqual([]);
    expect((await fresh.granules()).map((g) => [g.granule_id, g.size]).sort()).toEqual([
      ["G1", 150],
      ["G2", 200],
    ]);
  });

  it("--older-than keeps parts retired more recently", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    await store.commit(batch("G1", 100));
    await store.commit(batch("G1", 200));
    expect((await store.compact({ vacuum: true, olderThanMs: 3_600_000 })).removed).toBe(0);
    expect(store.manifest.retired).toHaveLength(1);
    expect((await store.compact({ vacuum: true, olderThanMs: 0 })).removed).toBe(4);
  });

  it("SQL over a store with no granules answers with empty tables", async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-store-"));
    const store = await Store.open(dir, { create: true });
    const { runSql } = await import("../../src/store/sql.js");
    expect(await runSql(store, "SELECT count(*) AS n FROM chunks")).toEqual({
      columns: ["n"],
      rows: [{ n: "0" }],
    });
    const cols = await runSql(store, "SELECT granule_id, beam FROM chunks");
    expect(cols).toEqual({ columns: ["granule_id", "beam"], rows: [] });
  });
});
