/**
 * The store's tables as the Parquet encoder (parquet/table.ts) writes them: each column's type and
 * how a row gives its value, in the order and with the types the Arrow tables of the store's first
 * writer had (apache-arrow and parquet-wasm, which the index path no longer loads), and each table's
 * `ARROW:schema` as that writer stored it, so that Arrow readers (parquet-wasm's, for compaction)
 * get the same Arrow types back (test/store/part-tables.test.ts holds both writers' files equal).
 */
import type { TableColumn } from "../parquet/table.js";
import type { Bbox } from "./geo.js";
import type { ArrayRow, ChunkCellRow, ChunkRefRow, ChunkRow, GranuleRow } from "./schema.js";

const bboxFields = (["xmin", "ymin", "xmax", "ymax"] as const).map((k) => ({
  name: k,
  type: "float64" as const,
  get: (b: Bbox) => b[k],
}));

/** Columns of the `granules` table. */
export const GRANULES_COLUMNS: readonly TableColumn<GranuleRow>[] = [
  { kind: "value", name: "granule_id", type: "utf8", get: (r) => r.granule_id },
  { kind: "value", name: "url", type: "utf8", get: (r) => r.url },
  { kind: "value", name: "size", type: "int64", get: (r) => r.size },
  { kind: "value", name: "etag", type: "utf8", get: (r) => r.etag },
  { kind: "value", name: "mtime", type: "float64", get: (r) => r.mtime },
  { kind: "value", name: "product", type: "utf8", get: (r) => r.product },
  { kind: "value", name: "release", type: "utf8", get: (r) => r.release },
  { kind: "value", name: "orbit", type: "int32", get: (r) => r.orbit },
  { kind: "value", name: "track", type: "int32", get: (r) => r.track },
  { kind: "value", name: "cycle", type: "int16", get: (r) => r.cycle },
  { kind: "value", name: "region", type: "int16", get: (r) => r.region },
  { kind: "value", name: "attrs", type: "utf8", get: (r) => JSON.stringify(r.attrs) },
  { kind: "value", name: "time_start", type: "timestamp_ns_utc", get: (r) => r.time_start },
  { kind: "value", name: "time_end", type: "timestamp_ns_utc", get: (r) => r.time_end },
  { kind: "struct", name: "bbox", fields: bboxFields, get: (r) => r.bbox },
  { kind: "value", name: "geometry", type: "binary", get: (r) => r.geometry },
  { kind: "value", name: "hierarchy", type: "utf8", get: (r) => r.hierarchy ?? null },
];

/** Columns of the `arrays` table. */
export const ARRAYS_COLUMNS: readonly TableColumn<ArrayRow>[] = [
  { kind: "value", name: "granule_id", type: "utf8", get: (r) => r.granule_id },
  { kind: "value", name: "path", type: "utf8", get: (r) => r.path },
  { kind: "value", name: "dtype", type: "utf8", get: (r) => r.dtype },
  { kind: "list", name: "shape", type: "int64", get: (r) => r.shape },
  { kind: "list", name: "chunk_shape", type: "int64", get: (r) => r.chunk_shape },
  { kind: "value", name: "filters", type: "utf8", get: (r) => r.filters },
  { kind: "value", name: "fill_value", type: "utf8", get: (r) => r.fill_value },
  { kind: "value", name: "attrs", type: "utf8", get: (r) => r.attrs },
];

const refFields = [
  { name: "path", type: "utf8" as const, get: (f: ChunkRefRow) => f.path },
  { name: "chunk_start", type: "int64" as const, get: (f: ChunkRefRow) => f.chunk_start },
  { name: "col_start", type: "int32" as const, get: (f: ChunkRefRow) => f.col_start },
  { name: "offset", type: "int64" as const, get: (f: ChunkRefRow) => f.offset },
  { name: "size", type: "int64" as const, get: (f: ChunkRefRow) => f.size },
  { name: "filter_mask", type: "uint32" as const, get: (f: ChunkRefRow) => f.filter_mask },
];

