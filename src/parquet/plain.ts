/**
 * A column chunk of fixed-width PLAIN values (DOUBLE, FLOAT, INT32, INT64, or WKB points as
 * BYTE_ARRAY) from typed arrays, with its min/max statistics, for the GeoParquet encoder.
 */
import { ChunkBuilder, type ColumnChunk, PARQUET, type PageCompressor } from "./pages.js";

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
