/**
 * Rows of a part file's row group decoded page by page, for the shapes of column the store writes:
 * flat columns, structs of flat columns (`bbox`), lists of flat values (`h3_cells`, `shape`) and
 * lists of structs of flat values (`refs`), in PLAIN or dictionary encoding, ZSTD or uncompressed,
 * data pages v1 or v2. Only the pages holding the wanted rows are decoded, each column chunk's
 * dictionary once per query, and values are made only for the wanted rows: a selection reading a
 * few rows of a group no longer assembles the group's whole lists nor decodes a dictionary once per
 * run of rows, which with the garbage it made was most of a selection's CPU at the archive's scale
 * (docs/design/remote-stores.md). The values are those hyparquet gives for the same rows (with the
 * store's PARSERS), which test/store/pages.test.ts checks on every column of every table. A column
 * of any other shape, type or codec is not handled: {@link decodeRows} returns undefined, and the
 * caller reads the group with hyparquet.
 */
import type { ColumnChunk, Compressors, FileMetaData, OffsetIndex, SchemaElement } from "hyparquet";
import { Cursor, I32, STRUCT } from "./thrift.js";

/** Bytes of a part file held in memory, as a view (no copy), or undefined when not held. */
export type ViewOf = (start: number, end: number) => Uint8Array | undefined;

/** Thrown inside when bytes a page needs are not held in one piece: the caller reads otherwise. */
class NotHeld extends Error {}

/** How to read one leaf column: its place in the schema and how its values convert. */
interface Leaf {
  /** Top-level column name. */
  name: string;
  /** Field name inside a struct (`xmin` of `bbox`, `path` of `refs`' elements), if any. */
  field?: string;
  type: string;
  maxDef: number;
  maxRep: number;
  /** Definition level at which the top-level value (list or struct) is present. */
  topDef: number;
  /** For lists: definition level at which an element exists. */
  elemDef: number;
  convert: (raw: RawValues, i: number) => unknown;
  /** Physical width of a PLAIN value, bytes (0 for BYTE_ARRAY). */
  width: number;
}

/** A page's or dictionary's values before conversion. */
type RawValues = { view: DataView; offsets?: Int32Array; bytes: Uint8Array; count: number };

const textDecoder = new TextDecoder();

/** The store's timestamp parsers (reader.ts PARSERS), by unit. */
const TIME_SCALE: Record<string, bigint> = { NANOS: 1n, MICROS: 1_000n, MILLIS: 1_000_000n };

/** How a leaf's raw value `i` becomes the JS value hyparquet gives; undefined: not handled. */
function converter(e: SchemaElement): ((raw: RawValues, i: number) => unknown) | undefined {
  const lt = e.logical_type;
  const ct = e.converted_type;
  switch (e.type) {
    case "DOUBLE":
      if (ct || lt) return undefined;
      return (r, i) => r.view.getFloat64(i * 8, true);
    case "FLOAT":
      if (ct || lt) return undefined;
      return (r, i) => r.view.getFloat32(i * 4, true);
    case "INT32": {
      const unsigned =
        ct === "UINT_32" || ct === "UINT_16" || ct === "UINT_8" || (lt?.type === "INTEGER" && !lt.isSigned);
      const plain = !lt || lt.type === "INTEGER";
      const known = !ct || ct.startsWith("INT_") || ct.startsWith("UINT_");
      if (!plain || !known) return undefined;
      return unsigned ? (r, i) => r.view.getUint32(i * 4, true) : (r, i) => r.view.getInt32(i * 4, true);
    }
    case "INT64": {
      if (lt?.type === "TIMESTAMP") {
        const scale = TIME_SCALE[lt.unit];
        if (scale === undefined) return undefined;
        return scale === 1n
          ? (r, i) => r.view.getBigInt64(i * 8, true)
          : (r, i) => r.view.getBigInt64(i * 8, true) * scale;
      }
      if (lt && lt.type !== "INTEGER") return undefined;
      if (ct && ct !== "INT_64" && ct !== "UINT_64") return undefined;
      const unsigned = ct === "UINT_64" || (lt?.type === "INTEGER" && !lt.isSigned);
      return unsigned
        ? (r, i) => r.view.getBigUint64(i * 8, true)
        : (r, i) => r.view.getBigInt64(i * 8, true);
    }
    case "BYTE_ARRAY": {
      const bytesOf = (r: RawValues, i: number) => r.bytes.subarray(r.offsets![i]! + 4, r.offsets![i + 1]!);
      if (lt?.type === "GEOMETRY" || lt?.type === "GEOGRAPHY") return bytesOf;
      if (lt && lt.type !== "STRING") return undefined;
      if (ct && ct !== "UTF8") return undefined;
      return (r, i) => textDecoder.decode(bytesOf(r, i));
    }
    default:
      return undefined;
  }
}