/** Columns of the `chunks` table (GeoParquet: `geometry`, covered by `bbox`). */
export const CHUNKS_COLUMNS: readonly TableColumn<ChunkRow>[] = [
  { kind: "value", name: "chunk_id", type: "utf8", get: (r) => r.chunk_id },
  { kind: "value", name: "granule_id", type: "utf8", get: (r) => r.granule_id },
  { kind: "value", name: "beam", type: "utf8", get: (r) => r.beam },
  { kind: "value", name: "beam_kind", type: "utf8", get: (r) => r.beam_kind },
  { kind: "value", name: "row_start", type: "int64", get: (r) => r.row_start },
  { kind: "value", name: "row_count", type: "int32", get: (r) => r.row_count },
  { kind: "value", name: "parent_start", type: "int64", get: (r) => r.parent_start },
  { kind: "value", name: "parent_count", type: "int32", get: (r) => r.parent_count },
  { kind: "value", name: "time_start", type: "timestamp_ns_utc", get: (r) => r.time_start },
  { kind: "value", name: "time_end", type: "timestamp_ns_utc", get: (r) => r.time_end },
  { kind: "struct", name: "bbox", fields: bboxFields, get: (r) => r.bbox },
  { kind: "value", name: "geometry", type: "binary", get: (r) => r.geometry },
  { kind: "value", name: "footprint_error", type: "float64", get: (r) => r.footprint_error },
  { kind: "list", name: "h3_cells", type: "uint64", get: (r) => r.h3_cells },
  { kind: "list-struct", name: "refs", fields: refFields, get: (r) => r.refs },
  // Beside `refs` rather than inside its struct, so parts written before it keep one refs type.
  {
    kind: "list",
    name: "ref_checksums",
    type: "uint32",
    optionalItems: true,
    get: (r) => r.refs.map((f) => f.checksum ?? null),
  },
];

/** Columns of the `chunk_cells` table. */
export const CELLS_COLUMNS: readonly TableColumn<ChunkCellRow>[] = [
  { kind: "value", name: "h3_cell", type: "uint64", get: (r) => r.h3_cell },
  { kind: "value", name: "chunk_id", type: "utf8", get: (r) => r.chunk_id },
];

/**
 * Each table's `ARROW:schema` file metadata (base64 of its Arrow IPC schema message) as the Arrow
 * writer stored it: Utf8 and Binary columns, nanosecond timestamps of time zone "UTC", list items
 * named `item`, every top-level field nullable.
 */
