import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { verifyChecksum } from "./checksum.js";
import type { Cursor } from "./cursor.js";
import {
  cursorOf,
  latin1,
  need,
  readAddress,
  readBytes,
  readUint8,
  readUint16LE,
  readUint32LE,
  readUintLE,
} from "./cursor.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readRaw } from "./reader.js";

/** Header message types this reader understands. */
export const MSG = {
  nil: 0x00,
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  fillValueOld: 0x04,
  fillValue: 0x05,
  link: 0x06,
  layout: 0x08,
  filterPipeline: 0x0b,
  attribute: 0x0c,
  continuation: 0x10,
  symbolTable: 0x11,
  attributeInfo: 0x15,
  fileSpaceInfo: 0x17,
} as const;

/** One header message: its type, flags and the bytes of its body. */
export interface HeaderMessage {
  type: number;
  flags: number;
  body: Uint8Array;
}

/** The messages of an object header, continuation blocks included, in file order. */
export interface ObjectHeader {
  version: 1 | 2;
  messages: HeaderMessage[];
}

/** Where a block of messages lives (the first block or a continuation). */
interface Block {
  address: number;
  length: number;
}

/** Upper bound on continuation blocks per header, which stops cycles in corrupt files. */
const MAX_CONTINUATIONS = 10_000;
/**
 * Bytes read first from a header (a v1 prefix is 16, a v2 prefix at most 48): the median ATL06 header is
 * under 400 bytes, so one read usually holds the whole first block and saves a round trip.
 */
const HEAD_READ_SIZE = 512;

/** Message-flag bit: the message body is stored in the shared-message heap. */
export const MESSAGE_SHARED = 0x02;

/**
 * Reads the object header at `address` (v1, or v2 `OHDR`) with all its continuation blocks.
 * @throws InvalidHdf5Error for bad signatures, versions, or addresses outside the file.
 */
export async function readObjectHeader(
  meta: MetaReader,
  address: number,
  opts?: ReadOptions,
): Promise<ObjectHeader> {
  const headLength = Math.max(0, Math.min(HEAD_READ_SIZE, meta.fileSize - meta.baseAddress - address));
  const head = await readRaw(meta, address, headLength, "object header", opts);
  const prefix = cursorOf(head);
  const isV2 = head.length >= 4 && latin1(head.subarray(0, 4)) === "OHDR";
  const first = parseAt(address, "object header", () =>
    isV2 ? parsePrefixV2(prefix, address) : parsePrefixV1(prefix, address),
  );
  const messages: HeaderMessage[] = [];
  const queue: Block[] = [first];
  const seen = new Set<number>();
  for (let i = 0; i < queue.length; i++) {
    const block = queue[i]!;
    if (seen.has(block.address) || seen.size > MAX_CONTINUATIONS) {
      throw new InvalidHdf5Error(`object header at ${address} has a continuation cycle at ${block.address}`, {
        address: block.address,
      });
    }
    seen.add(block.address);
    const bytes = await blockBytes(meta, { head, address, isV2, index: i, block }, opts);
    const parsed = parseAt(block.address, "object header block", () =>
      isV2 ? parseMessagesV2(bytes, i > 0, first.flags) : parseMessagesV1(bytes),
    );
    for (const m of parsed) {
      if (m.type === MSG.continuation) queue.push(parseContinuation(m.body, meta));
      else messages.push(m);
    }
  }
  return { version: isV2 ? 2 : 1, messages };
}

/**
 * The bytes of one block of messages, from the first read when it holds them. Version-2 blocks are
 * checked against their lookup3 checksum: chunk 0's covers the prefix and follows its messages;
 * a continuation's ends the block.
 */
async function blockBytes(
  meta: MetaReader,
  at: { head: Uint8Array; address: number; isV2: boolean; index: number; block: Block },
  opts?: ReadOptions,
): Promise<Uint8Array> {
  const { head, address, isV2, index, block } = at;
  const span =
    isV2 && index === 0
      ? { address, length: block.address - address + block.length + 4 }
      : { address: block.address, length: block.length };
  const from = span.address - address;
  const bytes =
    from >= 0 && from + span.length <= head.length
      ? head.subarray(from, from + span.length)
      : await readRaw(meta, span.address, span.length, "object header block", opts);
  if (!isV2) return bytes;
  verifyChecksum(
    bytes,
    span.length - 4,
    index === 0 ? "object header" : "object header continuation",
    span.address,
  );
  return index === 0
    ? bytes.subarray(block.address - address, block.address - address + block.length)
    : bytes;
}

interface FirstBlock extends Block {
  flags: number;
}

/** Parses the 16-byte v1 prefix; messages start right after it. */
export function parsePrefixV1(c: Cursor, address: number): FirstBlock {
  const version = readUint8(c);
  if (version !== 1) {
    throw new InvalidHdf5Error(`object header at ${address} has version ${version}; expected 1 or OHDR`, {
      address,
    });
  }
  c.offset += 1 + 2 + 4; // reserved, message count, reference count
  const length = readUint32LE(c);
  return { address: address + 16, length, flags: 0 };
}

