/**
 * Parquet files assembled from the column chunks of two files the Parquet library wrote: for the
 * store scale benchmark's bulk builder (bulk-pool.ts), which writes every cycle's files of the same
 * rows again with only the granule ids and times changed. Each column chunk of a file the library
 * writes (its pages, their headers, its statistics and offset index) depends on that column's
 * values and the writer's settings only, so a file of the same rows with some columns changed is
 * the earlier file's other column chunks beside the changed columns' chunks, encoded alone, at
 * shifted offsets, under a footer that says so. The result is the file the library writes for the
 * whole table, byte for byte: bulk-pool.ts `checkColumns` compares both at every run.
 *
 * Footers are Thrift compact protocol, read here into a generic tree (field ids, wire types and
 * values, in their order) and written back the same way; only offsets and sizes change.
 */

/** Compact protocol wire types. */
const T = {
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
};

/** A Thrift value: integers as numbers (every one in a footer is below 2^53), binaries as bytes. */
type Value = number | boolean | Uint8Array | Struct | List;
/** A struct's fields in wire order. */
export interface Struct {
  fields: Field[];
}
interface Field {
  id: number;
  type: number;
  value: Value;
}
interface List {
  elem: number;
  /** The wire type of the container (LIST or SET). */
  kind: number;
  items: Value[];
}

class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  byte(): number {
    const b = this.bytes[this.at++];
    if (b === undefined) throw new Error("Thrift: past the end");
    return b;
  }
  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
    }
    if (value > Number.MAX_SAFE_INTEGER) throw new Error("Thrift: integer beyond 2^53");
    return value;
  }
  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
  value(type: number): Value {
    switch (type) {
      case T.TRUE:
        return true;
      case T.FALSE:
        return false;
      case T.BYTE:
        return this.byte();
      case T.I16:
      case T.I32:
      case T.I64:
        return this.zigzag();
      case T.DOUBLE: {
        const v = this.bytes.slice(this.at, this.at + 8);
        this.at += 8;
        return v;
      }
      case T.BINARY: {
        const n = this.varint();
        const v = this.bytes.subarray(this.at, this.at + n);
        this.at += n;
        return v;
      }
      case T.LIST:
      case T.SET: {
        const h = this.byte();
        const size = h >> 4 === 15 ? this.varint() : h >> 4;
        const elem = h & 15;
        const items: Value[] = [];
        // Booleans in a list are one byte each (1 true, 2 false).
        for (let i = 0; i < size; i++)
          items.push(elem === T.TRUE || elem === T.FALSE ? this.byte() === 1 : this.value(elem));
        return { elem, kind: type, items };
      }
      case T.STRUCT:
        return this.struct();
      default:
        throw new Error(`Thrift: wire type ${type} not read here`);
    }
  }
  struct(): Struct {
    const fields: Field[] = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return { fields };
      const type = h & 15;
      const id = h >> 4 === 0 ? this.zigzag() : last + (h >> 4);
      fields.push({ id, type, value: this.value(type) });
      last = id;
    }
  }
}

class Writer {
  buf = new Uint8Array(1 << 16);
  at = 0;
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.at + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }
  varint(v: number): void {
    this.room(10);
    while (v >= 128) {
      this.buf[this.at++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.at++] = v;
  }
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  value(type: number, v: Value): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        return;
      case T.BYTE:
        this.byte(v as number);
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        this.zigzag(v as number);
        return;
      case T.DOUBLE:
        this.bytes(v as Uint8Array);
        return;
      case T.BINARY:
        this.varint((v as Uint8Array).length);
        this.bytes(v as Uint8Array);
        return;
      case T.LIST:
      case T.SET: {
        const list = v as List;
        const n = list.items.length;
        if (n < 15) this.byte((n << 4) | list.elem);
        else {
          this.byte(0xf0 | list.elem);
          this.varint(n);
        }
        for (const item of list.items)
          if (list.elem === T.TRUE || list.elem === T.FALSE) this.byte(item ? 1 : 2);
          else this.value(list.elem, item);
        return;
      }
      case T.STRUCT:
        this.struct(v as Struct);
        return;
      default:
        throw new Error(`Thrift: wire type ${type} not written here`);
    }
  }
  struct(s: Struct): void {
    let last = 0;
    for (const f of s.fields) {
      // Booleans live in the field header's type.
      const type = f.type === T.TRUE || f.type === T.FALSE ? (f.value ? T.TRUE : T.FALSE) : f.type;
      const delta = f.id - last;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
      else {
        this.byte(type);
        this.zigzag(f.id);
      }
      this.value(type, f.value);
      last = f.id;
    }
    this.byte(0);
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}

/** Reads a Thrift compact struct. */
export function readStruct(bytes: Uint8Array): Struct {
  return new Reader(bytes).struct();
}

