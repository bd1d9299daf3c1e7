/**
 * A part file's Parquet footer read only as far as the selection needs it. The footer's thrift is
 * walked once without building objects: the schema and the file's key-value metadata are decoded
 * (by hyparquet, from a footer holding them alone), each row group's row count and sizes are read,
 * and its column chunks are decoded only when asked for (by hyparquet, from a footer holding that
 * row group alone). {@link groupStatistics} reads the min/max statistics of one column of a row
 * group straight from the bytes. A `chunks` file's footer is about 93 KB for 35 row groups, and a
 * selection opens hundreds of them but reads the column chunks of few of their groups.
 */

import type { ColumnChunk, FileMetaData, RowGroup, SchemaElement } from "hyparquet";
import { BINARY, Cursor, I16, I32, I64, LIST, STRUCT } from "./thrift.js";

/** Min and max statistics of a column chunk (`min_value ?? min`, `max_value ?? max`). */
export type ColumnStat = { min: unknown; max: unknown };

/** What the walk keeps of a row group: its bytes and where its column chunks start. */
interface GroupBytes {
  /** [start, end) of the RowGroup struct in the footer. */
  span: [number, number];
  /** [start, end) of its `columns` list value. */
  columns: [number, number];
  /** Start of each column chunk's struct. */
  starts: number[];
  /** Statistics read, by column path. */
  stats?: Map<string, ColumnStat | null>;
}

interface LazyFooter {
  bytes: Uint8Array;
  schema: readonly SchemaElement[];
  /** Leaf schema elements by their dotted path, with their column index. */
  leaves: ReadonlyMap<string, { index: number; element: SchemaElement }>;
  /** [start, end) of the schema list value and of the num_rows value. */
  schemaSpan: [number, number];
  rowsSpan: [number, number];
  parsers: Record<string, unknown>;
  groups: GroupBytes[];
}

const footers = new WeakMap<RowGroup, { footer: LazyFooter; group: GroupBytes }>();

const decoder = new TextDecoder();

/** The footer bytes with a little-endian length and the magic after them, for hyparquet. */
function asFooter(parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(length + 8);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  new DataView(out.buffer).setUint32(length, length, true);
  out.set([0x50, 0x41, 0x52, 0x31], length + 4);
  return out;
}

/**
 * Parses the thrift FileMetaData at `bytes` (the footer without its length and magic) into a
 * FileMetaData whose row groups decode their column chunks on first use.
 */
