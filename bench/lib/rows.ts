/**
 * Row identity shared by every contender and the oracle: the sorted lines "granule\tbeam\tsegment_id",
 * their count and SHA-256 (the Python peers compute the same digest).
 */
import { createHash } from "node:crypto";

/** Count and digest of a row set. */
export interface RowSet {
  rows: number;
  hash: string;
}

/** One row's key line. */
export function rowKey(granule: string, beam: string, segmentId: number | bigint): string {
  return `${granule}\t${beam}\t${segmentId}`;
}

/** Sorts `keys` in place and digests them. */
export function digestKeys(keys: string[]): RowSet {
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { rows: keys.length, hash: createHash("sha256").update(keys.join("\n")).digest("hex") };
}

/** Granule id of a path or URL: the file name without `.h5`. */
export function granuleIdOf(pathOrUrl: string): string {
  const name = pathOrUrl.split("/").pop() ?? pathOrUrl;
  return name.replace(/\.h5$/, "");
}
