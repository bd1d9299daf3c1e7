/** Zarr version 2 metadata of HDF5 datasets: dtype, codecs from the HDF5 filter pipeline, fill value, attributes. */
import type { AttrValue, FilterInfo } from "../hdf5/types.js";

/** A numcodecs codec configuration as zarr v2 metadata spells it. */
export interface CodecConfig {
  id: string;
  [key: string]: unknown;
}

/** Codecs of a zarr v2 array: `filters` then `compressor`, applied in that order on encoding. */
export interface ZarrCodecs {
  filters: CodecConfig[] | null;
  compressor: CodecConfig | null;
}

/** The HDF5 filter pipeline as numcodecs codecs, or a reason it cannot be expressed. */
export function codecsOf(
  filters: readonly FilterInfo[],
  itemSize: number,
): ZarrCodecs | { unsupported: string } {
  const codecs: CodecConfig[] = [];
  for (const f of filters) {
    if (f.id === 1) codecs.push({ id: "zlib", level: f.params[0] ?? 4 });
    else if (f.id === 2) codecs.push({ id: "shuffle", elementsize: f.params[0] ?? itemSize });
    else if (f.id === 3) codecs.push({ id: "fletcher32" });
    else return { unsupported: `HDF5 filter ${f.id} (${f.name})` };
  }
  // The pipeline kerchunk writes and every reader knows: [shuffle] + zlib compressor.
  const last = codecs.at(-1);
  if (last?.id === "zlib") {
    const rest = codecs.slice(0, -1);
    return { filters: rest.length > 0 ? rest : null, compressor: last };
  }
  return { filters: codecs.length > 0 ? codecs : null, compressor: null };
}

/** A JSON-safe zarr fill value: non-finite floats as "NaN", "Infinity", "-Infinity"; null for strings. */
export function zarrFillValue(value: unknown, dtype: string): number | string | null {
  if (dtype.startsWith("|S") || value === null || value === undefined) return null;
  const v = Array.isArray(value) ? value[0] : value;
  const n = typeof v === "string" ? Number(v) : typeof v === "bigint" ? Number(v) : (v as number);
  if (typeof n !== "number" || Number.isNaN(n)) return dtype.includes("f") ? "NaN" : null;
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  return n;
}

/**
 * HDF5 attributes that describe HDF5 or netCDF plumbing rather than the data (dimension-scale
 * object references, netCDF ids); zarr readers take dimensions from `_ARRAY_DIMENSIONS` instead.
 */
const PLUMBING = new Set([
  "DIMENSION_LIST",
  "REFERENCE_LIST",
  "CLASS",
  "NAME",
  "_Netcdf4Dimid",
  "_Netcdf4Coordinates",
  "_nc3_strict",
  "_FillValue",
]);

/** JSON-safe attribute value: bigint as a number when exact, else text. */
function jsonAttr(v: AttrValue): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (Array.isArray(v)) return v.map(jsonAttr);
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonAttr(x)]));
  return v;
}

/** Attributes for `.zattrs`: HDF5 plumbing dropped, values JSON-safe, plus `_ARRAY_DIMENSIONS` when given. */
export function zarrAttrs(
  attrs: Record<string, AttrValue>,
  dims?: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) if (!PLUMBING.has(k)) out[k] = jsonAttr(v);
  if (dims) out._ARRAY_DIMENSIONS = [...dims];
  return out;
}

/** `.zarray` of an array. */
export function zarrArray(a: {
  shape: readonly number[];
  chunks: readonly number[];
  dtype: string;
  codecs: ZarrCodecs;
  fill_value: number | string | null;
}): Record<string, unknown> {
  return {
    zarr_format: 2,
    shape: [...a.shape],
    chunks: [...a.chunks],
    dtype: a.dtype,
    compressor: a.codecs.compressor,
    filters: a.codecs.filters,
    fill_value: a.fill_value,
    order: "C",
  };
}
