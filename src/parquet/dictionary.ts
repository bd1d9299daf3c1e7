/**
 * A column chunk of repeated strings for the GeoParquet encoder: the row group's distinct values in a
 * dictionary page, their indices in one RLE_DICTIONARY data page.
 */

import { Bytes, ChunkBuilder, type ColumnChunk, compareBytes, dictionaryPage, PARQUET } from "./pages.js";

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
    const page = dictionaryPage(this.values, this.compress);
    this.pages.push(page.bytes);
    this.compressedBytes += page.compressed;
    this.uncompressedBytes += page.uncompressed;
    return page.compressed;
  }
}
