import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { verifyChecksum } from "./checksum.js";
import type { Element, ElementShape } from "./chunk-elements.js";
import { chunkBytesOf, coordsOf, gridOf, readElement, toRefs } from "./chunk-elements.js";
import type { Cursor } from "./cursor.js";
import { expectSignature, readAddress, readUint8, readUintLE, times, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import { readPage } from "./fixed-array.js";
import type { ChunkedLayout } from "./layout.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";
import type { ChunkRef } from "./types.js";

/** More chunks than any real dataset has: a larger count means a corrupt index. */
const MAX_CHUNKS = 100_000_000;

/** Layout facts of an extensible array, from its header. */
interface EaHeader {
  shape: ElementShape;
  maxBits: number;
  indexElements: number;
  dataBlockMin: number;
  secondaryMinPointers: number;
  pageBits: number;
  maxIndexSet: number;
  indexBlock: number;
}

function parseEaHeader(
  c: Cursor,
  at: number,
  meta: MetaReader,
  base: Omit<ElementShape, "elementSize">,
): EaHeader {
  expectSignature(c, "EAHD", at);
  c.offset += 2; // version, client id
  const shape = { ...base, elementSize: readUint8(c) };
  const maxBits = readUint8(c);
  const indexElements = readUint8(c);
  const dataBlockMin = readUint8(c);
  const secondaryMinPointers = readUint8(c);
  const pageBits = readUint8(c);
  c.offset += 4 * meta.lengthSize; // secondary/data block counts and sizes
  const maxIndexSet = readUintLE(c, meta.lengthSize, "max index set");
  readUintLE(c, meta.lengthSize, "element count");
  const indexBlock = readAddress(c, meta.offsetSize);
  verifyChecksum(
    new Uint8Array(c.view.buffer, c.view.byteOffset, c.view.byteLength),
    c.offset,
    "extensible array header",
    at,
  );
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(dataBlockMin) || !pow2(secondaryMinPointers) || maxBits > 64 || pageBits > 32) {
    throw new InvalidHdf5Error(`extensible array at ${at} has invalid parameters`, { address: at });
  }
  return {
    shape,
    maxBits,
    indexElements,
    dataBlockMin,
    secondaryMinPointers,
    pageBits,
    maxIndexSet,
    indexBlock,
  };
}

/** Super block s holds 2^floor(s/2) data blocks of 2^ceil(s/2) * min elements each. */
function superBlocks(h: EaHeader) {
  const count = 1 + h.maxBits - Math.log2(h.dataBlockMin);
  let start = h.indexElements;
  let firstBlock = 0;
  return times(count, (s) => {
    const info = {
      blocks: 2 ** Math.floor(s / 2),
      elements: 2 ** Math.floor((s + 1) / 2) * h.dataBlockMin,
      start,
      firstBlock,
    };
    start += info.blocks * info.elements;
    firstBlock += info.blocks;
    return info;
  });
}

/**
 * Reads an Extensible Array chunk index (`EAHD`, `EAIB`, `EASB`, `EADB`; datasets with one unlimited
 * dimension), paged data blocks included; every block's checksum is verified. Linear chunk indices put
 * the unlimited dimension first.
 * @throws InvalidHdf5Error for bad signatures, checksums or addresses outside the file.
 */
export async function readExtensibleArrayRefs(
  meta: MetaReader,
  ds: DatasetMeta,
  layout: ChunkedLayout,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const at = layout.address;
  const c = await readAt(
    meta,
    at,
    16 + 6 * meta.lengthSize + meta.offsetSize,
    "extensible array header",
    opts,
  );
  const base = {
    offsetSize: meta.offsetSize,
    filtered: ds.info.filters.length > 0,
    chunkBytes: chunkBytesOf(layout),
  };
  const h = parseAt(at, "extensible array header", () => parseEaHeader(c, at, meta, base));
  if (h.indexBlock === UNDEFINED_ADDRESS || h.maxIndexSet === 0) return [];
  if (h.maxIndexSet > MAX_CHUNKS) {
    throw new InvalidHdf5Error(`extensible array at ${at} claims ${h.maxIndexSet} chunks`, { address: at });
  }
  const elements = await readEaElements(meta, h, opts);
  const unlimited = Math.max(0, ds.dataspace.maxshape.indexOf(null));
  const order = [unlimited, ...ds.dataspace.shape.map((_, d) => d).filter((d) => d !== unlimited)];
  const grid = gridOf(ds, layout);
  return toRefs(ds, elements, (i) => coordsOf(i, grid, layout.chunkShape, order));
}

