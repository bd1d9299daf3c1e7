import { UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { readAddress, readBytes, readUint8, readUint16LE, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";

/** A link message: a name and, for hard links, the object header address (soft/external: undefined). */
export interface Link {
  name: string;
  /** Object header address of a hard link; undefined for soft and external links. */
  address: number | undefined;
  /** Target path of a soft link. */
  soft?: string;
  /** Target of an external link: file name and object path in it. */
  external?: { file: string; path: string };
}

const utf8 = new TextDecoder("utf-8");

/**
 * Parses a link message (type 0x06, version 1).
 * @throws UnsupportedHdf5Error for other versions; InvalidHdf5Error when truncated.
 */
export function parseLink(view: DataView, offset: number, offsetSize: number): Link {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version !== 1)
    throw new UnsupportedHdf5Error("link", `link message version ${version} is not supported`);
  const flags = readUint8(c);
  const type = flags & 0x08 ? readUint8(c) : 0;
  if (flags & 0x04) c.offset += 8; // creation order
  if (flags & 0x10) c.offset += 1; // name character set
  const nameLength = readUintLE(c, 1 << (flags & 0x03), "link name length");
  const name = utf8.decode(readBytes(c, nameLength, "link name"));
  if (type === 0) return { name, address: readAddress(c, offsetSize) };
  if (type === 1)
    return { name, address: undefined, soft: utf8.decode(readBytes(c, readUint16LE(c), "soft link")) };
  if (type === 64) {
    const value = readBytes(c, readUint16LE(c), "external link");
    const [file = "", path = ""] = utf8.decode(value.subarray(1)).split("\0");
    return { name, address: undefined, external: { file, path } };
  }
  return { name, address: undefined };
}

/** Link info message (type 0x02): where dense link storage lives, if any. */
export interface LinkInfo {
  /** Fractal heap address; UNDEFINED_ADDRESS (-1) when links are stored compactly in link messages. */
  heapAddress: number;
  /** Version-2 B-tree name index address. */
  nameIndexAddress: number;
}

/** Parses a link info message body (version 0). */
export function parseLinkInfo(view: DataView, offset: number, offsetSize: number): LinkInfo {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version !== 0) throw new UnsupportedHdf5Error("link-info", `link info message version ${version}`);
  const flags = readUint8(c);
  if (flags & 0x01) c.offset += 8; // maximum creation index
  const heapAddress = readAddress(c, offsetSize);
  const nameIndexAddress = readAddress(c, offsetSize);
  return { heapAddress, nameIndexAddress };
}

/** True when a link info message points at dense (fractal heap) storage. */
export function isDense(info: LinkInfo): boolean {
  return info.heapAddress !== UNDEFINED_ADDRESS;
}
