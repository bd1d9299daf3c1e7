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
  const { _ARRAY_DIMENSIONS: dims, ...attributes } = a.attrs;
  const names = Array.isArray(dims) ? { dimension_names: dims } : {};
  if (kind?.startsWith("S")) {
    if ([...a.refs.values()].some((t) => !("data" in t)))
      return `${a.dataset}: fixed-length strings stored in the file have no zarr v3 core data type`;
    // Strings the store recorded are written inline as zarr v3 variable-length UTF-8 strings.
    return {
      zarr_format: 3,
      node_type: "array",
      shape: a.shape,
      data_type: "string",
      chunk_grid: { name: "regular", configuration: { chunk_shape: a.chunks } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: "",
      codecs: [{ name: "vlen-utf8", configuration: {} }],
      ...names,
      attributes,
    };
  }
  const dataType = kind === undefined ? undefined : DATA_TYPES[kind];
  if (!dataType) return `${a.dataset}: data type ${a.dtype} has no zarr v3 core spelling`;
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
    ...names,
    attributes,
  };
}

/**
 * Fixed-length string bytes (`|S<width>`, zero-padded) as the vlen-utf8 codec encodes them: the
 * item count, then each item's byte length and bytes (little-endian 32-bit lengths), padding dropped.
 */
export function vlenUtf8(fixed: Uint8Array, width: number): Uint8Array {
  const count = width > 0 ? Math.floor(fixed.length / width) : 0;
  const items: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const item = fixed.subarray(i * width, (i + 1) * width);
    const end = item.indexOf(0);
    items.push(end < 0 ? item : item.subarray(0, end));
  }
  const out = new Uint8Array(4 + items.reduce((n, it) => n + 4 + it.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, count, true);
  let at = 4;
  for (const it of items) {
    view.setUint32(at, it.length, true);
    out.set(it, at + 4);
    at += 4 + it.length;
  }
  return out;
}
