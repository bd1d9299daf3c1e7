import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { BlockCacheOptions } from "../source/cache.js";
import { withBlockCache } from "../source/cache.js";
import { withPrefetch } from "../source/prefetch.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import { readChunkRefs } from "./chunk-index.js";
import { cursorOf } from "./cursor.js";
import { readDatasetValues } from "./data.js";
import type { DatasetMeta } from "./dataset.js";
import { isDatasetHeader, isGroupHeader, parseDatasetHeader, readAttributes } from "./dataset.js";
import { readDenseLinks } from "./dense.js";
import type { ReadManyOptions } from "./hdf5-reader.js";
import type { ChunkIndexType } from "./layout.js";
import type { Link } from "./links.js";
import { isDense, parseLink, parseLinkInfo } from "./links.js";
import type { ObjectHeader } from "./object-header.js";
import { MSG, readObjectHeader, resolveShared } from "./object-header.js";
import type { MetaReader } from "./reader.js";
import type { FileSpaceInfo } from "./superblock.js";
import { parseFileSpaceInfo, readSuperblock } from "./superblock.js";
import { parseSymbolTableMessage, readSymbolTable } from "./symbol-table.js";
import type { AttrValue, ChunkRef, DatasetInfo, DatasetValues } from "./types.js";

/** Options of {@link Hdf5File.open}. */
export interface Hdf5OpenOptions extends ReadOptions {
  /**
   * Metadata read cache: block size, largest gap joined into one request and read-ahead, bytes (defaults
   * 1 KiB, 2 KiB and {@link DEFAULT_READ_AHEAD}). Metadata reads go through one block cache per open
   * file; in files with paged aggregation (pages up to 16 MiB) it reads whole file-space pages instead,
   * unless a block size is given here. Chunk data reads of {@link Hdf5File.read} go straight to the source.
   */
  cache?: Omit<BlockCacheOptions, "cache">;
  /**
   * Where metadata is read from; default the source itself. A caller that records the data reads of
   * the source (to checksum chunks) gives the unrecorded source here, so that metadata blocks, which
   * may hold whole chunks of other datasets, are not taken for data reads.
   */
  metadataSource?: ByteSource;
  /**
   * Datasets whose stored data is at most this many bytes are read by {@link Hdf5File.read} through
   * the metadata cache rather than straight from the source: in a file read in large lines, their bytes
   * usually came with the metadata. Default 0 (never).
   */
  smallDataBytes?: number;
}

/** Group and dataset paths of a file. */
export interface Hdf5Tree {
  /** Every group path except the root, sorted. */
  groups: string[];
  /** Every dataset path, sorted depth-first. */
  datasets: string[];
}

/**
 * An open HDF5 file read through a {@link ByteSource}: groups, attributes, dataset metadata, chunk
 * locations and whole-dataset reads. Object headers and group listings are cached (as promises).
 * @example
 * const h5 = await Hdf5File.open(await openFileSource("ATL06.h5"));
 * const refs = await h5.chunkRefs("/gt1l/land_ice_segments/h_li");
 */
export class Hdf5File {
  /** The source given to {@link Hdf5File.open} (uncached). */
  readonly source: ByteSource;
  /** Superblock version (0-3). */
  readonly superblockVersion: number;
  /** File-space strategy and page size from the superblock extension; undefined when not recorded. */
  readonly fileSpace: FileSpaceInfo | undefined;
  readonly #meta: MetaReader;
  readonly #smallDataBytes: number;
  readonly #root: number;
  readonly #headers = new Map<number, Promise<ObjectHeader>>();
  readonly #groups = new Map<number, Promise<Map<string, Link>>>();
  readonly #datasets = new Map<string, Promise<DatasetMeta | undefined>>();
  /**
   * Object header addresses of the paths the tree walk went through (hard links only, from the root):
   * {@link Hdf5File.#resolve} answers them without going down the path again, one awaited header and
   * group listing per component.
   */
  readonly #walked = new Map<string, number>();
  #tree: Promise<Hdf5Tree> | undefined;

