import { InvalidHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import type { Cursor } from "./cursor.js";
import {
  cursorOf,
  expectSignature,
  padTo,
  readAddress,
  readBytes,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
  times,
} from "./cursor.js";
import type { Datatype } from "./datatype.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt, readRaw } from "./reader.js";
import type { AttrValue } from "./types.js";
import { decodeElements } from "./values.js";

/** Objects of one global heap collection, by index. */
export type GlobalHeapCollection = Map<number, Uint8Array>;

/** Parses a global heap collection (`GCOL`) whose bytes start at `offset`. */
export function parseGlobalHeap(
  view: DataView,
  offset: number,
  address: number,
  lengthSize: number,
): GlobalHeapCollection {
  const c: Cursor = { view, offset };
  expectSignature(c, "GCOL", address);
  const version = readUint8(c);
  if (version !== 1)
    throw new InvalidHdf5Error(`global heap at ${address} has version ${version}`, { address });
  c.offset += 3;
  const size = readUintLE(c, lengthSize, "collection size");
  const end = Math.min(offset + size, view.byteLength);
  const objects: GlobalHeapCollection = new Map();
  while (c.offset + 8 + lengthSize <= end) {
    const index = readUint16LE(c);
    c.offset += 6; // reference count, reserved
    const objectSize = readUintLE(c, lengthSize, "object size");
    if (index === 0) break; // free space runs to the end
    objects.set(index, readBytes(c, objectSize, "global heap object"));
    c.offset = offset + padTo(c.offset - offset, 8);
  }
  return objects;
}

/**
 * The global heap collections read from each open file, by address: the variable-length attributes of
 * a file's datasets (the DIMENSION_LIST of every dataset of an ATL06 granule, 503 in one real granule)
 * share a few collections, each read and parsed whole once rather than once per attribute.
 */
const collections = new WeakMap<MetaReader, Map<number, Promise<GlobalHeapCollection>>>();

/** Reads a whole global heap collection (once per open file; a failed read is tried again next time). */
export function readGlobalHeap(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<GlobalHeapCollection> {
  let read = collections.get(meta);
  if (read === undefined) {
    read = new Map();
    collections.set(meta, read);
  }
  let collection = read.get(address);
  if (collection === undefined) {
    const reading = readCollection(meta, address, opts);
    collection = reading;
    read.set(address, reading);
    reading.catch(() => {
      if (read.get(address) === reading) read.delete(address);
    });
  }
  return collection;
}

async function readCollection(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<GlobalHeapCollection> {
  const head = await readAt(meta, address, 8 + meta.lengthSize, "global heap", opts);
  head.offset = 8;
  const size = readUintLE(head, meta.lengthSize, "collection size");
  // A copy: the objects kept are views of it, not of a (larger) block of the metadata cache.
  const bytes = (await readRaw(meta, address, size, "global heap collection", opts)).slice();
  return parseAt(address, "global heap", () =>
    parseGlobalHeap(cursorOf(bytes).view, 0, address, meta.lengthSize),
  );
}

const utf8 = new TextDecoder("utf-8");

/**
 * Decodes `count` variable-length values whose descriptors (length(4), collection address, object
 * index(4)) are packed in `data`: strings for vlen strings, arrays of base-type values for sequences
 * (object references come back as addresses). Collections are read once each; null descriptors give ""
 * or [].
 */
export async function readVlenValues(
  meta: MetaReader,
  data: Uint8Array,
  count: number,
  type: Datatype,
  opts?: ReadOptions,
): Promise<AttrValue[]> {
  const c = cursorOf(data);
  const refs = times(count, () => {
    const length = readUint32LE(c);
    return { length, address: readAddress(c, meta.offsetSize), index: readUint32LE(c) };
  });
  const heaps = new Map<number, Promise<GlobalHeapCollection>>();
  for (const r of refs) {
    if (r.address > 0 && !heaps.has(r.address)) heaps.set(r.address, readGlobalHeap(meta, r.address, opts));
  }
  const empty = type.vlenString ? "" : [];
  return Promise.all(
    refs.map(async (r) => {
      if (r.address <= 0 || r.length === 0) return empty;
      const object = (await heaps.get(r.address)!).get(r.index);
      if (!object) {
        throw new InvalidHdf5Error(`global heap ${r.address} has no object ${r.index}`, {
          address: r.address,
        });
      }
      if (type.vlenString) return utf8.decode(object.subarray(0, r.length)).replace(/\0+$/, "");
      return type.base ? decodeElements(object, type.base, r.length) : null;
    }),
  );
}