async function readEaElements(meta: MetaReader, h: EaHeader, opts?: ReadOptions) {
  const sblks = superBlocks(h);
  const directSuper = 2 * Math.log2(h.secondaryMinPointers);
  const directBlocks = 2 * (h.secondaryMinPointers - 1);
  const secondaries = Math.max(0, sblks.length - directSuper);
  const prefix = 6 + meta.offsetSize;
  const size =
    prefix + h.indexElements * h.shape.elementSize + (directBlocks + secondaries) * meta.offsetSize;
  const bytes = await readRaw(meta, h.indexBlock, size + 4, "extensible array index block", opts);
  const c = parseAt(h.indexBlock, "extensible array index block", () =>
    checkedBlock(bytes, "EAIB", h.indexBlock, size),
  );
  c.offset = prefix;
  const out = times(h.indexElements, (index) => ({
    index,
    element: readElement(c, h.shape),
  }));
  const blockAddresses = times(directBlocks, () => readAddress(c, meta.offsetSize));
  const superAddresses = times(secondaries, () => readAddress(c, meta.offsetSize));
  const jobs: Promise<{ index: number; element: Element }[]>[] = [];
  for (const [s, info] of sblks.entries()) {
    if (info.start >= h.maxIndexSet) break;
    const secondary =
      s < directSuper
        ? {
            addresses: blockAddresses.slice(info.firstBlock, info.firstBlock + info.blocks),
            pages: undefined,
          }
        : await readSecondary(meta, h, { address: superAddresses[s - directSuper]!, ...info }, opts);
    secondary.addresses.forEach((address, d) => {
      const start = info.start + d * info.elements;
      if (address !== UNDEFINED_ADDRESS && start < h.maxIndexSet) {
        const block = { address, start, elements: info.elements, pages: secondary.pages?.[d] };
        jobs.push(readDataBlock(meta, h, block, opts));
      }
    });
  }
  return [...out, ...(await Promise.all(jobs)).flat()];
}

/** Bit `i` of a bitmap, most significant bit first (as HDF5 stores page-initialised flags). */
function bitSet(bitmap: Uint8Array, i: number): boolean {
  return ((bitmap[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
}

/** Pages of a data block of `elements` elements; 0 when the block is not paged. */
function pagesOf(h: EaHeader, elements: number): number {
  return elements > 2 ** h.pageBits ? elements / 2 ** h.pageBits : 0;
}

function checkedBlock(bytes: Uint8Array, signature: string, address: number, end: number): Cursor {
  const c: Cursor = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  expectSignature(c, signature, address);
  verifyChecksum(bytes, end, `extensible array block ${signature}`, address);
  return c;
}

/**
 * Data block addresses of a secondary block (`EASB`), and for paged data blocks which of their pages
 * were initialised; all undefined when the block was never allocated.
 */
async function readSecondary(
  meta: MetaReader,
  h: EaHeader,
  block: { address: number; blocks: number; elements: number },
  opts?: ReadOptions,
): Promise<{ addresses: number[]; pages: boolean[][] | undefined }> {
  if (block.address === UNDEFINED_ADDRESS) {
    return { addresses: new Array<number>(block.blocks).fill(UNDEFINED_ADDRESS), pages: undefined };
  }
  const pages = pagesOf(h, block.elements);
  const bitmapBytes = block.blocks * Math.ceil(pages / 8);
  const prefix = 6 + meta.offsetSize + Math.ceil(h.maxBits / 8);
  const size = prefix + bitmapBytes + block.blocks * meta.offsetSize;
  const bytes = await readRaw(meta, block.address, size + 4, "extensible array secondary block", opts);
  return parseAt(block.address, "extensible array secondary block", () => {
    const c = checkedBlock(bytes, "EASB", block.address, size);
    const bitmap = bytes.subarray(prefix, prefix + bitmapBytes);
    c.offset = prefix + bitmapBytes;
    const addresses = times(block.blocks, () => readAddress(c, meta.offsetSize));
    if (pages === 0) return { addresses, pages: undefined };
    // the bitmap takes ceil(pages / 8) bytes per data block, but its bits run on from block to block
    const init = addresses.map((_, d) => times(pages, (p) => bitSet(bitmap, d * pages + p)));
    return { addresses, pages: init };
  });
}

/** Elements of one data block (`EADB`), plain or paged; checksums verified. */
async function readDataBlock(
  meta: MetaReader,
  h: EaHeader,
  block: { address: number; start: number; elements: number; pages: boolean[] | undefined },
  opts?: ReadOptions,
): Promise<{ index: number; element: Element }[]> {
  const prefix = 6 + meta.offsetSize + Math.ceil(h.maxBits / 8);
  const pages = pagesOf(h, block.elements);
  if (pages > 0) {
    if (!block.pages) {
      throw new UnsupportedHdf5Error(
        "chunk-index",
        `paged extensible array data block at ${block.address} outside a secondary block`,
      );
    }
    return readPagedDataBlock(meta, h, { ...block, pages: block.pages }, prefix, opts);
  }
  const size = prefix + block.elements * h.shape.elementSize;
  const bytes = await readRaw(meta, block.address, size + 4, "extensible array data block", opts);
  return parseAt(block.address, "extensible array data block", () => {
    const c = checkedBlock(bytes, "EADB", block.address, size);
    c.offset = prefix;
    return times(block.elements, (i) => ({
      index: block.start + i,
      element: readElement(c, h.shape),
    }));
  });
}

async function readPagedDataBlock(
  meta: MetaReader,
  h: EaHeader,
  block: { address: number; start: number; pages: boolean[] },
  prefix: number,
  opts?: ReadOptions,
): Promise<{ index: number; element: Element }[]> {
  const head = await readRaw(meta, block.address, prefix + 4, "extensible array data block", opts);
  parseAt(block.address, "extensible array data block", () =>
    checkedBlock(head, "EADB", block.address, prefix),
  );
  const perPage = 2 ** h.pageBits;
  const pageBytes = perPage * h.shape.elementSize + 4;
  const jobs = block.pages.flatMap((initialised, p) => {
    if (!initialised) return [];
    const page = {
      address: block.address + prefix + 4 + p * pageBytes,
      first: block.start + p * perPage,
      count: perPage,
    };
    return [readPage(meta, page, h.shape, opts)];
  });
  return (await Promise.all(jobs)).flat();
}
