/**
 * Parquet pages as the GeoParquet encoder (geoparquet-encoder.ts) writes them: data page v1 headers,
 * RLE definition levels, and the part of a column chunk builder both column kinds share (pages
 * compressed as they close, their locations for the offset index, the chunk's sizes and counts):
 * parquet-plain.ts (fixed-width PLAIN values) and parquet-dictionary.ts (repeated strings).
 */
import { thriftStruct } from "./thrift-writer.js";

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
  /** Values of the chunk, nulls included (its rows, for a flat column; its levels, for a nested one). */
  rows: number;
  nulls: number;
  /** False for a chunk written without statistics (not even a null count). */
  statistics?: boolean;
  encodings: number[];
  /** Min and max as Parquet statistics bytes (plain encoding), when the chunk has values. */
  min?: Uint8Array;
  max?: Uint8Array;
  /** Whether the deprecated min/max fields are written too (numbers, as the reference writer does). */
  legacyStats: boolean;
  locations: PageLocation[];
}

/** Definition levels (0 null, 1 value) as runs, for the RLE/bit-packed hybrid encoding. */
export class LevelRuns {
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
export class Bytes {
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
export function pageBytes(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** A data page v1's header. */
export function dataPageHeader(raw: number, compressed: number, rows: number, encoding: number): Uint8Array {
  return thriftStruct((w) =>
    w
      .i32(1, PARQUET.DATA_PAGE)
      .i32(2, raw)
      .i32(3, compressed)
      .struct(5, () => w.i32(1, rows).i32(2, encoding).i32(3, PARQUET.RLE).i32(4, PARQUET.RLE)),
  );
}

/** A page as written: header and compressed body in one piece, and its sizes. */
export interface WrittenPage {
  bytes: Uint8Array;
  /** Header and compressed body, bytes. */
  compressed: number;
  /** Header and uncompressed body, bytes. */
  uncompressed: number;
}

/** A data page v1 of `values` values (rows, or list entries) whose body (levels, values) is `parts`. */
export function dataPage(
  parts: readonly Uint8Array[],
  values: number,
  encoding: number,
  compress: PageCompressor,
): WrittenPage {
  const raw = parts.length === 1 ? parts[0]! : concat(parts);
  const body = compress(raw);
  const header = dataPageHeader(raw.length, body.length, values, encoding);
  return {
    bytes: pageBytes(header, body),
    compressed: header.length + body.length,
    uncompressed: header.length + raw.length,
  };
}

/** The dictionary page of `values`, PLAIN byte arrays in dictionary order. */
export function dictionaryPage(values: readonly Uint8Array[], compress: PageCompressor): WrittenPage {
  let n = 0;
  for (const v of values) n += 4 + v.length;
  const raw = new Uint8Array(n);
  const view = new DataView(raw.buffer);
  let at = 0;
  for (const v of values) {
    view.setUint32(at, v.length, true);
    raw.set(v, at + 4);
    at += 4 + v.length;
  }
  const body = compress(raw);
  const header = thriftStruct((w) =>
    w
      .i32(1, PARQUET.DICTIONARY_PAGE)
      .i32(2, raw.length)
      .i32(3, body.length)
      .struct(7, () => w.i32(1, values.length).i32(2, PARQUET.PLAIN)),
  );
  return {
    bytes: pageBytes(header, body),
    compressed: header.length + body.length,
    uncompressed: header.length + raw.length,
  };
}

/** Concatenation of pieces. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
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
export abstract class ChunkBuilder {
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
    const page = dataPage(parts, pageRows, encoding, this.compress);
    this.locations.push({ offset: this.compressedBytes, size: page.compressed, firstRow: this.pageFirstRow });
    this.pages.push(page.bytes);
    this.compressedBytes += page.compressed;
    this.uncompressedBytes += page.uncompressed;
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

/** Bytewise (unsigned) order of two byte strings, Parquet's order of UTF8 statistics. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
