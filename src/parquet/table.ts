/**
 * A Parquet file from rows of JavaScript objects, for the store's part files: columns are top-level
 * values, structs of required values, lists of values and lists of structs of required values, each
 * leaf shredded into repetition and definition levels as it is read from the rows. Data page v1,
 * PLAIN values (or, for the string columns asked for, a dictionary page and RLE_DICTIONARY indices),
 * RLE levels, pages compressed by the given codec as they close, column chunk statistics, an offset
 * index per column chunk, the key-value metadata given. Every top-level column is OPTIONAL, as the
 * Arrow writer the store used before made them (its `ARROW:schema` is metadata the caller passes).
 * Format only: what the columns are is the caller's (store/part-tables.ts).
 */
import { appendOffsetIndexes, type FooterColumn, fileMetaDataOf, type Placed } from "./footer.js";
import {
  Bytes,
  type ColumnChunk,
  compareBytes,
  concat,
  dataPage,
  dictionaryPage,
  LevelRuns,
  PARQUET,
  type PageCompressor,
  type PageLocation,
} from "./pages.js";
import { LIST_OF, type ThriftWriter } from "./thrift-writer.js";

/** Value types of a leaf, as the Arrow types they were written from. */
export type LeafType =
  | "utf8"
  | "binary"
  | "int16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float64"
  | "timestamp_ns_utc";

/** A leaf's value: a number or bigint (integers, floats, timestamps), a string (utf8) or bytes (binary). */
export type LeafValue = number | bigint | string | Uint8Array;

/** A field of a struct: a required value. */
export interface StructField {
  name: string;
  type: LeafType;
  get: (item: never) => LeafValue;
}

/** One top-level column and how each row gives its value (null: a null row). */
export type TableColumn<R> =
  | { kind: "value"; name: string; type: LeafType; get: (row: R) => LeafValue | null | undefined }
  | { kind: "struct"; name: string; fields: readonly StructField[]; get: (row: R) => object | null }
  | {
      kind: "list";
      name: string;
      type: LeafType;
      /** Whether items may be null (an OPTIONAL item). */
      optionalItems?: boolean;
      get: (row: R) => readonly (LeafValue | null | undefined)[] | null;
    }
  | {
      kind: "list-struct";
      name: string;
      fields: readonly StructField[];
      get: (row: R) => readonly object[] | null;
    };

/** Options of {@link encodeTable}. */
export interface TableOptions {
  /** Rows per row group. */
  rowGroupSize: number;
  /** A data page closes at the first check past this many bytes of values (before compression). Default 1 MiB. */
  pageBytes?: number;
  /** Rows between two page-size checks. Default 1024. */
  pageCheckRows?: number;
  /** Top-level utf8 columns written with a dictionary page (default none). */
  dictionary?: (column: string) => boolean;
  /** Top-level columns with min/max statistics (default all). */
  statistics?: (column: string) => boolean;
  /** File key-value metadata, in order. */
  metadata?: Record<string, string>;
  compress: PageCompressor;
}

const MAGIC = new TextEncoder().encode("PAR1");
const encoder = new TextEncoder();

/**
 * UTF-8 bytes of a string: ASCII ones (dataset paths, chunk and granule ids) copied code unit by code
 * unit, which costs less than a TextEncoder call for strings this short; others through the encoder.
 */
