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
import { DictionaryChunkBuilder } from "../parquet/dictionary.js";
import { appendOffsetIndexes, type FooterColumn, fileMetaData, type Placed } from "../parquet/footer.js";
import { concat, PARQUET, type PageCompressor } from "../parquet/pages.js";
import { type PlainArray, PlainChunkBuilder } from "../parquet/plain.js";
import type { ColumnType } from "../products/index.js";
import { GEOMETRY_COLUMN, type ResultColumnData, type ResultColumns } from "../result/columns.js";
import { columnTypeOf, i32, LAYOUTS, RESULT_PAGE_BYTES } from "./geoparquet-layouts.js";

/** Rows per row group: store/parquet-wasm.ts' DEFAULT_ROW_GROUP_SIZE, which a test holds equal. */
export const RESULT_ROW_GROUP_ROWS = 65_536;

/** Bytes of a WKB Point (byte order, type, x, y) behind its 4-byte PLAIN length. */
const WKB_VALUE_BYTES = 25;
const MAGIC = new TextEncoder().encode("PAR1");

/** Whether the encoder writes every column of `c` (list columns it does not). */
export function isEncodable(c: ResultColumns): boolean {
  return c.columns.every((column) => !("values" in column) || column.width === undefined);
}

/** A column's values in one batch, ready for its chunk builder. */
type Prepared =
  | { plain: PlainArray | undefined; valid?: Uint8Array }
  | { text: string | null }
  | { wkb: Uint8Array };

/** One output column: its schema element and how a batch's values reach its chunk builder. */
interface Column extends FooterColumn {
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
  /** The page codec: zstd (parquet/zstd.ts). */
  compress: PageCompressor;
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
      // The footer needs the chunk's sizes, statistics and page locations, not its pages: those leave
      // with this row group's bytes, so the encoder holds one row group, not every page of the file.
      placed.push({ chunk: { ...chunk, pages: [] }, start: position });
      pieces.push(...chunk.pages);
      position += chunk.compressed;
    }
    groups.push({ placed, rows: inGroup });
    inGroup = 0;
    return concat(pieces);
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
      return done.length === 0 ? undefined : concat(done);
    },
    /** The last row group, the offset indexes and the footer. */
    end(): Uint8Array {
      const pieces = inGroup > 0 ? [closeGroup()] : [];
      if (position === 0) {
        pieces.push(MAGIC);
        position = MAGIC.length;
      }
      const appended = appendOffsetIndexes(groups, pieces, position);
      const indexes = appended.indexes;
      position = appended.position;
      const footer = fileMetaData(columns, groups, indexes, rows, opts.metadata);
      const tail = new Uint8Array(8);
      new DataView(tail.buffer).setUint32(0, footer.length, true);
      tail.set(MAGIC, 4);
      pieces.push(footer, tail);
      return concat(pieces);
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
