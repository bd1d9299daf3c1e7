import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { readBTreeV2Records } from "./btree-v2.js";
import { verifyChecksum } from "./checksum.js";
import type { Cursor } from "./cursor.js";
import {
  cursorOf,
  expectSignature,
  readAddress,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
  UNDEFINED_ADDRESS,
} from "./cursor.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";

/** The parts of a fractal heap header (`FRHP`) needed to find managed and tiny objects. */
export interface FractalHeap {
  address: number;
  heapIdLength: number;
  filtered: boolean;
  tableWidth: number;
  startBlockSize: number;
  maxDirectBlockSize: number;
  /** Maximum heap size in bits: block offsets in heap IDs and block headers take ceil(bits/8) bytes. */
  maxHeapBits: number;
  rootAddress: number;
  /** Rows of the root indirect block; 0 when the root is a direct block. */
  rootRows: number;
  /** v2 B-tree indexing huge objects by ID; UNDEFINED_ADDRESS (-1) when there are none. */
  hugeIndex: number;
  /** Bytes of the length field of managed heap IDs. */
  idLengthBytes: number;
}

/** Parses a fractal heap header. */
export function parseFractalHeap(
  view: DataView,
  offset: number,
  address: number,
  meta: MetaReader,
): FractalHeap {
  const c: Cursor = { view, offset };
  expectSignature(c, "FRHP", address);
  const version = readUint8(c);
  if (version !== 0)
    throw new InvalidHdf5Error(`fractal heap at ${address} has version ${version}`, { address });
  const heapIdLength = readUint16LE(c);
  const filterLength = readUint16LE(c);
  c.offset += 1; // flags
  const maxManaged = readUint32LE(c);
  readUintLE(c, meta.lengthSize, "next huge object id");
  const hugeIndex = readAddress(c, meta.offsetSize);
  c.offset += meta.lengthSize + meta.offsetSize; // free space amount and manager
  c.offset += 8 * meta.lengthSize; // managed/huge/tiny space and object counts
  const tableWidth = readUint16LE(c);
  const startBlockSize = readUintLE(c, meta.lengthSize, "starting block size");
  const maxDirectBlockSize = readUintLE(c, meta.lengthSize, "maximum direct block size");
  const maxHeapBits = readUint16LE(c);
  c.offset += 2; // starting rows of the root indirect block
  const rootAddress = readAddress(c, meta.offsetSize);
  const rootRows = readUint16LE(c);
  if (filterLength === 0) {
    verifyChecksum(
      new Uint8Array(view.buffer, view.byteOffset + offset, c.offset - offset + 4),
      c.offset - offset,
      "fractal heap header",
      address,
    );
  }
  checkGeometry(address, tableWidth, startBlockSize, maxDirectBlockSize, maxHeapBits);
  const idLengthBytes = Math.min(limitSize(maxDirectBlockSize), limitSize(maxManaged));
  return {
    address,
    heapIdLength,
    filtered: filterLength > 0,
    tableWidth,
    startBlockSize,
    maxDirectBlockSize,
    maxHeapBits,
    rootAddress,
    rootRows,
    idLengthBytes,
    hugeIndex,
  };
}

function checkGeometry(address: number, width: number, start: number, maxDirect: number, bits: number): void {
  const pow2 = (n: number) => n > 0 && Number.isInteger(Math.log2(n));
  if (width === 0 || !pow2(start) || !pow2(maxDirect) || maxDirect < start || bits === 0 || bits > 64) {
    throw new InvalidHdf5Error(
      `fractal heap at ${address} has table width ${width}, block sizes ${start}/${maxDirect}, ${bits}-bit offsets`,
      { address },
    );
  }
}

/** HDF5's "limit encoding size": bytes needed for values up to `n`. */
function limitSize(n: number): number {
  return Math.floor(Math.floor(Math.log2(Math.max(n, 1))) / 8) + 1;
}

