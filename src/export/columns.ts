/**
 * Reading result record batches cell by cell for the row-oriented writers (GeoJSON, CSV,
 * FlatGeobuf, GeoPackage): one typed reader per column, the WKB point of each row, and the text
 * forms every text format shares (ISO 8601 times, shortest float32 digits).
 */
import {
  type Data,
  type DataType,
  type Field,
  type RecordBatch,
  type Schema,
  TimeUnit,
  Type,
} from "apache-arrow";
import { InvalidQueryError } from "../errors.js";

/**
 * How a column's values are typed on output. `time` values are nanoseconds since the Unix epoch
 * (UTC) as bigint; `int64` values are bigint; `float32` values are the float32 widened to a number.
 */
export type ColumnKind =
  | "float64"
  | "float32"
  | "int8"
  | "int16"
  | "int32"
  | "uint8"
  | "uint16"
  | "uint32"
  | "int64"
  | "bool"
  | "string"
  | "time"
  /** A list column (GEDI `rh`, ATL08 `h_canopy_20m`): each cell the JSON text of its array, e.g. `[1.5,null,2]`. */
  | "json";

/** One cell: null for a null. */
export type Cell = number | bigint | string | boolean | null;

/** A non-geometry column of a result: its name, output kind and a reader by row. */
export interface PropertyColumn {
  name: string;
  kind: ColumnKind;
  /** The cell at `row` of the batch the column was read from. */
  read: (row: number) => Cell;
}

/** Options shared by the row-oriented writers. */
export interface RowWriterOptions {
  /** WKB point column (not written as a property). Default "geometry". */
  geometryColumn?: string;
  /** Schema whose columns are declared when there are no batches at all (a valid empty file). */
  emptySchema?: Schema;
}

/** Default name of the WKB geometry column. */
export const DEFAULT_GEOMETRY_COLUMN = "geometry";

/** The output kind of an Arrow type; throws InvalidQueryError for a type no format here can hold. */
export function kindOf(name: string, type: DataType): ColumnKind {
  switch (type.typeId) {
    case Type.Float:
    case Type.Float16:
    case Type.Float32:
    case Type.Float64:
      return (type as DataType & { precision: number }).precision === 2 ? "float64" : "float32";
    case Type.Int:
    case Type.Int8:
    case Type.Int16:
    case Type.Int32:
    case Type.Int64:
    case Type.Uint8:
    case Type.Uint16:
    case Type.Uint32:
    case Type.Uint64:
      return intKind(type as DataType & { bitWidth: number; isSigned: boolean });
    case Type.Bool:
      return "bool";
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary:
      return "string";
    case Type.Timestamp:
    case Type.TimestampSecond:
    case Type.TimestampMillisecond:
    case Type.TimestampMicrosecond:
    case Type.TimestampNanosecond:
      return "time";
    case Type.List:
    case Type.FixedSizeList: {
      const element = kindOf(name, (type as DataType & { children: Field[] }).children[0]!.type);
      if (element === "json") throw new InvalidQueryError(`column ${name}: lists of lists cannot be written`);
      return "json";
    }
    default:
      throw new InvalidQueryError(`column ${name}: type ${type} cannot be written to this format`);
  }
}

function intKind(type: { bitWidth: number; isSigned: boolean }): ColumnKind {
  if (type.bitWidth === 64) return "int64";
  const kind = `${type.isSigned ? "int" : "uint"}${type.bitWidth}`;
  return kind as ColumnKind;
}

/** Nanoseconds per unit of each Arrow time unit. */
const NS_PER_UNIT: Record<number, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

/** Fields of `schema` other than the geometry column. */
export function propertyFields(
  schema: Pick<Schema, "fields">,
  geometryColumn = DEFAULT_GEOMETRY_COLUMN,
): Field[] {
  return schema.fields.filter((f) => f.name !== geometryColumn);
}

/** Readers for every non-geometry column of `batch`, in schema order. */
export function propertyColumns(
  batch: RecordBatch,
  geometryColumn = DEFAULT_GEOMETRY_COLUMN,
): PropertyColumn[] {
  return propertyFields(batch.schema, geometryColumn).map((field) => {
    const kind = kindOf(field.name, field.type);
    const vector = batch.getChild(field.name)!;
    const data = vector.data[0]!;
    return { name: field.name, kind, read: cellReader(kind, data, (row) => vector.get(row)) };
  });
}

