/**
 * Result columns of one chunk row's kept rows, from its decoded datasets: picked columns of 2-D
 * datasets, list columns, computed sums, fill values as nulls, and columns of nulls for granules
 * that lack a dataset. `execute.ts` fetches and decodes; this file shapes what it decoded.
 */

import { itemSize, toTypedArray } from "../hdf5/dtype.js";
import type { DecodeSpec, NumericArray } from "../hdf5/types.js";
import type { DatasetSource, FilterValue, ProductProfile, ResultColumn } from "../products/index.js";
import { chosenColumn, datasetPath } from "../products/index.js";
import { castArray, type ResultColumnData } from "../result/columns.js";
import type { ArrayRow } from "../store/schema.js";
import { gather } from "./gather.js";
import type { QueryArrays } from "./variables.js";

/** What shapes a query's result columns: its datasets, product, filters and extra variables. */
export interface ColumnOptions {
  /** The query's datasets and their decode specs. */
  arrays: QueryArrays;
  /** The product's profile: coordinates, result columns and filters. */
  profile: ProductProfile;
  /** The filters to apply and their values, by filter name (only the profile's). */
  filters: Readonly<Record<string, FilterValue>>;
  /**
   * Element types (HDF5 dtype, e.g. "<f4") of extra variables some granules lack: their rows get
   * a column of nulls of this type, so every batch has the same columns.
   */
  missingTypes?: ReadonlyMap<string, string>;
  /** Extra variables that are 2-D datasets read whole: list columns (of nulls where a granule lacks them). */
  listExtras?: ReadonlySet<string>;
}

/** What the column builders need of a chunk row: its decoded datasets, the kept rows, the query. */
export interface ColumnContext {
  /** A dataset's values for every row of the chunk row, by path relative to the row group. */
  get: (path: string) => DecodedVariable | undefined;
  /** Indices (in the chunk row) of the rows the result keeps, ascending. */
  kept: Int32Array;
  opts: ColumnOptions;
}

/** How to decode one dataset of one granule, parsed once from its array row. */
export interface DecodedArray {
  spec: DecodeSpec;
  row: ArrayRow;
  /** Elements per row: 1 for 1-D datasets, k for (N, k). */
  width: number;
  /** Stored contiguously: each ref is a raw run of whole rows (no chunk shape, no filter). */
  contiguous: boolean;
  /** The dataset's numeric `_FillValue` attribute ({@link parseFill}); undefined when it has none. */
  fill: number | undefined;
}

/** Column `column` of row-major values with `width` elements a row (the values themselves when 1-D). */
function columnOf(values: NumericArray, width: number, column: number | undefined): NumericArray {
  if (width === 1) return values;
  const n = values.length / width;
  const out = new (values.constructor as { new (n: number): NumericArray })(n);
  const c = column ?? 0;
  for (let i = 0; i < n; i++) out[i] = values[i * width + c]!;
  return out;
}

/** A `--vars` name: a dataset path, and a column of a 2-D dataset after a colon (`rh:25`). */
export interface ParsedVar {
  path: string;
  column?: number;
}

/** Splits a `--vars` name into its dataset path and column (`rh:25` is column 25 of `rh`). */
export function parseVar(variable: string): ParsedVar {
  const match = /^(.*):(\d+)$/.exec(variable);
  return match ? { path: match[1]!, column: Number(match[2]) } : { path: variable };
}

/** Column name of a variable: its last path component, with its column appended (`rh:25` is `rh25`). */
export function columnName(variable: string): string {
  const { path, column } = parseVar(variable);
  return `${path.split("/").pop()!}${column ?? ""}`;
}

/** The numeric `_FillValue` attribute of a dataset's array row; undefined when it has none. */
export function parseFill(a: Pick<DecodedArray, "row">): number | undefined {
  const attrs = JSON.parse(a.row.attrs) as Record<string, unknown>;
  const fill = attrs._FillValue;
  const value = Array.isArray(fill) ? fill[0] : fill;
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : undefined;
  return number === undefined || Number.isNaN(number) ? undefined : number;
}

