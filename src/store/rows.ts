/** Arrow tables of the store back into plain rows. */
import type { Table, Type } from "apache-arrow";
import type { Bbox } from "./geo.js";
import type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "./schema.js";

type Plain = Record<string, unknown>;

/**
 * Arrow's type id of timestamps (`Type.Timestamp`), written out so that this module, which the
 * query's selection loads, imports Arrow for its types only and does not load it.
 */
const TIMESTAMP_TYPE: Type.Timestamp = 10;

/** Column values as plain JS, in row order; nested values as plain objects and arrays. */
function plainRows(table: Table): Plain[] {
  const out: Plain[] = [];
  for (let i = 0; i < table.numRows; i++) out.push({});
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name);
    if (!column) continue;
    let i = 0;
    if (field.type.typeId === TIMESTAMP_TYPE) {
      // Arrow JS turns timestamps into float milliseconds; read the exact int64 values instead.
      for (const data of column.data) {
        const values = (data.values as BigInt64Array).subarray(data.offset, data.offset + data.length);
        for (const value of values) out[i++]![field.name] = value;
      }
      continue;
    }
    for (const value of column) out[i++]![field.name] = plain(value);
  }
  return out;
}

const num = (v: unknown): number => (typeof v === "bigint" ? Number(v) : (v as number));
const bbox = (v: unknown): Bbox => {
  const b = v as Bbox;
  return { xmin: b.xmin, ymin: b.ymin, xmax: b.xmax, ymax: b.ymax };
};
const numbers = (v: unknown): number[] => Array.from(v as Iterable<unknown>, num);
const bytes = (v: unknown): Uint8Array => (v == null ? new Uint8Array() : new Uint8Array(v as Uint8Array));

/** Arrow nested values (struct rows, list vectors) as plain objects and arrays. */
function plain(v: unknown): unknown {
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function" && !Array.isArray(v)) {
    const json = (v as { toJSON(): unknown }).toJSON();
    return Array.isArray(json) ? json.map(plain) : json;
  }
  return Array.isArray(v) ? v.map(plain) : v;
}

const nullableNumber = (v: unknown): number | null => (v == null ? null : num(v));

/** The granule's `attrs` JSON object; {} when absent or not an object. */
function parseAttrs(v: unknown): Record<string, string | number> {
  if (typeof v !== "string") return {};
  const parsed = JSON.parse(v) as unknown;
  return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, string | number>) : {};
}

/**
 * A granule row from plain values, as both Arrow (after {@link plain}) and DuckDB give them.
 * Times are bigint nanoseconds; a missing geometry becomes empty.
 */
export function granuleFromPlain(r: Plain): GranuleRow {
  return {
    granule_id: r.granule_id as string,
    url: r.url as string,
    size: num(r.size),
    etag: (r.etag as string | null) ?? null,
    mtime: (r.mtime as number | null) ?? null,
    product: r.product as string,
    release: r.release as string,
    orbit: nullableNumber(r.orbit),
    track: nullableNumber(r.track),
    cycle: nullableNumber(r.cycle),
    region: nullableNumber(r.region),
    attrs: parseAttrs(r.attrs),
    time_start: r.time_start as bigint,
    time_end: r.time_end as bigint,
    bbox: bbox(r.bbox),
    geometry: bytes(r.geometry),
    // Parts written before the column existed have none: the row then has no such key.
    ...(r.hierarchy == null ? {} : { hierarchy: r.hierarchy as string }),
  };
}

/** An array row from plain values. */
export function arrayFromPlain(r: Plain): ArrayRow {
  return {
    granule_id: r.granule_id as string,
    path: r.path as string,
    dtype: r.dtype as string,
    shape: r.shape == null ? [] : numbers(r.shape),
    chunk_shape: r.chunk_shape == null ? null : numbers(r.chunk_shape),
    filters: r.filters as string,
    fill_value: r.fill_value as string,
    attrs: r.attrs as string,
  };
}

/** Entry `i` of a chunk row's `ref_checksums` (null for parts written before the column, or not recorded). */
function checksumAt(checksums: unknown, i: number): number | null {
  if (checksums == null) return null;
  const value = (checksums as ArrayLike<unknown>)[i];
  return value == null ? null : Number(value);
}

/** A chunk row from plain values; missing cells become an empty list. */
export function chunkFromPlain(r: Plain): ChunkRow {
  return {
    chunk_id: r.chunk_id as string,
    granule_id: r.granule_id as string,
    beam: r.beam as string,
    beam_kind: (r.beam_kind as string | null) ?? "",
    row_start: num(r.row_start),
    row_count: r.row_count as number,
    parent_start: nullableNumber(r.parent_start),
    parent_count: nullableNumber(r.parent_count),
    time_start: r.time_start as bigint,
    time_end: r.time_end as bigint,
    bbox: bbox(r.bbox),
    geometry: bytes(r.geometry),
    footprint_error: r.footprint_error as number,
    h3_cells: r.h3_cells == null ? [] : Array.from(r.h3_cells as Iterable<bigint>),
    refs: (r.refs as Plain[]).map((ref, i): ChunkRefRow => {
      const checksum = checksumAt(r.ref_checksums, i);
      return {
        path: ref.path as string,
        chunk_start: num(ref.chunk_start),
        col_start: ref.col_start == null ? 0 : num(ref.col_start),
        offset: num(ref.offset),
        size: num(ref.size),
        filter_mask: num(ref.filter_mask),
        ...(checksum === null ? {} : { checksum }),
      };
    }),
  };
}

/** Granule rows of a `granules` part. */
export function granuleRows(table: Table): GranuleRow[] {
  return plainRows(table).map(granuleFromPlain);
}

/** Array rows of an `arrays` part. */
export function arrayRows(table: Table): ArrayRow[] {
  return plainRows(table).map(arrayFromPlain);
}

/** Chunk rows of a `chunks` part. */
export function chunkRows(table: Table): ChunkRow[] {
  return plainRows(table).map(chunkFromPlain);
}