const WIDTH: Record<string, number> = { DOUBLE: 8, FLOAT: 4, INT32: 4, INT64: 8, BYTE_ARRAY: 0 };

/** The leaves of each column chunk of a file's row groups, in column order; undefined where not handled. */
const leavesOf = new WeakMap<FileMetaData, (Leaf | undefined)[]>();

/** Leaves of the schema, in column chunk order (depth first). */
function schemaLeaves(metadata: FileMetaData): (Leaf | undefined)[] {
  let leaves = leavesOf.get(metadata);
  if (leaves) return leaves;
  leaves = [];
  const schema = metadata.schema;
  let at = 1;
  type Step = { e: SchemaElement };
  const walk = (path: Step[]) => {
    const e = schema[at++]!;
    const here = [...path, { e }];
    if (e.num_children) {
      for (let k = 0; k < e.num_children; k++) walk(here);
      return;
    }
    leaves!.push(leafOf(here.map((s) => s.e)));
  };
  const top = schema[0]!.num_children ?? 0;
  for (let k = 0; k < top; k++) walk([]);
  leavesOf.set(metadata, leaves);
  return leaves;
}

/** How to read the leaf at the end of `path` (top-level element first), or undefined when not handled. */
function leafOf(path: SchemaElement[]): Leaf | undefined {
  const leaf = path[path.length - 1]!;
  const convert = converter(leaf);
  if (!convert || WIDTH[leaf.type!] === undefined) return undefined;
  let def = 0;
  let rep = 0;
  const defs: number[] = [];
  for (const e of path) {
    if (e.repetition_type === "OPTIONAL") def++;
    if (e.repetition_type === "REPEATED") {
      def++;
      rep++;
    }
    defs.push(def);
  }
  const base = {
    name: path[0]!.name,
    type: leaf.type!,
    maxDef: def,
    maxRep: rep,
    convert,
    width: WIDTH[leaf.type!]!,
  };
  const top = path[0]!;
  if (rep === 0 && path.length === 1) return { ...base, topDef: def, elemDef: def };
  // Structs and lists of structs with required fields only: a null field is then a null struct.
  if (rep === 0 && path.length === 2 && leaf.repetition_type === "REQUIRED")
    return { ...base, field: leaf.name, topDef: defs[0]!, elemDef: defs[0]! };
  // Lists: name (LIST) > repeated group > element, or > element struct (required) > field.
  if (rep !== 1 || path[1]?.repetition_type !== "REPEATED" || top.repetition_type === "REPEATED")
    return undefined;
  if (path.length === 3) return { ...base, topDef: defs[0]!, elemDef: defs[1]! };
  if (path.length === 4 && path[2]!.repetition_type === "REQUIRED" && leaf.repetition_type === "REQUIRED")
    return { ...base, field: leaf.name, topDef: defs[0]!, elemDef: defs[1]! };
  return undefined;
}

/**
 * Reads `count` values of `width` bits, RLE / bit-packed hybrid encoded in bytes [pos, end), into
 * `out`; returns how many equal `target`.
 */
