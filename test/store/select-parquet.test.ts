import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { type FileMetaData, parquetMetadata } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { parseAoi } from "../../src/query/aoi.js";
import { selectionEngine, TYPESCRIPT_SELECTION_MAX_BYTES } from "../../src/query/index.js";
import { localStoreReader, openLocalStoreReader } from "../../src/store/local-reader.js";
import type { Manifest } from "../../src/store/manifest.js";
import { pw, writerProperties } from "../../src/store/parquet-wasm.js";
import { CHUNKS_UNTESTED_COLUMNS, mergeBatches, type StoreBatch } from "../../src/store/parts.js";
import type { StoreReader } from "../../src/store/reader.js";
import type { ArrayRow } from "../../src/store/schema.js";
import { selectChunks, variableType } from "../../src/store/select.js";
import { selectChunksParquet, variableTypeParquet } from "../../src/store/select-parquet.js";
import {
  aoiSelection,
  BBOX_ENOUGH_ROWS,
  type ChunkSelection,
  chooseSelection,
  type SelectedIndex,
  selectionPlan,
} from "../../src/store/selection.js";
import { Store } from "../../src/store/store.js";

/** A few array rows per granule, so the arrays path is exercised too. */
function withArrays(batch: StoreBatch): StoreBatch {
  const arrays: ArrayRow[] = batch.granules.flatMap((g) =>
    ["gt1l", "gt2r"].flatMap((beam) =>
      ["latitude", "h_li"].map((v) => ({
        granule_id: g.granule_id,
        path: `/${beam}/land_ice_segments/${v}`,
        dtype: v === "h_li" ? "<f4" : "<f8",
        shape: [140000],
        chunk_shape: [10000],
        filters: "[]",
        fill_value: "null",
        attrs: "{}",
      })),
    ),
  );
  return { ...batch, arrays };
}

/** Nanoseconds as DuckDB reads a nanosecond timestamp: truncated to whole microseconds. */
const micros = (ns: bigint) => (ns / 1000n) * 1000n;

/**
 * Selections sorted by id, for comparison (DuckDB's scan order is its own), times truncated to
 * microseconds as DuckDB returns them (the TypeScript path keeps the stored nanoseconds).
 */
function sorted(r: SelectedIndex) {
  const by =
    <T>(key: (x: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));
  const times = <T extends { time_start: bigint; time_end: bigint }>(x: T): T => ({
    ...x,
    time_start: micros(x.time_start),
    time_end: micros(x.time_end),
  });
  return {
    method: r.method,
    coverCells: r.coverCells,
    chunks: [...r.chunks].sort(by((c) => c.chunk_id)).map(times),
    granules: [...r.granules].sort(by((g) => g.granule_id)).map(times),
    arrays: [...r.arrays].sort(by((a) => `${a.granule_id} ${a.path}`)),
  };
}

const selection = (aoi: string, extra: Partial<ChunkSelection> = {}): ChunkSelection => ({
  ...aoiSelection(parseAoi(aoi)),
  ...extra,
});

const cases: [string, ChunkSelection][] = [
  ["greenland box, auto", selection("-45.38,62.63,-44.62,62.98", { product: "ATL06" })],
  ["5 km box, h3", selection("-45.05,62.78,-44.95,62.83", { product: "ATL06", method: "h3" })],
  ["greenland box, bbox", selection("-45.38,62.63,-44.62,62.98", { product: "ATL06", method: "bbox" })],
  ["large box, auto (bbox)", selection("-50,60,-38,66", { product: "ATL06" })],
  ["strip polygon, every product", selection("POLYGON ((-50 60, -49 60, -40 66, -41 66, -50 60))")],
  ["world, every product", selection("-180,-90,180,90")],
  [
    "time window at nanosecond edges, beams by name and kind",
    selection("-50,60,-38,66", {
      product: "ATL06",
      // Granule g's chunks span [g e12, g e12 + 1e9] ns: cut inside microseconds at both ends.
      start: 4n * 10n ** 12n + 10n ** 9n + 500n,
      end: 34n * 10n ** 12n + 700n,
      beams: ["gt1l", "weak"],
      beamKinds: ["strong", "weak"],
    }),
  ],
  ["a box with no chunk", selection("100,-10,101,-9", { product: "ATL06" })],
  ["ATL08 partition only", selection("-50,60,-38,66", { product: "ATL08", method: "h3" })],
];

