import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { Cursor } from "./cursor.js";
import { readAddress, readUint8, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";

/** A dataspace: the shape of a dataset or attribute. */
export interface Dataspace {
  kind: "scalar" | "simple" | "null";
  /** Current dimension sizes; [] for scalar and null. */
  shape: number[];
  /** Maximum sizes; null = unlimited. Equal to `shape` when the file stores none. */
  maxshape: (number | null)[];
}

/**
 * Parses a dataspace message body (versions 1 and 2).
 * @throws InvalidHdf5Error for truncated bodies or a rank above 32.
 */
export function parseDataspace(view: DataView, offset: number, lengthSize: number): Dataspace {
  const c: Cursor = { view, offset };
  const version = readUint8(c);
  if (version !== 1 && version !== 2) {
    throw new UnsupportedHdf5Error("dataspace", `dataspace version ${version} is not supported`);
  }
  const rank = readUint8(c);
  const flags = readUint8(c);
  if (rank > 32) throw new InvalidHdf5Error(`dataspace rank ${rank} exceeds 32`);
  let kind: Dataspace["kind"] = rank === 0 ? "scalar" : "simple";
  if (version === 1)
    c.offset += 5; // reserved
  else {
    const type = readUint8(c);
    kind = type === 0 ? "scalar" : type === 2 ? "null" : "simple";
  }
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(readUintLE(c, lengthSize, "dimension size"));
  const maxshape: (number | null)[] = [];
  for (let d = 0; d < rank; d++) maxshape.push(flags & 1 ? readMax(c, lengthSize) : shape[d]!);
  return { kind, shape, maxshape };
}

function readMax(c: Cursor, lengthSize: number): number | null {
  const value = readAddress(c, lengthSize);
  return value === UNDEFINED_ADDRESS ? null : value;
}

/** Number of elements: 1 for scalar, 0 for null. */
export function elementCount(space: Dataspace): number {
  if (space.kind === "null") return 0;
  return space.shape.reduce((a, b) => a * b, 1);
}
