import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { type FileMetaData, parquetMetadata } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { groupStatistics, parseFooter } from "../../src/store/footer.js";
import { openLocalStoreReader } from "../../src/store/local-reader.js";
import { partBuffer } from "../../src/store/part-buffer.js";
import { mergeBatches } from "../../src/store/parts.js";
import { PARSERS, readPartFooter } from "../../src/store/reader.js";
import { Store } from "../../src/store/store.js";

let dir: string;
let files: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "geochunks-footer-"));
  const random = seededRandom(5);
  const store = await Store.open(dir, { create: true, chunkTileMinRows: 0 });
  const batch = mergeBatches(Array.from({ length: 6 }, (_, g) => syntheticBatch(g, random)));
  await store.commit({
    ...batch,
    arrays: batch.granules.map((g) => ({
      granule_id: g.granule_id,
      path: "/gt1l/land_ice_segments/h_li",
      dtype: "<f4",
      shape: [1000],
      chunk_shape: [100],
      filters: "[]",
      fill_value: "null",
      attrs: "{}",
    })),
  });
  files = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".parquet"))
    .sort();
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** hyparquet's whole footer of a file, and the footer's thrift bytes. */
function footers(path: string): { full: FileMetaData; bytes: Uint8Array } {
  const file = readFileSync(join(dir, path));
  const length = file.readUInt32LE(file.length - 8);
  const start = file.byteOffset + file.length - 8 - length;
  return {
    full: parquetMetadata(new Uint8Array(file.buffer, start, length + 8), { parsers: PARSERS }),
    bytes: new Uint8Array(file.buffer, start, length),
  };
}

/** A footer with every row group's column chunks decoded, as plain data. */
const decoded = (m: FileMetaData) => ({
  ...m,
  row_groups: m.row_groups.map((g) => ({ ...g, columns: g.columns, sorting_columns: g.sorting_columns })),
});

describe("footers read as far as needed", () => {
  it("decode to hyparquet's whole footer, row group by row group, for every table", () => {
    const tables = new Set(files.map((f) => f.split("/")[0]));
    expect([...tables].sort()).toEqual(["arrays", "chunk_cells", "chunks", "granules"]);
    for (const path of files) {
      const { full, bytes } = footers(path);
      const lazy = parseFooter(bytes, parquetMetadata, PARSERS);
      expect(lazy.row_groups.length).toBe(full.row_groups.length);
      expect(isDeepStrictEqual(decoded(lazy), full), path).toBe(true);
    }
  });

  it("read each column's min and max statistics as hyparquet converts them, without decoding the groups", () => {
    let compared = 0;
    const types = new Set<string>();
    for (const path of files) {
      const { full, bytes } = footers(path);
      const lazy = parseFooter(bytes, parquetMetadata, PARSERS);
      for (const [g, group] of full.row_groups.entries())
        for (const c of group.columns) {
          const m = c.meta_data!;
          const s = m.statistics;
          const min = s?.min_value ?? s?.min;
          const max = s?.max_value ?? s?.max;
          const got = groupStatistics(lazy.row_groups[g]!, m.path_in_schema.join("."));
          if (got === undefined) continue;
          expect(got).toEqual(min === undefined || max === undefined ? null : { min, max });
          if (got) types.add(`${m.type} ${typeof got.min}`);
          compared++;
        }
    }
    expect(compared).toBeGreaterThan(100);
    // The types the selection tests: bbox doubles, nanosecond timestamps, granule ids and paths.
    expect([...types]).toEqual(
      expect.arrayContaining(["DOUBLE number", "INT64 bigint", "BYTE_ARRAY string"]),
    );
  });

  it("open through the store reader to the same footer, and report a damaged one", async () => {
    const reader = await openLocalStoreReader(dir);
    const chunks = files.filter((f) => f.startsWith("chunks/"));
    const parts = await reader.openParts(chunks);
    expect(parts.length).toBeGreaterThan(1);
    for (const [i, part] of parts.entries())
      expect(isDeepStrictEqual(decoded(part.metadata), footers(chunks[i]!).full)).toBe(true);
    const { bytes } = footers(files.find((f) => f.startsWith("chunks/"))!);
    expect(() => parseFooter(bytes.subarray(0, bytes.length - 40), parquetMetadata, PARSERS)).toThrow(
      /thrift|footer/,
    );
  });

  it("join a footer longer than the first read from two reads of its bytes", async () => {
    // A real footer with an unused 100 KB field (FileMetaData field 9) before its end, after 300 KB
    // of other bytes: longer than the 64 KiB read first.
    const { bytes, full } = footers(files.find((f) => f.startsWith("chunks/"))!);
    const padding = new Uint8Array(100_000).fill(7);
    const length = [0x08, 0x12, 0xa0, 0x8d, 0x06]; // binary, field id 9 (zigzag 18), varint 100 000
    const meta = new Uint8Array(bytes.length - 1 + length.length + padding.length + 1);
    meta.set(bytes.subarray(0, bytes.length - 1));
    meta.set(length, bytes.length - 1);
    meta.set(padding, bytes.length - 1 + length.length);
    const file = new Uint8Array(300_000 + meta.length + 8);
    file.set(meta, 300_000);
    new DataView(file.buffer).setUint32(300_000 + meta.length, meta.length, true);
    file.set([0x50, 0x41, 0x52, 0x31], file.length - 4);
    const reads: [number, number][] = [];
    const source = {
      url: new URL("file:///long-footer.parquet"),
      size: async () => file.length,
      read: async (offset: number, n: number) => {
        reads.push([offset, n]);
        return file.slice(offset, offset + n);
      },
    };
    const buffer = partBuffer(source, file.length);
    const part = await readPartFooter("store", { path: "p", name: "p", buffer }, undefined);
    expect(isDeepStrictEqual(decoded(part.metadata), { ...full, metadata_length: meta.length })).toBe(true);
    // The last 64 KiB, then only the rest of the footer.
    expect(reads).toEqual([
      [file.length - 65_536, 65_536],
      [300_000, file.length - 65_536 - 300_000],
    ]);
  });
});