  private constructor(
    source: ByteSource,
    meta: MetaReader,
    superblock: { version: number; root: number; fileSpace: FileSpaceInfo | undefined },
    smallDataBytes: number,
  ) {
    this.source = source;
    this.#meta = meta;
    this.#smallDataBytes = smallDataBytes;
    this.superblockVersion = superblock.version;
    this.#root = superblock.root;
    this.fileSpace = superblock.fileSpace;
  }

  /**
   * Reads the superblock and the root group's header.
   * @throws InvalidHdf5Error when the bytes are not HDF5 or the file is truncated; SourceError for I/O.
   */
  static async open(source: ByteSource, opts: Hdf5OpenOptions = {}): Promise<Hdf5File> {
    const fileSize = await source.size(opts);
    const metaSource = opts.metadataSource ?? source;
    const first = withBlockCache(metaSource, { readAhead: DEFAULT_READ_AHEAD, ...opts.cache });
    const sb = await readSuperblock(first, fileSize, opts);
    const fileSpace = await readFileSpace({ source: first, fileSize, ...sb }, sb.extensionAddress, opts);
    const meta = { source: metadataCache(metaSource, first, fileSpace, opts.cache), fileSize, ...sb };
    const superblock = { version: sb.version, root: sb.rootAddress, fileSpace };
    const file = new Hdf5File(source, meta, superblock, opts.smallDataBytes ?? 0);
    const root = await file.#header(sb.rootAddress, opts);
    if (!isGroupHeader(root)) {
      throw new InvalidHdf5Error(`root object at address ${sb.rootAddress} is not a group`, {
        address: sb.rootAddress,
      });
    }
    return file;
  }

