import { isDeepStrictEqual } from "node:util";
import {
  Field,
  Float64,
  Int16,
  Int32,
  List,
  Struct,
  Table,
  TimestampNanosecond,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import {
  type ColumnChunk,
  type Compressors,
  type FileMetaData,
  parquetMetadata,
  parquetRead,
  readOffsetIndex,
} from "hyparquet";
import { compressors as allCompressors } from "hyparquet-compressors";
import { describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { type DictionaryCache, decodeRows } from "../../src/store/pages.js";
import { pw } from "../../src/store/parquet-wasm.js";
import {
  arraysParquet,
  chunksParquet,
  granulesParquet,
  loadPartEncoding,
  mergeBatches,
} from "../../src/store/parts.js";
import { PARSERS } from "../../src/store/reader.js";
import type { ArrayRow } from "../../src/store/schema.js";

const compressors = allCompressors as Compressors;

/** Every row of group `g` of `bytes` as hyparquet reads it, by column. */
async function hyparquetRows(bytes: Uint8Array, metadata: FileMetaData, g: number) {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let start = 0;
  for (let k = 0; k < g; k++) start += Number(metadata.row_groups[k]!.num_rows);
  const n = Number(metadata.row_groups[g]!.num_rows);
  const columns = new Map<string, unknown[]>();
  await parquetRead({
    file,
    metadata,
    rowStart: start,
    rowEnd: start + n,
    compressors,
    parsers: PARSERS,
    onChunk: ({ columnName, columnData, rowStart }) => {
      const into = columns.get(columnName) ?? new Array(n);
      for (let i = 0; i < columnData.length; i++) {
        const r = rowStart - start + i;
        if (r >= 0 && r < n) into[r] = columnData[i];
      }
      columns.set(columnName, into);
    },
  });
  return columns;
}

/** Plain JS of hyparquet's values (typed arrays of list values as arrays), for comparison. */
const plainOf = (v: unknown): unknown =>
  ArrayBuffer.isView(v) && !(v instanceof Uint8Array)
    ? Array.from(v as unknown as ArrayLike<unknown>)
    : Array.isArray(v)
      ? v.map(plainOf)
      : v !== null && typeof v === "object" && !(v instanceof Uint8Array)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainOf(x)]))
        : v;

/**
 * Checks the page reader against hyparquet on every row group of `bytes`: all rows from the
 * column chunks walked page by page, and `subsets` random row sets from the offset indexes.
 * Returns the number of values compared.
 */
async function expectSameAsHyparquet(bytes: Uint8Array, subsets = 4): Promise<number> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  // Top-level columns: each element's subtree skipped by its children counts.
  const names: string[] = [];
  const skip = (i: number): number => {
    let next = i + 1;
    for (let k = 0; k < (metadata.schema[i]!.num_children ?? 0); k++) next = skip(next);
    return next;
  };
  for (let i = 1; i < metadata.schema.length; i = skip(i)) names.push(metadata.schema[i]!.name);
  const view = (start: number, end: number) => bytes.subarray(start, end);
  const pagesOf = (c: ColumnChunk) =>
    c.offset_index_offset === undefined
      ? undefined
      : readOffsetIndex({
          view: new DataView(file, Number(c.offset_index_offset), c.offset_index_length),
          offset: 0,
        }).page_locations;
  const random = seededRandom(5);
  let compared = 0;
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const expected = await hyparquetRows(bytes, metadata, g);
    expect([...expected.keys()].sort()).toEqual([...names].sort());
    const n = Number(metadata.row_groups[g]!.num_rows);
    const rowSets = [Array.from({ length: n }, (_, i) => i)];
    for (let s = 0; s < subsets; s++) rowSets.push(rowSets[0]!.filter(() => random() < 0.1 + s * 0.2));
    for (const [s, at] of rowSets.entries()) {
      const dictionaries: DictionaryCache = new WeakMap();
      // The first set walks the chunks page by page; the others read pages by the offset index.
      const decoded = decodeRows(
        metadata,
        g,
        names,
        at,
        s === 0 ? () => undefined : pagesOf,
        view,
        compressors,
        dictionaries,
      );
      expect(decoded).toBeDefined();
      for (const name of names) {
        const want = at.map((r) => plainOf(expected.get(name)![r]));
        const got = decoded!.get(name)!.map(plainOf);
        if (!isDeepStrictEqual(got, want))
          expect({ name, group: g, rows: got }).toEqual({ name, group: g, rows: want });
        compared += at.length;
      }
    }
  }
  return compared;
}

/** The store's three tables of a few synthetic granules. */
function storeFiles() {
  const random = seededRandom(3);
  const batch = mergeBatches(Array.from({ length: 6 }, (_, g) => syntheticBatch(g, random)));
  const arrays: ArrayRow[] = batch.granules.flatMap((g) =>
    Array.from({ length: 300 }, (_, k) => ({
      granule_id: g.granule_id,
      path: `/gt${(k % 3) + 1}l/land_ice_segments/v${k}`,
      dtype: k % 2 ? "<f4" : "<f8",
      shape: k % 5 ? [140000 + k] : [140000, 2],
      chunk_shape: k % 7 ? [10000] : null,
      filters: k % 3 ? "[]" : '[{"id":1}]',
      fill_value: "null",
      attrs: `{"k":${k}}`,
    })),
  );
  return {
    chunks: chunksParquet(batch.chunks),
    granules: granulesParquet(batch.granules),
    arrays: arraysParquet(arrays),
  };
}

await loadPartEncoding();

