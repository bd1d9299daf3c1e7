import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import {
  readAddress,
  readBytes,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
  times,
} from "./cursor.js";

/** Data stored inside the object header. */
export interface CompactLayout {
  kind: "compact";
  data: Uint8Array;
}

/** One contiguous block of raw data; `address` is UNDEFINED_ADDRESS (-1) when never written. */
export interface ContiguousLayout {
  kind: "contiguous";
  address: number;
  size: number;
}

/** Chunk index types of layout version 4 (version 3 always uses a v1 B-tree). */
export type ChunkIndexType =
  | "btree-v1"
  | "single"
  | "implicit"
  | "fixed-array"
  | "extensible-array"
  | "btree-v2";

/** Chunked storage: the chunk shape (without the element-size dimension) and where its index is. */
export interface ChunkedLayout {
  kind: "chunked";
  chunkShape: number[];
  /** Element size recorded with the chunk dimensions, bytes. */
  elementSize: number;
  index: ChunkIndexType;
  /** Address of the index (B-tree root, fixed array header...), or of the chunk itself for "single". */
  address: number;
  /** For "single" with filters: stored size and filter mask of the only chunk. */
  single?: { size: number; filterMask: number };
  /** For "fixed-array": page bits. */
  pageBits?: number;
}

/** Where a dataset's raw data is stored. */
export type Layout = CompactLayout | ContiguousLayout | ChunkedLayout;

const INDEX_TYPES: Record<number, ChunkIndexType> = {
  1: "single",
  2: "implicit",
  3: "fixed-array",
  4: "extensible-array",
  5: "btree-v2",
};

/**
 * Parses a data layout message (versions 1-4).
 * @throws UnsupportedHdf5Error for virtual datasets and unknown versions; InvalidHdf5Error when truncated.
 */
export function parseLayout(
  view: DataView,
  offset: number,
  sizes: { offsetSize: number; lengthSize: number },
): Layout {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version === 1 || version === 2) return parseV1V2(c, sizes.offsetSize);
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new UnsupportedHdf5Error("layout", `data layout message version ${version} is not supported`);
  }
  const layoutClass = readUint8(c);
  if (layoutClass === 0) return { kind: "compact", data: readBytes(c, readUint16LE(c), "compact data") };
  if (layoutClass === 1) {
    const address = readAddress(c, sizes.offsetSize);
    return { kind: "contiguous", address, size: readUintLE(c, sizes.lengthSize, "contiguous size") };
  }
  if (layoutClass === 2)
    return version === 3 ? parseChunkedV3(c, sizes.offsetSize) : parseChunkedV4(c, sizes);
  if (layoutClass === 3) {
    throw new UnsupportedHdf5Error("virtual-dataset", "virtual datasets (layout class 3) are not supported");
  }
  throw new UnsupportedHdf5Error("layout", `data layout class ${layoutClass} is not supported`);
}

function parseChunkedV3(c: Cursor, offsetSize: number): ChunkedLayout {
  const dims = readUint8(c);
  const address = readAddress(c, offsetSize);
  const sizes = times(dims, () => readUint32LE(c));
  return chunked(sizes, "btree-v1", address);
}

function parseChunkedV4(c: Cursor, sizes: { offsetSize: number; lengthSize: number }): ChunkedLayout {
  const flags = readUint8(c);
  const dims = readUint8(c);
  const width = readUint8(c);
  const dimSizes = times(dims, () => readUintLE(c, width, "chunk dimension"));
  const typeId = readUint8(c);
  const index = INDEX_TYPES[typeId];
  if (!index) throw new InvalidHdf5Error(`unknown chunk index type ${typeId}`);
  let single: ChunkedLayout["single"];
  let pageBits: number | undefined;
  if (index === "single" && flags & 0x02) {
    single = { size: readUintLE(c, sizes.lengthSize, "chunk size"), filterMask: readUint32LE(c) };
  } else if (index === "fixed-array") pageBits = readUint8(c);
  else if (index === "extensible-array") c.offset += 5;
  else if (index === "btree-v2") c.offset += 6;
  const address = readAddress(c, sizes.offsetSize);
  return {
    ...chunked(dimSizes, index, address),
    ...(single && { single }),
    ...(pageBits !== undefined && { pageBits }),
  };
}

/** Layout versions 1 and 2 (HDF5 1.4 era): dimensionality includes the element size for chunked data. */
function parseV1V2(c: Cursor, offsetSize: number): Layout {
  const dims = readUint8(c);
  const layoutClass = readUint8(c);
  c.offset += 5;
  const address = layoutClass === 0 ? -1 : readAddress(c, offsetSize);
  const sizes = times(dims, () => readUint32LE(c));
  if (layoutClass === 2) return chunked(sizes, "btree-v1", address); // the element-size field after is redundant
  if (layoutClass === 0) return { kind: "compact", data: readBytes(c, readUint32LE(c), "compact data") };
  return { kind: "contiguous", address, size: sizes.reduce((a, b) => a * b, 1) };
}

function chunked(sizes: number[], index: ChunkIndexType, address: number): ChunkedLayout {
  if (sizes.length < 2)
    throw new InvalidHdf5Error(`chunked layout has ${sizes.length} dimensions; expected rank + 1`);
  const chunkShape = sizes.slice(0, -1);
  if (chunkShape.some((n) => n <= 0))
    throw new InvalidHdf5Error(`chunk shape [${chunkShape}] has a zero dimension`);
  return { kind: "chunked", chunkShape, elementSize: sizes[sizes.length - 1]!, index, address };
}