export const ARROW_SCHEMAS = {
  granules:
    "/////4QEAAAQAAAAAAAKAAwACgAJAAQACgAAABAAAAAAAQQACAAIAAAABAAIAAAABAAAABEAAAAkBAAA7AMAALADAACEAwAA" +
    "TAMAABADAADkAgAAsAIAAHwCAABIAgAAFAIAAOgBAACgAQAAYAEAAGQAAAA0AAAABAAAADD8//8UAAAADAAAAAAAAQUMAAAA" +
    "AAAAACD8//8JAAAAaGllcmFyY2h5AAAAXPz//xQAAAAMAAAAAAABBAwAAAAAAAAATPz//wgAAABnZW9tZXRyeQAAAACI/P//" +
    "JAAAAAwAAAAAAAEN3AAAAAQAAACoAAAAaAAAADgAAAAIAAAAiPz//3z///8QAAAAFAAAAAAAAAMQAAAAav3//wAAAgAAAAAA" +
    "BAAAAHltYXgAAAAAqP///xAAAAAUAAAAAAAAAxAAAACW/f//AAACAAAAAAAEAAAAeG1heAAAAADU////EAAAABQAAAAAAAAD" +
    "EAAAAML9//8AAAIAAAAAAAQAAAB5bWluAAAAABAAFAAQAAAADwAEAAAACAAQAAAAEAAAABQAAAAAAAADEAAAAP79//8AAAIA" +
    "AAAAAAQAAAB4bWluAAAAAAQAAABiYm94AAAAAID9//8UAAAADAAAAAAAAQocAAAAAAAAAMT///8IAAAAAAADAAMAAABVVEMA" +
    "CAAAAHRpbWVfZW5kAAAAALz9//8cAAAADAAAAAAAAQokAAAAAAAAAAgADAAKAAQACAAAAAgAAAAAAAMAAwAAAFVUQwAKAAAA" +
    "dGltZV9zdGFydAAAAP7//xQAAAAMAAAAAAABBQwAAAAAAAAA8P3//wUAAABhdHRycwAAACj+//8QAAAAGAAAAAAAAQIUAAAA" +
    "hP7//xAAAAAAAAABAAAAAAYAAAByZWdpb24AAFj+//8QAAAAGAAAAAAAAQIUAAAAtP7//xAAAAAAAAABAAAAAAUAAABjeWNs" +
    "ZQAAAIj+//8QAAAAGAAAAAAAAQIUAAAA5P7//yAAAAAAAAABAAAAAAUAAAB0cmFjawAAALj+//8QAAAAGAAAAAAAAQIUAAAA" +
    "FP///yAAAAAAAAABAAAAAAUAAABvcmJpdAAAAOj+//8UAAAADAAAAAAAAQUMAAAAAAAAANj+//8HAAAAcmVsZWFzZQAQ////" +
    "FAAAAAwAAAAAAAEFDAAAAAAAAAAA////BwAAAHByb2R1Y3QAEAAWABAADgAPAAQAAAAIABAAAAAYAAAAHAAAAAAAAQMYAAAA" +
    "AAAGAAgABgAGAAAAAAACAAAAAAAFAAAAbXRpbWUAAAB8////FAAAAAwAAAAAAAEFDAAAAAAAAABs////BAAAAGV0YWcAAAAA" +
    "pP///xgAAAAgAAAAAAABAhwAAAAIAAwABAALAAgAAABAAAAAAAAAAQAAAAAEAAAAc2l6ZQAAAADc////FAAAAAwAAAAAAAEF" +
    "DAAAAAAAAADM////AwAAAHVybAAQABQAEAAOAA8ABAAAAAgAEAAAABgAAAAMAAAAAAABBRAAAAAAAAAABAAEAAQAAAAKAAAA" +
    "Z3JhbnVsZV9pZAAA",
  arrays:
    "/////zACAAAQAAAAAAAKAAwACgAJAAQACgAAABAAAAAAAQQACAAIAAAABAAIAAAABAAAAAgAAADQAQAAlAEAAGgBAADwAAAA" +
    "jAAAAGAAAAAwAAAABAAAAGD+//8UAAAADAAAAAAAAQUMAAAAAAAAAFD+//8FAAAAYXR0cnMAAACI/v//FAAAAAwAAAAAAAEF" +
    "DAAAAAAAAAB4/v//CgAAAGZpbGxfdmFsdWUAALT+//8UAAAADAAAAAAAAQUMAAAAAAAAAKT+//8HAAAAZmlsdGVycwDc/v//" +
    "GAAAAAwAAAAAAAEMQAAAAAEAAAAIAAAA0P7//6D///8QAAAAGAAAAAAAAAIUAAAAkP///0AAAAAAAAABAAAAAAQAAABpdGVt" +
    "AAAAAAsAAABjaHVua19zaGFwZQA8////GAAAAAwAAAAAAAEMWAAAAAEAAAAYAAAAMP///xAAFAAQAAAADwAEAAAACAAQAAAA" +
    "GAAAACAAAAAAAAACHAAAAAgADAAEAAsACAAAAEAAAAAAAAABAAAAAAQAAABpdGVtAAAAAAUAAABzaGFwZQAAALD///8UAAAA" +
    "DAAAAAAAAQUMAAAAAAAAAKD///8FAAAAZHR5cGUAAADY////FAAAAAwAAAAAAAEFDAAAAAAAAADI////BAAAAHBhdGgAAAAA" +
    "EAAUABAADgAPAAQAAAAIABAAAAAYAAAADAAAAAAAAQUQAAAAAAAAAAQABAAEAAAACgAAAGdyYW51bGVfaWQAAA==",
  chunks:
    "/////1AGAAAQAAAAAAAKAAwACgAJAAQACgAAABAAAAAAAQQACAAIAAAABAAIAAAABAAAABAAAADwBQAAsAUAAIQFAABUBQAA" +
    "FAUAANwEAACgBAAAZAQAABwEAADcAwAAyAIAAJgCAABgAgAA+AEAAGgAAAAEAAAAYPr//xgAAAAMAAAAAAABDDwAAAABAAAA" +
    "CAAAAFT6//+A+v//EAAAABQAAAAAAAECEAAAABL+//8gAAAAAAAAAAQAAABpdGVtAAAAAA0AAAByZWZfY2hlY2tzdW1zAAAA" +
    "wPr//xgAAAAMAAAAAAABDHABAAABAAAACAAAALT6//9M/f//LAAAAAwAAAAAAAANRAEAAAYAAAAUAQAA3AAAAKQAAABwAAAA" +
    "PAAAAAgAAADo+v//gP3//xAAAAAUAAAAAAAAAhAAAACm/v//IAAAAAAAAAALAAAAZmlsdGVyX21hc2sAsP3//xAAAAAYAAAA" +
    "AAAAAhQAAAAA/P//QAAAAAAAAAEAAAAABAAAAHNpemUAAAAA4P3//xAAAAAYAAAAAAAAAhQAAAAw/P//QAAAAAAAAAEAAAAA" +
    "BgAAAG9mZnNldAAAEP7//xAAAAAYAAAAAAAAAhQAAABg/P//IAAAAAAAAAEAAAAACQAAAGNvbF9zdGFydAAAAET+//8QAAAA" +
    "GAAAAAAAAAIUAAAAlPz//0AAAAAAAAABAAAAAAsAAABjaHVua19zdGFydAB4/v//FAAAAAwAAAAAAAAFDAAAAAAAAAD8+///" +
    "BAAAAHBhdGgAAAAABAAAAGl0ZW0AAAAABAAAAHJlZnMAAAAATPz//xgAAAAMAAAAAAABDEQAAAABAAAACAAAAED8//+c/v//" +
    "GAAAABwAAAAAAAACGAAAAAAABgAIAAQABgAAAEAAAAAAAAAABAAAAGl0ZW0AAAAACAAAAGgzX2NlbGxzAAAAALD8//8QAAAA" +
    "FAAAAAAAAQMQAAAAzv7//wAAAgAAAAAADwAAAGZvb3RwcmludF9lcnJvcgDk/P//FAAAAAwAAAAAAAEEDAAAAAAAAADU/P//" +
    "CAAAAGdlb21ldHJ5AAAAABD9//8kAAAADAAAAAAAAQ30AAAABAAAALgAAAB4AAAAOAAAAAgAAAAQ/f//qP///xAAAAAUAAAA" +
    "AAAAAxAAAABa////AAACAAAAAAAEAAAAeW1heAAAAADU////EAAAABQAAAAAAAADEAAAAIb///8AAAIAAAAAAAQAAAB4bWF4" +
    "AAAAABAAFAAQAAAADwAEAAAACAAQAAAAEAAAABQAAAAAAAADEAAAAML///8AAAIAAAAAAAQAAAB5bWluAAAAABAAFgAQAAAA" +
    "DwAEAAAACAAQAAAAGAAAABwAAAAAAAADGAAAAAAABgAIAAYABgAAAAAAAgAAAAAABAAAAHhtaW4AAAAABAAAAGJib3gAAAAA" +
    "IP7//xQAAAAMAAAAAAABChwAAAAAAAAAxP///wgAAAAAAAMAAwAAAFVUQwAIAAAAdGltZV9lbmQAAAAAXP7//xwAAAAMAAAA" +
    "AAABCiQAAAAAAAAACAAMAAoABAAIAAAACAAAAAAAAwADAAAAVVRDAAoAAAB0aW1lX3N0YXJ0AACg/v//EAAAABgAAAAAAAEC" +
    "FAAAAFz///8gAAAAAAAAAQAAAAAMAAAAcGFyZW50X2NvdW50AAAAANj+//8QAAAAGAAAAAAAAQIUAAAAlP///0AAAAAAAAAB" +
    "AAAAAAwAAABwYXJlbnRfc3RhcnQAAAAAEP///xAAAAAYAAAAAAABAhQAAADM////IAAAAAAAAAEAAAAACQAAAHJvd19jb3Vu" +
    "dAAAAET///8YAAAAIAAAAAAAAQIcAAAACAAMAAQACwAIAAAAQAAAAAAAAAEAAAAACQAAAHJvd19zdGFydAAAAID///8UAAAA" +
    "DAAAAAAAAQUMAAAAAAAAAHD///8JAAAAYmVhbV9raW5kAAAArP///xQAAAAMAAAAAAABBQwAAAAAAAAAnP///wQAAABiZWFt" +
    "AAAAANT///8UAAAADAAAAAAAAQUMAAAAAAAAAMT///8KAAAAZ3JhbnVsZV9pZAAAEAAUABAADgAPAAQAAAAIABAAAAAYAAAA" +
    "DAAAAAAAAQUQAAAAAAAAAAQABAAEAAAACAAAAGNodW5rX2lkAAAAAA==",
  chunk_cells:
    "/////7wAAAAQAAAAAAAKAAwACgAJAAQACgAAABAAAAAAAQQACAAIAAAABAAIAAAABAAAAAIAAABYAAAAFAAAABAAFAAQAA4A" +
    "DwAEAAAACAAQAAAAGAAAAAwAAAAAAAEFEAAAAAAAAAAEAAQABAAAAAgAAABjaHVua19pZAAAAAAQABYAEAAOAA8ABAAAAAgA" +
    "EAAAABgAAAAcAAAAAAABAhgAAAAAAAYACAAEAAYAAABAAAAAAAAAAAcAAABoM19jZWxsAA==",
} as const;