/** Reads and parses the fractal heap header at `address`. */
export async function readFractalHeap(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<FractalHeap> {
  const length = 4 + 1 + 2 + 2 + 1 + 4 + 12 * meta.lengthSize + 3 * meta.offsetSize + 2 + 2 + 2 + 2 + 4;
  const c = await readAt(meta, address, length, "fractal heap header", opts);
  return parseAt(address, "fractal heap header", () => parseFractalHeap(c.view, 0, address, meta));
}

/** Size of each block in row `row` of the doubling table. */
function rowBlockSize(heap: FractalHeap, row: number): number {
  return row === 0 ? heap.startBlockSize : heap.startBlockSize * 2 ** (row - 1);
}

/** Rows of the table that hold direct blocks. */
function maxDirectRows(heap: FractalHeap): number {
  return Math.log2(heap.maxDirectBlockSize) - Math.log2(heap.startBlockSize) + 2;
}

/**
 * Returns the bytes of the object a heap ID designates: managed objects are read from their direct block,
 * tiny objects come from the ID itself, huge objects (too big for a direct block) from where the ID or
 * the heap's huge-object B-tree says.
 * @throws UnsupportedHdf5Error for filtered heaps; InvalidHdf5Error for bad IDs.
 */
export async function readHeapObject(
  meta: MetaReader,
  heap: FractalHeap,
  id: Uint8Array,
  opts?: ReadOptions,
): Promise<Uint8Array> {
  const kind = (id[0]! >> 4) & 0x03;
  if (kind === 2) return id.subarray(1, 1 + (id[0]! & 0x0f) + 1);
  if (kind === 1 && !heap.filtered) return readHugeObject(meta, heap, id, opts);
  if (kind !== 0 || heap.filtered) {
    throw new UnsupportedHdf5Error(
      "fractal-heap",
      `huge or filtered objects of the fractal heap at ${heap.address}`,
    );
  }
  const c = cursorOf(id, 1);
  const offset = readUintLE(c, Math.ceil(heap.maxHeapBits / 8), "heap object offset");
  const length = readUintLE(c, heap.idLengthBytes, "heap object length");
  const block = await locateDirectBlock(meta, heap, offset, opts);
  if (offset + length > block.heapOffset + block.size) {
    throw new InvalidHdf5Error(`heap object ${offset}+${length} overruns its block in heap ${heap.address}`, {
      address: block.address,
    });
  }
  return readRaw(meta, block.address + (offset - block.heapOffset), length, "heap object", opts);
}

/**
 * A huge object: its address and length are in the ID when the ID is long enough, else in the heap's
 * v2 B-tree of huge objects (record type 1: address, length, ID).
 */
async function readHugeObject(
  meta: MetaReader,
  heap: FractalHeap,
  id: Uint8Array,
  opts?: ReadOptions,
): Promise<Uint8Array> {
  const c = cursorOf(id, 1);
  if (id.length >= 1 + meta.offsetSize + meta.lengthSize) {
    const address = readAddress(c, meta.offsetSize);
    return readRaw(
      meta,
      address,
      readUintLE(c, meta.lengthSize, "huge object length"),
      "huge heap object",
      opts,
    );
  }
  const key = readUintLE(c, id.length - 1, "huge object id");
  if (heap.hugeIndex === UNDEFINED_ADDRESS) {
    throw new InvalidHdf5Error(
      `fractal heap at ${heap.address} has huge object ${key} but no huge-object index`,
    );
  }
  for (const record of await readBTreeV2Records(meta, heap.hugeIndex, opts)) {
    const r = cursorOf(record);
    const address = readAddress(r, meta.offsetSize);
    const length = readUintLE(r, meta.lengthSize, "huge object length");
    if (readUintLE(r, meta.lengthSize, "huge object id") === key) {
      return readRaw(meta, address, length, "huge heap object", opts);
    }
  }
  throw new InvalidHdf5Error(`fractal heap at ${heap.address} has no huge object ${key}`, {
    address: heap.address,
  });
}

interface DirectBlock {
  address: number;
  heapOffset: number;
  size: number;
}

/** Walks from the root to the direct block that holds heap offset `offset`. */
async function locateDirectBlock(
  meta: MetaReader,
  heap: FractalHeap,
  offset: number,
  opts?: ReadOptions,
): Promise<DirectBlock> {
  if (heap.rootRows === 0) return { address: heap.rootAddress, heapOffset: 0, size: heap.startBlockSize };
  let block = { address: heap.rootAddress, rows: heap.rootRows, heapOffset: 0 };
  for (let depth = 0; depth < 64; depth++) {
    const entry = findEntry(heap, block.rows, offset - block.heapOffset);
    const child = await readIndirectEntry(meta, heap, block, entry.index, opts);
    const heapOffset = block.heapOffset + entry.start;
    if (entry.direct) return { address: child, heapOffset, size: entry.size };
    const rows = Math.log2(entry.size) - Math.log2(heap.startBlockSize * heap.tableWidth) + 1;
    block = { address: child, rows, heapOffset };
  }
  throw new InvalidHdf5Error(`fractal heap at ${heap.address} nests indirect blocks too deeply`);
}

/** Which entry of an indirect block with `rows` rows covers relative offset `rel`. */
function findEntry(heap: FractalHeap, rows: number, rel: number) {
  let start = 0;
  for (let row = 0; row < rows; row++) {
    const size = rowBlockSize(heap, row);
    if (rel < start + size * heap.tableWidth) {
      const col = Math.floor((rel - start) / size);
      return {
        index: row * heap.tableWidth + col,
        start: start + col * size,
        size,
        direct: row < maxDirectRows(heap),
      };
    }
    start += size * heap.tableWidth;
  }
  throw new InvalidHdf5Error(`heap offset ${rel} lies beyond the blocks of fractal heap ${heap.address}`);
}

/** Reads child address `index` of the indirect block (`FHIB`) at `block.address`. */
async function readIndirectEntry(
  meta: MetaReader,
  heap: FractalHeap,
  block: { address: number; rows: number },
  index: number,
  opts?: ReadOptions,
): Promise<number> {
  const header = 4 + 1 + meta.offsetSize + Math.ceil(heap.maxHeapBits / 8);
  const at = block.address + header + index * meta.offsetSize;
  const c = await readAt(meta, block.address, 4, "fractal heap indirect block", opts);
  expectSignature(c, "FHIB", block.address);
  const entry = await readAt(meta, at, meta.offsetSize, "fractal heap indirect entry", opts);
  const child = readAddress(entry, meta.offsetSize);
  if (child < 0)
    throw new InvalidHdf5Error(`fractal heap entry ${index} at ${at} is not allocated`, { address: at });
  return child;
}