/** A three-commit, two-product store; `chunkTileMinRows` 0 splits every partition by Hilbert tile. */
async function buildStore(at: string, chunkTileMinRows?: number): Promise<Store> {
  const random = seededRandom(11);
  const store = await Store.open(at, { create: true, chunkTileMinRows });
  // Two commits (two part sets) and two products, so partitions and several files are read.
  await store.commit(
    withArrays(mergeBatches(Array.from({ length: 12 }, (_, g) => syntheticBatch(g, random)))),
  );
  await store.commit(
    withArrays(
      mergeBatches(
        Array.from({ length: 4 }, (_, g) => syntheticBatch(100 + g, random, { product: "ATL08" })),
      ),
    ),
  );
  await store.commit(
    withArrays(mergeBatches(Array.from({ length: 8 }, (_, g) => syntheticBatch(30 + g, random)))),
  );
  return store;
}

/** Both selections of `sel` on `store` are equal (and not empty unless `empty`). */
async function expectSameSelection(store: Store, sel: ChunkSelection, empty = false) {
  const duck = sorted(await selectChunks(store, sel));
  const ts = sorted(await selectChunksParquet(localStoreReader(store), sel));
  // node's deep equality: vitest's is minutes on a thousand rows of byte arrays.
  if (!isDeepStrictEqual(ts, duck)) {
    const i = ts.chunks.findIndex((c, k) => !isDeepStrictEqual(c, duck.chunks[k]));
    expect({ ...ts, chunks: ts.chunks[i] }).toEqual({ ...duck, chunks: duck.chunks[i] });
  }
  expect(isDeepStrictEqual(ts, duck)).toBe(true);
  if (!empty) expect(duck.chunks.length).toBeGreaterThan(0);
  return ts;
}

let dir: string;
let store: Store;

/**
 * Candidates of a 5 km box on the tiled store, and the most bytes its selection may read: 247 808
 * when measured (footers and small files read whole, then test columns, then the candidates'
 * pages; their footprint pages were 23 558 of the 280 407 bytes of footprints in their row groups).
 */
const CANDIDATES_5KM = 8;
const SMALL_BOX_BYTES = 260_000;

