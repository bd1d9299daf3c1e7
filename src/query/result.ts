/** The query result schema (DESIGN §4) as Arrow record batches. */
import {
  Binary,
  type Data,
  type DataType,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from "apache-arrow";
import type { NumericArray } from "../hdf5/types.js";

/** Columns of one batch of result rows, already filtered to the rows inside the AOI. */
export interface ResultColumns {
  lat: Float64Array;
  lon: Float64Array;
  /** Nanoseconds since the Unix epoch, UTC. */
  time: BigInt64Array;
  granule_id: string;
  beam: string;
  track_id: string;
  rgt: number;
  cycle: number;
  spot: number;
  /** Variables by column name, with a validity mask (1 = valid) where fill values became nulls. */
  vars: { name: string; values: NumericArray; valid?: Uint8Array }[];
}

/** Arrow type of a numeric array. */
export function arrowTypeOf(values: NumericArray): DataType {
  if (values instanceof Float64Array) return new Float64();
  if (values instanceof Float32Array) return new Float32();
  if (values instanceof Int8Array) return new Int8();
  if (values instanceof Int16Array) return new Int16();
  if (values instanceof Int32Array) return new Int32();
  if (values instanceof Uint8Array) return new Uint8();
  if (values instanceof Uint16Array) return new Uint16();
  if (values instanceof Uint32Array) return new Uint32();
  if (values instanceof BigInt64Array) return new Int64();
  return new Uint64();
}

/** Packs a 0/1 byte mask into an Arrow validity bitmap. */
function bitmapOf(valid: Uint8Array): Uint8Array {
  const bits = new Uint8Array((valid.length + 7) >> 3);
  for (let i = 0; i < valid.length; i++) if (valid[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

function repeatedString(value: string, n: number) {
  const bytes = new TextEncoder().encode(value);
  const data = new Uint8Array(bytes.length * n);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    data.set(bytes, i * bytes.length);
    offsets[i + 1] = (i + 1) * bytes.length;
  }
  return makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data });
}

function repeated<T extends Int8Array | Int16Array>(
  Ctor: { new (n: number): T },
  value: number,
  n: number,
): T {
  const out = new Ctor(n);
  out.fill(value);
  return out;
}

/** WKB Points of (lon, lat) pairs, as one Arrow Binary column. */
function wkbPoints(lon: Float64Array, lat: Float64Array) {
  const n = lon.length;
  const data = new Uint8Array(n * 21);
  const view = new DataView(data.buffer);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const at = i * 21;
    data[at] = 1;
    view.setUint32(at + 1, 1, true);
    view.setFloat64(at + 5, lon[i]!, true);
    view.setFloat64(at + 13, lat[i]!, true);
    offsets[i + 1] = at + 21;
  }
  return makeData({ type: new Binary(), length: n, valueOffsets: offsets, data });
}

/** Name of the result's geometry column. */
export const GEOMETRY_COLUMN = "geometry";

/** Builds one record batch of the result schema. Column order is fixed (DESIGN §4), extras before geometry. */
export function resultBatch(c: ResultColumns): RecordBatch {
  const n = c.lat.length;
  const fields: Field[] = [];
  const children: Data[] = [];
  const add = (name: string, type: DataType, data: Data, nullable = false) => {
    fields.push(new Field(name, type, nullable));
    children.push(data);
  };
  add("lat", new Float64(), makeData({ type: new Float64(), length: n, data: c.lat }));
  add("lon", new Float64(), makeData({ type: new Float64(), length: n, data: c.lon }));
  const ts = new Timestamp(TimeUnit.NANOSECOND, "UTC");
  add("time", ts, makeData({ type: ts, length: n, data: c.time }));
  const byName = new Map(c.vars.map((v) => [v.name, v]));
  const addVar = (name: string) => {
    const v = byName.get(name);
    if (!v) return;
    const type = arrowTypeOf(v.values);
    const nullBitmap = v.valid ? bitmapOf(v.valid) : undefined;
    const nullCount = v.valid ? n - v.valid.reduce((s, x) => s + x, 0) : 0;
    add(name, type, makeData({ type, length: n, data: v.values, nullBitmap, nullCount } as never), true);
  };
  addVar("h_li");
  addVar("h_li_sigma");
  addVar("atl06_quality_summary");
  add("track_id", new Utf8(), repeatedString(c.track_id, n));
  add("granule_id", new Utf8(), repeatedString(c.granule_id, n));
  add("beam", new Utf8(), repeatedString(c.beam, n));
  add("rgt", new Int16(), makeData({ type: new Int16(), length: n, data: repeated(Int16Array, c.rgt, n) }));
  add(
    "cycle",
    new Int16(),
    makeData({ type: new Int16(), length: n, data: repeated(Int16Array, c.cycle, n) }),
  );
  add("spot", new Int8(), makeData({ type: new Int8(), length: n, data: repeated(Int8Array, c.spot, n) }));
  addVar("segment_id");
  for (const v of c.vars) {
    if (!["h_li", "h_li_sigma", "atl06_quality_summary", "segment_id"].includes(v.name)) addVar(v.name);
  }
  add(GEOMETRY_COLUMN, new Binary(), wkbPoints(c.lon, c.lat));
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length: n, children, nullCount: 0 });
  return new RecordBatch(schema, struct);
}