function readHybrid(
  bytes: Uint8Array,
  pos: number,
  end: number,
  width: number,
  out: Int32Array,
  count: number,
  target = -1,
): number {
  if (width > 24) throw new Error(`parquet bit width ${width} not handled`);
  let n = 0;
  let hits = 0;
  const byteWidth = (width + 7) >> 3;
  while (n < count && pos < end) {
    let header = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++]!;
      header |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    if (header & 1) {
      // Bit-packed: (header >> 1) groups of 8 values.
      const values = (header >>> 1) * 8;
      let buffer = 0;
      let bits = 0;
      const mask = (1 << width) - 1;
      for (let k = 0; k < values; k++) {
        while (bits < width) {
          buffer |= bytes[pos++]! << bits;
          bits += 8;
        }
        if (n < count) {
          const v = buffer & mask;
          out[n++] = v;
          if (v === target) hits++;
        }
        buffer >>>= width;
        bits -= width;
      }
    } else {
      const run = header >>> 1;
      let value = 0;
      for (let k = 0; k < byteWidth; k++) value |= bytes[pos++]! << (8 * k);
      const to = Math.min(count, n + run);
      out.fill(value, n, to);
      if (value === target) hits += to - n;
      n = to;
    }
  }
  if (n < count) throw new Error(`parquet levels end after ${n} of ${count} values`);
  return hits;
}

const bitWidth = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));

/** Offsets of `count` PLAIN BYTE_ARRAY values (each a 4-byte length then its bytes) from `pos`. */
function byteArrayOffsets(bytes: Uint8Array, pos: number, count: number): Int32Array {
  const offsets = new Int32Array(count + 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    offsets[i] = pos;
    pos += 4 + view.getUint32(pos, true);
  }
  // offsets[i] is where value i's length is; its bytes run from there + 4 to offsets[i + 1].
  offsets[count] = pos;
  if (pos > bytes.length) throw new Error("parquet page ends inside its values");
  return offsets;
}

/**
 * Reused buffers for a page's repetition levels, definition levels and dictionary indices, grown as
 * needed: a `chunks` group's `h3_cells` page holds tens of thousands of levels, and new arrays for
 * each page were most of the reader's garbage. A page's values are read before the next page's.
 */
const scratches = [new Int32Array(4096), new Int32Array(4096), new Int32Array(4096)];

function scratch(i: number, n: number): Int32Array {
  if (scratches[i]!.length < n) scratches[i] = new Int32Array(Math.max(n, 2 * scratches[i]!.length));
  return scratches[i]!;
}

/** Object makers by struct field list. */
const makers = new Map<string, (values: readonly unknown[]) => Record<string, unknown>>();

/**
 * A function making a struct's object from its field values: one object literal per struct shape,
 * so that the objects share a hidden class and their fields are stored without a lookup by name
 * (a store by a computed name per field was a fifth of the reader's time on `bbox` and `refs`).
 * The names come from the file's schema and are written as quoted JSON strings.
 */
function structMaker(fields: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  const key = JSON.stringify(fields);
  let make = makers.get(key);
  if (!make) {
    const body = `return {${fields.map((f, i) => `${JSON.stringify(f)}: v[${i}]`).join(", ")}};`;
    make = new Function("v", body) as (values: readonly unknown[]) => Record<string, unknown>;
    makers.set(key, make);
  }
  return make;
}

/** A page header's fields the reader needs. */
interface PageHeader {
  type: number;
  uncompressed: number;
  compressed: number;
  /** Bytes of the header itself. */
  size: number;
  numValues: number;
  encoding: number;
  /** Data page v2: level byte lengths (uncompressed, before the values) and whether values are compressed. */
  v2?: { defBytes: number; repBytes: number; compressed: boolean };
}

/** Reads the page header at `pos` of `bytes`. */
function pageHeader(bytes: Uint8Array, pos: number): PageHeader {
  const c = new Cursor(bytes, pos);
  const h: PageHeader = { type: -1, uncompressed: 0, compressed: 0, size: 0, numValues: 0, encoding: 0 };
  let id = 0;
  for (;;) {
    const t = c.field(id);
    if (t === 0) break;
    id = c.id;
    if (t === I32 && id === 1) h.type = c.zigzag();
    else if (t === I32 && id === 2) h.uncompressed = c.zigzag();
    else if (t === I32 && id === 3) h.compressed = c.zigzag();
    else if (t === STRUCT && (id === 5 || id === 7 || id === 8)) {
      const v2 = id === 8 ? { defBytes: 0, repBytes: 0, compressed: true } : undefined;
      let f = 0;
      for (;;) {
        const ft = c.field(f);
        if (ft === 0) break;
        f = c.id;
        if (ft === I32 && f === 1) h.numValues = c.zigzag();
        else if (ft === I32 && f === 2 && id !== 8) h.encoding = c.zigzag();
        else if (ft === I32 && f === 4 && id === 8) h.encoding = c.zigzag();
        else if (ft === I32 && f === 5 && v2) v2.defBytes = c.zigzag();
        else if (ft === I32 && f === 6 && v2) v2.repBytes = c.zigzag();
        else if ((ft === 1 || ft === 2) && f === 7 && v2) v2.compressed = ft === 1;
        else c.skip(ft);
      }
      if (v2) h.v2 = v2;
    } else c.skip(t);
  }
  h.size = c.pos - pos;
  return h;
}

