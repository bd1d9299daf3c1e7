import { InvalidHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { readLeaves } from "./btree-v1.js";
import type { Cursor } from "./cursor.js";
import {
  cString,
  cursorOf,
  expectSignature,
  readAddress,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
  times,
} from "./cursor.js";
import type { Link } from "./links.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";

/** A local heap: where its data segment lives. */
export interface LocalHeap {
  dataAddress: number;
  dataSize: number;
}

/** One symbol table entry: the name's offset in the local heap and the object header address. */
export interface SymbolEntry {
  nameOffset: number;
  address: number;
  /** For soft links (cache type 2): offset of the link value in the local heap. */
  softOffset?: number;
}

/** Parses a local heap header (`HEAP`, version 0). */
export function parseLocalHeap(
  view: DataView,
  offset: number,
  address: number,
  lengthSize: number,
  offsetSize: number,
) {
  const c: Cursor = { view, offset };
  expectSignature(c, "HEAP", address);
  const version = readUint8(c);
  if (version !== 0)
    throw new InvalidHdf5Error(`local heap at ${address} has version ${version}`, { address });
  c.offset += 3;
  const dataSize = readUintLE(c, lengthSize, "heap data size");
  readUintLE(c, lengthSize, "free list offset");
  return { dataAddress: readAddress(c, offsetSize), dataSize };
}

/** Parses a symbol table node (`SNOD`, version 1) into its entries. */
export function parseSymbolNode(
  view: DataView,
  offset: number,
  address: number,
  offsetSize: number,
): SymbolEntry[] {
  const c: Cursor = { view, offset };
  expectSignature(c, "SNOD", address);
  const version = readUint8(c);
  if (version !== 1)
    throw new InvalidHdf5Error(`symbol table node at ${address} has version ${version}`, { address });
  c.offset += 1;
  const count = readUint16LE(c);
  return times(count, () => {
    const nameOffset = readUintLE(c, offsetSize, "link name offset");
    const objectAddress = readAddress(c, offsetSize);
    const cacheType = readUint32LE(c);
    c.offset += 4; // reserved
    const softOffset = cacheType === 2 ? readUint32LE(c) : undefined;
    c.offset += cacheType === 2 ? 12 : 16; // rest of the scratch pad
    return softOffset === undefined
      ? { nameOffset, address: objectAddress }
      : { nameOffset, address: objectAddress, softOffset };
  });
}

/** Size of a SNOD with `count` entries. */
function symbolNodeSize(count: number, offsetSize: number): number {
  return 8 + count * (2 * offsetSize + 24);
}

/**
 * Reads the members of an old-style group (symbol table message): B-tree v1 type 0, its SNODs and the
 * local heap holding the names. Returns the group's links (hard, or soft with their target path).
 */
export async function readSymbolTable(
  meta: MetaReader,
  table: { btree: number; heap: number },
  opts?: ReadOptions,
): Promise<Link[]> {
  const heapHead = await readAt(
    meta,
    table.heap,
    8 + 2 * meta.lengthSize + meta.offsetSize,
    "local heap",
    opts,
  );
  const heap = parseAt(table.heap, "local heap", () =>
    parseLocalHeap(heapHead.view, 0, table.heap, meta.lengthSize, meta.offsetSize),
  );
  const names = await readRaw(meta, heap.dataAddress, heap.dataSize, "local heap data", opts);
  const shape = { offsetSize: meta.offsetSize, lengthSize: meta.lengthSize, rank: 0 };
  const readKey = (c: Cursor) => readUintLE(c, meta.lengthSize, "heap offset");
  const leaves = await readLeaves(meta, table.btree, { type: 0, shape, readKey }, opts);
  const nodes = await Promise.all(leaves.map(({ child }) => readSymbolNodeAt(meta, child, opts)));
  return nodes.flat().map((entry) => {
    const name = heapString(names, entry.nameOffset, table.heap);
    if (entry.softOffset === undefined) return { name, address: entry.address };
    return { name, address: undefined, soft: heapString(names, entry.softOffset, table.heap) };
  });
}

async function readSymbolNodeAt(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<SymbolEntry[]> {
  const head = await readAt(meta, address, 8, "symbol table node", opts);
  const count = head.view.getUint16(6, true);
  const node = await readRaw(
    meta,
    address,
    symbolNodeSize(count, meta.offsetSize),
    "symbol table node",
    opts,
  );
  return parseAt(address, "symbol table node", () =>
    parseSymbolNode(cursorOf(node).view, 0, address, meta.offsetSize),
  );
}

function heapString(data: Uint8Array, offset: number, heapAddress: number): string {
  if (offset >= data.length) {
    throw new InvalidHdf5Error(
      `name offset ${offset} outside local heap at ${heapAddress} (${data.length} bytes)`,
      {
        address: heapAddress,
      },
    );
  }
  return cString(data.subarray(offset));
}

/** Parses a symbol table message (type 0x11): the group's B-tree and local heap addresses. */
export function parseSymbolTableMessage(view: DataView, offset: number, offsetSize: number) {
  const c: Cursor = { view, offset };
  return { btree: readAddress(c, offsetSize), heap: readAddress(c, offsetSize) };
}