/**
 * Which elements are no data: equal to the dataset's `_FillValue` (any numeric type; float32
 * compared as float32) or, in a float dataset, to one of the product's {@link ProductProfile.noData}.
 * Undefined when nothing can be.
 */
function fillTest(
  a: DecodedArray,
  values: NumericArray,
  profile: ProductProfile,
): ((v: number | bigint) => boolean) | undefined {
  const { fill } = a;
  const isFloat = values instanceof Float32Array || values instanceof Float64Array;
  const narrow = (x: number) => (values instanceof Float32Array ? Math.fround(x) : x);
  const nodata: (number | bigint)[] = [];
  if (fill !== undefined) {
    if (isFloat) nodata.push(narrow(fill));
    else if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
      if (Number.isSafeInteger(fill)) nodata.push(BigInt(fill));
    } else nodata.push(fill);
  }
  if (isFloat) for (const value of profile.noData ?? []) nodata.push(narrow(value));
  if (nodata.length === 0) return undefined;
  if (nodata.length === 1) {
    const only = nodata[0]!;
    return (v) => v === only;
  }
  return (v) => nodata.includes(v);
}

/** One dataset decoded for every row of a chunk row. */
export interface DecodedVariable {
  a: DecodedArray;
  values: NumericArray;
  /** Rows that have a value (1), for broadcast parent-rate values; absent when all have. */
  valid?: Uint8Array;
}

/**
 * A dataset source's values for every row of the chunk row (its chosen column of a 2-D dataset);
 * undefined when the granule lacks it.
 */
export function sourceValues(
  source: DatasetSource,
  get: (path: string) => DecodedVariable | undefined,
  filters: Readonly<Record<string, FilterValue>>,
): DecodedVariable | undefined {
  const decoded = get(source.path);
  if (!decoded) return undefined;
  return {
    values: columnOf(decoded.values, decoded.a.width, chosenColumn(source.column, filters)),
    a: decoded.a,
    valid: decoded.valid,
  };
}

/**
 * Values at the kept rows (`width` elements a row), with a validity mask per element where fill
 * values become nulls and per row where a broadcast value has no parent row.
 */
export function keptValues(
  v: DecodedVariable,
  kept: Int32Array,
  profile: ProductProfile,
  width = 1,
): { values: NumericArray; valid?: Uint8Array } {
  const { values, a } = v;
  const n = kept.length * width;
  const picked = gather(values, kept, width);
  const isFill = fillTest(a, picked, profile);
  if (!isFill && !v.valid) return { values: picked };
  const valid = new Uint8Array(n).fill(1);
  if (isFill) for (let i = 0; i < n; i++) if (isFill(picked[i]!)) valid[i] = 0;
  if (v.valid) {
    for (let j = 0; j < kept.length; j++) if (!v.valid[kept[j]!]) valid.fill(0, j * width, (j + 1) * width);
  }
  return { values: picked, valid };
}

/** Row by row sum of `inputs` as float64, null where any input is null. */
function sumOf(
  inputs: readonly { values: NumericArray; valid?: Uint8Array }[],
  n: number,
): { values: Float64Array; valid?: Uint8Array } {
  const values = new Float64Array(n);
  let valid: Uint8Array | undefined;
  for (const input of inputs) {
    for (let i = 0; i < n; i++) values[i]! += Number(input.values[i]!);
    if (!input.valid) continue;
    valid ??= new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) if (!input.valid[i]) valid[i] = 0;
  }
  return { values, valid };
}

/** A column of n nulls of an HDF5 dtype. */
function nullColumn(
  name: string,
  dtype: string,
  n: number,
  metadata?: Record<string, string>,
): ResultColumnData {
  return {
    name,
    values: toTypedArray(new Uint8Array(n * itemSize(dtype)), dtype),
    valid: new Uint8Array(n),
    metadata,
  };
}

/** numpy dtypes of the numeric column types, for columns of nulls. */
const DTYPES: Readonly<Record<string, string>> = {
  float64: "<f8",
  float32: "<f4",
  int8: "|i1",
  int16: "<i2",
  int32: "<i4",
  int64: "<i8",
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
};

/** The numpy dtype of a column type ("<f4" for float32); undefined for utf8. */
export function dtypeOfColumn(type: ResultColumn["type"]): string | undefined {
  return DTYPES[type];
}