describe("the TypeScript selection equals the DuckDB selection", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-select-ts-"));
    store = await buildStore(join(dir, "store"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, sel] of cases) {
    it(name, async () => {
      await expectSameSelection(store, sel, name === "a box with no chunk");
    });
  }

  it("selects small local stores in TypeScript and large ones with DuckDB, unless told", () => {
    expect(selectionEngine(store, undefined)).toBe("typescript");
    expect(selectionEngine(store, "duckdb")).toBe("duckdb");
    const big = {
      manifest: {
        ...store.manifest,
        parts: store.manifest.parts.map((set) => ({
          ...set,
          stats: Object.fromEntries(
            set.files.chunks.map((f) => [f, { bytes: TYPESCRIPT_SELECTION_MAX_BYTES, rows: 1, sha256: "" }]),
          ),
        })),
      },
    } as unknown as Store;
    expect(store.manifest.parts.length).toBeGreaterThan(1);
    expect(selectionEngine(big, undefined)).toBe("duckdb");
    expect(selectionEngine(big, "typescript")).toBe("typescript");
    expect(selectionEngine(localStoreReader(store), undefined)).toBe("typescript");
  });

  it("auto covers the AOI with H3 cells only when more than BBOX_ENOUGH_ROWS rows meet its boxes", async () => {
    const sel = selection("-45.38,62.63,-44.62,62.98", { product: "ATL06" });
    // The box is small enough to cover; few of the store's rows meet it, so no cover is computed.
    expect(chooseSelection(sel.bboxes, store.manifest.h3_resolution)).toBe("h3");
    const byBox = await selectChunksParquet(localStoreReader(store), { ...sel, method: "bbox" });
    expect(byBox.chunks.length).toBeGreaterThan(0);
    expect(byBox.chunks.length).toBeLessThanOrEqual(BBOX_ENOUGH_ROWS);
    for (const found of [
      await selectChunksParquet(localStoreReader(store), sel),
      await selectChunks(store, sel),
    ]) {
      expect(found.method).toBe("bbox");
      expect(found.coverCells).toBeUndefined();
      expect(found.chunks.map((c) => c.chunk_id).sort()).toEqual(byBox.chunks.map((c) => c.chunk_id).sort());
    }
    // One row more and the cover is computed; "h3" asked for is always computed.
    const rows = (n: number) => ({ bboxRows: async () => n });
    const res = store.manifest.h3_resolution;
    expect((await selectionPlan(sel, res, rows(BBOX_ENOUGH_ROWS))).method).toBe("bbox");
    const covered = await selectionPlan(sel, res, rows(BBOX_ENOUGH_ROWS + 1));
    expect(covered.method).toBe("h3");
    expect(covered.cover!.cells.length).toBeGreaterThan(0);
    expect((await selectionPlan({ ...sel, method: "h3" }, res, rows(0))).method).toBe("h3");
  });

  it("finds variable types as the DuckDB path does", async () => {
    for (const paths of [["/gt2r/land_ice_segments/h_li"], ["/gt3l/land_ice_segments/none"]]) {
      expect(await variableTypeParquet(localStoreReader(store), paths)).toBe(
        await variableType(store, paths),
      );
    }
    expect(await variableTypeParquet(localStoreReader(store), ["/gt2r/land_ice_segments/h_li"])).toBe("<f4");
  });

  it("keeps the granules' nanoseconds, which DuckDB truncates to microseconds", async () => {
    const sel = selection("-50,60,-38,66", { product: "ATL06" });
    const ts = await selectChunksParquet(localStoreReader(store), sel);
    // The synthetic granules end 1 ns after the epoch.
    expect(ts.granules[0]!.time_end).toBe(1n);
    expect((await selectChunks(store, sel)).granules[0]!.time_end).toBe(0n);
  });

  it("keeps the store's integrity checks, naming the file", async () => {
    const copy = join(dir, "copy");
    cpSync(join(dir, "store"), copy, { recursive: true });
    const opened = await Store.open(copy);
    const [a, b] = opened.files("chunks", { product: "ATL06" });
    const sel = selection("-50,60,-38,66", { product: "ATL06" });
    const check = () => selectChunksParquet(localStoreReader(opened), sel);
    const name = (f: string) => f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const original = readFileSync(b!);
    truncateSync(b!, 100);
    await expect(check()).rejects.toThrow(
      new RegExp(`^${name(b!)}: part file is 100 bytes but the manifest records ${original.length}`),
    );
    rmSync(b!);
    await expect(check()).rejects.toThrow(
      new RegExp(`^${name(b!)}: part file listed in the manifest is missing`),
    );
    // Same size, other bytes: not Parquet.
    writeFileSync(b!, Buffer.alloc(original.length, 7));
    await expect(check()).rejects.toThrow(new RegExp(`^${name(b!)}: part file is not readable Parquet`));
    writeFileSync(b!, original);
    await expect(check()).resolves.toBeDefined();
    // A valid part of another row count padded to the recorded size: the footer's rows differ.
    const other = readFileSync(a!);
    expect(other.length).not.toBe(original.length);
  });

  it("reads a part file kept from an earlier query anew once it is rewritten, even at the same size and mtime", async () => {
    const copy = join(dir, "kept");
    cpSync(join(dir, "store"), copy, { recursive: true });
    const opened = await Store.open(copy);
    const sel = selection("-50,60,-38,66", { product: "ATL06" });
    const check = () => selectChunksParquet(localStoreReader(opened), sel);
    const files = opened.files("chunks", { product: "ATL06" });
    // Whole seconds, which setting them back restores exactly.
    const when = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    for (const file of files) utimesSync(file, when, when);
    const first = sorted(await check());
    expect(first.chunks.length).toBeGreaterThan(0);
    // The second query is served by the kept files, with the same answer.
    expect(isDeepStrictEqual(sorted(await check()), first)).toBe(true);
    for (const file of files) {
      const original = readFileSync(file);
      // Other bytes of the same size, the modification time put back: only the change time tells.
      writeFileSync(file, Buffer.alloc(original.length, 7));
      utimesSync(file, when, when);
      expect(statSync(file).mtimeMs).toBe(when.getTime());
      await expect(check()).rejects.toThrow(/part file is not readable Parquet/);
      writeFileSync(file, original);
      utimesSync(file, when, when);
      expect(isDeepStrictEqual(sorted(await check()), first)).toBe(true);
    }
  });
});

