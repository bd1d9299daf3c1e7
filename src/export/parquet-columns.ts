/**
 * One Parquet column chunk after another from plain typed arrays (the GeoParquet encoder's columns,
 * geoparquet-encoder.ts): PLAIN data pages of fixed-width values (numbers, WKB points) or
 * RLE_DICTIONARY pages of repeated strings, definition levels where the column is optional, each page
 * compressed as it closes, and the chunk's statistics and page locations for the footer.
 */
import { type ThriftWriter, thriftStruct } from "./thrift-writer.js";

/** Parquet physical types, encodings and page types (parquet.thrift). */
export const PARQUET = {
  INT32: 1,
  INT64: 2,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  PLAIN: 0,
  RLE: 3,
  RLE_DICTIONARY: 8,
  DATA_PAGE: 0,
  DICTIONARY_PAGE: 2,
} as const;

/**
 * Largest data page of a result file, bytes before compression (parquet-wasm's default is 1 MiB). A
 * page is compressed when it closes, so with 1 MiB pages a result of up to about a hundred thousand
 * rows had every page of its row group compressed after its last batch had arrived, on the query's
 * critical path (zstd is about half of the encoding's CPU); 128 KiB pages are compressed while the
 * batches arrive. The same encoding CPU and a file as large (45 340 rows: 59.6 / 57.6 ms, 1 585 466
 * / 1 574 779 bytes; docs/design/query.md).
 */
export const RESULT_PAGE_BYTES = 128 * 1024;

/** Compresses one page's bytes (the codec of the file). */
export type PageCompressor = (bytes: Uint8Array) => Uint8Array;

/** A data page's location within its column chunk, for the offset index. */
export interface PageLocation {
  /** Bytes from the chunk's first page. */
  offset: number;
  /** Header and compressed body, bytes. */
  size: number;
  firstRow: number;
}

/** A finished column chunk: its pages' bytes and what the footer says of it. */
export interface ColumnChunk {
  pages: Uint8Array[];
  /** Bytes of the dictionary page at the chunk's start (0: none). */
  dictionaryBytes: number;
  compressed: number;
  uncompressed: number;
  rows: number;
  nulls: number;
  encodings: number[];
  /** Min and max as Parquet statistics bytes (plain encoding), when the chunk has values. */
  min?: Uint8Array;
  max?: Uint8Array;
  /** Whether the deprecated min/max fields are written too (numbers, as the reference writer does). */
  legacyStats: boolean;
  locations: PageLocation[];
}

/** Definition levels (0 null, 1 value) as runs, for the RLE/bit-packed hybrid encoding. */
class LevelRuns {
  private runs: number[] = [];
  private value = -1;

  add(level: number, count: number): void {
    if (count === 0) return;
    if (level === this.value) this.runs[this.runs.length - 1]! += count;
    else {
      this.runs.push(count);
      this.value = level;
      this.levels.push(level);
    }
  }

  private levels: number[] = [];

  /** The levels of a page, RLE runs behind their 4-byte length (data page v1); then empty. */
  take(): Uint8Array {
    const w = new Bytes(4 + this.runs.length * 6);
    w.length = 4;
    for (let i = 0; i < this.runs.length; i++) {
      w.varint(this.runs[i]! * 2);
      w.push(this.levels[i]!);
    }
    new DataView(w.bytes.buffer).setUint32(0, w.length - 4, true);
    this.runs = [];
    this.levels = [];
    this.value = -1;
    return w.bytes.subarray(0, w.length);
  }
}

/** A small growable byte buffer. */
class Bytes {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }
  push(b: number): void {
    if (this.length === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2 + 16);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes[this.length++] = b;
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.push(v);
  }
}