// Page types and encodings (parquet.thrift).
const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;
const DATA_PAGE_V2 = 3;
const PLAIN = 0;
const PLAIN_DICTIONARY = 2;
const RLE_DICTIONARY = 8;

/** The body of a page, decompressed. */
function pageBody(bytes: Uint8Array, h: PageHeader, codec: string, compressors: Compressors): Uint8Array {
  const raw = bytes.subarray(h.size, h.size + h.compressed);
  if (h.v2) {
    const levels = h.v2.defBytes + h.v2.repBytes;
    if (!h.v2.compressed || codec === "UNCOMPRESSED") return raw;
    const values = decompress(raw.subarray(levels), h.uncompressed - levels, codec, compressors);
    const out = new Uint8Array(levels + values.length);
    out.set(raw.subarray(0, levels));
    out.set(values, levels);
    return out;
  }
  return codec === "UNCOMPRESSED" ? raw : decompress(raw, h.uncompressed, codec, compressors);
}

function decompress(input: Uint8Array, size: number, codec: string, compressors: Compressors): Uint8Array {
  const f = compressors[codec as keyof Compressors];
  if (!f) throw new Error(`parquet codec ${codec} has no decompressor`);
  const out = f(input, size);
  if (out.length !== size)
    throw new Error(`parquet page decompressed to ${out.length} bytes, expected ${size}`);
  return out;
}

/** PLAIN values of a leaf at `pos` of `body`, `count` of them. */
function plainValues(leaf: Leaf, body: Uint8Array, pos: number, count: number): RawValues {
  if (leaf.type === "BYTE_ARRAY")
    return {
      view: new DataView(body.buffer, body.byteOffset),
      offsets: byteArrayOffsets(body, pos, count),
      bytes: body,
      count,
    };
  const bytes = body.subarray(pos, pos + count * leaf.width);
  if (bytes.length < count * leaf.width) throw new Error("parquet page ends inside its values");
  return { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, count };
}

/** A leaf's decoded values of some rows: per wanted row, its value (flat) or list of values. */
type LeafRows = unknown[];

/** Where a leaf column chunk's pages are. */
type Pages = OffsetIndex["page_locations"];

/** Per query: decoded dictionaries by column chunk. */
export type DictionaryCache = WeakMap<ColumnChunk, Dictionary>;

/**
 * A column chunk's dictionary: its raw values, each converted on first use (a `chunks` group's
 * `h3_cells` dictionary holds thousands of cells, of which a selection reads few rows' worth).
 */
interface Dictionary {
  raw: RawValues;
  values: unknown[];
}

/**
 * Values of `leaf` for rows `at` (sorted, relative to the group's first row) of a column chunk of
 * `groupRows` rows whose pages are `pages` (from its offset index), or walked one after the other
 * from the chunk's first data page when `pages` is undefined.
 */
