import type { Cursor } from "./cursor.js";
import { readAddress, readUint32LE, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import type { ChunkedLayout } from "./layout.js";
import type { ChunkRef } from "./types.js";

/** One chunk index element: where a chunk is, its stored size and filter mask. */
export interface Element {
  address: number;
  size: number;
  filterMask: number;
}

/** What decoding index elements needs: address size, element size, and the unfiltered chunk size. */
export interface ElementShape {
  offsetSize: number;
  elementSize: number;
  filtered: boolean;
  chunkBytes: number;
}

/** Reads one element: an address, plus stored size and filter mask for filtered chunks. */
export function readElement(c: Cursor, e: ElementShape): Element {
  const address = readAddress(c, e.offsetSize);
  if (!e.filtered) return { address, size: e.chunkBytes, filterMask: 0 };
  const size = readUintLE(c, e.elementSize - e.offsetSize - 4, "chunk size");
  return { address, size, filterMask: readUint32LE(c) };
}

/** Bytes of one unfiltered chunk. */
export function chunkBytesOf(layout: ChunkedLayout): number {
  return layout.chunkShape.reduce((a, b) => a * b, 1) * layout.elementSize;
}

/**
 * Converts a linear chunk index to element coordinates. `order` lists dimensions from slowest to fastest
 * (the extensible array puts its unlimited dimension first); `grid` is chunks per dimension.
 */
export function coordsOf(index: number, grid: number[], chunkShape: number[], order: number[]): number[] {
  const coords = new Array<number>(grid.length).fill(0);
  for (let k = order.length - 1; k >= 0; k--) {
    const d = order[k]!;
    const n = k === 0 ? Number.POSITIVE_INFINITY : grid[d]!;
    coords[d] = (index % n) * chunkShape[d]!;
    index = Math.floor(index / n);
  }
  return coords;
}

/** Chunks per dimension over the maximum extent (the current extent for unlimited dimensions). */
export function gridOf(ds: DatasetMeta, layout: ChunkedLayout): number[] {
  const { shape, maxshape } = ds.dataspace;
  return shape.map((n, d) => Math.ceil((maxshape[d] ?? n) / layout.chunkShape[d]!));
}

/** Keeps allocated elements inside the current extent, as chunk refs. */
export function toRefs(
  ds: DatasetMeta,
  elements: { index: number; element: Element }[],
  place: (i: number) => number[],
) {
  const refs: ChunkRef[] = [];
  for (const { index, element } of elements) {
    if (element.address === UNDEFINED_ADDRESS) continue;
    const coords = place(index);
    if (coords.some((c, d) => c >= ds.dataspace.shape[d]!)) continue;
    refs.push({ coords, offset: element.address, size: element.size, filterMask: element.filterMask });
  }
  return refs;
}