function utf8Bytes(s: string): Uint8Array {
  const n = s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Physical type, converted type, integer annotation and statistics order of each leaf type. */
const TYPES: Record<
  LeafType,
  {
    physical: number;
    width: number;
    order: "signed" | "unsigned" | "float" | "bytes";
    annotate: (w: ThriftWriter) => void;
  }
> = {
  utf8: {
    physical: PARQUET.BYTE_ARRAY,
    width: 0,
    order: "bytes",
    annotate: (w) => w.i32(6, 0).struct(10, () => w.struct(1, () => {})),
  },
  binary: { physical: PARQUET.BYTE_ARRAY, width: 0, order: "bytes", annotate: () => {} },
  int16: {
    physical: PARQUET.INT32,
    width: 4,
    order: "signed",
    annotate: (w) => w.i32(6, 16).struct(10, () => w.struct(10, () => w.i8(1, 16).bool(2, true))),
  },
  int32: { physical: PARQUET.INT32, width: 4, order: "signed", annotate: () => {} },
  uint32: {
    physical: PARQUET.INT32,
    width: 4,
    order: "unsigned",
    annotate: (w) => w.i32(6, 13).struct(10, () => w.struct(10, () => w.i8(1, 32).bool(2, false))),
  },
  int64: { physical: PARQUET.INT64, width: 8, order: "signed", annotate: () => {} },
  uint64: {
    physical: PARQUET.INT64,
    width: 8,
    order: "unsigned",
    annotate: (w) => w.i32(6, 14).struct(10, () => w.struct(10, () => w.i8(1, 64).bool(2, false))),
  },
  float64: { physical: PARQUET.DOUBLE, width: 8, order: "float", annotate: () => {} },
  // Timestamp(NANOS, UTC): logical type only (no converted type has nanoseconds).
  timestamp_ns_utc: {
    physical: PARQUET.INT64,
    width: 8,
    order: "signed",
    annotate: (w) =>
      w.struct(10, () => w.struct(8, () => w.bool(1, true).struct(2, () => w.struct(3, () => {})))),
  },
};

/** A growable byte buffer of PLAIN values. */
class Values {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  length = 0;

  room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

/**
 * The open page's PLAIN values, and its dictionary indices, shared by every leaf chunk of the thread:
 * a page's bytes are copied (compressed, or into the page) before the next page is written, so one
 * buffer, grown to the largest page, serves them all rather than a buffer grown anew for each leaf.
 */
const pageValues = new Values();
let pageIndexScratch = new Int32Array(1024);
/** The open page's body (levels, then values) in one piece, for the codec. */
const pageBody = new Values();

/** Writes one value PLAIN; returns where it starts. */
function putValue(out: Values, type: LeafType, v: LeafValue): number {
  const at = out.length;
  switch (type) {
    case "utf8": {
      const s = v as string;
      out.room(4 + s.length * 3);
      const { written } = encoder.encodeInto(s, out.bytes.subarray(at + 4));
      out.view.setUint32(at, written, true);
      out.length += 4 + written;
      break;
    }
    case "binary": {
      const b = v as Uint8Array;
      out.room(4 + b.length);
      out.view.setUint32(at, b.length, true);
      out.bytes.set(b, at + 4);
      out.length += 4 + b.length;
      break;
    }
    case "int16":
    case "int32":
    case "uint32":
      out.room(4);
      out.view.setInt32(at, Number(v), true);
      out.length += 4;
      break;
    case "float64":
      out.room(8);
      out.view.setFloat64(at, Number(v), true);
      out.length += 8;
      break;
    default: {
      out.room(8);
      // setBigUint64 takes the value modulo 2^64, as BigInt.asUintN(64, v) would.
      if (typeof v === "bigint") out.view.setBigUint64(at, v, true);
      else {
        const n = v as number;
        out.view.setUint32(at, n >>> 0, true);
        out.view.setInt32(at + 4, Math.floor(n / 4294967296), true);
      }
      out.length += 8;
    }
  }
  return at;
}

/** A leaf column: its schema element, levels and how each row gives its entries. */
interface Leaf<R> extends FooterColumn {
  type: LeafType;
  maxDef: number;
  maxRep: number;
  dictionary: boolean;
  statistics: boolean;
  /** A flat leaf's value of a row (null or undefined: a null row); undefined for list leaves. */
  value?: (row: R) => LeafValue | null | undefined;
  /** A list leaf's list of a row (null: a null row). */
  list?: (row: R) => readonly unknown[] | null;
  /** A list of structs' field of an item; undefined: the items are the values. */
  item?: (item: never) => LeafValue;
  /** Whether a list's items may be null. */
  optionalItems: boolean;
}

function leavesOf<R>(columns: readonly TableColumn<R>[], opts: TableOptions): Leaf<R>[] {
  const out: Leaf<R>[] = [];
  for (const column of columns) {
    const statistics = opts.statistics?.(column.name) ?? true;
    const base = (path: string[], type: LeafType, optional: boolean) => ({
      name: path.at(-1)!,
      path,
      type,
      physical: TYPES[type].physical,
      optional,
      annotate: TYPES[type].annotate,
      statistics,
      dictionary: type === "utf8" && (opts.dictionary?.(column.name) ?? false),
      optionalItems: false,
    });
    switch (column.kind) {
      case "value":
        out.push({ ...base([column.name], column.type, true), maxDef: 1, maxRep: 0, value: column.get });
        break;
      case "struct":
        for (const field of column.fields)
          out.push({
            ...base([column.name, field.name], field.type, false),
            maxDef: 1,
            maxRep: 0,
            value: (row) => {
              const s = column.get(row);
              return s === null ? null : field.get(s as never);
            },
          });
        break;
      case "list": {
        const optionalItems = Boolean(column.optionalItems);
        out.push({
          ...base([column.name, "list", "item"], column.type, optionalItems),
          maxDef: optionalItems ? 3 : 2,
          maxRep: 1,
          list: column.get,
          optionalItems,
        });
        break;
      }
      case "list-struct":
        for (const field of column.fields)
          out.push({
            ...base([column.name, "list", "item", field.name], field.type, false),
            maxDef: 2,
            maxRep: 1,
            list: column.get,
            item: field.get,
          });
    }
  }
  return out;
}

/** The schema elements of `columns` (field 2 of the footer), the root named as the Arrow writer named it. */
function writeSchema<R>(w: ThriftWriter, columns: readonly TableColumn<R>[]): void {
  let count = 1;
  for (const c of columns)
    count +=
      c.kind === "value"
        ? 1
        : c.kind === "struct"
          ? 1 + c.fields.length
          : c.kind === "list"
            ? 3
            : 3 + c.fields.length;
  w.list(2, LIST_OF.struct, count);
  w.body(() => w.string(4, "arrow_schema").i32(5, columns.length));
  const leaf = (name: string, type: LeafType, repetition: number) =>
    w.body(() => {
      w.i32(1, TYPES[type].physical).i32(3, repetition).string(4, name);
      TYPES[type].annotate(w);
    });
  const group = (name: string, repetition: number, children: number, list = false) =>
    w.body(() => {
      w.i32(3, repetition).string(4, name).i32(5, children);
      if (list) w.i32(6, 3).struct(10, () => w.struct(3, () => {}));
    });
  for (const c of columns) {
    if (c.kind === "value") leaf(c.name, c.type, 1);
    else if (c.kind === "struct") {
      group(c.name, 1, c.fields.length);
      for (const f of c.fields) leaf(f.name, f.type, 0);
    } else {
      group(c.name, 1, 1, true);
      group("list", 2, 1);
      if (c.kind === "list") leaf("item", c.type, c.optionalItems ? 1 : 0);
      else {
        group("item", 0, c.fields.length);
        for (const f of c.fields) leaf(f.name, f.type, 0);
      }
    }
  }
}

/** The RLE/bit-packed hybrid encoding of `n` dictionary indices of `bits` bits. */
function hybrid(values: Int32Array, n: number, bits: number, out: Bytes): void {
  const valueBytes = Math.ceil(bits / 8);
  let i = 0;
  const runAt = (at: number) => {
    if (at + 8 > n) return false;
    const v = values[at];
    for (let k = at + 1; k < at + 8; k++) if (values[k] !== v) return false;
    return true;
  };
  while (i < n) {
    if (runAt(i)) {
      let j = i + 8;
      while (j < n && values[j] === values[i]) j++;
      out.varint((j - i) * 2);
      let v = values[i]!;
      for (let b = 0; b < valueBytes; b++) {
        out.push(v & 0xff);
        v >>>= 8;
      }
      i = j;
      continue;
    }
    const start = i;
    let groups = 0;
    do {
      i += 8;
      groups++;
    } while (i < n && !runAt(i));
    out.varint(groups * 2 + 1);
    let acc = 0;
    let held = 0;
    for (let k = start; k < start + groups * 8; k++) {
      acc |= (k < n ? values[k]! : 0) << held;
      held += bits;
      while (held >= 8) {
        out.push(acc & 0xff);
        acc >>>= 8;
        held -= 8;
      }
    }
    if (held > 0) out.push(acc & 0xff);
  }
}

/** Min/max bytes of a statistics value. */
function statBytes(type: LeafType, v: LeafValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  const out = new Values();
  putValue(out, type, v);
  const bytes = out.bytes.slice(0, out.length);
  return type === "utf8" ? bytes.subarray(4) : bytes;
}

/** Writes one leaf's column chunk of `rows`. */
function leafChunk<R>(leaf: Leaf<R>, rows: readonly R[], opts: TableOptions): ColumnChunk {
  const { compress } = opts;
  const pageLimit = opts.pageBytes ?? 1024 * 1024;
  const check = opts.pageCheckRows ?? 1024;
  const order = TYPES[leaf.type].order;
  const reps = leaf.maxRep > 0 ? new LevelRuns() : undefined;
  const defs = new LevelRuns();
  const values = pageValues;
  values.length = 0;
  const pages: Uint8Array[] = [];
  const locations: PageLocation[] = [];
  let compressed = 0;
  let uncompressed = 0;
  let entries = 0;
  let nulls = 0;
  let pageEntries = 0;
  let pageFirstRow = 0;
  // Dictionary state: distinct values (PLAIN bytes), their index, the page's indices.
  const index = leaf.dictionary ? new Map<string, number>() : undefined;
  const distinct: Uint8Array[] = [];
  let indices = pageIndexScratch;
  let pageIndices = 0;
  // Statistics (a dictionary column's come from its distinct values).
  let min: LeafValue | undefined;
  let max: LeafValue | undefined;
  const numeric = order !== "bytes";

  const statistics = leaf.statistics;
  /**
   * One value, PLAIN or as a dictionary index, into the open page and the statistics: a function for
   * each kind of leaf, so that the values of the large columns (numbers of the refs, cells, footprints'
   * bboxes) take no turn through the others' cases.
   */
  let put: (value: LeafValue) => void;
  if (index)
    put = (value) => {
      const key = value as string;
      let at = index.get(key);
      if (at === undefined) {
        at = distinct.length;
        index.set(key, at);
        distinct.push(utf8Bytes(key));
      }
      if (pageIndices === indices.length) {
        const grown = new Int32Array(indices.length * 2);
        grown.set(indices);
        indices = grown;
        pageIndexScratch = grown;
      }
      indices[pageIndices++] = at;
    };
  else if (leaf.type === "float64")
    put = (value) => {
      const v = value as number;
      if (values.length + 8 > values.bytes.length) values.room(8);
      values.view.setFloat64(values.length, v, true);
      values.length += 8;
      // NaN stays out of the statistics.
      if (!statistics || Number.isNaN(v)) return;
      if (min === undefined || v < (min as number)) min = v;
      if (max === undefined || v > (max as number)) max = v;
    };
  else if (TYPES[leaf.type].width === 4)
    put = (value) => {
      const v = typeof value === "number" ? value : Number(value);
      if (values.length + 4 > values.bytes.length) values.room(4);
      values.view.setInt32(values.length, v, true);
      values.length += 4;
      if (!statistics) return;
      if (min === undefined || value < min) min = value;
      if (max === undefined || value > max) max = value;
    };
  else if (numeric)
    put = (value) => {
      if (values.length + 8 > values.bytes.length) values.room(8);
      const at = values.length;
      if (typeof value === "bigint") values.view.setBigUint64(at, value, true);
      else {
        const n = value as number;
        values.view.setUint32(at, n >>> 0, true);
        values.view.setInt32(at + 4, Math.floor(n / 4294967296), true);
      }
      values.length = at + 8;
      if (!statistics) return;
      if (min === undefined || value < min) min = value;
      if (max === undefined || value > max) max = value;
    };
  else
    put = (value) => {
      const at = putValue(values, leaf.type, value);
      if (!statistics) return;
      const bytes = values.bytes.subarray(at + 4, values.length);
      if (min === undefined || compareBytes(bytes, min as Uint8Array) < 0) min = bytes.slice();
      if (max === undefined || compareBytes(bytes, max as Uint8Array) > 0) max = bytes.slice();
    };
  const bitsOf = () => Math.max(1, Math.ceil(Math.log2(Math.max(2, distinct.length))));
  const pageSize = () => (index ? Math.ceil((pageIndices * bitsOf()) / 8) : values.length);

  const closePage = (row: number) => {
    if (pageEntries === 0) return;
    // Levels, then values, copied into one shared buffer: the codec takes the body in one piece.
    const body = pageBody;
    body.length = 0;
    const append = (bytes: Uint8Array) => {
      body.room(bytes.length);
      body.bytes.set(bytes, body.length);
      body.length += bytes.length;
    };
    if (reps) append(reps.take());
    append(defs.take());
    if (index) {
      const bits = bitsOf();
      const packed = new Bytes(16 + pageIndices);
      packed.push(bits);
      hybrid(indices, pageIndices, bits, packed);
      append(packed.bytes.subarray(0, packed.length));
      pageIndices = 0;
    } else {
      append(values.bytes.subarray(0, values.length));
      values.length = 0;
    }
    const raw = body.bytes.subarray(0, body.length);
    const page = dataPage([raw], pageEntries, index ? PARQUET.RLE_DICTIONARY : PARQUET.PLAIN, compress);
    locations.push({ offset: compressed, size: page.compressed, firstRow: pageFirstRow });
    pages.push(page.bytes);
    compressed += page.compressed;
    uncompressed += page.uncompressed;
    pageEntries = 0;
    pageFirstRow = row;
  };

  // Byte arrays of PLAIN pages (footprints, about 1 KB each) are checked every row, so their pages
  // stay near the limit rather than reaching it plus a whole check's rows (as the Arrow writer's,
  // which sized its checks by the values' mean size).
  const every = !index && TYPES[leaf.type].width === 0 ? 1 : check;
  const n = rows.length;
  // The rows' entries, levels kept as the current run of each (passed to the page's runs when the
  // level changes and when the page closes) rather than a call an entry.
  let def = -1;
  let defRun = 0;
  let rep = -1;
  let repRun = 0;
  const close = (row: number) => {
    defs.add(def, defRun);
    defRun = 0;
    reps?.add(rep, repRun);
    repRun = 0;
    closePage(row);
  };
  const { value, list, item } = leaf;
  if (value) {
    for (let r = 0; r < n; r++) {
      if (r > 0 && r % every === 0 && pageSize() >= pageLimit) close(r);
      const v = value(rows[r]!);
      const level = v === null || v === undefined ? 0 : 1;
      if (level !== def) {
        defs.add(def, defRun);
        def = level;
        defRun = 0;
      }
      defRun++;
      pageEntries++;
      if (level === 0) nulls++;
      else put(v!);
    }
    entries = n;
  } else {
    const maxDef = leaf.maxDef;
    const optional = leaf.optionalItems;
    for (let r = 0; r < n; r++) {
      if (r > 0 && r % every === 0 && pageSize() >= pageLimit) close(r);
      const items = list!(rows[r]!);
      const count = items === null || items.length === 0 ? 1 : items.length;
      entries += count;
      pageEntries += count;
      // Repetition levels: 0 for the row's first entry, 1 for the others.
      if (rep !== 0) {
        reps!.add(rep, repRun);
        rep = 0;
        repRun = 0;
      }
      repRun++;
      if (count > 1) {
        reps!.add(0, repRun);
        rep = 1;
        repRun = count - 1;
      }
      if (items === null || items.length === 0) {
        // A null row (level 0) or an empty list (level 1).
        const level = items === null ? 0 : 1;
        if (level !== def) {
          defs.add(def, defRun);
          def = level;
          defRun = 0;
        }
        defRun++;
        nulls++;
        continue;
      }
      if (!optional) {
        if (def !== maxDef) {
          defs.add(def, defRun);
          def = maxDef;
          defRun = 0;
        }
        defRun += count;
        if (item) for (let k = 0; k < count; k++) put(item(items[k] as never));
        else for (let k = 0; k < count; k++) put(items[k] as LeafValue);
        continue;
      }
      for (let k = 0; k < count; k++) {
        const v = items[k] as LeafValue | null | undefined;
        const level = v === null || v === undefined ? maxDef - 1 : maxDef;
        if (level !== def) {
          defs.add(def, defRun);
          def = level;
          defRun = 0;
        }
        defRun++;
        if (level === maxDef) put(v!);
        else nulls++;
      }
    }
  }
  close(n);

  let dictionaryBytes = 0;
  if (index && distinct.length > 0) {
    const page = dictionaryPage(distinct, compress);
    dictionaryBytes = page.compressed;
    pages.unshift(page.bytes);
    for (const loc of locations) loc.offset += dictionaryBytes;
    compressed += dictionaryBytes;
    uncompressed += page.uncompressed;
    if (leaf.statistics)
      for (const v of distinct) {
        if (min === undefined || compareBytes(v, min as Uint8Array) < 0) min = v;
        if (max === undefined || compareBytes(v, max as Uint8Array) > 0) max = v;
      }
  }
  let stats: { min?: Uint8Array; max?: Uint8Array } = {};
  if (leaf.statistics && min !== undefined && max !== undefined) {
    if (order === "float") {
      // Parquet's float ordering: a zero minimum is written -0, a zero maximum +0.
      if (min === 0) min = -0;
      if (max === 0) max = 0;
    }
    stats = { min: statBytes(leaf.type, min), max: statBytes(leaf.type, max) };
  }
  return {
    pages,
    dictionaryBytes,
    compressed,
    uncompressed,
    rows: entries,
    nulls,
    encodings: index ? [PARQUET.PLAIN, PARQUET.RLE, PARQUET.RLE_DICTIONARY] : [PARQUET.PLAIN, PARQUET.RLE],
    ...stats,
    legacyStats: order === "signed" || order === "float",
    statistics: leaf.statistics,
    locations,
  };
}

/** A Parquet file of `rows`, with the columns `columns` (in order). */
export function encodeTable<R>(
  rows: readonly R[],
  columns: readonly TableColumn<R>[],
  opts: TableOptions,
): Uint8Array {
  const leaves = leavesOf(columns, opts);
  const pieces: Uint8Array[] = [MAGIC];
  let position = MAGIC.length;
  const groups: { placed: Placed[]; rows: number }[] = [];
  for (let from = 0; from < rows.length; from += opts.rowGroupSize) {
    const groupRows = rows.slice(from, from + opts.rowGroupSize);
    const placed: Placed[] = [];
    for (const leaf of leaves) {
      const chunk = leafChunk(leaf, groupRows, opts);
      placed.push({ chunk, start: position });
      pieces.push(...chunk.pages);
      position += chunk.compressed;
    }
    groups.push({ placed, rows: groupRows.length });
  }
  const { indexes } = appendOffsetIndexes(groups, pieces, position);
  const footer = fileMetaDataOf(
    (w) => writeSchema(w, columns),
    leaves,
    groups,
    indexes,
    rows.length,
    opts.metadata ?? {},
  );
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(MAGIC, 4);
  pieces.push(footer, tail);
  return concat(pieces);
}