export function parseFooter(
  bytes: Uint8Array,
  parquetMetadata: typeof import("hyparquet").parquetMetadata,
  parsers: Record<string, unknown>,
): FileMetaData {
  const c = new Cursor(bytes, 0);
  let schemaSpan: [number, number] | undefined;
  let rowsSpan: [number, number] | undefined;
  let groupsValue: [number, number] | undefined;
  const groups: GroupBytes[] = [];
  const scalars: {
    total_byte_size: bigint;
    num_rows: bigint;
    file_offset?: bigint;
    total_compressed_size?: bigint;
    ordinal?: number;
  }[] = [];
  let id = 0;
  for (;;) {
    const type = c.field(id);
    if (type === 0) break;
    id = c.id;
    const start = c.pos;
    if (id === 4 && type === LIST) {
      if (c.list() !== STRUCT) throw new Error("parquet row groups are not structs");
      const size = c.size;
      for (let g = 0; g < size; g++) {
        const groupStart = c.pos;
        const s: (typeof scalars)[number] = { total_byte_size: 0n, num_rows: 0n };
        let columns: [number, number] | undefined;
        let starts: number[] = [];
        let f = 0;
        for (;;) {
          const t = c.field(f);
          if (t === 0) break;
          f = c.id;
          const at = c.pos;
          if (f === 1 && t === LIST) {
            // The column chunks are skipped, their starts kept for the statistics.
            if (c.list() !== STRUCT) throw new Error("parquet column chunks are not structs");
            const n = c.size;
            starts = new Array<number>(n);
            for (let i = 0; i < n; i++) {
              starts[i] = c.pos;
              c.skip(STRUCT);
            }
            columns = [at, c.pos];
          } else if (f === 2 && t === I64) s.total_byte_size = c.bigZigzag();
          else if (f === 3 && t === I64) s.num_rows = c.bigZigzag();
          else if (f === 5 && t === I64) s.file_offset = c.bigZigzag();
          else if (f === 6 && t === I64) s.total_compressed_size = c.bigZigzag();
          else if (f === 7 && (t === I16 || t === I32)) s.ordinal = c.zigzag();
          else c.skip(t);
        }
        if (!columns) throw new Error("parquet row group without columns");
        groups.push({ span: [groupStart, c.pos], columns, starts });
        scalars.push(s);
      }
      groupsValue = [start, c.pos];
      continue;
    }
    c.skip(type);
    if (id === 2) schemaSpan = [start, c.pos];
    else if (id === 3) rowsSpan = [start, c.pos];
  }
  if (!schemaSpan || !rowsSpan || !groupsValue)
    throw new Error("parquet footer lacks its schema, row count or row groups");
  // Everything but the row groups, decoded by hyparquet: the row groups' list left empty.
  const head = parquetMetadata(
    asFooter([bytes.subarray(0, groupsValue[0]), Uint8Array.of(0x0c), bytes.subarray(groupsValue[1], c.pos)]),
    { parsers },
  );
  const leaves = new Map<string, { index: number; element: SchemaElement }>();
  let index = 0;
  const walk = (at: number, path: string[]): number => {
    const e = head.schema[at]!;
    const here = at === 0 ? path : [...path, e.name];
    if (!e.num_children) {
      leaves.set(here.join("."), { index: index++, element: e });
      return at + 1;
    }
    let next = at + 1;
    for (let k = 0; k < e.num_children; k++) next = walk(next, here);
    return next;
  };
  walk(0, []);
  const footer: LazyFooter = { bytes, schema: head.schema, leaves, schemaSpan, rowsSpan, parsers, groups };
  const row_groups = groups.map((group, g) => {
    let columns: ColumnChunk[] | undefined;
    let sorting: RowGroup["sorting_columns"];
    const decode = () => {
      const one = parquetMetadata(
        asFooter([
          Uint8Array.of(0x29),
          bytes.subarray(...schemaSpan),
          Uint8Array.of(0x16),
          bytes.subarray(...rowsSpan),
          Uint8Array.of(0x19, 0x1c),
          bytes.subarray(...group.span),
          Uint8Array.of(0),
        ]),
        { parsers, geoparquet: false },
      ).row_groups[0]!;
      columns = one.columns;
      sorting = one.sorting_columns;
    };
    const rowGroup = {
      ...scalars[g]!,
      get columns(): ColumnChunk[] {
        if (!columns) decode();
        return columns!;
      },
      get sorting_columns() {
        if (!columns) decode();
        return sorting;
      },
    } as RowGroup;
    footers.set(rowGroup, { footer, group });
    return rowGroup;
  });
  return { ...head, row_groups, metadata_length: bytes.length };
}

/**
 * The min/max statistics of the column at `path` (dotted) of a row group made by
 * {@link parseFooter}, read from the footer's bytes: null when the column chunk has none,
 * undefined when the row group is not such a one or the column's type is not one read here.
 */
export function groupStatistics(group: RowGroup, path: string): ColumnStat | null | undefined {
  const lazy = footers.get(group);
  if (!lazy) return undefined;
  const { footer, group: g } = lazy;
  const leaf = footer.leaves.get(path);
  if (!leaf || !convertible(leaf.element)) return undefined;
  const known = g.stats?.get(path);
  if (known !== undefined) return known;
  const stat = readStatistics(footer, g.starts[leaf.index], leaf.element);
  g.stats ??= new Map();
  g.stats.set(path, stat);
  return stat;
}

