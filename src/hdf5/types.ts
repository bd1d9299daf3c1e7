/** Plain-data descriptions of HDF5 objects, shared by the reader, the store and the query engine. */

/** An attribute value: scalars for scalar attributes, arrays for simple dataspaces. */
export type AttrValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | AttrValue[]
  | { [field: string]: AttrValue };

/** A filter of a dataset's pipeline, in application order (as written by HDF5). */
export interface FilterInfo {
  /** HDF5 filter id: 1 deflate, 2 shuffle, 3 fletcher32, 4 szip, 5 nbit, 6 scaleoffset, 32000+ registered. */
  id: number;
  /** Name stored in the file, or the well-known name of the id. */
  name: string;
  /** Filter flags; bit 0 = optional. */
  flags: number;
  /** Client data (cd_values), e.g. [6] for deflate level 6, [4] for shuffle of 4-byte elements. */
  params: number[];
}

/** Where one chunk lives in the file. */
export interface ChunkRef {
  /** Element coordinates of the chunk's first element, one per dimension (not chunk indices). */
  coords: number[];
  /** Absolute file offset of the stored (filtered) chunk, bytes. */
  offset: number;
  /** Stored (filtered) size, bytes. */
  size: number;
  /** Bit i set = filter i of the pipeline was skipped for this chunk. */
  filterMask: number;
}

/** Everything needed to decode a dataset's chunks without reopening the HDF5 file. */
export interface DecodeSpec {
  /** Dataset path, used in error messages. */
  path: string;
  /** numpy-style dtype: `<f8`, `<f4`, `|i1`, `<i4`, `>u2`, `|S27`... */
  dtype: string;
  /** Chunk shape in elements. */
  chunkShape: number[];
  /** Filter pipeline, in application order. */
  filters: FilterInfo[];
}

/** Metadata of one dataset. */
export interface DatasetInfo {
  /** Absolute path, e.g. `/gt1l/land_ice_segments/h_li`. */
  path: string;
  /** numpy-style dtype (`<f8`, `|i1`, `|S27`, ...); `other:<class>` for types without a numpy spelling. */
  dtype: string;
  /** Current dimension sizes (elements); [] for scalar. */
  shape: number[];
  /** Maximum dimension sizes; null = unlimited. */
  maxshape: (number | null)[];
  /** Storage layout. */
  layout: "compact" | "contiguous" | "chunked";
  /** Chunk shape in elements, for chunked layout. */
  chunkShape: number[] | null;
  /** Filter pipeline in application order (empty when unfiltered). */
  filters: FilterInfo[];
  /** Fill value decoded with the dataset's dtype; null when undefined in the file. */
  fillValue: number | bigint | string | null;
  /** Dataset attributes (object references are shown as their address as a number). */
  attrs: Record<string, AttrValue>;
}

/** A numeric array as decoded from a dataset. */
export type NumericArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * Values of a dataset as {@link Hdf5File.read} returns them: a typed array for numbers, enums and
 * bitfields (raw bytes for opaque types), strings for string types, plain values (objects for
 * compounds, nested arrays for array types and sequences, addresses for object references) otherwise.
 */
export type DatasetValues = NumericArray | string[] | AttrValue[];
