/**
 * Kerchunk references in kerchunk's Parquet layout (fsspec's `LazyReferenceMapper`): a folder with
 * `.zmetadata` ({"metadata": every zarr metadata document, "record_size": N}) and, per array,
 * `<array path>/refs.<k>.parq` files of N rows each (`path`, `offset`, `size`, `raw`): row i of file k
 * is the chunk whose C-order index in the chunk grid is k * N + i. Missing chunks are null rows.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Binary, Int64, Table, Utf8, vectorFromArray } from "apache-arrow";
import { tableToParquet } from "../store/parquet.js";
import { writeAtomically } from "./atomic.js";
import { zarrMetadata } from "./kerchunk.js";
import type { ChunkTarget, VirtualArray, VirtualTree } from "./virtual.js";

/** Default references per Parquet file: kerchunk's own default. */
export const DEFAULT_RECORD_SIZE = 10_000;

/** Chunks along each dimension ([1] for a scalar). */
function chunkGrid(a: VirtualArray): number[] {
  const grid = a.shape.map((n, i) => Math.ceil(n / a.chunks[i]!));
  return grid.length > 0 ? grid : [1];
}

/** C-order index of a chunk key ("3.0") in its grid. */
function chunkNumber(key: string, grid: readonly number[]): number {
  const idx = key.split(".").map(Number);
  let n = 0;
  for (let i = 0; i < grid.length; i++) n = n * grid[i]! + (idx[i] ?? 0);
  return n;
}

/** The Parquet files of one array, by record number. */
function arrayRecords(a: VirtualArray, recordSize: number): Map<number, Uint8Array> {
  const grid = chunkGrid(a);
  const total = grid.reduce((x, y) => x * y, 1);
  const byRecord = new Map<number, Map<number, ChunkTarget>>();
  for (const [key, target] of a.refs) {
    const n = chunkNumber(key, grid);
    const record = Math.floor(n / recordSize);
    if (!byRecord.has(record)) byRecord.set(record, new Map());
    byRecord.get(record)!.set(n % recordSize, target);
  }
  const files = new Map<number, Uint8Array>();
  for (const [record, rows] of byRecord) {
    const length = Math.min(recordSize, total - record * recordSize);
    const path: (string | null)[] = new Array(length).fill(null);
    const offset: bigint[] = new Array(length).fill(0n);
    const size: bigint[] = new Array(length).fill(0n);
    const raw: (Uint8Array | null)[] = new Array(length).fill(null);
    for (const [i, t] of rows) {
      if ("data" in t) raw[i] = t.data;
      else {
        path[i] = t.url;
        offset[i] = BigInt(t.offset);
        size[i] = BigInt(t.size);
      }
    }
    const table = new Table({
      path: vectorFromArray(path, new Utf8()),
      offset: vectorFromArray(offset, new Int64()),
      size: vectorFromArray(size, new Int64()),
      raw: vectorFromArray(raw, new Binary()),
    });
    files.set(record, tableToParquet(table));
  }
  return files;
}

/**
 * Writes the references of a tree in the Parquet layout into the folder `out` (built under a
 * temporary name, then renamed).
 * @returns the number of bytes written.
 */
export async function writeKerchunkParquet(
  tree: VirtualTree,
  out: string,
  opts: { recordSize?: number } = {},
): Promise<number> {
  const recordSize = opts.recordSize ?? DEFAULT_RECORD_SIZE;
  return writeAtomically(out.replace(/\/$/, ""), async (tmp) => {
    let bytes = 0;
    await mkdir(tmp, { recursive: true });
    const meta = JSON.stringify({
      metadata: zarrMetadata(tree),
      record_size: recordSize,
      zarr_consolidated_format: 1,
    });
    await writeFile(join(tmp, ".zmetadata"), meta);
    bytes += Buffer.byteLength(meta);
    for (const a of tree.arrays) {
      const files = arrayRecords(a, recordSize);
      if (files.size === 0) continue;
      await mkdir(join(tmp, a.path), { recursive: true });
      for (const [record, data] of files) {
        await writeFile(join(tmp, a.path, `refs.${record}.parq`), data);
        bytes += data.length;
      }
    }
    return bytes;
  });
}