describe("page reader", () => {
  const files = storeFiles();
  for (const [table, bytes] of Object.entries(files)) {
    it(`reads every column of a ${table} part as hyparquet does`, async () => {
      expect(await expectSameAsHyparquet(bytes)).toBeGreaterThan(table === "granules" ? 200 : 5000);
    });
  }

  /** Columns of every shape the reader handles, with nulls, empty lists and null elements. */
  function edgeTable(n: number): Table {
    const random = seededRandom(9);
    const pick = <T>(make: (i: number) => T, nulls = 0.2) =>
      Array.from({ length: n }, (_, i) => (random() < nulls ? null : make(i)));
    const cell = new Field("item", new Uint64(), false);
    const item = new Field("item", new Int32(), true);
    const ref = new Struct([new Field("path", new Utf8(), false), new Field("offset", new Float64(), false)]);
    return new Table({
      name: vectorFromArray(
        pick((i) => `name-${i % 17}`),
        new Utf8(),
      ),
      count: vectorFromArray(
        pick((i) => i * 3 - 50),
        new Int32(),
      ),
      small: vectorFromArray(
        pick((i) => (i % 300) - 150),
        new Int16(),
      ),
      mask: vectorFromArray(
        pick((i) => 4_000_000_000 - i),
        new Uint32(),
      ),
      time: vectorFromArray(
        pick((i) => 1_600_000_000_000 + i * 1007),
        new TimestampNanosecond(),
      ),
      box: vectorFromArray(
        pick((i) => ({ xmin: i, ymin: -i, xmax: i + 0.5, ymax: 1 / (i + 1) })),
        new Struct(["xmin", "ymin", "xmax", "ymax"].map((f) => new Field(f, new Float64(), false))),
      ),
      cells: vectorFromArray(
        pick((i) => Array.from({ length: i % 4 }, (_, k) => 0x8a2a1072b59ffffn + BigInt(i * 10 + k))),
        new List(cell),
      ),
      items: vectorFromArray(
        pick((i) => Array.from({ length: i % 5 }, (_, k) => (k === 1 ? null : i + k))),
        new List(item),
      ),
      refs: vectorFromArray(
        pick((i) => Array.from({ length: i % 3 }, (_, k) => ({ path: `/p${k}`, offset: i * 1000 + k }))),
        new List(new Field("item", ref, false)),
      ),
    });
  }

  const variants: [
    string,
    (b: InstanceType<typeof pw.WriterPropertiesBuilder>) => InstanceType<typeof pw.WriterPropertiesBuilder>,
  ][] = [
    ["dictionaries, zstd, one page a group", (b) => b.setCompression(pw.Compression.ZSTD)],
    [
      "plain values in small pages",
      (b) =>
        b
          .setCompression(pw.Compression.ZSTD)
          .setDictionaryEnabled(false)
          .setDataPageSizeLimit(256)
          .setWriteBatchSize(8),
    ],
    [
      "data pages v2, uncompressed, small pages",
      (b) =>
        b
          .setWriterVersion(pw.WriterVersion.V2)
          .setCompression(pw.Compression.UNCOMPRESSED)
          .setDataPageSizeLimit(512)
          .setWriteBatchSize(16),
    ],
    [
      "data pages v2, zstd, dictionaries",
      (b) =>
        b
          .setWriterVersion(pw.WriterVersion.V2)
          .setCompression(pw.Compression.ZSTD)
          .setDataPageSizeLimit(512)
          .setWriteBatchSize(16),
    ],
  ];
  for (const [name, configure] of variants) {
    it(`reads nulls, empty lists and null elements as hyparquet does: ${name}`, async () => {
      const ipc = (await import("apache-arrow")).tableToIPC(edgeTable(700), "stream");
      const props = configure(new pw.WriterPropertiesBuilder().setMaxRowGroupSize(300)).build();
      const bytes = pw.writeParquet(pw.Table.fromIPCStream(ipc), props);
      expect(await expectSameAsHyparquet(bytes, 3)).toBeGreaterThan(5000);
    });
  }

  it("hands back what it does not handle, and names a page that disagrees with its offset index", async () => {
    // A boolean column is not a shape of the store's: the caller reads it with hyparquet.
    const { tableToIPC, Bool } = await import("apache-arrow");
    const t = new Table({ flag: vectorFromArray([true, false, null], new Bool()) });
    const bytes = pw.writeParquet(
      pw.Table.fromIPCStream(tableToIPC(t, "stream")),
      new pw.WriterPropertiesBuilder().build(),
    );
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = parquetMetadata(file);
    const view = (s: number, e: number) => bytes.subarray(s, e);
    expect(
      decodeRows(metadata, 0, ["flag"], [0, 1, 2], () => undefined, view, compressors, new WeakMap()),
    ).toBeUndefined();
    // Bytes not held: undefined too (the caller fetches and reads otherwise).
    const files2 = storeFiles().granules;
    const file2 = files2.buffer.slice(
      files2.byteOffset,
      files2.byteOffset + files2.byteLength,
    ) as ArrayBuffer;
    const md2 = parquetMetadata(file2);
    expect(
      decodeRows(
        md2,
        0,
        ["granule_id"],
        [0],
        () => undefined,
        () => undefined,
        compressors,
        new WeakMap(),
      ),
    ).toBeUndefined();
    // An offset index whose first rows disagree with the page's levels.
    const chunk = md2.row_groups[0]!.columns[0]!;
    const real = readOffsetIndex({
      view: new DataView(file2, Number(chunk.offset_index_offset), chunk.offset_index_length),
      offset: 0,
    }).page_locations;
    expect(real).toHaveLength(1);
    const wrong = () => [real[0]!, { ...real[0]!, first_row_index: 2n }];
    expect(() =>
      decodeRows(
        md2,
        0,
        ["granule_id"],
        [0],
        wrong,
        (s, e) => files2.subarray(s, e),
        compressors,
        new WeakMap(),
      ),
    ).toThrow("parquet page holds rows 0-5, its offset index says 0-1");
  });
});
