/**
 * FlatGeobuf results: typed columns, one Point feature per row, EPSG:4326, streamed without a
 * spatial index (a packed R-tree needs every feature's box before the first feature is written).
 * The flatgeobuf package writes the header and the features; this module streams them.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { Field, RecordBatch, Schema } from "apache-arrow";
import type { ColumnMeta, HeaderMeta } from "flatgeobuf";
import { buildFeature } from "flatgeobuf/lib/mjs/generic/feature.js";
import { buildHeader } from "flatgeobuf/lib/mjs/generic/featurecollection.js";
import { ColumnType, GeometryType } from "flatgeobuf/lib/mjs/generic.js";
import { writeAtomically } from "./atomic.js";
import {
  type Cell,
  type ColumnKind,
  isoTime,
  kindOf,
  pointReader,
  propertyColumns,
  propertyFields,
  type RowWriterOptions,
} from "./columns.js";

/** FlatGeobuf column type of each output kind. */
const COLUMN_TYPES: Record<ColumnKind, ColumnType> = {
  float64: ColumnType.Double,
  float32: ColumnType.Float,
  int8: ColumnType.Byte,
  int16: ColumnType.Short,
  int32: ColumnType.Int,
  uint8: ColumnType.UByte,
  uint16: ColumnType.UShort,
  uint32: ColumnType.UInt,
  int64: ColumnType.Long,
  bool: ColumnType.Bool,
  string: ColumnType.String,
  time: ColumnType.DateTime,
  json: ColumnType.Json,
};

/** FlatGeobuf magic bytes: "fgb", spec major version 3, "fgb", patch 0. */
const MAGIC = new Uint8Array([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]);

const EPSG_WGS84 = 4326;

function columnMeta(field: Field, type: ColumnType): ColumnMeta {
  return {
    name: field.name,
    type,
    title: null,
    description: null,
    width: -1,
    precision: -1,
    scale: -1,
    nullable: field.nullable,
    unique: false,
    primary_key: false,
  };
}

/** The file header of `schema`'s non-geometry columns, for `featuresCount` features. */
function headerOf(fields: Field[], featuresCount: number, encode = false): HeaderMeta {
  const columns = fields.map((f) => {
    const type = COLUMN_TYPES[kindOf(f.name, f.type)];
    // buildFeature (flatgeobuf 4.5.0) has no case for the one-byte types; its Bool case stores the
    // same byte (DataView.setUint8 wraps -1 to 0xff, which a Byte column reads back as -1).
    const written =
      encode && (type === ColumnType.Byte || type === ColumnType.UByte) ? ColumnType.Bool : type;
    return columnMeta(f, written);
  });
  return {
    geometryType: GeometryType.Point,
    columns,
    envelope: null,
    featuresCount,
    indexNodeSize: 0,
    crs: null,
    title: null,
    description: null,
    metadata: null,
  };
}

function headerBytes(fields: Field[], featuresCount: number): Uint8Array {
  const header = buildHeader(headerOf(fields, featuresCount), EPSG_WGS84);
  const out = new Uint8Array(MAGIC.length + header.length);
  out.set(MAGIC);
  out.set(header, MAGIC.length);
  return out;
}

/** The features of one batch, concatenated. */
function featureBytes(batch: RecordBatch, opts: RowWriterOptions): Uint8Array {
  const header = headerOf(propertyFields(batch.schema, opts.geometryColumn), batch.numRows, true);
  const columns = propertyColumns(batch, opts.geometryColumn);
  const point = pointReader(batch, opts.geometryColumn);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let row = 0; row < batch.numRows; row++) {
    const properties: Record<string, Cell> = {};
    for (const c of columns) {
      const value = c.read(row);
      properties[c.name] =
        value === null
          ? null
          : c.kind === "time"
            ? isoTime(value as bigint)
            : // buildFeature writes a Json column as JSON.stringify of the value: give it the array.
              c.kind === "json"
              ? JSON.parse(value as string)
              : value;
    }
    const [x, y] = point(row);
    // No `parts` or `ends`: buildFeature treats any `parts` array, even empty, as a multi-part
    // geometry and would write a point without coordinates.
    const geometry = { xy: [x, y], type: GeometryType.Point };
    // @ts-expect-error: bigint cells (Long columns) are accepted by buildFeature, not by its IProperties type
    const bytes = buildFeature(geometry, properties, header);
    parts.push(bytes);
    size += bytes.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeFeatures(
  batches: AsyncIterable<RecordBatch>,
  handle: FileHandle,
  opts: RowWriterOptions,
): Promise<{ rows: number; schema?: Schema }> {
  let rows = 0;
  let schema: Schema | undefined;
  for await (const batch of batches) {
    if (!schema) {
      schema = batch.schema;
      // A placeholder count of 1 makes a header of the final size; the count is patched at the end.
      await handle.write(headerBytes(propertyFields(schema, opts.geometryColumn), 1));
    }
    await handle.write(featureBytes(batch, opts));
    rows += batch.numRows;
  }
  return { rows, schema };
}

/**
 * Streams record batches into a FlatGeobuf file at `path` (written under a temporary name,
 * renamed when complete): Point geometries in EPSG:4326, typed columns (Double, Float, Int, Short,
 * Byte, String; `time` as a DateTime ISO 8601 string with nanoseconds), the exact feature count
 * in the header, and no spatial index (streamed).
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder or file cannot be written.
 */
export function writeFlatGeobuf(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: RowWriterOptions = {},
): Promise<number> {
  return writeAtomically(path, async (tmp) => {
    const handle = await open(tmp, "wx");
    try {
      const { rows, schema } = await writeFeatures(batches, handle, opts);
      const fields = propertyFields(schema ?? opts.emptySchema ?? { fields: [] }, opts.geometryColumn);
      const final = headerBytes(fields, rows);
      if (rows > 0 && final.length !== headerBytes(fields, 1).length) {
        throw new Error(`${path}: FlatGeobuf header changed size when its feature count was set`);
      }
      if (rows === 0) await handle.truncate(0);
      await handle.write(final, 0, final.length, 0);
      return rows;
    } finally {
      await handle.close();
    }
  });
}
