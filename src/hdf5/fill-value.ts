import { UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { readBytes, readUint8, readUint32LE } from "./cursor.js";

/**
 * Parses a fill value message (type 0x05, versions 1-3) and returns the fill bytes, or undefined when the
 * file defines no fill value (readers then use zeros).
 */
export function parseFillValue(view: DataView, offset: number): Uint8Array | undefined {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version === 1 || version === 2) {
    c.offset += 2; // space allocation time, fill write time
    const defined = readUint8(c);
    if (version === 2 && defined === 0) return undefined;
    return sized(c);
  }
  if (version === 3) {
    const flags = readUint8(c);
    return flags & 0x20 ? sized(c) : undefined;
  }
  throw new UnsupportedHdf5Error("fill-value", `fill value message version ${version} is not supported`);
}

/** Parses the old fill value message (type 0x04): size then bytes. */
export function parseFillValueOld(view: DataView, offset: number): Uint8Array | undefined {
  return sized({ view, offset });
}

function sized(c: Cursor): Uint8Array | undefined {
  const size = readUint32LE(c);
  return size === 0 ? undefined : readBytes(c, size, "fill value");
}