/** A page header and its compressed body as one piece. */
function pageBytes(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** A data page v1's header. */
function dataPageHeader(raw: number, compressed: number, rows: number, encoding: number): Uint8Array {
  return thriftStruct((w) =>
    w
      .i32(1, PARQUET.DATA_PAGE)
      .i32(2, raw)
      .i32(3, compressed)
      .struct(5, () => w.i32(1, rows).i32(2, encoding).i32(3, PARQUET.RLE).i32(4, PARQUET.RLE)),
  );
}

/** Concatenation of pieces. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pages of one column chunk in the making, shared by both column kinds. */
abstract class ChunkBuilder {
  protected pages: Uint8Array[] = [];
  protected locations: PageLocation[] = [];
  protected compressedBytes = 0;
  protected uncompressedBytes = 0;
  protected rows = 0;
  protected nulls = 0;
  protected pageFirstRow = 0;
  protected readonly levels: LevelRuns | undefined;

  constructor(
    protected readonly compress: PageCompressor,
    optional: boolean,
  ) {
    this.levels = optional ? new LevelRuns() : undefined;
  }

  /** Closes a data page of `pageRows` rows whose body (levels, values) is `parts`. */
  protected closePage(parts: Uint8Array[], pageRows: number, encoding: number): void {
    const raw = parts.length === 1 ? parts[0]! : concat(parts);
    const body = this.compress(raw);
    const header = dataPageHeader(raw.length, body.length, pageRows, encoding);
    this.locations.push({
      offset: this.compressedBytes,
      size: header.length + body.length,
      firstRow: this.pageFirstRow,
    });
    this.pages.push(pageBytes(header, body));
    this.compressedBytes += header.length + body.length;
    this.uncompressedBytes += header.length + raw.length;
    this.pageFirstRow = this.rows;
  }

  /** Resets the builder for the next row group. */
  protected reset(): void {
    this.pages = [];
    this.locations = [];
    this.compressedBytes = 0;
    this.uncompressedBytes = 0;
    this.rows = 0;
    this.nulls = 0;
    this.pageFirstRow = 0;
  }
}

/** Typed arrays of the fixed-width physical types. */
export type PlainArray = Float64Array | Float32Array | Int32Array | BigInt64Array;

/** How a fixed-width column's min and max compare: as its physical type, or unsigned. */
export type Order = "float" | "signed" | "unsigned" | "none";

/** The shape of a {@link PlainChunkBuilder}'s column. */
export interface PlainLayout {
  optional: boolean;
  /** Bytes a value. */
  width: number;
  /** Rows a page holds at most. */
  pageRows: number;
  order: Order;
  /** A view of the value type over a buffer (for statistics). */
  view: (buffer: ArrayBuffer) => PlainArray;
  /**
   * Whether the deprecated min/max statistics are written beside min_value/max_value: for signed
   * and float columns, as the reference writer (arrow-rs) does; not for unsigned ones, whose order
   * those fields cannot express.
   */
  legacyStats: boolean;
}

/**
 * A column of fixed-width PLAIN values (DOUBLE, FLOAT, INT32, INT64, or 25-byte WKB points as
 * BYTE_ARRAY): values are copied into the open page, which closes at `pageRows` rows.
 */
export class PlainChunkBuilder extends ChunkBuilder {
  private readonly page: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private pageValues = 0;
  private pageRows = 0;
  private readonly min: PlainArray;
  private readonly max: PlainArray;
  private hasStats = false;

  readonly width: number;
  private readonly maxPageRows: number;
  private readonly order: Order;
  private readonly view: (buffer: ArrayBuffer) => PlainArray;
  private readonly legacyStats: boolean;

  constructor(compress: PageCompressor, layout: PlainLayout) {
    super(compress, layout.optional);
    this.width = layout.width;
    this.maxPageRows = layout.pageRows;
    this.order = layout.order;
    this.view = layout.view;
    this.legacyStats = layout.legacyStats;
    this.page = new ArrayBuffer(layout.width * layout.pageRows);
    this.bytes = new Uint8Array(this.page);
    this.min = layout.view(new ArrayBuffer(8));
    this.max = layout.view(new ArrayBuffer(8));
  }

  /** Rows that still fit in the open page. */
  room(): number {
    return this.maxPageRows - this.pageRows;
  }

  /** The values of `count` rows, all valid, as bytes (at most {@link room} rows). */
  addBytes(bytes: Uint8Array, count: number): void {
    this.bytes.set(bytes, this.pageValues * this.width);
    this.pageValues += count;
    this.added(count);
  }

  /**
   * Rows [from, from + count) of `values` (at most {@link room} rows) where `valid` (1 = value) says,
   * or all null (`values` undefined).
   */
  addValues(
    values: PlainArray | undefined,
    valid: Uint8Array | undefined,
    from: number,
    count: number,
  ): void {
    if (!values) {
      this.levels!.add(0, count);
      this.nulls += count;
      this.added(count);
      return;
    }
    if (!valid) {
      const w = this.width;
      this.bytes.set(
        new Uint8Array(values.buffer, values.byteOffset + from * w, count * w),
        this.pageValues * w,
      );
      this.pageValues += count;
      this.levels?.add(1, count);
      this.added(count);
      return;
    }
    const out = this.view(this.page) as unknown as (number | bigint)[];
    const levels = this.levels!;
    const end = from + count;
    let n = this.pageValues;
    // Levels as runs of equal validity, one call a run rather than a row.
    let run = from;
    let level = valid[from] ? 1 : 0;
    for (let i = from; i < end; i++) {
      const ok = valid[i] ? 1 : 0;
      if (ok !== level) {
        levels.add(level, i - run);
        level = ok;
        run = i;
      }
      if (ok) out[n++] = values[i]!;
    }
    levels.add(level, end - run);
    this.nulls += count - (n - this.pageValues);
    this.pageValues = n;
    this.added(count);
  }

  private added(rows: number): void {
    this.rows += rows;
    this.pageRows += rows;
    if (this.pageRows >= this.maxPageRows) this.flush();
  }

  /** Closes the open page, if it has rows. */
  flush(): void {
    if (this.pageRows === 0) return;
    this.updateStats();
    const values = this.bytes.subarray(0, this.pageValues * this.width);
    const parts = this.levels ? [this.levels.take(), values] : [values];
    this.closePage(parts, this.pageRows, PARQUET.PLAIN);
    this.pageValues = 0;
    this.pageRows = 0;
  }

  private updateStats(): void {
    if (this.order === "none" || this.pageValues === 0) return;
    const v = this.view(this.page);
    if (v instanceof BigInt64Array) {
      this.updateStats64(v);
      return;
    }
    const values = v as Float64Array;
    const unsigned = this.order === "unsigned";
    let lo = this.hasStats ? (this.min[0] as number) : Number.POSITIVE_INFINITY;
    let hi = this.hasStats ? (this.max[0] as number) : Number.NEGATIVE_INFINITY;
    if (unsigned && this.hasStats) {
      lo >>>= 0;
      hi >>>= 0;
    }
    for (let i = 0; i < this.pageValues; i++) {
      const x = unsigned ? values[i]! >>> 0 : values[i]!;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (lo > hi) return; // only NaN
    // Parquet's float ordering: a zero minimum is written -0, a zero maximum +0.
    (this.min as Float64Array)[0] = lo === 0 && this.order === "float" ? -0 : lo;
    (this.max as Float64Array)[0] = hi === 0 && this.order === "float" ? 0 : hi;
    this.hasStats = true;
  }

  private updateStats64(values: BigInt64Array): void {
    const unsigned = this.order === "unsigned";
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    // Compared by high word, then low word: exact for every 64-bit value, no BigInt per value.
    let lo = 0;
    let hi = 0;
    const less = (a: number, b: number) => {
      const ha = unsigned ? words[a * 2 + 1]! >>> 0 : words[a * 2 + 1]!;
      const hb = unsigned ? words[b * 2 + 1]! >>> 0 : words[b * 2 + 1]!;
      return ha < hb || (ha === hb && words[a * 2]! >>> 0 < words[b * 2]! >>> 0);
    };
    for (let i = 1; i < this.pageValues; i++) {
      if (less(i, lo)) lo = i;
      if (less(hi, i)) hi = i;
    }
    const min = this.min as BigInt64Array;
    const max = this.max as BigInt64Array;
    const lower = (a: bigint, b: bigint) =>
      unsigned ? BigInt.asUintN(64, a) < BigInt.asUintN(64, b) : a < b;
    if (!this.hasStats || lower(values[lo]!, min[0]!)) min[0] = values[lo]!;
    if (!this.hasStats || lower(max[0]!, values[hi]!)) max[0] = values[hi]!;
    this.hasStats = true;
  }

  /** Closes the chunk (the open page first) and starts the next row group's. */
  finish(encodingsOfLevels = true): ColumnChunk {
    this.flush();
    const stat = (a: PlainArray) => new Uint8Array(a.buffer.slice(0, this.width));
    const chunk: ColumnChunk = {
      pages: this.pages,
      dictionaryBytes: 0,
      compressed: this.compressedBytes,
      uncompressed: this.uncompressedBytes,
      rows: this.rows,
      nulls: this.nulls,
      encodings: encodingsOfLevels ? [PARQUET.PLAIN, PARQUET.RLE] : [PARQUET.PLAIN],
      ...(this.hasStats ? { min: stat(this.min), max: stat(this.max) } : {}),
      legacyStats: this.legacyStats,
      locations: this.locations,
    };
    this.hasStats = false;
    this.reset();
    return chunk;
  }
}

/**
 * A column of repeated strings (BYTE_ARRAY, UTF8): a dictionary page of the row group's distinct
 * values and one RLE_DICTIONARY data page of their indices, one run per batch.
 */
export class DictionaryChunkBuilder extends ChunkBuilder {
  private readonly index = new Map<string, number>();
  private readonly values: Uint8Array[] = [];
  /** Index runs of the row group's values (nulls are left out; they are definition levels). */
  private runs: number[] = [];
  private runValues: number[] = [];

  /** `count` rows of `value` (null: nulls). */
  add(value: string | null, count: number): void {
    if (count === 0) return;
    this.rows += count;
    if (value === null) {
      this.levels!.add(0, count);
      this.nulls += count;
      return;
    }
    this.levels?.add(1, count);
    let at = this.index.get(value);
    if (at === undefined) {
      at = this.values.length;
      this.index.set(value, at);
      this.values.push(new TextEncoder().encode(value));
    }
    if (this.runValues.at(-1) === at) this.runs[this.runs.length - 1]! += count;
    else {
      this.runs.push(count);
      this.runValues.push(at);
    }
  }

  /** Writes the dictionary page and the data page, and starts the next row group's chunk. */
  finish(): ColumnChunk {
    let dictionaryBytes = 0;
    if (this.rows > 0) {
      dictionaryBytes = this.dictionaryPage();
      const bits = Math.max(1, Math.ceil(Math.log2(Math.max(2, this.values.length))));
      const indices = new Bytes(1 + this.runs.length * 8);
      indices.push(bits);
      for (let i = 0; i < this.runs.length; i++) {
        indices.varint(this.runs[i]! * 2);
        let v = this.runValues[i]!;
        for (let b = 0; b < bits; b += 8) {
          indices.push(v & 0xff);
          v >>>= 8;
        }
      }
      const body = indices.bytes.subarray(0, indices.length);
      this.closePage(this.levels ? [this.levels.take(), body] : [body], this.rows, PARQUET.RLE_DICTIONARY);
    }
    const sorted = [...this.values].sort(compareBytes);
    const chunk: ColumnChunk = {
      pages: this.pages,
      dictionaryBytes,
      compressed: this.compressedBytes,
      uncompressed: this.uncompressedBytes,
      rows: this.rows,
      nulls: this.nulls,
      encodings: [PARQUET.PLAIN, PARQUET.RLE, PARQUET.RLE_DICTIONARY],
      ...(sorted.length > 0 ? { min: sorted[0]!, max: sorted.at(-1)! } : {}),
      legacyStats: false,
      locations: this.locations,
    };
    this.index.clear();
    this.values.length = 0;
    this.runs = [];
    this.runValues = [];
    this.reset();
    return chunk;
  }

  /** The dictionary page (PLAIN byte arrays), first of the chunk; returns its bytes. */
  private dictionaryPage(): number {
    let n = 0;
    for (const v of this.values) n += 4 + v.length;
    const raw = new Uint8Array(n);
    const view = new DataView(raw.buffer);
    let at = 0;
    for (const v of this.values) {
      view.setUint32(at, v.length, true);
      raw.set(v, at + 4);
      at += 4 + v.length;
    }
    const body = this.compress(raw);
    const header = thriftStruct((w: ThriftWriter) =>
      w
        .i32(1, PARQUET.DICTIONARY_PAGE)
        .i32(2, raw.length)
        .i32(3, body.length)
        .struct(7, () => w.i32(1, this.values.length).i32(2, PARQUET.PLAIN)),
    );
    this.pages.push(pageBytes(header, body));
    this.compressedBytes += header.length + body.length;
    this.uncompressedBytes += header.length + raw.length;
    return header.length + body.length;
  }
}

/** Bytewise (unsigned) order of two byte strings, Parquet's order of UTF8 statistics. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
