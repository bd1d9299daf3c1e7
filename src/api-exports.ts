/** The library API of the exports: kerchunk references of a store or of a polygon's chunks, and a STAC collection. */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { InvalidQueryError } from "./errors.js";
import { writeAtomically } from "./export/atomic.js";
import {
  commitVirtualTree,
  granulesToCommit,
  type IcechunkCommit,
  readRepoState,
} from "./export/icechunk/repository.js";
import { writeKerchunkJson } from "./export/kerchunk.js";
import { type StoreTableInfo, stacCollection, stacItem, type VirtualStoreInfo } from "./export/stac.js";
import { buildVirtualTree, inlineSmallChunks, type VirtualTree } from "./export/virtual.js";
import { type Aoi, parseAoi } from "./query/aoi.js";
import { prepareQuery } from "./query/index.js";
import { openSource, type SourceOptions } from "./source/index.js";
import { isS3Location } from "./store/backend.js";
import type { ChunkRow } from "./store/schema.js";
import { runSql } from "./store/sql.js";
import { STORE_TABLES, Store } from "./store/store.js";

/**
 * Chunks of at most this many bytes are written inline (base64) instead of as references. Measured
 * on the two real release-006 ATL06 granules (docs/design/exports.md): of their 730 referenced
 * chunks, those of at most 1 KiB are 43% (321 chunks, 95 KB) and inlining them grows the 1.24 MB of
 * JSON by 10%, saving a reader 321 requests; 4 KiB would inline 83% but grow the JSON by 87%, and
 * 256 bytes only 27%.
 */
export const DEFAULT_INLINE_THRESHOLD = 1024;

/** What to export and how. */
export interface ExportSelection {
  /** Only chunk rows meeting this AOI (as `query` takes it); default the whole store. */
  aoi?: Aoi | string | object;
  /** Inclusive start of the time range (Date or ISO 8601). */
  start?: Date | string;
  /** Exclusive end (Date or ISO 8601). */
  end?: Date | string;
  /** Beam names or kinds, as `query` takes them; default all. */
  beams?: string[];
  /** Only these variables of the beams (path ends, e.g. `h_li`, `ground_track/x_atc`), plus the coordinates; default all. */
  vars?: string[];
  /** Only this product's granules; required with an AOI, time or beams when the store holds several. */
  product?: string;
}

