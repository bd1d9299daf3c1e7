import { InvalidHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import type { Cursor } from "./cursor.js";
import {
  cursorOf,
  expectSignature,
  readAddress,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
} from "./cursor.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";

/** Key of a chunk B-tree (type 1): stored size, filter mask and element offsets of a chunk. */
export interface ChunkKey {
  size: number;
  filterMask: number;
  /** Element coordinates, one per dataset dimension (the trailing element-size offset dropped). */
  coords: number[];
}

/** One B-tree v1 node: its level and the (key, child) pairs; `keys` has one more entry than `children`. */
export interface BTreeNode<K> {
  type: number;
  level: number;
  children: number[];
  keys: K[];
}

/** Size of a node header with 8-byte addresses: signature, type, level, entries used, two siblings. */
const HEADER_BYTES = (offsetSize: number) => 8 + 2 * offsetSize;

/** What node parsing needs: sizes, and the dataset rank for chunk keys. */
export interface BTreeShape {
  offsetSize: number;
  lengthSize: number;
  /** Dataset rank; chunk keys hold rank + 1 offsets. Unused for group nodes. */
  rank: number;
}

/** Bytes of one key: a heap offset for groups (type 0), size+mask+offsets for chunks (type 1). */
export function keySize(type: number, shape: BTreeShape): number {
  return type === 0 ? shape.lengthSize : 8 + 8 * (shape.rank + 1);
}

/**
 * Parses the header of a B-tree v1 node (`TREE`): node type, level and entries used.
 * @throws InvalidHdf5Error for a bad signature or an unknown node type.
 */
export function parseNodeHeader(view: DataView, offset: number, address: number) {
  const c: Cursor = { view, offset };
  expectSignature(c, "TREE", address);
  const type = readUint8(c);
  const level = readUint8(c);
  const entries = readUint16LE(c);
  if (type > 1) throw new InvalidHdf5Error(`B-tree node at ${address} has unknown type ${type}`, { address });
  return { type, level, entries };
}

/** Parses the `entries` children and `entries + 1` keys that follow a node header at `offset`. */
export function parseNodeEntries<K>(
  c: Cursor,
  entries: number,
  shape: BTreeShape,
  readKey: (c: Cursor) => K,
): { keys: K[]; children: number[] } {
  const keys: K[] = [];
  const children: number[] = [];
  for (let i = 0; i < entries; i++) {
    keys.push(readKey(c));
    children.push(readAddress(c, shape.offsetSize));
  }
  keys.push(readKey(c));
  return { keys, children };
}

/** Reads a chunk key: size(4), filter mask(4), rank+1 offsets of 8 bytes. */
export function readChunkKey(c: Cursor, rank: number): ChunkKey {
  const size = readUint32LE(c);
  const filterMask = readUint32LE(c);
  // rank + 1 offsets, the last (the element's byte offset, always 0) read and dropped; no closure or
  // array per key beyond the coordinates (a granule's trees hold thousands of keys).
  const coords: number[] = [];
  for (let d = 0; d < rank; d++) coords.push(readUintLE(c, 8, "chunk offset"));
  readUintLE(c, 8, "chunk offset");
  return { size, filterMask, coords };
}

/**
 * Bytes read first from a node: the header and, for 1-D chunk trees, up to 8 entries, so small trees
 * take one read.
 */
const NODE_READ_SIZE = 192;

/** Reads one node at `address`: one read when its used entries fit in the first {@link NODE_READ_SIZE} bytes. */
export async function readNode<K>(
  meta: MetaReader,
  address: number,
  shape: BTreeShape,
  readKey: (c: Cursor) => K,
  opts?: ReadOptions,
): Promise<BTreeNode<K>> {
  const headerBytes = HEADER_BYTES(meta.offsetSize);
  const guess = Math.max(headerBytes, Math.min(NODE_READ_SIZE, meta.fileSize - meta.baseAddress - address));
  const head = await readRaw(meta, address, guess, "B-tree node", opts);
  const { type, level, entries } = parseNodeHeader(cursorOf(head).view, 0, address);
  const length = entries * (keySize(type, shape) + meta.offsetSize) + keySize(type, shape);
  const body =
    headerBytes + length <= head.length
      ? cursorOf(head.subarray(headerBytes, headerBytes + length))
      : await readAt(meta, address + headerBytes, length, "B-tree node entries", opts);
  const parsed = parseAt(address, "B-tree node", () => parseNodeEntries(body, entries, shape, readKey));
  return { type, level, ...parsed };
}

/**
 * Walks a B-tree v1 from `root` and returns every leaf entry (key and child address) in key order.
 * @throws InvalidHdf5Error on a node seen twice, a level that does not decrease, or a wrong node type.
 */
export async function readLeaves<K>(
  meta: MetaReader,
  root: number,
  expected: { type: number; shape: BTreeShape; readKey: (c: Cursor) => K },
  opts?: ReadOptions,
): Promise<{ key: K; child: number }[]> {
  const seen = new Set<number>();
  const visit = async (address: number, parentLevel: number): Promise<{ key: K; child: number }[]> => {
    if (seen.has(address))
      throw new InvalidHdf5Error(`B-tree cycle: node ${address} seen twice`, { address });
    seen.add(address);
    opts?.signal?.throwIfAborted();
    const node = await readNode(meta, address, expected.shape, expected.readKey, opts);
    checkNode(node, address, expected.type, parentLevel);
    if (node.level === 0) return node.children.map((child, i) => ({ key: node.keys[i]!, child }));
    const parts = await Promise.all(node.children.map((child) => visit(child, node.level)));
    return parts.flat();
  };
  return visit(root, Number.POSITIVE_INFINITY);
}

function checkNode<K>(node: BTreeNode<K>, address: number, type: number, parentLevel: number): void {
  if (node.type !== type) {
    throw new InvalidHdf5Error(`B-tree node at ${address} has type ${node.type}; expected ${type}`, {
      address,
    });
  }
  if (Number.isFinite(parentLevel) && node.level !== parentLevel - 1) {
    throw new InvalidHdf5Error(
      `B-tree node at ${address} has level ${node.level} under level ${parentLevel}`,
      {
        address,
      },
    );
  }
}