/** A list column of n null rows with `width` elements of an HDF5 dtype (for a granule that lacks it). */
function nullList(name: string, dtype: string, n: number, width: number): ResultColumnData {
  return {
    name,
    values: toTypedArray(new Uint8Array(n * width * itemSize(dtype)), dtype),
    width,
    rowValid: new Uint8Array(n),
  };
}

/** Elements per row of a dataset in the store, from any granule (2-D list columns). */
function widthOf(opts: ColumnOptions, path: string): number {
  const paths = new Set(opts.profile.beams.map((beam) => datasetPath(opts.profile, beam, path)));
  for (const row of opts.arrays.rows()) {
    if (paths.has(row.path)) return row.shape.slice(1).reduce((x, y) => x * y, 1);
  }
  return 1;
}

/** One profile column of a chunk row's kept rows. */
export function profileColumn(column: ResultColumn, ctx: ColumnContext): ResultColumnData | undefined {
  const { get, kept, opts } = ctx;
  const n = kept.length;
  const metadata = column.metadata?.(opts.filters);
  const dtype = dtypeOfColumn(column.type);
  const source = column.source;
  if (source.kind === "beam") throw new Error(`internal: ${column.name} is a per-beam column`);
  if (source.kind === "sum") {
    const inputs = source.of.map((input) => sourceValues(input, get, opts.filters));
    if (inputs.some((input) => input === undefined)) return nullColumn(column.name, "<f8", n, metadata);
    const kepts = inputs.map((input) => keptValues(input!, kept, opts.profile));
    const sum = sumOf(kepts, n);
    const values = column.type === "float64" ? sum.values : castArray(sum.values, column.type as "float32");
    return { name: column.name, values, valid: sum.valid, metadata };
  }
  if (column.list) {
    const decoded = get(source.path);
    if (!decoded)
      return dtype === undefined ? undefined : nullList(column.name, dtype, n, widthOf(opts, source.path));
    const { width } = decoded.a;
    const { values, valid } = keptValues({ a: decoded.a, values: decoded.values }, kept, opts.profile, width);
    const type = column.type === "utf8" ? undefined : column.type;
    return {
      name: column.name,
      values: type ? castArray(values, type) : values,
      width,
      valid,
      rowValid: decoded.valid && rowsOf(decoded.valid, kept),
      metadata,
    };
  }
  const found = sourceValues(source, get, opts.filters);
  if (!found) return dtype === undefined ? undefined : nullColumn(column.name, dtype, n, metadata);
  const { values, valid } = keptValues(found, kept, opts.profile);
  const type = column.type === "utf8" ? undefined : column.type;
  return { name: column.name, values: type ? castArray(values, type) : values, valid, metadata };
}

/** A row mask at the kept rows. */
function rowsOf(mask: Uint8Array, kept: Int32Array): Uint8Array {
  const out = new Uint8Array(kept.length);
  for (let j = 0; j < kept.length; j++) out[j] = mask[kept[j]!]!;
  return out;
}

/** One `--vars` column of a chunk row's kept rows: a value, a chosen column, or a 2-D dataset's rows as lists. */
export function extraColumn(name: string, ctx: ColumnContext): ResultColumnData | undefined {
  const { get, kept, opts } = ctx;
  const n = kept.length;
  const { path, column } = parseVar(name);
  const list = opts.listExtras?.has(name) ?? false;
  const decoded = get(path);
  if (!decoded) {
    const dtype = opts.missingTypes?.get(name);
    if (dtype === undefined) return undefined;
    return list
      ? nullList(columnName(name), dtype, n, widthOf(opts, path))
      : nullColumn(columnName(name), dtype, n);
  }
  if (list && column === undefined) {
    const { width } = decoded.a;
    const kv = keptValues({ a: decoded.a, values: decoded.values }, kept, opts.profile, width);
    return { name: columnName(name), ...kv, width, rowValid: decoded.valid && rowsOf(decoded.valid, kept) };
  }
  const found = sourceValues({ kind: "dataset", path, column }, get, opts.filters)!;
  return { name: columnName(name), ...keptValues(found, kept, opts.profile) };
}
