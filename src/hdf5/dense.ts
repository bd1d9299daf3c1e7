import { UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import type { Attribute } from "./attribute.js";
import { parseAttributeMessage } from "./attribute.js";
import { readBTreeV2Records } from "./btree-v2.js";
import type { Cursor } from "./cursor.js";
import { cursorOf, readAddress, readUint8, UNDEFINED_ADDRESS } from "./cursor.js";
import { readFractalHeap, readHeapObject } from "./fractal-heap.js";
import type { Link } from "./links.js";
import { parseLink } from "./links.js";
import type { MetaReader } from "./reader.js";
import { parseAt } from "./reader.js";

/** Where dense storage lives: a fractal heap of messages and a v2 B-tree indexing them by name. */
export interface DenseStorage {
  heapAddress: number;
  nameIndexAddress: number;
}

/** Parses an attribute info message (type 0x15, version 0). */
export function parseAttributeInfo(view: DataView, offset: number, offsetSize: number): DenseStorage {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version !== 0)
    throw new UnsupportedHdf5Error("attribute-info", `attribute info message version ${version}`);
  const flags = readUint8(c);
  if (flags & 0x01) c.offset += 2; // maximum creation index
  return { heapAddress: readAddress(c, offsetSize), nameIndexAddress: readAddress(c, offsetSize) };
}

/** Reads the objects of dense storage: each name-index record holds the heap ID at `idOffset`. */
async function readDenseObjects(
  meta: MetaReader,
  dense: DenseStorage,
  idOffset: number,
  opts?: ReadOptions,
): Promise<Uint8Array[]> {
  if (dense.heapAddress === UNDEFINED_ADDRESS || dense.nameIndexAddress === UNDEFINED_ADDRESS) return [];
  const heap = await readFractalHeap(meta, dense.heapAddress, opts);
  const records = await readBTreeV2Records(meta, dense.nameIndexAddress, opts);
  const ids = records.map((r) => r.subarray(idOffset, idOffset + heap.heapIdLength));
  return Promise.all(ids.map((id) => readHeapObject(meta, heap, id, opts)));
}

/** Links of a group with dense link storage (name index records: hash(4) then heap ID). */
export async function readDenseLinks(
  meta: MetaReader,
  dense: DenseStorage,
  opts?: ReadOptions,
): Promise<Link[]> {
  const objects = await readDenseObjects(meta, dense, 4, opts);
  return objects.map((bytes) =>
    parseAt(dense.heapAddress, "dense link", () => parseLink(cursorOf(bytes).view, 0, meta.offsetSize)),
  );
}

/** Attributes in dense storage (name index records: heap ID(8), flags, creation order, hash). */
export async function readDenseAttributes(
  meta: MetaReader,
  dense: DenseStorage,
  opts?: ReadOptions,
): Promise<Attribute[]> {
  const objects = await readDenseObjects(meta, dense, 0, opts);
  return objects.map((bytes) =>
    parseAt(dense.heapAddress, "dense attribute", () => parseAttributeMessage(bytes, meta.lengthSize)),
  );
}
