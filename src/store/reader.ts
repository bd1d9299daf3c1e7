/**
 * Reading a store's part files without DuckDB: the part files a query needs, opened through a
 * ByteSource as Parquet buffers (footer first), checked against the manifest (size, row count) with
 * errors naming the file. The same interface serves a local folder ({@link localStoreReader}) and a
 * remote store (remote.ts).
 */
import type { FileMetaData } from "hyparquet";
import { StoreError } from "../errors.js";
import type { ReadOptions } from "../source/index.js";
import { parseFooter } from "./footer.js";
import type { Manifest, PartFileStats, StoreTable } from "./manifest.js";
import { FOOTER_READ_SIZE, type PartBuffer, prefetchFooter } from "./part-buffer.js";
import { partitionKey } from "./partition.js";

/** One open part file: its buffer and parsed footer. */
export interface PartFile {
  /** Path relative to the store root (`chunks/product=ATL06/month=2019-06/part-x.parquet`). */
  path: string;
  /** Its name in messages: an absolute path or a URL. */
  name: string;
  buffer: PartBuffer;
  metadata: FileMetaData;
  /**
   * True when the reader keeps this file (footer and bytes) for later queries while it is unchanged:
   * values decoded from it may then be kept with its footer.
   */
  kept?: boolean;
}

/** A store as the TypeScript selection reads it. */
export interface StoreReader {
  /** The store's location as the user gave it (a folder or a URL), for messages. */
  readonly dir: string;
  /** The manifest snapshot read. */
  readonly manifest: Readonly<Manifest>;
  /** True for a local folder, whose part files DuckDB can also read ({@link Store.atSnapshot}). */
  readonly local?: boolean;
  /** Products of the visible granules, sorted by name. */
  products(): string[];
  /**
   * Opens part files (relative paths), checking each against the manifest's size and row count.
   * @throws StoreError naming the first missing, resized, unreadable or replaced file.
   */
  openParts(paths: readonly string[], opts?: ReadOptions): Promise<PartFile[]>;
}

/**
 * Relative paths of the visible part files of a table in `manifest`; with `product`, only that
 * product's `chunks` and `chunk_cells` partitions (`granules` and `arrays` are not partitioned).
 */
export function partPaths(
  manifest: Readonly<Manifest>,
  table: StoreTable,
  opts: { product?: string } = {},
): string[] {
  const files = manifest.parts.flatMap((p) => p.files[table]);
  if (opts.product === undefined || table === "granules" || table === "arrays") return files;
  const dir = `${table}/${partitionKey("product", opts.product)}/`;
  return files.filter((f) => f.startsWith(dir));
}

/** What the manifest records of a part file (relative path). */
export function recordedStats(manifest: Readonly<Manifest>, path: string): PartFileStats | undefined {
  for (const p of manifest.parts) {
    const s = p.stats?.[path];
    if (s) return s;
  }
  return undefined;
}

/** The first line of an error's message. */
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

/**
 * Reads a part file's footer and checks its row count against the manifest.
 * @throws StoreError naming the file when it is not Parquet or holds another number of rows.
 */
export async function readPartFooter(
  dir: string,
  file: Omit<PartFile, "metadata">,
  want: PartFileStats | undefined,
  opts?: ReadOptions,
): Promise<PartFile> {
  const { parquetMetadata } = await import("./hyparquet-footer.js");
  let metadata: FileMetaData;
  try {
    metadata = parseFooter(await footerBytes(file.buffer, opts), parquetMetadata, PARSERS);
  } catch (err) {
    throw new StoreError(dir, `${file.name}: part file is not readable Parquet (${firstLine(err)})`, {
      cause: err,
    });
  }
  checkPartRows(dir, { name: file.name, metadata }, want);
  return { ...file, metadata };
}

/**
 * Checks a part file's row count (its footer's) against what the manifest records of it.
 * @throws StoreError naming the file when it holds another number of rows.
 */
export function checkPartRows(
  dir: string,
  file: Pick<PartFile, "name" | "metadata">,
  want: PartFileStats | undefined,
): void {
  const rows = Number(file.metadata.num_rows);
  if (want && rows !== want.rows) {
    throw new StoreError(
      dir,
      `${file.name}: part file holds ${rows} rows but the manifest records ${want.rows}: it was replaced by another file; ` +
        `run geochunks verify --store ${dir}`,
    );
  }
}

/**
 * The thrift bytes of a part file's footer (without its length and magic): the file's last
 * {@link FOOTER_READ_SIZE} bytes in one read, and the start of a longer footer in a second.
 * @throws Error when the file does not end as Parquet does.
 */
async function footerBytes(buffer: PartBuffer, opts?: ReadOptions): Promise<Uint8Array> {
  const size = buffer.byteLength;
  if (size < 8) throw new Error("parquet file is too short");
  await prefetchFooter(buffer, opts);
  const tail = new DataView(await buffer.slice(size - 8, size));
  if (tail.getUint32(4, true) !== 0x31524150) throw new Error("parquet file invalid (footer != PAR1)");
  const length = tail.getUint32(0, true);
  if (length > size - 8)
    throw new Error(`parquet metadata length ${length} exceeds available buffer ${size - 8}`);
  const start = size - 8 - length;
  const held = Math.max(0, size - FOOTER_READ_SIZE);
  if (start < held) await buffer.prefetch([[start, held]], opts);
  if (start < held) {
    // Two held pieces: joined here.
    const out = new Uint8Array(length);
    out.set(new Uint8Array(await buffer.slice(start, held)));
    out.set(new Uint8Array(await buffer.slice(held, size - 8)), held - start);
    return out;
  }
  return new Uint8Array(await buffer.slice(start, size - 8));
}

/**
 * Value parsers of the store's Parquet reads: timestamps as exact bigint nanoseconds (the default
 * makes millisecond Dates), WKB geometry kept as bytes (the default makes GeoJSON).
 */
export const PARSERS = {
  timestampFromMilliseconds: (v: bigint) => v * 1_000_000n,
  timestampFromMicroseconds: (v: bigint) => v * 1_000n,
  timestampFromNanoseconds: (v: bigint) => v,
  geometryFromBytes: (b: Uint8Array) => b,
  geographyFromBytes: (b: Uint8Array) => b,
};
