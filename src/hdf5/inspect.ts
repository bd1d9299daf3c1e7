import type { ByteSource, ReadOptions } from "../source/types.js";
import { Hdf5File } from "./file.js";
import type { AttrValue } from "./types.js";

/** A JSON value (what {@link jsonSafe} returns). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One dataset in an {@link InspectReport}. */
export interface InspectDataset {
  path: string;
  dtype: string;
  shape: number[];
  maxshape: (number | null)[];
  layout: "compact" | "contiguous" | "chunked";
  chunk_shape: number[] | null;
  filters: { id: number; name: string; flags: number; params: number[] }[];
  fill_value: JsonValue;
  attrs: { [name: string]: JsonValue };
  chunks: { coords: number[]; offset: number; size: number; filter_mask: number }[];
}

/** The report behind `geochunks inspect --json`: the file's tree with every chunk's location. */
export interface InspectReport {
  url: string;
  /** File size, bytes. */
  size: number;
  superblock_version: number;
  /** Group paths except the root, sorted. */
  groups: string[];
  datasets: InspectDataset[];
}

/**
 * Describes every group and dataset of an HDF5 file, with each dataset's chunk locations.
 * Values are JSON-safe: 64-bit integers beyond 2^53 become strings, as do NaN and infinities.
 * @throws InvalidHdf5Error / UnsupportedHdf5Error / SourceError as {@link Hdf5File.open} does.
 * @example const report = await inspectHdf5(await openFileSource("ATL06.h5"));
 */
export async function inspectHdf5(source: ByteSource, opts?: ReadOptions): Promise<InspectReport> {
  const file = await Hdf5File.open(source, opts);
  const tree = await file.tree(opts);
  const datasets = await Promise.all(tree.datasets.map((path) => inspectDataset(file, path, opts)));
  return {
    url: source.url.href,
    size: await source.size(opts),
    superblock_version: file.superblockVersion,
    groups: tree.groups,
    datasets,
  };
}

async function inspectDataset(file: Hdf5File, path: string, opts?: ReadOptions): Promise<InspectDataset> {
  const info = (await file.dataset(path, opts))!;
  const refs = await file.chunkRefs(path, opts);
  return {
    path,
    dtype: info.dtype,
    shape: info.shape,
    maxshape: info.maxshape,
    layout: info.layout,
    chunk_shape: info.chunkShape,
    filters: info.filters.map(({ id, name, flags, params }) => ({ id, name, flags, params })),
    fill_value: jsonSafe(info.fillValue),
    attrs: Object.fromEntries(Object.entries(info.attrs).map(([k, v]) => [k, jsonSafe(v)])),
    chunks: refs.map((r) => ({
      coords: r.coords,
      offset: r.offset,
      size: r.size,
      filter_mask: r.filterMask,
    })),
  };
}

/** Converts an attribute or fill value to JSON: unsafe bigints and non-finite numbers become strings. */
export function jsonSafe(value: AttrValue): JsonValue {
  if (typeof value === "bigint")
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}
