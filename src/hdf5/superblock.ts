import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import { verifyChecksum } from "./checksum.js";
import type { Cursor } from "./cursor.js";
import { cursorOf, readAddress, readBytes, readUint8, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";

/** The 8-byte HDF5 format signature. */
export const HDF5_SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

/** Bytes read to parse a superblock: the largest (v1) is 100 bytes with 8-byte addresses. */
const SUPERBLOCK_READ_SIZE = 128;

/** The fields of a superblock this reader uses. */
export interface Superblock {
  version: number;
  /** Absolute offset of the superblock (non-zero when a user block precedes it). */
  position: number;
  offsetSize: number;
  lengthSize: number;
  /** Absolute address that all other addresses are relative to. */
  baseAddress: number;
  /** Address of the root group's object header. */
  rootAddress: number;
  /** End-of-file address recorded by the writer (the file size, user block included). */
  eofAddress: number;
  /** Address of the superblock extension (an object header), versions 2-3; undefined when absent. */
  extensionAddress?: number;
}

/**
 * Parses a superblock (versions 0-3) whose signature starts at `offset`.
 * @throws InvalidHdf5Error for a bad signature, UnsupportedHdf5Error for an unknown version or sizes.
 */
export function parseSuperblock(view: DataView, offset: number): Superblock {
  const c: Cursor = { view, offset };
  if (!hasSignature(readBytes(c, 8, "signature"))) {
    throw new InvalidHdf5Error(`no HDF5 signature at offset ${offset}`, { address: offset });
  }
  const version = readUint8(c);
  if (version > 3) {
    throw new UnsupportedHdf5Error(
      "superblock",
      `superblock version ${version} at offset ${offset} is not supported`,
    );
  }
  return version <= 1 ? parseV0V1(c, version, offset) : parseV2V3(c, version, offset);
}

/** Verifies the lookup3 checksum that ends a version 2-3 superblock starting at `start` in the view. */
function checkSuperblockSum(c: Cursor, start: number, position: number): void {
  const bytes = new Uint8Array(c.view.buffer, c.view.byteOffset + start, c.view.byteLength - start);
  verifyChecksum(bytes, c.offset - start, "superblock", position);
}

function parseV0V1(c: Cursor, version: number, position: number): Superblock {
  c.offset += 4; // free-space, root symbol table and shared header versions, reserved
  const offsetSize = readUint8(c);
  const lengthSize = readUint8(c);
  checkSizes(offsetSize, lengthSize, position);
  c.offset += 1 + 4 + 4; // reserved, group leaf/internal K, consistency flags
  if (version === 1) c.offset += 4; // indexed storage K, reserved
  const baseAddress = readAddress(c, offsetSize);
  readAddress(c, offsetSize); // free-space info
  const eofAddress = readAddress(c, offsetSize);
  readAddress(c, offsetSize); // driver info
  readAddress(c, offsetSize); // root entry: link name offset
  const rootAddress = readAddress(c, offsetSize);
  return finish({ version, position, offsetSize, lengthSize, baseAddress, rootAddress, eofAddress });
}

function parseV2V3(c: Cursor, version: number, position: number): Superblock {
  const offsetSize = readUint8(c);
  const lengthSize = readUint8(c);
  checkSizes(offsetSize, lengthSize, position);
  c.offset += 1; // consistency flags
  const baseAddress = readAddress(c, offsetSize);
  const extension = readAddress(c, offsetSize);
  const eofAddress = readAddress(c, offsetSize);
  const rootAddress = readAddress(c, offsetSize);
  checkSuperblockSum(c, position, position);
  const sb = { version, position, offsetSize, lengthSize, baseAddress, rootAddress, eofAddress };
  return finish(extension === UNDEFINED_ADDRESS ? sb : { ...sb, extensionAddress: extension });
}

function finish(sb: Superblock): Superblock {
  if (sb.rootAddress === UNDEFINED_ADDRESS || sb.baseAddress === UNDEFINED_ADDRESS) {
    throw new InvalidHdf5Error(`superblock at offset ${sb.position} has an undefined root or base address`, {
      address: sb.position,
    });
  }
  return sb;
}

function checkSizes(offsetSize: number, lengthSize: number, position: number): void {
  const ok = (n: number) => n === 2 || n === 4 || n === 8;
  if (!ok(offsetSize) || !ok(lengthSize)) {
    throw new UnsupportedHdf5Error(
      "superblock",
      `superblock at offset ${position} has offset size ${offsetSize} and length size ${lengthSize}; expected 2, 4 or 8`,
    );
  }
}

function hasSignature(bytes: Uint8Array): boolean {
  return bytes.length === 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Whether the first bytes of a file hold the HDF5 signature where a superblock may start (see {@link signatureOffsets}). */
export function signatureWithin(first: Uint8Array): boolean {
  return signatureOffsets(first.length).some((at) => hasSignature(first.subarray(at, at + 8)));
}

/** Where a superblock may start: 0, then 512 and every power of two after it, below the file size. */
export function signatureOffsets(fileSize: number): number[] {
  const out = [0];
  for (let at = 512; at + 8 <= fileSize; at *= 2) out.push(at);
  return out;
}

/**
 * Finds and parses the superblock of a file of `fileSize` bytes.
 * @throws InvalidHdf5Error when no signature is found or the superblock is truncated.
 */
export async function readSuperblock(
  source: ByteSource,
  fileSize: number,
  opts?: ReadOptions,
): Promise<Superblock> {
  for (const at of signatureOffsets(fileSize)) {
    const length = Math.min(SUPERBLOCK_READ_SIZE, fileSize - at);
    const bytes = await source.read(at, length, opts);
    if (!hasSignature(bytes.subarray(0, 8))) continue;
    const sb = parseTruncationSafe(bytes, at);
    // the HDF5 library compares the stored end of file with the whole file's size, user block included
    if (sb.eofAddress > fileSize) {
      throw new InvalidHdf5Error(
        `file is truncated: superblock records end of file at ${sb.eofAddress} but size is ${fileSize}`,
        { address: at },
      );
    }
    return sb;
  }
  throw new InvalidHdf5Error(`no HDF5 signature found in ${source.url.href} (size ${fileSize})`, {
    address: 0,
  });
}

function parseTruncationSafe(bytes: Uint8Array, at: number): Superblock {
  try {
    return { ...parseSuperblock(cursorOf(bytes).view, 0), position: at };
  } catch (err) {
    if (err instanceof InvalidHdf5Error && err.address === undefined) {
      throw new InvalidHdf5Error(`superblock at offset ${at} is truncated: ${err.message}`, {
        address: at,
        cause: err,
      });
    }
    throw err;
  }
}

/** File-space settings from the superblock extension (HDF5 1.10+); paged aggregation when "page". */
export interface FileSpaceInfo {
  /** File-space handling strategy. */
  strategy: "fsm-aggr" | "page" | "aggr" | "none";
  /** File-space page size, bytes (meaningful for "page"). */
  pageSize: number;
}

const STRATEGIES: readonly FileSpaceInfo["strategy"][] = ["fsm-aggr", "page", "aggr", "none"];

/**
 * Parses a file space info message (type 0x17, version 1): strategy, persistence, threshold, page size.
 * Version 0 (HDF5 1.10.0) has no page size and gives undefined.
 */
export function parseFileSpaceInfo(
  view: DataView,
  offset: number,
  lengthSize: number,
): FileSpaceInfo | undefined {
  const c: Cursor = { view, offset };
  if (readUint8(c) !== 1) return undefined;
  const strategy = STRATEGIES[readUint8(c)] ?? "none";
  c.offset += 1; // persisting free space
  readUintLE(c, lengthSize, "free-space threshold");
  const pageSize = readUintLE(c, lengthSize, "file space page size");
  return { strategy, pageSize };
}
