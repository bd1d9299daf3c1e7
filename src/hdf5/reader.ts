import { InvalidHdf5Error, SourceError } from "../errors.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import type { Cursor } from "./cursor.js";
import { cursorOf } from "./cursor.js";

/** What every metadata parser needs to know about the open file. */
export interface MetaReader {
  /** Source used for metadata reads (cached). */
  source: ByteSource;
  /** File size, bytes. */
  fileSize: number;
  /** Absolute address that file addresses are relative to (0 unless there is a user block). */
  baseAddress: number;
  /** Size of file addresses, bytes (8 in practice). */
  offsetSize: number;
  /** Size of lengths, bytes (8 in practice). */
  lengthSize: number;
}

/** Upper bound for one metadata structure, bytes: far above any real header, guards corrupt sizes. */
export const MAX_METADATA_BYTES = 256 * 1024 * 1024;

/**
 * Reads `length` bytes of metadata at file address `address` and returns a cursor over them.
 * @throws InvalidHdf5Error with the address when the range lies outside the file.
 */
export async function readAt(
  meta: MetaReader,
  address: number,
  length: number,
  what: string,
  opts?: ReadOptions,
): Promise<Cursor> {
  const bytes = await readRaw(meta, address, length, what, opts);
  return cursorOf(bytes);
}

/** Like {@link readAt} but returns the bytes. */
export async function readRaw(
  meta: MetaReader,
  address: number,
  length: number,
  what: string,
  opts?: ReadOptions,
): Promise<Uint8Array> {
  const absolute = checkSpan(meta, address, length, what);
  try {
    return await meta.source.read(absolute, length, opts);
  } catch (err) {
    if (err instanceof SourceError && err.status === 416) {
      throw new InvalidHdf5Error(
        `${what} at address ${address} (+${length}) cannot be read: ${err.message}`,
        {
          address,
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** Validates an address range against the file size; returns the absolute offset. */
export function checkSpan(meta: MetaReader, address: number, length: number, what: string): number {
  const absolute = meta.baseAddress + address;
  if (
    !Number.isSafeInteger(address) ||
    address < 0 ||
    !Number.isSafeInteger(length) ||
    length < 0 ||
    length > MAX_METADATA_BYTES ||
    absolute + length > meta.fileSize
  ) {
    throw new InvalidHdf5Error(
      `${what} at address ${address} (+${length} bytes) lies outside the file (size ${meta.fileSize})`,
      { address },
    );
  }
  return absolute;
}

/** Runs a synchronous parser, attaching `address` to InvalidHdf5Errors that lack one. */
export function parseAt<T>(address: number, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidHdf5Error && err.address === undefined) {
      throw new InvalidHdf5Error(`${what} at address ${address}: ${err.message}`, { address, cause: err });
    }
    throw err;
  }
}
