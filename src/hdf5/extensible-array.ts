import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import type { Element, ElementShape } from "./chunk-elements.js";
import { chunkBytesOf, coordsOf, gridOf, readElement, toRefs } from "./chunk-elements.js";
import type { Cursor } from "./cursor.js";
import { expectSignature, readAddress, readUint8, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import type { ChunkedLayout } from "./layout.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt } from "./reader.js";
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
  if (dataBlockMin === 0 || secondaryMinPointers === 0 || maxBits > 64) {
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
  return Array.from({ length: count }, (_, s) => {
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
 * dimension). Linear chunk indices put the unlimited dimension first.
 * @throws UnsupportedHdf5Error for paged data blocks.
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
  const c = await readAt(meta, h.indexBlock, size, "extensible array index block", opts);
  expectSignature(c, "EAIB", h.indexBlock);
  c.offset = prefix;
  const out = Array.from({ length: h.indexElements }, (_, index) => ({
    index,
    element: readElement(c, h.shape),
  }));
  const blockAddresses = Array.from({ length: directBlocks }, () => readAddress(c, meta.offsetSize));
  const superAddresses = Array.from({ length: secondaries }, () => readAddress(c, meta.offsetSize));
  const jobs: Promise<{ index: number; element: Element }[]>[] = [];
  for (const [s, info] of sblks.entries()) {
    if (info.start >= h.maxIndexSet) break;
    const addresses =
      s < directSuper
        ? blockAddresses.slice(info.firstBlock, info.firstBlock + info.blocks)
        : await readSecondary(
            meta,
            h,
            { address: superAddresses[s - directSuper]!, blocks: info.blocks },
            opts,
          );
    addresses.forEach((address, d) => {
      const start = info.start + d * info.elements;
      if (address !== UNDEFINED_ADDRESS && start < h.maxIndexSet) {
        jobs.push(readDataBlock(meta, h, { address, start, elements: info.elements }, opts));
      }
    });
  }
  return [...out, ...(await Promise.all(jobs)).flat()];
}

/** Data block addresses of a secondary block (`EASB`); all undefined when the block was never allocated. */
async function readSecondary(
  meta: MetaReader,
  h: EaHeader,
  block: { address: number; blocks: number },
  opts?: ReadOptions,
): Promise<number[]> {
  if (block.address === UNDEFINED_ADDRESS) return new Array<number>(block.blocks).fill(UNDEFINED_ADDRESS);
  const prefix = 6 + meta.offsetSize + Math.ceil(h.maxBits / 8);
  const c = await readAt(
    meta,
    block.address,
    prefix + block.blocks * meta.offsetSize,
    "extensible array secondary block",
    opts,
  );
  expectSignature(c, "EASB", block.address);
  c.offset = prefix;
  return Array.from({ length: block.blocks }, () => readAddress(c, meta.offsetSize));
}

/** Elements of one data block (`EADB`). */
async function readDataBlock(
  meta: MetaReader,
  h: EaHeader,
  block: { address: number; start: number; elements: number },
  opts?: ReadOptions,
) {
  if (block.elements > 2 ** h.pageBits) {
    throw new UnsupportedHdf5Error("chunk-index", `paged extensible array data block at ${block.address}`);
  }
  const prefix = 6 + meta.offsetSize + Math.ceil(h.maxBits / 8);
  const bytes = prefix + block.elements * h.shape.elementSize;
  const c = await readAt(meta, block.address, bytes, "extensible array data block", opts);
  expectSignature(c, "EADB", block.address);
  c.offset = prefix;
  return Array.from({ length: block.elements }, (_, i) => ({
    index: block.start + i,
    element: readElement(c, h.shape),
  }));
}
