import { InvalidHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { verifyChecksum } from "./checksum.js";
import type { Cursor } from "./cursor.js";
import {
  expectSignature,
  readAddress,
  readBytes,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
  times,
} from "./cursor.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt } from "./reader.js";

/** Header of a version-2 B-tree (`BTHD`). */
export interface BTreeV2Header {
  type: number;
  nodeSize: number;
  recordSize: number;
  depth: number;
  rootAddress: number;
  rootRecords: number;
}

/** Signature, version, type and checksum bytes around every v2 B-tree node. */
const NODE_OVERHEAD = 10;
/** Depth limit: a v2 B-tree of depth 16 would hold more records than any file has. */
const MAX_DEPTH = 16;

/** Parses a v2 B-tree header. */
export function parseBTreeV2Header(
  view: DataView,
  offset: number,
  address: number,
  meta: MetaReader,
): BTreeV2Header {
  const c: Cursor = { view, offset };
  expectSignature(c, "BTHD", address);
  const version = readUint8(c);
  if (version !== 0)
    throw new InvalidHdf5Error(`v2 B-tree at ${address} has version ${version}`, { address });
  const type = readUint8(c);
  const nodeSize = readUint32LE(c);
  const recordSize = readUint16LE(c);
  const depth = readUint16LE(c);
  c.offset += 2; // split and merge percents
  const rootAddress = readAddress(c, meta.offsetSize);
  const rootRecords = readUint16LE(c);
  readUintLE(c, meta.lengthSize, "total records");
  verifyChecksum(bytesOf(c), c.offset, "v2 B-tree header", address);
  if (depth > MAX_DEPTH || recordSize === 0 || nodeSize <= NODE_OVERHEAD) {
    throw new InvalidHdf5Error(
      `v2 B-tree at ${address} has depth ${depth}, node size ${nodeSize}, record size ${recordSize}`,
      { address },
    );
  }
  return { type, nodeSize, recordSize, depth, rootAddress, rootRecords };
}

/** Bytes needed to encode values up to `n` (HDF5's "limit encoding size"). */
function encodedSize(n: number): number {
  return Math.floor(Math.floor(Math.log2(Math.max(n, 1))) / 8) + 1;
}

/** Field sizes of internal-node child pointers: record-count bytes, and pointer bytes per depth (index 0 unused). */
export interface PointerLayout {
  countSize: number;
  pointerSize: number[];
}

/** Derives child-pointer sizes per depth from the node and record sizes, as the HDF5 library does. */
export function pointerLayout(h: BTreeV2Header, offsetSize: number): PointerLayout {
  const leafMax = Math.floor((h.nodeSize - NODE_OVERHEAD) / h.recordSize);
  const countSize = encodedSize(leafMax);
  const pointerSize = [0];
  let cumulative = leafMax;
  let cumulativeSize = 0;
  for (let d = 1; d <= h.depth; d++) {
    const pointer = offsetSize + countSize + (d > 1 ? cumulativeSize : 0);
    pointerSize.push(pointer);
    const max = Math.floor((h.nodeSize - NODE_OVERHEAD - pointer) / (h.recordSize + pointer));
    cumulative = (max + 1) * cumulative + max;
    cumulativeSize = encodedSize(cumulative);
  }
  return { countSize, pointerSize };
}

/**
 * Reads every record of a v2 B-tree as raw bytes (record size each), in key order.
 * @throws InvalidHdf5Error for bad signatures, cycles or records outside the file.
 */
export async function readBTreeV2Records(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<Uint8Array[]> {
  const head = await readAt(
    meta,
    address,
    16 + meta.offsetSize + 2 + meta.lengthSize + 4,
    "v2 B-tree header",
    opts,
  );
  const h = parseAt(address, "v2 B-tree header", () => parseBTreeV2Header(head.view, 0, address, meta));
  if (h.rootRecords === 0 || h.rootAddress < 0) return [];
  const layout = pointerLayout(h, meta.offsetSize);
  const seen = new Set<number>();
  const visit = async (node: number, depth: number, count: number): Promise<Uint8Array[]> => {
    if (seen.has(node)) throw new InvalidHdf5Error(`v2 B-tree cycle at node ${node}`, { address: node });
    seen.add(node);
    const c = await readAt(meta, node, h.nodeSize, "v2 B-tree node", opts);
    expectSignature(c, depth === 0 ? "BTLF" : "BTIN", node);
    c.offset += 2; // version, type
    const records = times(count, () => readBytes(c, h.recordSize, "v2 B-tree record"));
    const children = depth === 0 ? [] : times(count + 1, () => readChild(c, meta.offsetSize, layout, depth));
    verifyChecksum(bytesOf(c), c.offset, "v2 B-tree node", node);
    if (depth === 0) return records;
    const below = await Promise.all(children.map((child) => visit(child.address, depth - 1, child.records)));
    return below.flatMap((part, i) => (i < records.length ? [...part, records[i]!] : part));
  };
  return visit(h.rootAddress, h.depth, h.rootRecords);
}

function bytesOf(c: Cursor): Uint8Array {
  return new Uint8Array(c.view.buffer, c.view.byteOffset, c.view.byteLength);
}

function readChild(c: Cursor, offsetSize: number, layout: PointerLayout, depth: number) {
  const address = readAddress(c, offsetSize);
  const records = readUintLE(c, layout.countSize, "child record count");
  c.offset += layout.pointerSize[depth]! - offsetSize - layout.countSize; // total records below, if any
  return { address, records };
}
