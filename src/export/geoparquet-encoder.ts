/**
 * GeoParquet 1.1 from a query result's plain columns (result/columns.ts), encoded here in TypeScript
 * rather than through Arrow and parquet-wasm: the typed arrays are copied into PLAIN pages, the
 * repeated strings become dictionary pages, the WKB points are written straight from lon/lat, and each
 * page is zstd-compressed as it closes. The file has the layout and metadata of the parquet-wasm
 * writer's (export/geoparquet-schema.ts: ZSTD, pages of at most RESULT_PAGE_BYTES, row groups of
 * 65 536 rows, column chunk statistics, offset index, the `geo` and `ARROW:schema` keys), at a small
 * part of its CPU (docs/design/query.md). List columns (`width`) are left to parquet-wasm.
 */
import type { NumericArray } from "../hdf5/types.js";
import type { ColumnType } from "../products/index.js";
import { GEOMETRY_COLUMN, type ResultColumnData, type ResultColumns } from "../result/columns.js";
import {
  type ColumnChunk,
  DictionaryChunkBuilder,
  type Order,
  PARQUET,
  type PageCompressor,
  type PlainArray,
  PlainChunkBuilder,
  RESULT_PAGE_BYTES,
} from "./parquet-columns.js";
import { LIST_OF, type ThriftWriter, thriftStruct } from "./thrift-writer.js";

/** Rows per row group: store/parquet-wasm.ts' DEFAULT_ROW_GROUP_SIZE, which a test holds equal. */
export const RESULT_ROW_GROUP_ROWS = 65_536;

/** Parquet's ZSTD codec id. */
const ZSTD = 6;
/** Bytes of a WKB Point (byte order, type, x, y) behind its 4-byte PLAIN length. */
const WKB_VALUE_BYTES = 25;
const MAGIC = new TextEncoder().encode("PAR1");

/** Whether the encoder writes every column of `c` (list columns it does not). */
export function isEncodable(c: ResultColumns): boolean {
  return c.columns.every((column) => !("values" in column) || column.width === undefined);
}

/** How one numeric column type is stored: physical type, annotations, statistics order. */
interface NumericLayout {
  physical: number;
  width: 4 | 8;
  order: Order;
  /** ConvertedType and IntType of an annotated integer. */
  int?: { converted: number; bits: number; signed: boolean };
  /** The batch's values as the physical type's array (a view, or a widened copy). */
  plain(values: NumericArray): PlainArray;
  view(buffer: ArrayBuffer): PlainArray;
}

const i32 = (b: ArrayBuffer) => new Int32Array(b);
const i64 = (b: ArrayBuffer) => new BigInt64Array(b);
const widen = (v: NumericArray) => Int32Array.from(v as Int8Array);
const asInt32 = (v: NumericArray) => new Int32Array(v.buffer, v.byteOffset, v.length);
const asInt64 = (v: NumericArray) => new BigInt64Array(v.buffer, v.byteOffset, v.length);
const same = (v: NumericArray) => v as PlainArray;

/** The layouts of the reference writer (arrow-rs): small integers widened to INT32 with their width noted. */
const LAYOUTS: Record<Exclude<ColumnType, "utf8">, NumericLayout> = {
  float64: {
    physical: PARQUET.DOUBLE,
    width: 8,
    order: "float",
    plain: same,
    view: (b) => new Float64Array(b),
  },
  float32: {
    physical: PARQUET.FLOAT,
    width: 4,
    order: "float",
    plain: same,
    view: (b) => new Float32Array(b),
  },
  int8: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 15, bits: 8, signed: true },
    plain: widen,
    view: i32,
  },
  int16: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 16, bits: 16, signed: true },
    plain: widen,
    view: i32,
  },
  int32: { physical: PARQUET.INT32, width: 4, order: "signed", plain: same, view: i32 },
  int64: { physical: PARQUET.INT64, width: 8, order: "signed", plain: same, view: i64 },
  uint8: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 11, bits: 8, signed: false },
    plain: widen,
    view: i32,
  },
  uint16: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    int: { converted: 12, bits: 16, signed: false },
    plain: widen,
    view: i32,
  },
  uint32: {
    physical: PARQUET.INT32,
    width: 4,
    order: "unsigned",
    int: { converted: 13, bits: 32, signed: false },
    plain: asInt32,
    view: i32,
  },
  uint64: {
    physical: PARQUET.INT64,
    width: 8,
    order: "unsigned",
    int: { converted: 14, bits: 64, signed: false },
    plain: asInt64,
    view: i64,
  },
};

