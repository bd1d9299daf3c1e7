/**
 * The end of a Parquet file the project's encoders write (export/geoparquet-encoder.ts, table.ts for
 * the store's part files): each column chunk's offset index, then the footer (schema, row groups,
 * column chunk metadata and statistics, key-value metadata, column orders) in Thrift compact.
 */
import type { ColumnChunk } from "./pages.js";
import { LIST_OF, type ThriftWriter, thriftStruct } from "./thrift-writer.js";

const UTF8 = new TextEncoder();

/** Parquet's ZSTD codec id. */
const ZSTD = 6;

/** What the footer says of a column: its schema element. */
export interface FooterColumn {
  name: string;
  /** Path of a nested leaf from the top-level column (`refs`, `list`, `item`, `path`); default `[name]`. */
  path?: readonly string[];
  physical: number;
  optional: boolean;
  /** Writes the schema element's annotations (converted type, logical type). */
  annotate(w: ThriftWriter): void;
}

/** A column chunk placed in the file. */
export interface Placed {
  chunk: ColumnChunk;
  /** File offset of its first page. */
  start: number;
}

/** The offset index of a column chunk placed at `start`: its data pages' locations. */
export function offsetIndex(chunk: ColumnChunk, start: number): Uint8Array {
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

/**
 * The offset indexes of every placed column chunk, appended to `pieces` after the last row group (the
 * file's bytes so far end at `position`): where each one lies, group by group, for the footer, and the
 * position after them.
 */
export function appendOffsetIndexes(
  groups: readonly { placed: Placed[] }[],
  pieces: Uint8Array[],
  position: number,
): { indexes: { offset: number; length: number }[][]; position: number } {
  let at = position;
  const indexes = groups.map((g) =>
    g.placed.map(({ chunk, start }) => {
      const bytes = offsetIndex(chunk, start);
      const offset = at;
      pieces.push(bytes);
      at += bytes.length;
      return { offset, length: bytes.length };
    }),
  );
  return { indexes, position: at };
}

/** The footer of a flat schema (every column a top-level leaf): see {@link fileMetaDataOf}. */
export function fileMetaData(
  columns: readonly FooterColumn[],
  groups: readonly { placed: Placed[]; rows: number }[],
  indexes: readonly { offset: number; length: number }[][],
  rows: number,
  metadata: Record<string, string>,
): Uint8Array {
  const schema = (w: ThriftWriter) => {
    w.list(2, LIST_OF.struct, columns.length + 1);
    w.body(() => w.string(4, "arrow_schema").i32(5, columns.length));
    for (const column of columns)
      w.body(() => {
        w.i32(1, column.physical)
          .i32(3, column.optional ? 1 : 0)
          .string(4, column.name);
        column.annotate(w);
      });
  };
  return fileMetaDataOf(schema, columns, groups, indexes, rows, metadata);
}

/**
 * The footer: the schema (field 2, which `schema` writes: the elements of every group and leaf),
 * row groups and their column chunks (one per leaf of `leaves`, in schema order), key-value
 * metadata in the given order, column orders.
 */
export function fileMetaDataOf(
  schema: (w: ThriftWriter) => void,
  leaves: readonly FooterColumn[],
  groups: readonly { placed: Placed[]; rows: number }[],
  indexes: readonly { offset: number; length: number }[][],
  rows: number,
  metadata: Record<string, string>,
): Uint8Array {
  return thriftStruct((w) => {
    w.i32(1, 1);
    schema(w);
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
            w.struct(3, () => columnMetaData(w, leaves[c]!, chunk, start));
            w.i64(4, indexes[g]![c]!.offset).i32(5, indexes[g]![c]!.length);
          });
        });
        w.i64(2, uncompressed).i64(3, group.rows).i64(5, group.placed[0]!.start).i64(6, compressed).i16(7, g);
      });
    const entries = Object.entries(metadata);
    w.list(5, LIST_OF.struct, entries.length);
    for (const [key, value] of entries) w.body(() => w.string(1, key).string(2, value));
    w.string(6, "geochunks");
    w.list(7, LIST_OF.struct, leaves.length);
    for (let i = 0; i < leaves.length; i++) w.body(() => w.struct(1, () => {}));
  });
}

/** A column chunk's ColumnMetaData fields, with its chunk statistics. */
function columnMetaData(w: ThriftWriter, column: FooterColumn, chunk: ColumnChunk, start: number): void {
  w.i32(1, column.physical);
  w.list(2, LIST_OF.i32, chunk.encodings.length);
  for (const e of chunk.encodings) w.int(e);
  const path = column.path ?? [column.name];
  w.list(3, LIST_OF.binary, path.length);
  for (const part of path) w.raw(UTF8.encode(part));
  w.i32(4, ZSTD).i64(5, chunk.rows).i64(6, chunk.uncompressed).i64(7, chunk.compressed);
  w.i64(9, start + chunk.dictionaryBytes);
  if (chunk.dictionaryBytes > 0) w.i64(11, start);
  if (chunk.statistics === false) return;
  w.struct(12, () => {
    if (chunk.legacyStats && chunk.min && chunk.max) w.binary(1, chunk.max).binary(2, chunk.min);
    w.i64(3, chunk.nulls);
    if (chunk.min && chunk.max) w.binary(5, chunk.max).binary(6, chunk.min).bool(7, true).bool(8, true);
  });
}