function decodeLeaf(
  leaf: Leaf,
  chunk: ColumnChunk,
  pages: Pages | undefined,
  groupRows: number,
  at: readonly number[],
  view: ViewOf,
  compressors: Compressors,
  dictionaries: DictionaryCache,
): LeafRows {
  const m = chunk.meta_data!;
  const codec = m.codec;
  const out: LeafRows = new Array(at.length);
  let dictionary = dictionaries.get(chunk);
  const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
  const end = start + Number(m.total_compressed_size);
  const firstPage = pages ? Number(pages[0]!.offset) : Number(m.data_page_offset);
  if (dictionary === undefined && start < firstPage) {
    const bytes = view(start, firstPage);
    if (!bytes) throw new NotHeld();
    const h = pageHeader(bytes, 0);
    if (h.type !== DICTIONARY_PAGE) throw new Error(`parquet page type ${h.type} before the data pages`);
    const raw = plainValues(leaf, pageBody(bytes, h, codec, compressors), 0, h.numValues);
    dictionary = { raw, values: new Array(h.numValues) };
    dictionaries.set(chunk, dictionary);
  }
  let k = 0;
  // Without an offset index: the chunk's data pages in order, their first rows counted.
  const chunkBytes = pages ? undefined : view(firstPage, end);
  if (!pages && !chunkBytes) throw new NotHeld();
  let offset = firstPage;
  let nextRow = 0;
  for (let p = 0; pages ? p < pages.length : offset < end; p++) {
    if (k >= at.length) break;
    let first = nextRow;
    let next = -1;
    let bytes: Uint8Array | undefined;
    if (pages) {
      first = Number(pages[p]!.first_row_index);
      next = p + 1 < pages.length ? Number(pages[p + 1]!.first_row_index) : groupRows;
      if (at[k]! >= next) continue;
      const loc = pages[p]!;
      bytes = view(Number(loc.offset), Number(loc.offset) + loc.compressed_page_size);
      if (!bytes) throw new NotHeld();
    } else bytes = chunkBytes!.subarray(offset - firstPage);
    const h = pageHeader(bytes, 0);
    offset += h.size + h.compressed;
    if (h.type !== DATA_PAGE && h.type !== DATA_PAGE_V2)
      throw new Error(`parquet page type ${h.type} among data pages`);
    const body = pageBody(bytes, h, codec, compressors);
    const n = h.numValues;
    // Levels.
    let pos = 0;
    const reps = leaf.maxRep > 0 ? scratch(0, n) : undefined;
    const defs = leaf.maxDef > 0 ? scratch(1, n) : undefined;
    let present = n;
    if (h.v2) {
      if (reps) readHybrid(body, 0, h.v2.repBytes, bitWidth(leaf.maxRep), reps, n);
      if (defs)
        present = readHybrid(
          body,
          h.v2.repBytes,
          h.v2.repBytes + h.v2.defBytes,
          bitWidth(leaf.maxDef),
          defs,
          n,
          leaf.maxDef,
        );
      pos = h.v2.repBytes + h.v2.defBytes;
    } else {
      const lengthAt = (at: number) =>
        body[at]! | (body[at + 1]! << 8) | (body[at + 2]! << 16) | (body[at + 3]! << 24);
      if (reps) {
        const len = lengthAt(pos);
        readHybrid(body, pos + 4, pos + 4 + len, bitWidth(leaf.maxRep), reps, n);
        pos += 4 + len;
      }
      if (defs) {
        const len = lengthAt(pos);
        present = readHybrid(body, pos + 4, pos + 4 + len, bitWidth(leaf.maxDef), defs, n, leaf.maxDef);
        pos += 4 + len;
      }
    }
    // Values: dictionary indices or PLAIN values of the present entries.
    let valueAt: (i: number) => unknown;
    if (h.encoding === RLE_DICTIONARY || h.encoding === PLAIN_DICTIONARY) {
      if (!dictionary) throw new Error("parquet dictionary-encoded page without a dictionary");
      const indices = scratch(2, present);
      if (present > 0) readHybrid(body, pos + 1, body.length, body[pos]!, indices, present);
      const { raw, values } = dictionary;
      valueAt = (i) => {
        const d = indices[i]!;
        let v = values[d];
        if (v === undefined) {
          v = leaf.convert(raw, d);
          values[d] = v;
        }
        return v;
      };
    } else if (h.encoding === PLAIN) {
      const raw = plainValues(leaf, body, pos, present);
      valueAt = (i) => leaf.convert(raw, i);
    } else throw new Error(`parquet encoding ${h.encoding} not handled`);
    // Rows of the page: walk the levels, keep the wanted rows.
    let row = first - 1;
    let value = 0;
    let current: unknown[] | null = null;
    let wanted = false;
    if (leaf.maxRep === 0 && present === n) {
      // A flat column without nulls in this page (the store's are): row first + i is value i.
      while (k < at.length && at[k]! < first) k++;
      for (; k < at.length && at[k]! < first + n; k++) out[k] = valueAt(at[k]! - first);
      row = first + n - 1;
    } else
      for (let i = 0; i < n; i++) {
        const d = defs ? defs[i]! : 0;
        if (!reps || reps[i] === 0) {
          row++;
          while (k < at.length && at[k]! < row) k++;
          wanted = k < at.length && at[k] === row;
          if (leaf.maxRep === 0) {
            if (wanted) out[k] = d === leaf.maxDef ? valueAt(value) : null;
            if (d === leaf.maxDef) value++;
            continue;
          }
          // A null list reads as undefined, as hyparquet assembles it.
          current = d < leaf.topDef ? null : [];
          if (wanted) out[k] = current ?? undefined;
        }
        if (d === leaf.maxDef) {
          if (wanted) current!.push(valueAt(value));
          value++;
        } else if (d >= leaf.elemDef && wanted) current!.push(null);
      }
    if (next >= 0 && row + 1 !== next)
      throw new Error(`parquet page holds rows ${first}-${row}, its offset index says ${first}-${next - 1}`);
    nextRow = row + 1;
    while (k < at.length && at[k]! < nextRow) k++;
  }
  if (k < at.length) throw new Error(`parquet column chunk ends before row ${at[k]}`);
  return out;
}

