/** Query results as plain, JSON-serialisable rows: ISO 8601 times, numbers, no BigInt. */
import { type Data, DataType, type RecordBatch, type Timestamp, TimeUnit } from "apache-arrow";
import { GEOMETRY_COLUMN } from "../result/columns.js";
import { isoFromNs } from "./iso-time.js";

export { isoFromNs } from "./iso-time.js";

/**
 * One result row as a plain object. Times are ISO 8601 UTC strings with nanoseconds
 * (`"2019-06-01T20:28:01.123456789Z"`; `new Date(row.time)` keeps the milliseconds), so rows
 * survive `JSON.stringify` and sort as text in time order. The WKB `geometry` column is left out:
 * `lon` and `lat` are the point. Fill values are `null`.
 */
export interface ResultRow {
  lat: number;
  lon: number;
  time: string;
  granule_id: string;
  /** Product, e.g. "ATL06". */
  product: string;
  beam: string;
  /**
   * The product's columns (ATL06: `h_li`, `track_id`, `rgt`...) and extra variables by column
   * name. 64-bit integers are numbers when they fit exactly (|v| <= 2^53 - 1), else decimal strings;
   * a list column (GEDI `rh`) is an array of such values.
   */
  [column: string]: ResultValue | ResultValue[];
}

/** One value of a result row: a number, a string (times, 64-bit integers past 2^53), or null. */
export type ResultValue = number | string | null;

/** A 64-bit integer as a number when exact, else as a decimal string. */
export function int64Value(value: bigint): number | string {
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : String(value);
}

const NS_PER_UNIT: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

const DECODER = new TextDecoder();

/** Reads row `i` of one column chunk as a JSON value. */
type Reader = (i: number) => ResultValue | ResultValue[];

/** Arrow JS slices value buffers with the data (row 0 is `values[0]`); only the validity bitmap keeps `offset`. */
function readerOf(data: Data): Reader {
  const valid = (i: number) => data.nullCount === 0 || data.getValid(i);
  const type = data.type as DataType;
  if (DataType.isTimestamp(type)) {
    const values = data.values as BigInt64Array;
    const scale = NS_PER_UNIT[(type as Timestamp).unit];
    return (i) => (valid(i) ? isoFromNs(values[i]! * scale) : null);
  }
  if (DataType.isInt(type) && type.bitWidth === 64) {
    const values = data.values as BigInt64Array | BigUint64Array;
    return (i) => (valid(i) ? int64Value(values[i]!) : null);
  }
  if (DataType.isInt(type) || DataType.isFloat(type)) {
    const values = data.values as ArrayLike<number>;
    return (i) => (valid(i) ? values[i]! : null);
  }
  if (DataType.isDictionary(type)) {
    const dictionary = readerOf(data.dictionary!.data[0]!);
    const indices = data.values as ArrayLike<number>;
    return (i) => (valid(i) ? dictionary(indices[i]!) : null);
  }
  if (DataType.isUtf8(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    return (i) => {
      if (!valid(i)) return null;
      return DECODER.decode(bytes.subarray(offsets[i]!, offsets[i + 1]!));
    };
  }
  if (DataType.isList(type) || DataType.isFixedSizeList(type)) {
    const child = data.children[0]!;
    const item = readerOf(child) as (i: number) => ResultValue;
    const offsets = data.valueOffsets as Int32Array | undefined;
    const size = DataType.isFixedSizeList(type) ? type.listSize : 0;
    return (i) => {
      if (!valid(i)) return null;
      const [from, to] = offsets ? [offsets[i]!, offsets[i + 1]!] : [i * size, (i + 1) * size];
      return Array.from({ length: to - from }, (_, k) => item(from + k));
    };
  }
  throw new TypeError(`result column of type ${type} has no plain row form`);
}

/**
 * The rows of one result batch as plain objects, in batch order, with the batch's columns in
 * schema order except `geometry`.
 */
export function batchRows(batch: RecordBatch): ResultRow[] {
  const columns: { name: string; read: Reader }[] = [];
  batch.schema.fields.forEach((field, i) => {
    if (field.name === GEOMETRY_COLUMN) return;
    columns.push({ name: field.name, read: readerOf(batch.data.children[i]!) });
  });
  const rows: ResultRow[] = new Array(batch.numRows);
  for (let r = 0; r < batch.numRows; r++) {
    const row: Record<string, ResultValue | ResultValue[]> = {};
    for (const c of columns) row[c.name] = c.read(r);
    rows[r] = row as ResultRow;
  }
  return rows;
}