/** The column type of a typed array. */
function columnTypeOf(values: NumericArray): Exclude<ColumnType, "utf8"> {
  for (const [type, Ctor] of [
    ["float64", Float64Array],
    ["float32", Float32Array],
    ["int8", Int8Array],
    ["int16", Int16Array],
    ["int32", Int32Array],
    ["int64", BigInt64Array],
    ["uint8", Uint8Array],
    ["uint16", Uint16Array],
    ["uint32", Uint32Array],
  ] as const)
    if (values instanceof Ctor) return type;
  return "uint64";
}

/** A column's values in one batch, ready for its chunk builder. */
type Prepared =
  | { plain: PlainArray | undefined; valid?: Uint8Array }
  | { text: string | null }
  | { wkb: Uint8Array };

/** One output column: its schema element and how a batch's values reach its chunk builder. */
interface Column {
  name: string;
  physical: number;
  optional: boolean;
  /** Writes the schema element's annotations (converted type, logical type). */
  annotate(w: ThriftWriter): void;
  prepare(c: ResultColumns, at: number): Prepared;
  builder: PlainChunkBuilder | DictionaryChunkBuilder;
}

/** The output columns of a result whose first batch is `first`: lat, lon, time, the columns, geometry. */
function columnsOf(first: ResultColumns, compress: PageCompressor): Column[] {
  const numeric = (
    name: string,
    type: Exclude<ColumnType, "utf8">,
    optional: boolean,
    get: (c: ResultColumns) => Prepared,
  ): Column => {
    const layout = LAYOUTS[type];
    const pageRows = Math.floor(RESULT_PAGE_BYTES / layout.width);
    const int = layout.int;
    return {
      name,
      physical: layout.physical,
      optional,
      annotate: (w) => {
        if (int)
          w.i32(6, int.converted).struct(10, () => w.struct(10, () => w.i8(1, int.bits).bool(2, int.signed)));
      },
      prepare: get,
      builder: new PlainChunkBuilder(compress, {
        optional,
        width: layout.width,
        pageRows,
        order: layout.order,
        view: layout.view,
        legacyStats: int?.signed !== false,
      }),
    };
  };
  const out: Column[] = [
    numeric("lat", "float64", false, (c) => ({ plain: c.lat })),
    numeric("lon", "float64", false, (c) => ({ plain: c.lon })),
    {
      ...numeric("time", "int64", false, (c) => ({ plain: c.time })),
      // Timestamp(NANOS, UTC): logical type only (no converted type has nanoseconds).
      annotate: (w) =>
        w.struct(10, () => w.struct(8, () => w.bool(1, true).struct(2, () => w.struct(3, () => {})))),
    },
  ];
  for (const [at, column] of first.columns.entries()) out.push(resultColumn(column, at, numeric, compress));
  out.push({
    name: GEOMETRY_COLUMN,
    physical: PARQUET.BYTE_ARRAY,
    optional: false,
    annotate: () => {},
    prepare: (c) => ({ wkb: wkbPoints(c.lon, c.lat) }),
    builder: new PlainChunkBuilder(compress, {
      optional: false,
      width: WKB_VALUE_BYTES,
      pageRows: Math.floor(RESULT_PAGE_BYTES / WKB_VALUE_BYTES),
      order: "none",
      view: i32,
      legacyStats: false,
    }),
  });
  return out;
}

/** The output column of one of the result's columns (`at`: its position in every batch). */
function resultColumn(
  column: ResultColumnData,
  at: number,
  numeric: (
    name: string,
    type: Exclude<ColumnType, "utf8">,
    optional: boolean,
    get: (c: ResultColumns) => Prepared,
  ) => Column,
  compress: PageCompressor,
): Column {
  const { name } = column;
  const of = (c: ResultColumns) => {
    const found = c.columns[at];
    if (found?.name !== name) throw new Error(`result batch has column ${found?.name} where ${name} was`);
    return found;
  };
  if ("values" in column) {
    const layout = LAYOUTS[columnTypeOf(column.values)];
    return numeric(name, columnTypeOf(column.values), true, (c) => {
      const v = of(c) as Extract<ResultColumnData, { values: NumericArray }>;
      return { plain: layout.plain(v.values), valid: v.valid };
    });
  }
  const optional = column.nullable ?? column.value === null;
  const required = (c: ResultColumns) => {
    const v = of(c) as Extract<ResultColumnData, { value: unknown }>;
    if (v.value === null && !optional)
      throw new Error(`result column ${name} is null in a batch but not nullable`);
    return v.value;
  };
  if (column.type === "utf8")
    return {
      name,
      physical: PARQUET.BYTE_ARRAY,
      optional,
      annotate: (w) => w.i32(6, 0).struct(10, () => w.struct(1, () => {})),
      prepare: (c) => {
        const value = required(c);
        return { text: value === null ? null : String(value) };
      },
      builder: new DictionaryChunkBuilder(compress, optional),
    };
  const type = column.type;
  const layout = LAYOUTS[type];
  return numeric(name, type, optional, (c) => {
    const value = required(c);
    if (value === null) return { plain: undefined };
    const n = c.lat.length;
    const values = layout.view(new ArrayBuffer(n * layout.width));
    values.fill((values instanceof BigInt64Array ? BigInt(value) : Number(value)) as never);
    return { plain: values };
  });
}