/** Writes a Thrift compact struct. */
export function writeStruct(s: Struct): Uint8Array {
  const w = new Writer();
  w.struct(s);
  return w.done();
}

const field = (s: Struct, id: number) => s.fields.find((f) => f.id === id);
const get = (s: Struct, id: number) => field(s, id)?.value;
const num = (s: Struct, id: number) => get(s, id) as number | undefined;
function set(s: Struct, id: number, value: number): void {
  const f = field(s, id);
  if (!f) throw new Error(`Parquet footer: field ${id} missing`);
  f.value = value;
}
const items = (s: Struct, id: number) => (get(s, id) as List).items as Struct[];

/** A file's footer (FileMetaData) and where it starts. */
function footerOf(file: Uint8Array): { meta: Struct; start: number } {
  const n = file.length;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const length = view.getUint32(n - 8, true);
  const start = n - 8 - length;
  return { meta: readStruct(file.subarray(start, n - 8)), start };
}

// FileMetaData 4: row_groups; RowGroup 1: columns, 2: total_byte_size, 5: file_offset,
// 6: total_compressed_size; ColumnChunk 2: file_offset, 3: meta_data, 4/5: offset index offset and
// length, 6/7: column index; ColumnMetaData 3: path_in_schema, 6/7: uncompressed and compressed
// size, 9: data page, 10: index page, 11: dictionary page, 14: bloom filter offset;
// OffsetIndex 1: page_locations; PageLocation 1: offset.
const pathOf = (chunk: Struct) => {
  const meta = get(chunk, 3) as Struct;
  return ((get(meta, 3) as List).items as Uint8Array[]).map((b) => new TextDecoder().decode(b)).join(".");
};

/** A column chunk of the output: its metadata (to be moved), its bytes, and where its offset index is. */
interface Placed {
  chunk: Struct;
  pieces: Uint8Array[];
  /** The file holding the chunk's offset index, and how far its pages move. */
  index: Uint8Array;
  /** The chunk's first byte in its source file, for the move of its metadata. */
  from: number;
  /** With a new dictionary page: where its data pages were, and the new page's length. */
  dictionary?: { data: number; length: number };
}

/**
 * Writes a file of `template`'s row groups whose column chunks `place` gives (each in its source
 * file, moved to its new place), then their offset indexes, then the template's footer with the
 * chunks' new offsets and sizes.
 */
function assemble(template: Uint8Array, place: (chunk: Struct, group: number) => Placed): Uint8Array {
  const a = footerOf(template);
  const out = new Writer();
  out.bytes(template.subarray(0, 4));
  const moved: { chunk: Struct; index: Uint8Array; shift: number }[] = [];
  for (const [g, group] of items(a.meta, 4).entries()) {
    const chunks = items(group, 1);
    const start = out.at;
    let compressed = 0;
    let uncompressed = 0;
    for (const [k, old] of chunks.entries()) {
      const placed = place(old, g);
      const { chunk } = placed;
      chunks[k] = chunk;
      if (get(chunk, 6) !== undefined || get(get(chunk, 3) as Struct, 14) !== undefined)
        throw new Error("splice: column indexes and bloom filters are not moved");
      const meta = get(chunk, 3) as Struct;
      const at = out.at;
      const shift = at - placed.from;
      for (const piece of placed.pieces) out.bytes(piece);
      for (const id of [9, 10, 11]) if (num(meta, id) !== undefined) set(meta, id, num(meta, id)! + shift);
      if (placed.dictionary) set(meta, 9, at + placed.dictionary.length);
      if (num(chunk, 2)) set(chunk, 2, num(chunk, 2)! + shift);
      compressed += num(meta, 7)!;
      uncompressed += num(meta, 6)!;
      const pageShift = placed.dictionary ? num(meta, 9)! - placed.dictionary.data : shift;
      moved.push({ chunk, index: placed.index, shift: pageShift });
    }
    set(group, 2, uncompressed);
    if (num(group, 5) !== undefined) set(group, 5, start);
    if (num(group, 6) !== undefined) set(group, 6, compressed);
  }
  // Offset indexes after the row groups, in the same order, their page offsets moved.
  for (const { chunk, index, shift } of moved) {
    const offset = num(chunk, 4);
    if (offset === undefined) continue;
    const parsed = readStruct(index.subarray(offset, offset + num(chunk, 5)!));
    for (const page of items(parsed, 1)) set(page, 1, num(page, 1)! + shift);
    const bytes = writeStruct(parsed);
    set(chunk, 4, out.at);
    set(chunk, 5, bytes.length);
    out.bytes(bytes);
  }
  const footer = writeStruct(a.meta);
  out.bytes(footer);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(template.subarray(template.length - 4), 4);
  out.bytes(tail);
  return out.done();
}