function cellReader(kind: ColumnKind, data: Data, get: (row: number) => unknown): (row: number) => Cell {
  const values = data.values as ArrayLike<number | bigint>;
  const valid = data.nullCount > 0 ? (row: number) => data.getValid(row) : () => true;
  if (kind === "json") return listReader(data, valid);
  if (kind === "string") return (row) => (valid(row) ? String(get(row)) : null);
  if (kind === "bool") return (row) => (valid(row) ? Boolean(get(row)) : null);
  if (kind === "time") {
    const scale = NS_PER_UNIT[(data.type as DataType & { unit: number }).unit] ?? 1n;
    return (row) => (valid(row) ? BigInt(values[row]!) * scale : null);
  }
  if (kind === "int64") return (row) => (valid(row) ? BigInt(values[row]!) : null);
  return (row) => (valid(row) ? Number(values[row]!) : null);
}

/**
 * Reader of a list column's cells as JSON array text: numbers as the text formats write them
 * (float32 shortest), null elements and non-finite numbers as null, 64-bit integers exact.
 */
function listReader(data: Data, valid: (row: number) => boolean): (row: number) => Cell {
  const child = data.children[0]!;
  const kind = kindOf("item", child.type);
  const item = cellReader(kind, child, (i) => child.values[i]);
  const offsets = (data.valueOffsets as Int32Array | undefined) ?? undefined;
  const size = (data.type as DataType & { listSize?: number }).listSize ?? 0;
  return (row) => {
    if (!valid(row)) return null;
    const [from, to] = offsets ? [offsets[row]!, offsets[row + 1]!] : [row * size, (row + 1) * size];
    let text = "";
    for (let i = from; i < to; i++) {
      const value = item(i);
      const finite = typeof value !== "number" || Number.isFinite(value);
      const element = value === null || !finite ? "null" : cellText(kind, value)!;
      text +=
        (i === from ? "" : ",") + (kind === "string" || kind === "time" ? JSON.stringify(element) : element);
    }
    return `[${text}]`;
  };
}

/** Reader of the (x, y) = (lon, lat) of each row's WKB point; throws InvalidQueryError for other geometries. */
export function pointReader(batch: RecordBatch, geometryColumn = DEFAULT_GEOMETRY_COLUMN) {
  const vector = batch.getChild(geometryColumn);
  if (!vector) throw new InvalidQueryError(`result has no geometry column ${geometryColumn}`);
  const data = vector.data[0]!;
  const bytes = data.values as Uint8Array;
  const offsets = data.valueOffsets as Int32Array;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (row: number): [number, number] => {
    const at = offsets[row]!;
    const little = bytes[at] === 1;
    if (offsets[row + 1]! - at !== 21 || view.getUint32(at + 1, little) !== 1) {
      throw new InvalidQueryError(`geometry column ${geometryColumn}: row ${row} is not a 2D WKB Point`);
    }
    return [view.getFloat64(at + 5, little), view.getFloat64(at + 13, little)];
  };
}

const NS_PER_S = 1_000_000_000n;

/** ISO 8601 UTC text of nanoseconds since the Unix epoch, with all nine fraction digits. */
export function isoTime(ns: bigint): string {
  let seconds = ns / NS_PER_S;
  let fraction = ns % NS_PER_S;
  if (fraction < 0n) {
    fraction += NS_PER_S;
    seconds -= 1n;
  }
  const text = new Date(Number(seconds) * 1000).toISOString();
  return `${text.slice(0, -5)}.${fraction.toString().padStart(9, "0")}Z`;
}

/**
 * The shortest decimal text that reads back as the same float32 (what h5py and DuckDB print),
 * instead of the 17 digits of its widened double: `84.32156`, not `84.32156372070312`.
 */
export function float32Text(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  for (let digits = 6; digits < 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

/** Text of a cell for the text formats: numbers shortest, times ISO 8601, null as null. */
export function cellText(kind: ColumnKind, value: Cell): string | null {
  if (value === null) return null;
  if (kind === "time") return isoTime(value as bigint);
  if (kind === "float32") return float32Text(value as number);
  return String(value);
}
