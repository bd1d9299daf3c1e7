import { UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { cString, padTo, readBytes, readUint8, readUint16LE, readUint32LE, times } from "./cursor.js";
import type { FilterInfo } from "./types.js";

/** Well-known names of the predefined and common registered HDF5 filters, by id. */
export const FILTER_NAMES: Readonly<Record<number, string>> = {
  1: "deflate",
  2: "shuffle",
  3: "fletcher32",
  4: "szip",
  5: "nbit",
  6: "scaleoffset",
  32001: "blosc",
  32004: "lz4",
  32008: "bitshuffle",
  32015: "zstd",
};

/**
 * Parses a filter pipeline message (versions 1 and 2) into filters in application (write) order.
 * @throws InvalidHdf5Error when truncated; UnsupportedHdf5Error for unknown versions.
 */
export function parseFilterPipeline(view: DataView, offset: number): FilterInfo[] {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version !== 1 && version !== 2) {
    throw new UnsupportedHdf5Error("filter-pipeline", `filter pipeline version ${version} is not supported`);
  }
  const count = readUint8(c);
  if (version === 1) c.offset += 6; // reserved
  return times(count, () => parseFilter(c, version));
}

function parseFilter(c: Cursor, version: number): FilterInfo {
  const id = readUint16LE(c);
  const nameLength = version === 1 || id >= 256 ? readUint16LE(c) : 0;
  const flags = readUint16LE(c);
  const nValues = readUint16LE(c);
  let name = "";
  if (nameLength > 0) {
    name = cString(readBytes(c, version === 1 ? padTo(nameLength, 8) : nameLength, "filter name"));
  }
  const params = times(nValues, () => readUint32LE(c));
  if (version === 1 && nValues % 2 === 1) c.offset += 4; // padding
  return { id, name: name || (FILTER_NAMES[id] ?? `filter${id}`), flags, params };
}