/** Parses a v2 `OHDR` prefix; the block given covers the messages of chunk 0 (its checksum excluded). */
export function parsePrefixV2(c: Cursor, address: number): FirstBlock {
  c.offset += 4; // OHDR
  const version = readUint8(c);
  if (version !== 2) {
    throw new UnsupportedHdf5Error(
      "object-header",
      `object header at ${address} has OHDR version ${version}`,
    );
  }
  const flags = readUint8(c);
  if (flags & 0x20) c.offset += 16; // access, modification, change, birth times
  if (flags & 0x10) c.offset += 4; // attribute phase change values
  const length = readUintLE(c, 1 << (flags & 0x03), "chunk 0 size");
  return { address: address + c.offset, length, flags };
}

/**
 * Parses v1 messages: type(2) size(2) flags(1) reserved(3) then the body. NIL messages (free space in
 * the header, most messages of many headers) are checked like the others but not returned.
 */
export function parseMessagesV1(bytes: Uint8Array): HeaderMessage[] {
  const c = cursorOf(bytes);
  const view = c.view;
  const out: HeaderMessage[] = [];
  let at = 0;
  while (at + 8 <= bytes.length) {
    const type = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    const flags = view.getUint8(at + 4);
    at += 8;
    if (at + size > bytes.length) {
      c.offset = at;
      need(c, size, `message type ${type}`);
    }
    if (type !== MSG.nil) out.push({ type, flags, body: bytes.subarray(at, at + size) });
    at += size;
  }
  return out;
}

/**
 * Parses v2 messages (`OCHK` signature on continuation blocks; 4-byte checksum at the end):
 * type(1) size(2) flags(1), plus a 2-byte creation order when header flag bit 2 is set.
 */
export function parseMessagesV2(
  bytes: Uint8Array,
  isContinuation: boolean,
  headerFlags: number,
): HeaderMessage[] {
  const c = cursorOf(bytes);
  if (isContinuation && latin1(readBytes(c, 4, "OCHK signature")) !== "OCHK") {
    throw new InvalidHdf5Error("object header continuation block lacks its OCHK signature");
  }
  const end = bytes.length - (isContinuation ? 4 : 0);
  const headerSize = headerFlags & 0x04 ? 6 : 4;
  const out: HeaderMessage[] = [];
  while (c.offset + headerSize <= end) {
    const type = readUint8(c);
    const size = readUint16LE(c);
    const flags = readUint8(c);
    if (headerFlags & 0x04) c.offset += 2;
    if (c.offset + size > end)
      throw new InvalidHdf5Error(`message type ${type} of ${size} bytes overruns its block`);
    if (type === MSG.nil) c.offset += size;
    else out.push({ type, flags, body: readBytes(c, size, `message type ${type}`) });
  }
  return out;
}

/** Continuation message: address and length of the next block of messages. */
function parseContinuation(body: Uint8Array, meta: MetaReader): Block {
  const c = cursorOf(body);
  const address = readAddress(c, meta.offsetSize);
  const length = readUintLE(c, meta.lengthSize, "continuation length");
  return { address, length };
}

/**
 * Replaces shared messages stored in another object's header (committed datatypes, shared dataspaces)
 * by that header's message of the same type. Messages in the shared-message heap stay as they are.
 * @throws InvalidHdf5Error when the named object lacks the message.
 */
export async function resolveShared(
  header: ObjectHeader,
  offsetSize: number,
  readHeader: (address: number) => Promise<ObjectHeader>,
): Promise<ObjectHeader> {
  if (!header.messages.some((m) => m.flags & MESSAGE_SHARED)) return header;
  const messages = await Promise.all(
    header.messages.map(async (m) => {
      const address = m.flags & MESSAGE_SHARED ? sharedAddress(m.body, offsetSize) : undefined;
      if (address === undefined) return m;
      const target = (await readHeader(address)).messages.find((t) => t.type === m.type);
      if (!target) {
        throw new InvalidHdf5Error(`shared message of type ${m.type} points at ${address}, which lacks it`, {
          address,
        });
      }
      return { ...target, flags: target.flags & ~MESSAGE_SHARED };
    }),
  );
  return { ...header, messages };
}

/** Object header address of a shared message (versions 1-3, kind "committed"); undefined otherwise. */
function sharedAddress(body: Uint8Array, offsetSize: number): number | undefined {
  const c = cursorOf(body);
  const version = readUint8(c);
  const kind = readUint8(c);
  if (version === 1)
    c.offset += 6; // reserved
  else if (version !== 2 && !(version === 3 && kind === 2)) return undefined;
  return readAddress(c, offsetSize);
}
