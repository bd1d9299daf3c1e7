/** Zarr version 3 metadata (zarr.json) of the virtual tree's groups and arrays, as Icechunk nodes hold it. */
import type { VirtualArray, VirtualGroup } from "../virtual.js";

const DATA_TYPES: Record<string, string> = {
  i1: "int8",
  u1: "uint8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  u8: "uint64",
  f4: "float32",
  f8: "float64",
};

/** zarr.json of a group. */
export function groupJson(g: VirtualGroup): Record<string, unknown> {
  return { zarr_format: 3, node_type: "group", attributes: g.attrs };
}

/**
 * zarr.json of an array: the v2 dtype as a v3 data type and `bytes` codec, then the HDF5 pipeline
 * as numcodecs codecs in encoding order; or a reason it has no v3 spelling (fixed-length strings).
 */
export function arrayJson(a: VirtualArray): Record<string, unknown> | string {
  const [, order, kind] = /^([<>|])(.+)$/.exec(a.dtype) ?? [];
  const dataType = kind === undefined ? undefined : DATA_TYPES[kind];
  if (!dataType) return `${a.dataset}: data type ${a.dtype} has no zarr v3 core spelling`;
  const { _ARRAY_DIMENSIONS: dims, ...attributes } = a.attrs;
  const bytesToBytes = [...(a.codecs.filters ?? []), ...(a.codecs.compressor ? [a.codecs.compressor] : [])];
  return {
    zarr_format: 3,
    node_type: "array",
    shape: a.shape,
    data_type: dataType,
    chunk_grid: { name: "regular", configuration: { chunk_shape: a.chunks } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: a.fill_value ?? 0,
    codecs: [
      { name: "bytes", configuration: { endian: order === ">" ? "big" : "little" } },
      ...bytesToBytes.map(({ id, ...configuration }) => ({ name: `numcodecs.${id}`, configuration })),
    ],
    ...(Array.isArray(dims) ? { dimension_names: dims } : {}),
    attributes,
  };
}
