/** Async HDF5 reader: metadata, chunk locations and chunk decoding, over any ByteSource. */
export { decodeSpecOf } from "./data.js";
export { itemSize, toTypedArray } from "./dtype.js";
export type { Hdf5OpenOptions, Hdf5Tree } from "./file.js";
export { Hdf5File } from "./file.js";
export { decodeChunk, fletcher32, unshuffle } from "./filters.js";
export type { InspectDataset, InspectReport, JsonValue } from "./inspect.js";
export { inspectHdf5, jsonSafe } from "./inspect.js";
export type { ChunkIndexType } from "./layout.js";
export type { FileSpaceInfo } from "./superblock.js";
export type {
  AttrValue,
  ChunkRef,
  DatasetInfo,
  DatasetValues,
  DecodeSpec,
  FilterInfo,
  NumericArray,
} from "./types.js";
export type { ValueBufferPoolOptions, ValueBuffers } from "./value-buffers.js";
export { ValueBufferPool } from "./value-buffers.js";