describe("a store whose partitions are split by Hilbert tile", () => {
  let tiledDir: string;
  let tiled: Store;
  beforeAll(async () => {
    tiledDir = mkdtempSync(join(tmpdir(), "geochunks-select-tiles-"));
    tiled = await buildStore(join(tiledDir, "store"), 0);
  });
  afterAll(() => rmSync(tiledDir, { recursive: true, force: true }));

  it("names a file per tile and records each chunks file's bbox and time range", () => {
    const files = tiled.manifest.parts.flatMap((p) => p.files.chunks);
    expect(files.length).toBeGreaterThan(6);
    for (const f of files)
      expect(f).toMatch(/^chunks\/product=ATL0[68]\/month=\d{4}-\d\d\/part-.+-t\d+\.parquet$/);
    const cells = tiled.manifest.parts.flatMap((p) => p.files.chunk_cells);
    expect(cells).toEqual(files.map((f) => f.replace(/^chunks\//, "chunk_cells/")));
    const stats = tiled.manifest.parts.map((p) => p.stats!);
    for (const [i, p] of tiled.manifest.parts.entries())
      for (const f of p.files.chunks) {
        const s = stats[i]![f]!;
        expect(s.bbox).toHaveLength(4);
        expect(s.bbox![0]).toBeLessThanOrEqual(s.bbox![2]);
        expect(BigInt(s.time![0])).toBeLessThanOrEqual(BigInt(s.time![1]));
      }
  });

  it("writes min/max statistics in the chunks footers for the tested columns, not for the untested top-level ones", () => {
    const file = tiled.manifest.parts[0]!.files.chunks[0]!;
    const bytes = readFileSync(join(tiledDir, "store", file));
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const withStats = (metadata.row_groups[0]!.columns ?? [])
      .filter((c) => c.meta_data?.statistics?.max_value !== undefined)
      .map((c) => c.meta_data!.path_in_schema.join("."));
    expect(withStats).toEqual(
      expect.arrayContaining(["beam", "beam_kind", "time_start", "time_end", "bbox.xmin", "bbox.ymax"]),
    );
    for (const untested of [...CHUNKS_UNTESTED_COLUMNS, "geometry"])
      expect(withStats).not.toContain(untested);
  });

  it("chooses the engine by the bytes of the chunks files that may match", () => {
    const big = {
      manifest: {
        ...tiled.manifest,
        parts: tiled.manifest.parts.map((set) => ({
          ...set,
          stats: Object.fromEntries(
            Object.entries(set.stats!).map(([f, st]) => [
              f,
              { ...st, bytes: TYPESCRIPT_SELECTION_MAX_BYTES },
            ]),
          ),
        })),
      },
    } as unknown as Store;
    expect(selectionEngine(big, undefined)).toBe("duckdb");
    expect(selectionEngine(big, undefined, cases[0]![1])).toBe("duckdb");
    // No file's recorded bbox meets this box: nothing to read, TypeScript answers at once.
    expect(selectionEngine(big, undefined, selection("100,-10,101,-9", { product: "ATL06" }))).toBe(
      "typescript",
    );
  });

  for (const [name, sel] of cases.slice(0, 4)) {
    it(`selects as DuckDB does: ${name}`, async () => {
      await expectSameSelection(tiled, sel);
    });
  }

  it("selects the same candidates from a store written before the paged layout", async () => {
    // The store's files rewritten as they were written before parts.ts paged them: one page per
    // column chunk, footprints in a dictionary page, statistics on every column (`chunk_cells`,
    // which the selection does not read, unchanged).
    const before = join(tiledDir, "before");
    cpSync(tiled.dir, before, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(before, "manifest.json"), "utf8")) as Manifest;
    for (const set of manifest.parts)
      for (const [table, files] of Object.entries(set.files))
        for (const file of table === "chunk_cells" ? [] : files) {
          const path = join(before, file);
          const bytes = readFileSync(path);
          const rows = { granules: 1024, arrays: 4096, chunks: 512, chunk_cells: 16_384 }[table]!;
          const stats = { granules: ["granule_id"], arrays: ["granule_id", "path"] }[table];
          const { key_value_metadata } = parquetMetadata(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
          );
          const geo = key_value_metadata?.find((kv) => kv.key === "geo")?.value;
          const old = pw.writeParquet(
            pw.readParquet(bytes),
            writerProperties({
              rowGroupSize: rows,
              statisticsColumns: stats,
              metadata: geo ? { geo } : undefined,
            }),
          );
          writeFileSync(path, old);
          set.stats![file] = { ...set.stats![file]!, bytes: old.length };
        }
    writeFileSync(join(before, "manifest.json"), JSON.stringify(manifest));
    const old = await openLocalStoreReader(before);
    const paths = manifest.parts.flatMap((p) => p.files.chunks);
    const [first] = await old.openParts([paths[0]!]);
    // One page per column chunk: the layout of stores written before.
    expect(
      first!.metadata.row_groups[0]!.columns.every((c) => c.meta_data!.encoding_stats!.length <= 2),
    ).toBe(true);
    // A box selected by bbox, and one by H3 cells (read from the chunk rows' pages).
    for (const [, sel] of cases.slice(0, 2))
      expect(sorted(await selectChunksParquet(old, sel))).toEqual(
        sorted(await selectChunksParquet(localStoreReader(tiled), sel)),
      );
  });

  it("selects the same candidates from part files the page reader hands to hyparquet (snappy)", async () => {
    // The store's files rewritten with a codec the page reader (pages.ts) leaves to hyparquet, so
    // every row group of the selection is decoded by the fallback path.
    const snappy = join(tiledDir, "snappy");
    cpSync(tiled.dir, snappy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(snappy, "manifest.json"), "utf8")) as Manifest;
    for (const set of manifest.parts)
      for (const [table, files] of Object.entries(set.files))
        for (const file of table === "chunk_cells" ? [] : files) {
          const path = join(snappy, file);
          const bytes = readFileSync(path);
          const { key_value_metadata } = parquetMetadata(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
          );
          let props = new pw.WriterPropertiesBuilder()
            .setCompression(pw.Compression.SNAPPY)
            .setMaxRowGroupSize({ granules: 1024, arrays: 4096, chunks: 512 }[table]!);
          const geo = key_value_metadata?.find((kv) => kv.key === "geo")?.value;
          if (geo) props = props.setKeyValueMetadata(new Map([["geo", geo]]));
          const rewritten = pw.writeParquet(pw.readParquet(bytes), props.build());
          writeFileSync(path, rewritten);
          set.stats![file] = { ...set.stats![file]!, bytes: rewritten.length };
        }
    writeFileSync(join(snappy, "manifest.json"), JSON.stringify(manifest));
    const reader = await openLocalStoreReader(snappy);
    const [first] = await reader.openParts([manifest.parts[0]!.files.chunks[0]!]);
    expect(first!.metadata.row_groups[0]!.columns[0]!.meta_data!.codec).toBe("SNAPPY");
    for (const [, sel] of cases.slice(0, 2)) {
      const got = sorted(await selectChunksParquet(reader, sel));
      expect(got.chunks.length).toBeGreaterThan(0);
      expect(got).toEqual(sorted(await selectChunksParquet(localStoreReader(tiled), sel)));
    }
  });

  it("reads a small box's candidates from their footprint pages, within a byte budget", async () => {
    const reader = localStoreReader(tiled);
    // Every range fetched from a part file, by file (footers included).
    const fetched = new Map<string, [number, number][]>();
    const metadata = new Map<string, FileMetaData>();
    const footers = new Map<string, [number, number]>();
    const counting: StoreReader = {
      ...reader,
      products: () => reader.products(),
      async openParts(paths, opts) {
        const parts = await reader.openParts(paths, opts);
        return parts.map((p) => {
          metadata.set(p.path, p.metadata);
          const ranges = fetched.get(p.path) ?? [];
          fetched.set(p.path, ranges);
          // The footer read (the last 64 KiB) came first; the selection's own reads follow.
          footers.set(p.path, [Math.max(0, p.buffer.byteLength - 64 * 1024), p.buffer.byteLength]);
          return {
            ...p,
            buffer: {
              byteLength: p.buffer.byteLength,
              slice: p.buffer.slice.bind(p.buffer),
              view: p.buffer.view.bind(p.buffer),
              prefetch: (r: readonly [number, number][], o?: Parameters<typeof p.buffer.prefetch>[1]) => {
                ranges.push(...r);
                return p.buffer.prefetch(r, o);
              },
            },
          };
        });
      },
    };
    const sel = selection("-45.05,62.78,-44.95,62.83", { product: "ATL06", method: "bbox" });
    const got = await selectChunksParquet(counting, sel);
    // The same candidates as DuckDB finds.
    expect(sorted(got).chunks.map((c) => c.chunk_id)).toEqual(
      sorted(await selectChunks(tiled, sel)).chunks.map((c) => c.chunk_id),
    );
    expect(got.chunks.length).toBeGreaterThan(0);
    const overlap = (ranges: readonly [number, number][], [s, e]: [number, number]) => {
      // Bytes of [s, e) covered by the ranges (merged first, so each byte counts once).
      const merged = [...ranges].sort((a, b) => a[0] - b[0]);
      let covered = 0;
      let at = s;
      for (const [a, b] of merged) {
        const from = Math.max(a, at);
        const to = Math.min(b, e);
        if (to > from) {
          covered += to - from;
          at = to;
        }
      }
      return covered;
    };
    // Footprints (`geometry`, most of a chunks file) of the row groups holding a candidate: the
    // selection asks only for the pages of the candidates, not for the groups' column chunks (the
    // footer read of these small files holds them whole anyway; in a store's files of megabytes
    // it does not).
    let footprintBytes = 0;
    let footprintRead = 0;
    let total = 0;
    for (const [path, ranges] of fetched) {
      const size = statSync(join(tiled.dir, path)).size;
      total += overlap([...ranges, footers.get(path)!], [0, size]);
      if (!path.startsWith("chunks/")) continue;
      for (const group of metadata.get(path)!.row_groups) {
        const geometry = group.columns.find((c) => c.meta_data!.path_in_schema[0] === "geometry")!.meta_data!;
        const start = Number(geometry.data_page_offset);
        const range: [number, number] = [start, start + Number(geometry.total_compressed_size)];
        const read = overlap(ranges, range);
        if (read === 0) continue;
        footprintBytes += range[1] - range[0];
        footprintRead += read;
      }
    }
    const candidates = new Set(got.chunks.map((c) => c.chunk_id));
    expect(candidates.size).toBe(CANDIDATES_5KM);
    expect(footprintRead).toBeGreaterThan(0);
    expect(footprintRead).toBeLessThan(footprintBytes / 4);
    expect(total).toBeLessThanOrEqual(SMALL_BOX_BYTES);
  });

  it("opens only the chunks files whose recorded bbox meets the AOI, with the same answer as without summaries", async () => {
    const reader = localStoreReader(tiled);
    const opened: string[] = [];
    const counting = {
      ...reader,
      products: () => reader.products(),
      openParts: (paths: readonly string[], opts?: Parameters<typeof reader.openParts>[1]) => {
        opened.push(...paths);
        return reader.openParts(paths, opts);
      },
    };
    const sel = cases[0]![1];
    const got = await selectChunksParquet(counting, sel);
    const all = tiled.manifest.parts.flatMap((p) => p.files.chunks);
    const chunkFilesOpened = opened.filter((f) => f.startsWith("chunks/"));
    expect(chunkFilesOpened.length).toBeGreaterThan(0);
    expect(chunkFilesOpened.length).toBeLessThan(all.filter((f) => f.includes("ATL06")).length);
    // A store written before the summaries (none in its manifest) opens every file: same rows.
    const old = {
      ...reader,
      manifest: {
        ...tiled.manifest,
        parts: tiled.manifest.parts.map((p) => ({
          ...p,
          stats: Object.fromEntries(
            Object.entries(p.stats!).map(([f, { bytes, rows, sha256 }]) => [f, { bytes, rows, sha256 }]),
          ),
        })),
      },
    };
    expect(sorted(await selectChunksParquet(old, sel))).toEqual(sorted(got));
    expect(got.chunks.length).toBeGreaterThan(0);
  });
});
