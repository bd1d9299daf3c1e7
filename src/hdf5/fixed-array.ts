import { UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { verifyChecksum } from "./checksum.js";
import type { Element, ElementShape } from "./chunk-elements.js";
import { chunkBytesOf, coordsOf, gridOf, readElement, toRefs } from "./chunk-elements.js";
import type { Cursor } from "./cursor.js";
import { expectSignature, readAddress, readUint8, readUintLE, times, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import type { ChunkedLayout } from "./layout.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";
import type { ChunkRef } from "./types.js";

/** More chunks than any real dataset has: a larger count means a corrupt index. */
const MAX_CHUNKS = 100_000_000;

/** The fields of a fixed array header (`FAHD`). */
export interface FixedArrayHeader {
  shape: ElementShape;
  pageBits: number;
  count: number;
  block: number;
}

/**
 * Parses a fixed array header from `c` (at `address`) and checks its checksum.
 * @throws InvalidHdf5Error for a bad signature, checksum or element count.
 */
export function parseFixedArrayHeader(
  c: Cursor,
  address: number,
  sizes: { offsetSize: number; lengthSize: number; filtered: boolean; chunkBytes: number },
): FixedArrayHeader {
  expectSignature(c, "FAHD", address);
  c.offset += 2; // version, client id
  const shape = {
    offsetSize: sizes.offsetSize,
    elementSize: readUint8(c),
    filtered: sizes.filtered,
    chunkBytes: sizes.chunkBytes,
  };
  const pageBits = readUint8(c);
  const count = readUintLE(c, sizes.lengthSize, "fixed array entries");
  const block = readAddress(c, sizes.offsetSize);
  verifyChecksum(bytesOf(c), c.offset, "fixed array header", address);
  if (count > MAX_CHUNKS || pageBits > 32) {
    throw new UnsupportedHdf5Error(
      "chunk-index",
      `fixed array at ${address} claims ${count} chunks in pages of 2^${pageBits}`,
    );
  }
  return { shape, pageBits, count, block };
}

function bytesOf(c: Cursor): Uint8Array {
  return new Uint8Array(c.view.buffer, c.view.byteOffset, c.view.byteLength);
}

/**
 * Reads a Fixed Array chunk index (`FAHD` + `FADB`; datasets with fixed maximum dimensions), paged or
 * not. Checksums of the header, the data block and each page are verified.
 * @throws InvalidHdf5Error for bad signatures, checksums or addresses outside the file.
 */
export async function readFixedArrayRefs(
  meta: MetaReader,
  ds: DatasetMeta,
  layout: ChunkedLayout,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const at = layout.address;
  const head = await readAt(meta, at, 12 + meta.lengthSize + meta.offsetSize, "fixed array header", opts);
  const sizes = { ...meta, filtered: ds.info.filters.length > 0, chunkBytes: chunkBytesOf(layout) };
  const h = parseAt(at, "fixed array header", () => parseFixedArrayHeader(head, at, sizes));
  if (h.block === UNDEFINED_ADDRESS) return [];
  const elements =
    h.count > 2 ** h.pageBits ? await readPagedBlock(meta, h, opts) : await readPlainBlock(meta, h, opts);
  const grid = gridOf(ds, layout);
  const order = grid.map((_, d) => d);
  return toRefs(ds, elements, (i) => coordsOf(i, grid, layout.chunkShape, order));
}

/** A data block whose elements follow its prefix, with one checksum after them. */
async function readPlainBlock(meta: MetaReader, h: FixedArrayHeader, opts?: ReadOptions) {
  const prefix = 6 + meta.offsetSize;
  const length = prefix + h.count * h.shape.elementSize;
  const bytes = await readRaw(meta, h.block, length + 4, "fixed array data block", opts);
  return parseAt(h.block, "fixed array data block", () => {
    const c = checkedBlock(bytes, h.block, length);
    c.offset = prefix;
    return times(h.count, (index) => ({ index, element: readElement(c, h.shape) }));
  });
}

function checkedBlock(bytes: Uint8Array, address: number, end: number): Cursor {
  const c: Cursor = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  expectSignature(c, "FADB", address);
  verifyChecksum(bytes, end, "fixed array data block", address);
  return c;
}

/**
 * A paged data block: its prefix holds a bitmap of initialised pages (most significant bit first) and a
 * checksum; pages of 2^pageBits elements follow, each with its own checksum. Pages never initialised
 * hold no chunks.
 */
async function readPagedBlock(meta: MetaReader, h: FixedArrayHeader, opts?: ReadOptions) {
  const perPage = 2 ** h.pageBits;
  const pages = Math.ceil(h.count / perPage);
  const bitmapBytes = Math.ceil(pages / 8);
  const prefix = 6 + meta.offsetSize + bitmapBytes;
  const head = await readRaw(meta, h.block, prefix + 4, "fixed array data block", opts);
  parseAt(h.block, "fixed array data block", () => checkedBlock(head, h.block, prefix));
  const pageBytes = perPage * h.shape.elementSize + 4;
  const jobs: Promise<{ index: number; element: Element }[]>[] = [];
  for (let p = 0; p < pages; p++) {
    if (!(head[6 + meta.offsetSize + (p >> 3)]! & (0x80 >> (p & 7)))) continue;
    const first = p * perPage;
    const count = Math.min(perPage, h.count - first);
    const address = h.block + prefix + 4 + p * pageBytes;
    jobs.push(readPage(meta, { address, first, count }, h.shape, opts));
  }
  return (await Promise.all(jobs)).flat();
}

/** Elements of one page (of an extensible or fixed array data block), checksum verified. */
export async function readPage(
  meta: MetaReader,
  page: { address: number; first: number; count: number },
  shape: ElementShape,
  opts?: ReadOptions,
): Promise<{ index: number; element: Element }[]> {
  const length = page.count * shape.elementSize;
  const bytes = await readRaw(meta, page.address, length + 4, "array index page", opts);
  return parseAt(page.address, "array index page", () => {
    verifyChecksum(bytes, length, "array index page", page.address);
    const c: Cursor = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
    return times(page.count, (i) => ({
      index: page.first + i,
      element: readElement(c, shape),
    }));
  });
}