/** The min/max statistics of the column chunk whose struct starts at `start`. */
function readStatistics(
  footer: LazyFooter,
  start: number | undefined,
  element: SchemaElement,
): ColumnStat | null {
  if (start === undefined) return null;
  const c = new Cursor(footer.bytes, start);
  let id = 0;
  let stats: Uint8Array[] | undefined;
  for (;;) {
    const t = c.field(id);
    if (t === 0) break;
    id = c.id;
    if (id !== 3 || t !== STRUCT) {
      c.skip(t);
      continue;
    }
    // ColumnMetaData: only its statistics (field 12).
    let m = 0;
    for (;;) {
      const mt = c.field(m);
      if (mt === 0) break;
      m = c.id;
      if (m !== 12 || mt !== STRUCT) {
        c.skip(mt);
        continue;
      }
      stats = [];
      let s = 0;
      for (;;) {
        const st = c.field(s);
        if (st === 0) break;
        s = c.id;
        if (st === BINARY && (s === 1 || s === 2 || s === 5 || s === 6)) stats[s] = c.binary();
        else c.skip(st);
      }
    }
    break;
  }
  if (!stats) return null;
  const min = convert(stats[6] ?? stats[2], element, footer.parsers);
  const max = convert(stats[5] ?? stats[1], element, footer.parsers);
  return min === undefined || max === undefined ? null : { min, max };
}

/** Whether {@link convert} reads this column's statistics as hyparquet does. */
function convertible(e: SchemaElement): boolean {
  if (e.converted_type === "DECIMAL" || e.converted_type === "DATE") return false;
  return (
    e.type === "BOOLEAN" ||
    e.type === "BYTE_ARRAY" ||
    e.type === "FLOAT" ||
    e.type === "DOUBLE" ||
    e.type === "INT32" ||
    e.type === "INT64"
  );
}

type Parse = (v: bigint) => unknown;

/** A statistics value as hyparquet's metadata reader converts it, for the types {@link convertible} accepts. */
function convert(value: Uint8Array | undefined, e: SchemaElement, parsers: Record<string, unknown>): unknown {
  if (value === undefined) return undefined;
  if (e.type === "BOOLEAN") return value[0] === 1;
  if (e.type === "BYTE_ARRAY") {
    const parse = parsers.stringFromBytes as ((b: Uint8Array) => unknown) | undefined;
    return parse ? parse(value) : decoder.decode(value);
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (e.type === "FLOAT" && view.byteLength === 4) return view.getFloat32(0, true);
  if (e.type === "DOUBLE" && view.byteLength === 8) return view.getFloat64(0, true);
  const { converted_type: ct, logical_type: lt } = e;
  const parse = (name: string, fallback: Parse) => (parsers[name] as Parse | undefined) ?? fallback;
  if (e.type === "INT64" && view.byteLength === 8) {
    const v = view.getBigInt64(0, true);
    if (ct === "TIMESTAMP_MILLIS") return parse("timestampFromMilliseconds", (x) => new Date(Number(x)))(v);
    if (ct === "TIMESTAMP_MICROS")
      return parse("timestampFromMicroseconds", (x) => new Date(Number(x / 1000n)))(v);
    if (lt?.type === "TIMESTAMP" && lt.unit === "NANOS")
      return parse("timestampFromNanoseconds", (x) => new Date(Number(x / 1_000_000n)))(v);
    if (lt?.type === "TIMESTAMP" && lt.unit === "MICROS")
      return parse("timestampFromMicroseconds", (x) => new Date(Number(x / 1000n)))(v);
    if (lt?.type === "TIMESTAMP") return parse("timestampFromMilliseconds", (x) => new Date(Number(x)))(v);
  }
  const unsigned = ct?.startsWith("UINT_") || (lt?.type === "INTEGER" && !lt.isSigned);
  if (e.type === "INT32" && unsigned && view.byteLength === 4) return view.getUint32(0, true);
  if (e.type === "INT64" && unsigned && view.byteLength === 8) return view.getBigUint64(0, true);
  if (e.type === "INT32" && view.byteLength === 4) return view.getInt32(0, true);
  if (e.type === "INT64" && view.byteLength === 8) return view.getBigInt64(0, true);
  return value;
}