/** Options of {@link exportKerchunk}. */
export interface ExportKerchunkOptions extends ExportSelection {
  /** Output: a `.json` file, or a folder ending in `.parq` for kerchunk's Parquet layout. */
  out: string;
  /** Chunks of at most this many bytes are inlined. Default {@link DEFAULT_INLINE_THRESHOLD}; 0 inlines none. */
  inlineThreshold?: number;
  /** References per Parquet file of the Parquet layout. Default 10 000. */
  recordSize?: number;
  /** How granules are opened to read inlined chunks. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/** What an export wrote. */
export interface ExportReport {
  out: string;
  granules: number;
  arrays: number;
  /** Chunk references written (inline chunks included). */
  chunks: number;
  inlined: number;
  bytes: number;
  /** Datasets left out, each with its reason. */
  skipped: string[];
  /** Granules indexed before the store recorded whole granule trees: only their indexed arrays are in. */
  partial: string[];
}

const WORLD = "-180,-90,180,90";

function toDate(value: Date | string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new InvalidQueryError(`${what} ${String(value)} is not an ISO 8601 time`);
  return date;
}

function aoiOf(aoi: ExportSelection["aoi"]): Aoi {
  if (aoi === undefined) return parseAoi(WORLD, { source: "world" });
  if (typeof aoi === "string") return parseAoi(aoi, { source: "AOI" });
  if ("polygons" in aoi && "bbox" in aoi) return aoi as Aoi;
  return parseAoi(JSON.stringify(aoi), { source: "AOI" });
}

/**
 * The virtual tree of a store, or of the chunk rows a query with the selection's AOI, time and
 * beams would read (its candidate chunk rows): every granule of the store, each as one group.
 */
export async function virtualTreeOf(store: Store, sel: ExportSelection = {}): Promise<VirtualTree> {
  const limited =
    sel.aoi !== undefined || sel.start !== undefined || sel.end !== undefined || (sel.beams?.length ?? 0) > 0;
  let granules = await store.granules();
  if (sel.product !== undefined) {
    if (!store.products().includes(sel.product))
      throw new InvalidQueryError(
        `--product ${sel.product}: the store holds ${store.products().join(", ") || "no granules"}`,
      );
    granules = granules.filter((g) => g.product === sel.product);
  }
  let chunks: ChunkRow[];
  if (limited) {
    const prepared = await prepareQuery(store, {
      aoi: aoiOf(sel.aoi),
      start: toDate(sel.start, "start"),
      end: toDate(sel.end, "end"),
      beams: sel.beams,
      product: sel.product,
    });
    chunks = prepared.plan.granules.flatMap((g) => g.chunks.map((c) => c.chunk));
  } else {
    const ids = new Set(granules.map((g) => g.granule_id));
    chunks = (await store.chunks()).filter((c) => ids.has(c.granule_id));
  }
  const ids = new Set(granules.map((g) => g.granule_id));
  const arrays = (await store.arrays()).filter((a) => ids.has(a.granule_id));
  return buildVirtualTree({ granules, arrays, chunks, limited, vars: sel.vars });
}

/** Reads byte ranges of granules, one source per URL, closed by `close`. */
function rangeReader(opts: { source?: SourceOptions; signal?: AbortSignal }) {
  const sources = new Map<string, ReturnType<typeof openSource>>();
  return {
    read: async (url: string, offset: number, size: number) => {
      let source = sources.get(url);
      if (!source) {
        source = openSource(url, opts.source);
        sources.set(url, source);
      }
      return (await source).read(offset, size, { signal: opts.signal });
    },
    close: async () => {
      for (const s of sources.values()) await (await s).close();
    },
  };
}

/**
 * Writes kerchunk references (version 1, zarr v2 metadata) of a store: every group and dataset of
 * each granule under a group named by its granule id; with an AOI, time or beams only the chunks of
 * the chunk rows that meet them. Small chunks are read and inlined.
 * @throws StoreError when `store` holds no store; InvalidQueryError for a bad selection or output path.
 * @example
 * await exportKerchunk("idx", { out: "refs.json", aoi: "-45.4,62.6,-44.6,63.0" });
 */
export async function exportKerchunk(
  store: string | Store,
  opts: ExportKerchunkOptions,
): Promise<ExportReport> {
  const opened = typeof store === "string" ? await Store.open(store) : store;
  const tree = await virtualTreeOf(opened, opts);
  const reader = rangeReader(opts);
  let inlined = 0;
  try {
    inlined = await inlineSmallChunks(tree, {
      threshold: opts.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD,
      read: reader.read,
    });
  } finally {
    await reader.close();
  }
  const parquet = /\.parq(uet)?\/?$/.test(opts.out);
  const bytes = parquet
    ? // Loaded when used: it brings the Arrow and Parquet libraries (about 20 ms of CPU at import).
      await (await import("./export/kerchunk-parquet.js")).writeKerchunkParquet(tree, opts.out, {
        recordSize: opts.recordSize,
      })
    : await writeKerchunkJson(tree, opts.out);
  return {
    out: opts.out,
    granules: tree.granules.length,
    arrays: tree.arrays.length,
    chunks: tree.arrays.reduce((n, a) => n + a.refs.size, 0),
    inlined,
    bytes,
    skipped: tree.skipped,
    partial: tree.partial,
  };
}

/** Options of {@link exportStac}. */
export interface ExportStacOptions {
  /** The collection file to write. */
  out: string;
  /**
   * Where the store is published (a URL without a trailing slash), when the store given is a local
   * copy of it: the table assets point there and the default id takes its last name. Default: the
   * store's folder.
   */
  location?: string;
  /** Folder for one Item per granule; none when absent. */
  items?: string;
  /** Collection id. Default `geochunks-<store folder name>`. */
  id?: string;
  /** Collection description. Default a sentence naming the products. */
  description?: string;
  /** Virtual stores exported from the store, listed as assets. */
  virtualStores?: VirtualStoreInfo[];
  /** S3 region of `s3://` granules (storage extension). */
  region?: string;
  /** S3 granules need requester-pays requests. Default false. */
  requesterPays?: boolean;
  /** How granules are opened to checksum them for Items. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/** Bytes read per request when checksumming a granule. */
const CHECKSUM_BLOCK_BYTES = 8 * 1024 * 1024;

/** SHA-256 of a whole file as a multihash in hex (`1220` + digest), the STAC file extension's form. */
async function multihashOf(
  url: string,
  opts: { source?: SourceOptions; signal?: AbortSignal },
): Promise<string> {
  const source = await openSource(url, opts.source);
  try {
    const hash = createHash("sha256");
    const size = await source.size({ signal: opts.signal });
    for (let at = 0; at < size; at += CHECKSUM_BLOCK_BYTES)
      hash.update(await source.read(at, Math.min(CHECKSUM_BLOCK_BYTES, size - at), { signal: opts.signal }));
    return `1220${hash.digest("hex")}`;
  } finally {
    await source.close();
  }
}

/** The index tables as the collection lists them: columns and row counts from DuckDB. */
async function tableInfos(store: Store, location?: string): Promise<StoreTableInfo[]> {
  const out: StoreTableInfo[] = [];
  for (const name of STORE_TABLES) {
    const columns = await runSql(store, `DESCRIBE ${name}`);
    const count = await runSql(store, `SELECT count(*) AS n FROM ${name}`);
    const geometry = columns.rows.some((r) => r.column_name === "geometry") ? "geometry" : undefined;
    out.push({
      name,
      href: location ? `${location}/${name}` : join(store.dir, name),
      columns: columns.rows
        .filter((r) => !["product", "month"].includes(String(r.column_name)) || name === "granules")
        .map((r) => ({ name: String(r.column_name), type: String(r.column_type) })),
      rows: Number(count.rows[0]?.n ?? 0),
      geometry,
    });
  }
  return out;
}

/**
 * Writes a STAC 1.1 Collection of a store (extent, time interval, summaries, the index tables as
 * GeoParquet assets, any virtual stores, S3 storage schemes) and optionally one Item per granule.
 * @throws StoreError when the store is missing or empty; InvalidQueryError for an unwritable output.
 * @example
 * await exportStac("idx", { out: "stac/collection.json", items: "stac/items" });
 */
export async function exportStac(
  store: string | Store,
  opts: ExportStacOptions,
): Promise<{ granules: number; items: number }> {
  const opened = typeof store === "string" ? await Store.open(store) : store;
  const granules = await opened.granules();
  const beams = (await runSql(opened, "SELECT DISTINCT beam FROM chunks ORDER BY beam")).rows.map((r) =>
    String(r.beam),
  );
  const id =
    opts.id ?? `geochunks-${opts.location ? basename(opts.location) : basename(resolve(opened.dir))}`;
  const products = [...new Set(granules.map((g) => g.product))].sort();
  const collection = stacCollection({
    id,
    description:
      opts.description ??
      `Chunk index of ${granules.length} ${products.join(", ")} granules, with virtual stores of their HDF5 chunks.`,
    out: opts.out,
    granules,
    beams,
    tables: await tableInfos(opened, opts.location),
    virtualStores: opts.virtualStores,
    region: opts.region,
    requesterPays: opts.requesterPays,
    items: opts.items ? { dir: opts.items } : undefined,
  });
  let items = 0;
  if (opts.items) {
    await mkdir(opts.items, { recursive: true });
    const collectionHref = relative(resolve(opts.items), resolve(opts.out));
    for (const g of granules) {
      const item = stacItem(g, { collection: id, collectionHref, checksum: await multihashOf(g.url, opts) });
      const path = join(opts.items, `${g.granule_id}.json`);
      await writeAtomically(path, (tmp) => writeFile(tmp, `${JSON.stringify(item, null, 2)}\n`));
      items++;
    }
  }
  await writeAtomically(opts.out, (tmp) => writeFile(tmp, `${JSON.stringify(collection, null, 2)}\n`));
  return { granules: granules.length, items };
}

/** Options of {@link exportIcechunk}. */
export interface ExportIcechunkOptions extends ExportSelection {
  /**
   * The repository folder, or `s3://bucket/prefix` (written with `source.s3`'s credentials, main moved
   * by a conditional write of the repo file); created when missing.
   */
  repo: string;
  /** Chunks of at most this many bytes are inlined. Default {@link DEFAULT_INLINE_THRESHOLD}. */
  inlineThreshold?: number;
  /** How granules are opened to read inlined chunks. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/**
 * Commits the store's granules that an Icechunk repository (spec version 2, virtual chunk
 * references checked by each granule's ETag or modification time) does not hold yet, as one new
 * snapshot on `main`; earlier snapshots keep reading the earlier state.
 * @example
 * const { snapshot } = await exportIcechunk("idx", { repo: "out/repo.icechunk" });
 */
export async function exportIcechunk(
  store: string | Store,
  opts: ExportIcechunkOptions,
): Promise<IcechunkCommit> {
  const opened = typeof store === "string" ? await Store.open(store) : store;
  const tree = await virtualTreeOf(opened, opts);
  const s3 = isS3Location(opts.repo) ? await import("./export/icechunk/s3.js") : undefined;
  const state = s3 ? await s3.readS3RepoState(opts.repo, opts.source?.s3) : await readRepoState(opts.repo);
  // Only new granules and changed ones (re-indexed since their last commit) are written.
  const wanted = granulesToCommit(state, tree.granules);
  tree.arrays = tree.arrays.filter((a) => wanted.has(a.granule_id));
  const reader = rangeReader(opts);
  try {
    await inlineSmallChunks(tree, {
      threshold: opts.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD,
      read: reader.read,
    });
  } finally {
    await reader.close();
  }
  const commit = s3
    ? await s3.commitVirtualTreeToS3(opts.repo, tree, opts.source?.s3)
    : await commitVirtualTree(opts.repo, tree);
  return { ...commit, skipped: [...tree.skipped, ...commit.skipped] };
}