  /** Sorted child names of the group at `path`; undefined when the path is missing or not a group. */
  async listGroup(path: string, opts?: ReadOptions): Promise<string[] | undefined> {
    const address = await this.#resolve(path, opts);
    if (address === undefined) return undefined;
    const header = await this.#header(address, opts);
    if (!isGroupHeader(header)) return undefined;
    return [...(await this.#children(address, opts)).keys()].sort(byName);
  }

  /** Kind of the object at `path`, or undefined when missing (or a committed datatype). */
  async kindOf(path: string, opts?: ReadOptions): Promise<"group" | "dataset" | undefined> {
    const address = await this.#resolve(path, opts);
    if (address === undefined) return undefined;
    const header = await this.#header(address, opts);
    return isDatasetHeader(header) ? "dataset" : isGroupHeader(header) ? "group" : undefined;
  }

  /** Attributes of the group at `path`; undefined when missing or not a group. */
  async groupAttrs(path: string, opts?: ReadOptions): Promise<Record<string, AttrValue> | undefined> {
    const address = await this.#resolve(path, opts);
    if (address === undefined) return undefined;
    const header = await this.#header(address, opts);
    return isGroupHeader(header) ? readAttributes(this.#meta, header, opts) : undefined;
  }

  /**
   * Metadata of the dataset at `path`; undefined (never an error) when missing or not a dataset. Parsed
   * once per path: later calls give the same object (not to be modified).
   */
  async dataset(path: string, opts?: ReadOptions): Promise<DatasetInfo | undefined> {
    return (await this.#dataset(path, opts))?.info;
  }

  /** Every dataset path in the file, sorted depth-first. */
  async listDatasets(opts?: ReadOptions): Promise<string[]> {
    return (await this.tree(opts)).datasets;
  }

  /**
   * Every group (except the root) and dataset path, sorted depth-first. Sibling groups are walked
   * concurrently so that their reads are batched; each group is visited once even if linked twice.
   * Walked once per file (the index lists the datasets once per beam); each call gets its own lists.
   */
  async tree(opts?: ReadOptions): Promise<Hdf5Tree> {
    this.#tree ??= this.#walkTree(opts);
    const walked = this.#tree;
    walked.catch(() => {
      if (this.#tree === walked) this.#tree = undefined;
    });
    const { groups, datasets } = await walked;
    return { groups: [...groups], datasets: [...datasets] };
  }

  async #walkTree(opts?: ReadOptions): Promise<Hdf5Tree> {
    const seen = new Set<number>([this.#root]);
    const walk = async (path: string, address: number): Promise<Hdf5Tree> => {
      opts?.signal?.throwIfAborted();
      const children = [...(await this.#children(address, opts)).entries()]
        .flatMap(([name, link]) => (link.address === undefined ? [] : [[name, link.address] as const]))
        .sort(([a], [b]) => byName(a, b));
      const headers = await Promise.all(children.map(([, child]) => this.#header(child, opts)));
      const parts = children.map(async ([name, child], i): Promise<Hdf5Tree> => {
        const childPath = `${path}/${name}`;
        if (name !== "" && name !== "." && !name.includes("/")) this.#walked.set(childPath, child);
        if (isDatasetHeader(headers[i]!)) return { groups: [], datasets: [childPath] };
        if (!isGroupHeader(headers[i]!) || seen.has(child)) return { groups: [], datasets: [] };
        seen.add(child);
        const below = await walk(childPath, child);
        return { groups: [childPath, ...below.groups], datasets: below.datasets };
      });
      const done = await Promise.all(parts);
      return { groups: done.flatMap((d) => d.groups), datasets: done.flatMap((d) => d.datasets) };
    };
    const tree = await walk("", this.#root);
    return { groups: [...tree.groups].sort(byName), datasets: tree.datasets };
  }

  /**
   * Where the dataset's stored data lives: chunked -> every allocated chunk from the index, sorted by
   * coordinates; contiguous -> one ref; compact or never written -> [].
   * @throws InvalidHdf5Error when `path` is not a dataset or its index is corrupt.
   */
  async chunkRefs(path: string, opts?: ReadOptions): Promise<ChunkRef[]> {
    return readChunkRefs(this.#meta, await this.#requireDataset(path, opts), opts);
  }

  /**
   * Reads and decodes the whole dataset: numbers, enums and bitfields -> typed array of the native type,
   * strings -> string[], compounds -> objects, array types -> nested arrays, opaque -> raw bytes
   * (see {@link DatasetValues}).
   * @throws InvalidHdf5Error when `path` is not a dataset or its data is corrupt (a failed fletcher32
   *   checksum names the chunk); UnsupportedHdf5Error / UnsupportedFilterError for datatypes or filters
   *   this reader cannot decode.
   */
  async read(path: string, opts?: ReadOptions): Promise<DatasetValues> {
    const ds = await this.#requireDataset(path, opts);
    const refs = await readChunkRefs(this.#meta, ds, opts);
    const stored = refs.reduce((sum, r) => sum + r.size, 0);
    const from = stored <= this.#smallDataBytes ? this.#meta.source : this.source;
    return readDatasetValues(this.#meta, from, ds, refs, opts);
  }

  /**
   * Reads and decodes several whole datasets, their stored chunks fetched together in coalesced requests
   * (holes up to `maxGap` bytes read through, default {@link DEFAULT_PREFETCH_GAP}): the chunks of a
   * group's datasets often lie in one block of the file, one request instead of one per chunk. Values
   * and errors as {@link Hdf5File.read}, in the order of `paths`.
   */
  async readMany(paths: readonly string[], opts: ReadManyOptions = {}): Promise<DatasetValues[]> {
    const datasets = await Promise.all(paths.map((p) => this.#requireDataset(p, opts)));
    const refs = await Promise.all(datasets.map((ds) => readChunkRefs(this.#meta, ds, opts)));
    const spans = refs.flat().map((r) => ({ offset: r.offset, length: r.size }));
    const source = await withPrefetch(this.source, spans, opts);
    return Promise.all(
      datasets.map((ds, i) =>
        readDatasetValues(this.#meta, source, ds, refs[i]!, { ...opts, rows: opts.rowsOf?.get(paths[i]!) }),
      ),
    );
  }

  /**
   * Reads rows `[start, stop)` of the first dimension (clamped to the extent), fetching only the chunks
   * that overlap them; values as {@link Hdf5File.read} gives them. Scalars ignore the range.
   * @throws as {@link Hdf5File.read}.
   */
  async readSlice(path: string, start: number, stop: number, opts?: ReadOptions): Promise<DatasetValues> {
    const ds = await this.#requireDataset(path, opts);
    const refs = await readChunkRefs(this.#meta, ds, opts);
    return readDatasetValues(this.#meta, this.source, ds, refs, { ...opts, window: { start, stop } });
  }

  /** The chunk index of a chunked dataset ("btree-v1", "fixed-array"...), or null for other layouts. */
  async chunkIndex(path: string, opts?: ReadOptions): Promise<ChunkIndexType | null> {
    const { layout } = await this.#requireDataset(path, opts);
    return layout.kind === "chunked" ? layout.index : null;
  }

  async #requireDataset(path: string, opts?: ReadOptions): Promise<DatasetMeta> {
    const ds = await this.#dataset(path, opts);
    if (!ds) throw new InvalidHdf5Error(`no dataset at ${path} in ${this.source.url.href}`);
    return ds;
  }

  /**
   * The dataset's parsed header and attributes, once per path: the index asks for most datasets two to
   * four times (listing, chunk locations, hierarchy, values), and parsing every attribute each time was
   * most of the metadata CPU.
   */
  #dataset(path: string, opts?: ReadOptions): Promise<DatasetMeta | undefined> {
    return memo(this.#datasets, normalize(path), () => this.#parseDataset(path, opts));
  }

  async #parseDataset(path: string, opts?: ReadOptions): Promise<DatasetMeta | undefined> {
    const address = await this.#resolve(path, opts);
    if (address === undefined) return undefined;
    const header = await this.#header(address, opts);
    if (!isDatasetHeader(header)) return undefined;
    const attrs = await readAttributes(this.#meta, header, opts);
    const resolved = await resolveShared(header, this.#meta.offsetSize, (at) => this.#header(at, opts));
    return parseDatasetHeader(resolved, { path: normalize(path), attrs }, this.#meta);
  }

  /**
   * Object header address at `path`, or undefined when a component is missing. Soft links are followed
   * (at most {@link MAX_SOFT_LINKS} of them).
   * @throws UnsupportedHdf5Error when the path goes through an external link.
   */
  async #resolve(path: string, opts?: ReadOptions, hops = 0): Promise<number | undefined> {
    const walked = this.#walked.get(path);
    if (walked !== undefined) return walked;
    let address = this.#root;
    const parts = path.split("/").filter((part) => part !== "" && part !== ".");
    for (const [i, name] of parts.entries()) {
      const header = await this.#header(address, opts);
      if (!isGroupHeader(header)) return undefined;
      const link = (await this.#children(address, opts)).get(name);
      if (link === undefined) return undefined;
      if (link.external) {
        throw new UnsupportedHdf5Error(
          "external-link",
          `${normalize(path)} goes through an external link to ${link.external.file}:${link.external.path}`,
        );
      }
      if (link.soft !== undefined) {
        if (hops >= MAX_SOFT_LINKS) {
          throw new InvalidHdf5Error(`${normalize(path)}: more than ${MAX_SOFT_LINKS} soft links (a cycle?)`);
        }
        const base = link.soft.startsWith("/") ? "" : parts.slice(0, i).join("/");
        const rest = parts.slice(i + 1).join("/");
        return this.#resolve(`${base}/${link.soft}/${rest}`, opts, hops + 1);
      }
      address = link.address!;
    }
    return address;
  }

  #header(address: number, opts?: ReadOptions): Promise<ObjectHeader> {
    return memo(this.#headers, address, () => readObjectHeader(this.#meta, address, opts));
  }

  #children(address: number, opts?: ReadOptions): Promise<Map<string, Link>> {
    return memo(this.#groups, address, async () =>
      readChildren(this.#meta, await this.#header(address, opts), opts),
    );
  }
}

/**
 * Bytes read ahead of each metadata miss. Metadata clusters (a group's headers, a dataset's header and
 * its attributes, a B-tree's nodes), so one read usually brings the next few structures: on a full-size
 * synthetic ATL06 granule, opening the six beams' core datasets took 133 requests without read-ahead
 * and far fewer with 16 KiB (see the design note for the measurements).
 */
export const DEFAULT_READ_AHEAD = 16 * 1024;

/** Largest page the metadata cache reads whole; bigger pages fall back to blocks with read-ahead. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/**
 * The metadata cache: with paged aggregation, metadata sits in pages of its own, so whole pages are
 * fetched (aligned, one request each); otherwise the first cache, with read-ahead.
 */
function metadataCache(
  source: ByteSource,
  first: ByteSource,
  fileSpace: FileSpaceInfo | undefined,
  options: Hdf5OpenOptions["cache"],
): ByteSource {
  const page = fileSpace?.strategy === "page" ? fileSpace.pageSize : 0;
  if (page < 512 || page > MAX_PAGE_BYTES || options?.blockSize !== undefined) return first;
  return withBlockCache(source, { blockSize: page, maxGap: 0 });
}

/** The file space info message of the superblock extension, if there is one. */
async function readFileSpace(
  meta: MetaReader,
  extension: number | undefined,
  opts?: ReadOptions,
): Promise<FileSpaceInfo | undefined> {
  if (extension === undefined) return undefined;
  const header = await readObjectHeader(meta, extension, opts);
  const message = header.messages.find((m) => m.type === MSG.fileSpaceInfo);
  return message && parseFileSpaceInfo(cursorOf(message.body).view, 0, meta.lengthSize);
}

/** Soft links followed while resolving one path; more means a cycle. */
const MAX_SOFT_LINKS = 32;

/** Name -> link of a group's members (hard, soft and external). */
async function readChildren(
  meta: MetaReader,
  header: ObjectHeader,
  opts?: ReadOptions,
): Promise<Map<string, Link>> {
  const table = header.messages.find((m) => m.type === MSG.symbolTable);
  if (table) {
    const addresses = parseSymbolTableMessage(cursorOf(table.body).view, 0, meta.offsetSize);
    return new Map((await readSymbolTable(meta, addresses, opts)).map((link) => [link.name, link]));
  }
  const links = header.messages
    .filter((m) => m.type === MSG.link)
    .map((m) => parseLink(cursorOf(m.body).view, 0, meta.offsetSize));
  const info = header.messages.find((m) => m.type === MSG.linkInfo);
  const linkInfo = info && parseLinkInfo(cursorOf(info.body).view, 0, meta.offsetSize);
  if (linkInfo && isDense(linkInfo)) {
    const dense = { heapAddress: linkInfo.heapAddress, nameIndexAddress: linkInfo.nameIndexAddress };
    links.push(...(await readDenseLinks(meta, dense, opts)));
  }
  return new Map(links.map((link) => [link.name, link]));
}

/** Caches a promise per key and forgets it when it rejects, so a later call retries. */
function memo<K, V>(cache: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

function normalize(path: string): string {
  // Already normal (the paths of tree() and of most callers): "/a/b", no empty or "." parts.
  if (path.startsWith("/") && !path.endsWith("/") && !path.includes("//") && !/\/\.(\/|$)/.test(path))
    return path;
  return `/${path
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/")}`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