/** A column chunk's bytes in its file, from its first page. */
function chunkBytes(file: Uint8Array, chunk: Struct): { from: number; bytes: Uint8Array } {
  const meta = get(chunk, 3) as Struct;
  const from = num(meta, 11) ?? num(meta, 9)!;
  return { from, bytes: file.subarray(from, from + num(meta, 7)!) };
}

/** The chunks of each row group of a file, by column path. */
function chunksByPath(file: Uint8Array): Map<string, Struct>[] {
  return items(footerOf(file).meta, 4).map((g) => new Map(items(g, 1).map((c) => [pathOf(c), c])));
}

/**
 * The file `template` with the column chunks of the top-level columns `columns` taken from
 * `delta`, a file the same library wrote with the same settings of those columns only (same row
 * count): the file the library writes for the whole table with those columns' values.
 * @throws Error if the files' row groups differ, or either has column indexes or bloom filters.
 */
export function spliceColumns(
  template: Uint8Array,
  delta: Uint8Array,
  columns: readonly string[],
): Uint8Array {
  const replaced = new Set(columns);
  const groups = chunksByPath(delta);
  return assemble(template, (old, g) => {
    const path = pathOf(old);
    const fromDelta = replaced.has(path.split(".")[0]!);
    const chunk = fromDelta ? groups[g]?.get(path) : old;
    if (!chunk) throw new Error(`splice: column ${path} of row group ${g} not in the delta file`);
    const file = fromDelta ? delta : template;
    const { from, bytes } = chunkBytes(file, chunk);
    return { chunk, pieces: [bytes], index: file, from };
  });
}

/** Dictionary-encoded data pages (PageEncodingStats: data page types 0 and 3, encodings 2 and 8). */
function dictionaryPagesOnly(meta: Struct): boolean {
  const stats = get(meta, 13) as List | undefined;
  if (!stats) return false;
  return (stats.items as Struct[]).every((s) => {
    const type = num(s, 1);
    return (type !== 0 && type !== 3) || num(s, 2) === 2 || num(s, 2) === 8;
  });
}

/** A dictionary page's header length and uncompressed size (PageHeader 2) at `at`. */
function pageHeader(file: Uint8Array, at: number): { length: number; uncompressed: number } {
  const reader = new Reader(file.subarray(at));
  const header = reader.struct();
  return { length: reader.at, uncompressed: num(header, 2)! };
}

/**
 * The file `template` with the dictionary pages and statistics of column `column` taken from
 * `side`, row group by row group, and its data pages (dictionary indices) kept: the file the
 * library writes when that column's values change but not which rows hold equal values (each
 * distinct value replaced by another, distinct too), if `side` is a file the library wrote of that
 * column alone, with the same settings, whose row group `g` holds the new distinct values of the
 * template's row group `g` in the order they first appear there (repeats after them change neither
 * the dictionary nor the statistics). Each value's length must not change: the size statistics of
 * the template's pages stay.
 * @throws Error if a row group of the template has no dictionary, or plain data pages.
 */
export function spliceDictionaries(template: Uint8Array, side: Uint8Array, column: string): Uint8Array {
  const groups = chunksByPath(side);
  return assemble(template, (old, g) => {
    const path = pathOf(old);
    const { from, bytes } = chunkBytes(template, old);
    if (path !== column) return { chunk: old, pieces: [bytes], index: template, from };
    const meta = get(old, 3) as Struct;
    const sideChunk = groups[g]?.get(path);
    if (!sideChunk) throw new Error(`splice: column ${path} of row group ${g} not in the side file`);
    const sideMeta = get(sideChunk, 3) as Struct;
    const dict = num(meta, 11);
    const sideDict = num(sideMeta, 11);
    if (dict === undefined || sideDict === undefined || !dictionaryPagesOnly(meta))
      throw new Error(`splice: column ${path} of row group ${g} is not all dictionary-encoded`);
    const data = num(meta, 9)!;
    const sideData = num(sideMeta, 9)!;
    const oldHeader = pageHeader(template, dict);
    const newHeader = pageHeader(side, sideDict);
    set(
      meta,
      6,
      num(meta, 6)! - oldHeader.length - oldHeader.uncompressed + newHeader.length + newHeader.uncompressed,
    );
    set(meta, 7, num(meta, 7)! - (data - dict) + (sideData - sideDict));
    const stats = field(meta, 12);
    const sideStats = field(sideMeta, 12);
    if (stats && sideStats) stats.value = sideStats.value;
    const dictionary = side.subarray(sideDict, sideData);
    return {
      chunk: old,
      pieces: [dictionary, template.subarray(data, dict + bytes.length)],
      index: template,
      from,
      dictionary: { data, length: dictionary.length },
    };
  });
}