/**
 * Values of the top-level columns `names` for rows `at` (sorted, relative to the group's first row)
 * of row group `group`, by column name, as hyparquet gives them; undefined when a column is not of
 * a shape this reader handles. The bytes of the needed pages (and dictionary pages; the whole column
 * chunks where `pagesOf` gives no offset index) must be held: `view` gives them.
 */
export function decodeRows(
  metadata: FileMetaData,
  group: number,
  names: readonly string[],
  at: readonly number[],
  pagesOf: (chunk: ColumnChunk) => Pages | undefined,
  view: ViewOf,
  compressors: Compressors,
  dictionaries: DictionaryCache,
): Map<string, unknown[]> | undefined {
  const rowGroup = metadata.row_groups[group]!;
  const leaves = schemaLeaves(metadata);
  const wanted = new Set(names);
  const chosen: { leaf: Leaf; chunk: ColumnChunk; pages: Pages | undefined }[] = [];
  for (const [i, chunk] of rowGroup.columns.entries()) {
    const name = chunk.meta_data?.path_in_schema[0];
    if (name === undefined || !wanted.has(name)) continue;
    const leaf = leaves[i];
    const pages = pagesOf(chunk);
    const codec = chunk.meta_data!.codec;
    if (!leaf || leaf.name !== name || pages?.length === 0) return undefined;
    if (codec !== "UNCOMPRESSED" && !compressors[codec as keyof Compressors]) return undefined;
    chosen.push({ leaf, chunk, pages });
  }
  const groupRows = Number(rowGroup.num_rows);
  const out = new Map<string, unknown[]>();
  const byName = new Map<string, { leaf: Leaf; values: LeafRows }[]>();
  try {
    for (const { leaf, chunk, pages } of chosen) {
      const values = decodeLeaf(leaf, chunk, pages, groupRows, at, view, compressors, dictionaries);
      byName.set(leaf.name, [...(byName.get(leaf.name) ?? []), { leaf, values }]);
    }
  } catch (err) {
    if (err instanceof NotHeld) return undefined;
    throw err;
  }
  for (const [name, parts] of byName) {
    const first = parts[0]!;
    if (first.leaf.field === undefined) {
      out.set(name, first.values);
      continue;
    }
    const make = structMaker(parts.map((p) => p.leaf.field!));
    const fields = parts.map((p) => p.values);
    const values = new Array<unknown>(fields.length);
    if (first.leaf.maxRep === 0) {
      // A struct of required fields: undefined where its first field is null (the struct is), as hyparquet reads it.
      out.set(
        name,
        first.values.map((v, r) => {
          if (v === null) return undefined;
          for (let f = 0; f < fields.length; f++) values[f] = fields[f]![r];
          return make(values);
        }),
      );
      continue;
    }
    // A list of structs: element j of row r from each field's list.
    out.set(
      name,
      first.values.map((list, r) => {
        if (list === undefined) return undefined;
        return (list as unknown[]).map((_, j) => {
          for (let f = 0; f < fields.length; f++) values[f] = (fields[f]![r] as unknown[])[j];
          return make(values);
        });
      }),
    );
  }
  return out;
}
