import { InvalidHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { readChunkKey, readLeaves } from "./btree-v1.js";
import { readBTreeV2Records } from "./btree-v2.js";
import { chunkBytesOf, readElement } from "./chunk-elements.js";
import type { Cursor } from "./cursor.js";
import { cursorOf, readUintLE, times, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import { readExtensibleArrayRefs } from "./extensible-array.js";
import { readFixedArrayRefs } from "./fixed-array.js";
import type { ChunkedLayout } from "./layout.js";
import type { MetaReader } from "./reader.js";
import type { ChunkRef } from "./types.js";

/**
 * Lists where a dataset's stored data lives: every allocated chunk (chunked), one ref (contiguous), or none
 * (compact, or never written). Offsets are absolute; refs are sorted by coordinates.
 * @throws InvalidHdf5Error for a corrupt index or a chunk outside the file; UnsupportedHdf5Error for
 *   paged fixed or extensible array blocks.
 */
export async function readChunkRefs(
  meta: MetaReader,
  ds: DatasetMeta,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const { layout, dataspace } = ds;
  const rank = dataspace.shape.length;
  if (layout.kind === "compact") return [];
  if (layout.kind === "contiguous") {
    if (layout.address === UNDEFINED_ADDRESS || layout.size === 0) return [];
    return checked(meta, ds, [
      { coords: zeros(rank), offset: layout.address, size: layout.size, filterMask: 0 },
    ]);
  }
  if (layout.address === UNDEFINED_ADDRESS) return [];
  return checked(meta, ds, sortByCoords(await readChunked(meta, ds, layout, opts)));
}

async function readChunked(
  meta: MetaReader,
  ds: DatasetMeta,
  layout: ChunkedLayout,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const rank = ds.dataspace.shape.length;
  if (layout.index === "btree-v1") {
    const shape = { offsetSize: meta.offsetSize, lengthSize: meta.lengthSize, rank };
    const readKey = (c: Cursor) => readChunkKey(c, rank);
    const leaves = await readLeaves(meta, layout.address, { type: 1, shape, readKey }, opts);
    return leaves.map(({ key, child }) => ({
      coords: key.coords,
      offset: child,
      size: key.size,
      filterMask: key.filterMask,
    }));
  }
  const chunkBytes = layout.chunkShape.reduce((a, b) => a * b, 1) * layout.elementSize;
  if (layout.index === "single") {
    const { size, filterMask } = layout.single ?? { size: chunkBytes, filterMask: 0 };
    return [{ coords: zeros(rank), offset: layout.address, size, filterMask }];
  }
  if (layout.index === "implicit") return implicitRefs(ds, layout, chunkBytes);
  if (layout.index === "fixed-array") return readFixedArrayRefs(meta, ds, layout, opts);
  if (layout.index === "extensible-array") return readExtensibleArrayRefs(meta, ds, layout, opts);
  return readBTreeV2ChunkRefs(meta, ds, layout, opts);
}

/** Implicit index: every chunk of the maximum extent is allocated, in row-major order, from the address. */
function implicitRefs(ds: DatasetMeta, layout: ChunkedLayout, chunkBytes: number): ChunkRef[] {
  const { shape, maxshape } = ds.dataspace;
  const grid = shape.map((n, d) => Math.ceil((maxshape[d] ?? n) / layout.chunkShape[d]!));
  const order = grid.map((_, d) => d);
  return gridCoords(shape, layout.chunkShape).map((coords) => {
    let index = 0;
    for (const d of order) index = index * grid[d]! + coords[d]! / layout.chunkShape[d]!;
    return { coords, offset: layout.address + index * chunkBytes, size: chunkBytes, filterMask: 0 };
  });
}

/** First-element coordinates of every chunk of a grid, row-major. */
export function gridCoords(shape: number[], chunkShape: number[]): number[][] {
  const count = shape.reduce((a, n, d) => a * Math.ceil(n / chunkShape[d]!), 1);
  if (count > 10_000_000) throw new InvalidHdf5Error(`chunk grid of ${count} chunks is implausibly large`);
  let out: number[][] = [[]];
  shape.forEach((n, d) => {
    const step = chunkShape[d]!;
    const starts = times(Math.ceil(n / step), (i) => i * step);
    out = out.flatMap((prefix) => starts.map((s) => [...prefix, s]));
  });
  return out;
}

/** Converts to absolute offsets and checks each ref against the file size. */
function checked(meta: MetaReader, ds: DatasetMeta, refs: ChunkRef[]): ChunkRef[] {
  return refs.map((ref) => {
    const offset = meta.baseAddress + ref.offset;
    if (offset + ref.size > meta.fileSize || ref.offset < 0) {
      throw new InvalidHdf5Error(
        `chunk [${ref.coords}] of ${ds.info.path} at address ${ref.offset} (+${ref.size}) lies outside the file (size ${meta.fileSize})`,
        { address: ref.offset },
      );
    }
    return { ...ref, offset };
  });
}

function sortByCoords(refs: ChunkRef[]): ChunkRef[] {
  return refs.sort((a, b) => {
    for (let i = 0; i < a.coords.length; i++) {
      const d = a.coords[i]! - b.coords[i]!;
      if (d !== 0) return d;
    }
    return 0;
  });
}

function zeros(rank: number): number[] {
  return times(rank, () => 0);
}

/**
 * Reads a version-2 B-tree chunk index (record types 10 and 11; datasets with several unlimited
 * dimensions). Records hold scaled (chunk-index) coordinates.
 */
export async function readBTreeV2ChunkRefs(
  meta: MetaReader,
  ds: DatasetMeta,
  layout: ChunkedLayout,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const rank = ds.dataspace.shape.length;
  const records = await readBTreeV2Records(meta, layout.address, opts);
  const filtered = ds.info.filters.length > 0;
  return records.map((record) => {
    const c = cursorOf(record);
    const elementSize = record.length - 8 * rank;
    const element = readElement(c, {
      offsetSize: meta.offsetSize,
      elementSize,
      filtered,
      chunkBytes: chunkBytesOf(layout),
    });
    const coords = layout.chunkShape.map((n) => readUintLE(c, 8, "scaled offset") * n);
    return { coords, offset: element.address, size: element.size, filterMask: element.filterMask };
  });
}