/** WKB Points of (lon, lat), each behind its PLAIN length (21). */
function wkbPoints(lon: Float64Array, lat: Float64Array): Uint8Array {
  const n = lon.length;
  const out = new Uint8Array(n * WKB_VALUE_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0, at = 0; i < n; i++, at += WKB_VALUE_BYTES) {
    out[at] = 21;
    out[at + 4] = 1;
    out[at + 5] = 1;
    view.setFloat64(at + 9, lon[i]!, true);
    view.setFloat64(at + 17, lat[i]!, true);
  }
  return out;
}

/** Options of {@link openGeoParquetEncoder}. */
export interface GeoParquetEncoderOptions {
  /** File key-value metadata, in order (`geo` first). */
  metadata: Record<string, string>;
  /** Rows per row group. Default {@link RESULT_ROW_GROUP_ROWS}. */
  rowGroupSize?: number;
  /** The page codec: zstd (export/zstd.ts). */
  compress: PageCompressor;
}

/** A column chunk placed in the file. */
interface Placed {
  chunk: ColumnChunk;
  /** File offset of its first page. */
  start: number;
}

/**
 * An encoder of one file, whose columns are those of `first` (the result's first batch): `add` takes
 * each batch (the first too) and returns the bytes of the row groups it completed, `end` the rest of
 * the file. Throws when a batch's columns differ from the first's.
 */
export function openGeoParquetEncoder(first: ResultColumns, opts: GeoParquetEncoderOptions) {
  const columns = columnsOf(first, opts.compress);
  const groupRows = opts.rowGroupSize ?? RESULT_ROW_GROUP_ROWS;
  const groups: { placed: Placed[]; rows: number }[] = [];
  let position = 0;
  let rows = 0;
  let inGroup = 0;

  const closeGroup = (): Uint8Array => {
    const pieces: Uint8Array[] = position === 0 ? [MAGIC] : [];
    if (position === 0) position = MAGIC.length;
    const placed: Placed[] = [];
    for (const column of columns) {
      const chunk = column.builder.finish();
      placed.push({ chunk, start: position });
      pieces.push(...chunk.pages);
      position += chunk.compressed;
    }
    groups.push({ placed, rows: inGroup });
    inGroup = 0;
    return concatBytes(pieces);
  };

  return {
    /** Encodes one batch; returns the bytes of the row groups it completed, if any. */
    add(c: ResultColumns): Uint8Array | undefined {
      if (c.columns.length !== first.columns.length)
        throw new Error(
          `result batch has ${c.columns.length} columns, the first had ${first.columns.length}`,
        );
      const n = c.lat.length;
      const prepared = columns.map((column, at) => column.prepare(c, at));
      const done: Uint8Array[] = [];
      for (let from = 0; from < n; ) {
        const count = Math.min(n - from, groupRows - inGroup);
        for (const [at, column] of columns.entries()) addRows(column, prepared[at]!, from, count);
        inGroup += count;
        rows += count;
        from += count;
        if (inGroup === groupRows) done.push(closeGroup());
      }
      return done.length === 0 ? undefined : concatBytes(done);
    },
    /** The last row group, the offset indexes and the footer. */
    end(): Uint8Array {
      const pieces = inGroup > 0 ? [closeGroup()] : [];
      if (position === 0) {
        pieces.push(MAGIC);
        position = MAGIC.length;
      }
      const indexes = groups.map((g) =>
        g.placed.map(({ chunk, start }) => {
          const bytes = offsetIndex(chunk, start);
          const at = position;
          pieces.push(bytes);
          position += bytes.length;
          return { offset: at, length: bytes.length };
        }),
      );
      const footer = fileMetaData(columns, groups, indexes, rows, opts.metadata);
      const tail = new Uint8Array(8);
      new DataView(tail.buffer).setUint32(0, footer.length, true);
      tail.set(MAGIC, 4);
      pieces.push(footer, tail);
      return concatBytes(pieces);
    },
  };
}

