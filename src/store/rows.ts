/** Arrow tables of the store back into plain rows. */
import { DataType, type Table } from "apache-arrow";
import type { Bbox } from "./geo.js";
import type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "./schema.js";

type Plain = Record<string, unknown>;

/** Column values as plain JS, in row order; nested values via their `toJSON`. */
function plainRows(table: Table): Plain[] {
  const out: Plain[] = [];
  for (let i = 0; i < table.numRows; i++) out.push({});
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name);
    if (!column) continue;
    let i = 0;
    if (DataType.isTimestamp(field.type)) {
      // Arrow JS turns timestamps into float milliseconds; read the exact int64 values instead.
      for (const data of column.data) {
        const values = (data.values as BigInt64Array).subarray(data.offset, data.offset + data.length);
        for (const value of values) out[i++]![field.name] = value;
      }
      continue;
    }
    for (const value of column) out[i++]![field.name] = value;
  }
  return out;
}

const num = (v: unknown): number => (typeof v === "bigint" ? Number(v) : (v as number));
const ns = (v: unknown): bigint => v as bigint;
const bbox = (v: unknown): Bbox => {
  const b = (v as { toJSON(): Bbox }).toJSON();
  return { xmin: b.xmin, ymin: b.ymin, xmax: b.xmax, ymax: b.ymax };
};
const numbers = (v: unknown): number[] => Array.from(v as Iterable<unknown>, num);
const bytes = (v: unknown): Uint8Array => v as Uint8Array;

/** Granule rows of a `granules` part. */
export function granuleRows(table: Table): GranuleRow[] {
  return plainRows(table).map((r) => ({
    granule_id: r.granule_id as string,
    url: r.url as string,
    size: num(r.size),
    etag: (r.etag as string | null) ?? null,
    mtime: (r.mtime as number | null) ?? null,
    product: r.product as string,
    release: r.release as string,
    rgt: r.rgt as number,
    cycle: r.cycle as number,
    region: r.region as number,
    sc_orient: r.sc_orient as number,
    time_start: ns(r.time_start),
    time_end: ns(r.time_end),
    bbox: bbox(r.bbox),
    geometry: bytes(r.geometry),
  }));
}

/** Array rows of an `arrays` part. */
export function arrayRows(table: Table): ArrayRow[] {
  return plainRows(table).map((r) => ({
    granule_id: r.granule_id as string,
    path: r.path as string,
    dtype: r.dtype as string,
    shape: numbers(r.shape),
    chunk_shape: r.chunk_shape == null ? null : numbers(r.chunk_shape),
    filters: r.filters as string,
    fill_value: r.fill_value as string,
    attrs: r.attrs as string,
  }));
}

function refRows(v: unknown): ChunkRefRow[] {
  return Array.from(v as Iterable<{ toJSON(): Plain }>, (ref) => {
    const r = ref.toJSON();
    return {
      path: r.path as string,
      chunk_start: num(r.chunk_start),
      offset: num(r.offset),
      size: num(r.size),
      filter_mask: num(r.filter_mask),
    };
  });
}

/** Chunk rows of a `chunks` part. */
export function chunkRows(table: Table): ChunkRow[] {
  return plainRows(table).map((r) => ({
    chunk_id: r.chunk_id as string,
    granule_id: r.granule_id as string,
    beam: r.beam as string,
    spot: r.spot as number,
    strong: r.strong as boolean,
    row_start: num(r.row_start),
    row_count: r.row_count as number,
    time_start: ns(r.time_start),
    time_end: ns(r.time_end),
    bbox: bbox(r.bbox),
    geometry: bytes(r.geometry),
    footprint_error: r.footprint_error as number,
    h3_cells: Array.from(r.h3_cells as Iterable<bigint>),
    refs: refRows(r.refs),
  }));
}