/** Rows [from, from + count) of a prepared batch column into its chunk builder, page by page. */
function addRows(column: Column, prepared: Prepared, from: number, count: number): void {
  const builder = column.builder;
  if (builder instanceof DictionaryChunkBuilder) {
    builder.add((prepared as { text: string | null }).text, count);
    return;
  }
  for (let at = from, left = count; left > 0; ) {
    const k = Math.min(left, builder.room());
    if ("wkb" in prepared)
      builder.addBytes(prepared.wkb.subarray(at * WKB_VALUE_BYTES, (at + k) * WKB_VALUE_BYTES), k);
    else {
      const { plain, valid } = prepared as { plain: PlainArray | undefined; valid?: Uint8Array };
      builder.addValues(plain, valid, at, k);
    }
    at += k;
    left -= k;
  }
}

/** The offset index of a column chunk placed at `start`: its data pages' locations. */
function offsetIndex(chunk: ColumnChunk, start: number): Uint8Array {
  return thriftStruct((w) => {
    w.list(1, LIST_OF.struct, chunk.locations.length);
    for (const loc of chunk.locations)
      w.body(() =>
        w
          .i64(1, start + loc.offset)
          .i32(2, loc.size)
          .i64(3, loc.firstRow),
      );
  });
}

/** The footer: schema, row groups and their column chunks, key-value metadata, column orders. */
function fileMetaData(
  columns: readonly Column[],
  groups: readonly { placed: Placed[]; rows: number }[],
  indexes: readonly { offset: number; length: number }[][],
  rows: number,
  metadata: Record<string, string>,
): Uint8Array {
  return thriftStruct((w) => {
    w.i32(1, 1);
    w.list(2, LIST_OF.struct, columns.length + 1);
    w.body(() => w.string(4, "arrow_schema").i32(5, columns.length));
    for (const column of columns)
      w.body(() => {
        w.i32(1, column.physical)
          .i32(3, column.optional ? 1 : 0)
          .string(4, column.name);
        column.annotate(w);
      });
    w.i64(3, rows);
    w.list(4, LIST_OF.struct, groups.length);
    for (const [g, group] of groups.entries())
      w.body(() => {
        w.list(1, LIST_OF.struct, group.placed.length);
        let uncompressed = 0;
        let compressed = 0;
        group.placed.forEach(({ chunk, start }, c) => {
          uncompressed += chunk.uncompressed;
          compressed += chunk.compressed;
          w.body(() => {
            w.i64(2, 0);
            w.struct(3, () => columnMetaData(w, columns[c]!, chunk, start));
            w.i64(4, indexes[g]![c]!.offset).i32(5, indexes[g]![c]!.length);
          });
        });
        w.i64(2, uncompressed).i64(3, group.rows).i64(5, group.placed[0]!.start).i64(6, compressed).i16(7, g);
      });
    const entries = Object.entries(metadata);
    w.list(5, LIST_OF.struct, entries.length);
    for (const [key, value] of entries) w.body(() => w.string(1, key).string(2, value));
    w.string(6, "geochunks");
    w.list(7, LIST_OF.struct, columns.length);
    for (let i = 0; i < columns.length; i++) w.body(() => w.struct(1, () => {}));
  });
}

/** A column chunk's ColumnMetaData fields, with its chunk statistics. */
function columnMetaData(w: ThriftWriter, column: Column, chunk: ColumnChunk, start: number): void {
  w.i32(1, column.physical);
  w.list(2, LIST_OF.i32, chunk.encodings.length);
  for (const e of chunk.encodings) w.int(e);
  w.list(3, LIST_OF.binary, 1);
  w.raw(new TextEncoder().encode(column.name));
  w.i32(4, ZSTD).i64(5, chunk.rows).i64(6, chunk.uncompressed).i64(7, chunk.compressed);
  w.i64(9, start + chunk.dictionaryBytes);
  if (chunk.dictionaryBytes > 0) w.i64(11, start);
  w.struct(12, () => {
    if (chunk.legacyStats && chunk.min && chunk.max) w.binary(1, chunk.max).binary(2, chunk.min);
    w.i64(3, chunk.nulls);
    if (chunk.min && chunk.max) w.binary(5, chunk.max).binary(6, chunk.min).bool(7, true).bool(8, true);
  });
}

/** Concatenation of byte pieces. */
function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  let n = 0;
  for (const p of pieces) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
