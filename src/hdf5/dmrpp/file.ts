/** An HDF5 file whose metadata comes from a DMR++ sidecar: only chunk data is read from the file. */
import { InvalidHdf5Error, UnsupportedHdf5Error } from "../../errors.js";
import { withPrefetch } from "../../source/prefetch.js";
import type { ByteSource, ReadOptions } from "../../source/types.js";
import { readDatasetValues } from "../data.js";
import type { DatasetMeta } from "../dataset.js";
import type { Hdf5Tree } from "../file.js";
import type { Hdf5Reader, ReadManyOptions } from "../hdf5-reader.js";
import type { Layout } from "../layout.js";
import type { MetaReader } from "../reader.js";
import type { AttrValue, ChunkRef, DatasetInfo, DatasetValues } from "../types.js";
import type { DmrppDataset, DmrppDocument } from "./parse.js";

/** Options of {@link DmrppFile.open}. */
export interface DmrppFileOptions {
  /**
   * The HDF5 reader for values DMR++ cannot decode here (variable-length strings, compounds,
   * `dmrpp:missingdata`), opened on first need. Default: none, and such reads throw
   * UnsupportedHdf5Error.
   */
  fallback?: () => Promise<Hdf5Reader>;
}

/**
 * An HDF5 file described by a parsed DMR++ document: groups, attributes, dataset metadata and
 * chunk refs come from the document, with no metadata request to the file; values are read from
 * the file's chunks and decoded as the HDF5 reader decodes them.
 * @example
 * const doc = parseDmrpp(await readText(sidecar), sidecar.url.href);
 * const file = DmrppFile.open(await openFileSource("ATL06.h5"), doc);
 * const lat = await file.read("/gt1l/land_ice_segments/latitude");
 */
export class DmrppFile implements Hdf5Reader {
  readonly source: ByteSource;
  /** The document the metadata comes from. */
  readonly document: DmrppDocument;
  readonly #fallback: (() => Promise<Hdf5Reader>) | undefined;
  #opened: Promise<Hdf5Reader> | undefined;
  #small: Promise<ByteSource> | undefined;
  /** Reads started by {@link prefetch}, by their paths, until a {@link readMany} of them takes them. */
  readonly #ahead = new Map<string, Promise<ByteSource>>();

  private constructor(source: ByteSource, document: DmrppDocument, opts: DmrppFileOptions) {
    this.source = source;
    this.document = document;
    this.#fallback = opts.fallback;
  }

  /** The file at `source` as `document` describes it (no I/O). */
  static open(source: ByteSource, document: DmrppDocument, opts: DmrppFileOptions = {}): DmrppFile {
    return new DmrppFile(source, document, opts);
  }

  /** Sorted child names of the group at `path`; undefined when the path is missing or not a group. */
  async listGroup(path: string): Promise<string[] | undefined> {
    const names = this.document.members.get(normalize(path));
    return names && [...names];
  }

  /** Kind of the object at `path`, or undefined when missing. */
  async kindOf(path: string): Promise<"group" | "dataset" | undefined> {
    const at = normalize(path);
    return this.document.datasets.has(at) ? "dataset" : this.document.groups.has(at) ? "group" : undefined;
  }

  /** Attributes of the group at `path`; undefined when missing or not a group. */
  async groupAttrs(path: string): Promise<Record<string, AttrValue> | undefined> {
    return this.document.groups.get(normalize(path));
  }

  /** Metadata of the dataset at `path`; undefined when missing or not a dataset. */
  async dataset(path: string): Promise<DatasetInfo | undefined> {
    return this.document.datasets.get(normalize(path))?.info;
  }

  /** Every dataset path, sorted depth-first. */
  async listDatasets(): Promise<string[]> {
    return (await this.tree()).datasets;
  }

  /** Every group (except the root) and dataset path, in the order of {@link Hdf5File.tree}. */
  async tree(): Promise<Hdf5Tree> {
    const groups: string[] = [];
    const datasets: string[] = [];
    const walk = (path: string) => {
      for (const name of this.document.members.get(path || "/") ?? []) {
        const at = `${path}/${name}`;
        if (this.document.datasets.has(at)) datasets.push(at);
        else {
          groups.push(at);
          walk(at);
        }
      }
    };
    walk("");
    return { groups: groups.sort(byName), datasets };
  }

  /**
   * The dataset's stored chunks as the document lists them, sorted by coordinates.
   * @throws InvalidHdf5Error when `path` is not a dataset of the document.
   */
  async chunkRefs(path: string): Promise<ChunkRef[]> {
    return [...this.#require(path).refs];
  }

  /** Reads and decodes the whole dataset, as {@link Hdf5File.read}. */
  async read(path: string, opts?: ReadOptions): Promise<DatasetValues> {
    return this.#values(path, this.source, opts);
  }

  /** Reads several whole datasets, their chunks fetched in coalesced requests, as {@link Hdf5File.readMany}. */
  async readMany(paths: readonly string[], opts: ReadManyOptions = {}): Promise<DatasetValues[]> {
    const key = paths.join("\n");
    const ahead = this.#ahead.get(key);
    this.#ahead.delete(key);
    const source = (await ahead?.catch(() => undefined)) ?? (await this.#fetch(paths, opts));
    return Promise.all(paths.map((p) => this.#values(p, source, { ...opts, rows: opts.rowsOf?.get(p) })));
  }

  /**
   * Starts the requests a later {@link readMany} of exactly `paths` makes (the same coalesced reads),
   * so that it finds their bytes arriving or in: for a caller that knows what it will read before it
   * may decode it. The bytes are held until that call (or until this reader is dropped); a failure
   * is met again by the call, which then asks anew. Resolves once the reads are done, failed or not.
   */
  prefetch(paths: readonly string[], opts: ReadOptions = {}): Promise<void> {
    const key = paths.join("\n");
    let fetched = this.#ahead.get(key);
    if (!fetched) {
      fetched = this.#fetch(paths, opts);
      this.#ahead.set(key, fetched);
    }
    return fetched.then(
      () => undefined,
      () => undefined,
    );
  }

  #fetch(paths: readonly string[], opts: ReadOptions): Promise<ByteSource> {
    const spans = paths.flatMap((p) =>
      this.#require(p).refs.map((r) => ({ offset: r.offset, length: r.size })),
    );
    return withPrefetch(this.source, spans, opts);
  }

  /** Reads rows `[start, stop)` of the first dimension, as {@link Hdf5File.readSlice}. */
  async readSlice(path: string, start: number, stop: number, opts?: ReadOptions): Promise<DatasetValues> {
    const ds = this.#require(path);
    if (!decodable(ds)) return (await this.#hdf5()).readSlice(path, start, stop, opts);
    return readDatasetValues(NO_METADATA, this.source, metaOf(ds), ds.refs, {
      ...opts,
      window: { start, stop },
    });
  }

  async #values(
    path: string,
    source: ByteSource,
    opts?: ReadManyOptions & { rows?: readonly number[] },
  ): Promise<DatasetValues> {
    const ds = this.#require(path);
    if (!decodable(ds)) {
      const hdf5 = await this.#hdf5();
      if (!opts?.rows) return hdf5.read(path, opts);
      const [values] = await hdf5.readMany([path], { ...opts, rowsOf: new Map([[path, opts.rows]]) });
      return values!;
    }
    const from = isSmall(ds) ? await this.#smallData(opts) : source;
    return readDatasetValues(NO_METADATA, from, metaOf(ds), ds.refs, opts);
  }

  /**
   * The source small datasets are read from: on the first such read, the stored bytes of every small
   * dataset are fetched in coalesced requests (the document says where they all are), so a granule's
   * scattered metadata datasets (ancillary data, orbit info, bounding polygons) cost a round or two,
   * not one request each.
   */
  #smallData(opts?: ReadOptions): Promise<ByteSource> {
    if (!this.#small) {
      const spans = [...this.document.datasets.values()]
        .filter((d) => decodable(d) && isSmall(d))
        .flatMap((d) => d.refs.map((r) => ({ offset: r.offset, length: r.size })));
      this.#small = withPrefetch(this.source, spans, { signal: opts?.signal });
      this.#small.catch(() => {
        this.#small = undefined;
      });
    }
    return this.#small;
  }

  #hdf5(): Promise<Hdf5Reader> {
    if (!this.#fallback) {
      throw new UnsupportedHdf5Error(
        "datatype",
        `${this.document.name}: values the DMR++ document cannot decode`,
      );
    }
    this.#opened ??= this.#fallback();
    this.#opened.catch(() => {
      this.#opened = undefined;
    });
    return this.#opened;
  }

  #require(path: string): DmrppDataset {
    const ds = this.document.datasets.get(normalize(path));
    if (!ds) throw new InvalidHdf5Error(`no dataset at ${normalize(path)} in ${this.source.url.href}`);
    return ds;
  }
}

/**
 * Largest small dataset, elements and stored bytes: small datasets are read all together. ICESat-2
 * and GEDI granules hold their granule metadata (ancillary data, orbit info, bounding polygons) in
 * datasets of 1 to ~50 elements and a few to 4096 bytes; row-rate datasets have thousands of rows,
 * even in a small subset, and must never be swept in (they are read chunk by chunk, when needed).
 */
const SMALL_DATASET = { elements: 256, bytes: 16 * 1024 };

function isSmall(ds: DmrppDataset): boolean {
  const elements = ds.info.shape.reduce((a, b) => a * b, 1);
  const bytes = ds.refs.reduce((sum, r) => sum + r.size, 0);
  return elements <= SMALL_DATASET.elements && bytes <= SMALL_DATASET.bytes;
}

/** Numbers and fixed-length strings are decoded here; data held elsewhere or in other types is not. */
function decodable(ds: DmrppDataset): boolean {
  const dataMissing =
    ds.info.layout !== "compact" && ds.refs.length === 0 && ds.info.shape.some((n) => n > 0);
  return ds.datatype.typeClass >= 0 && !ds.foreignData && !(dataMissing && ds.info.layout === "contiguous");
}

/** What the value decoder needs of a dataset, built from the document instead of an object header. */
function metaOf(ds: DmrppDataset): DatasetMeta {
  const { info } = ds;
  const layout: Layout =
    info.layout === "compact"
      ? { kind: "compact", data: ds.compact ?? new Uint8Array(0) }
      : info.layout === "contiguous"
        ? { kind: "contiguous", address: ds.refs[0]?.offset ?? -1, size: ds.refs[0]?.size ?? 0 }
        : {
            kind: "chunked",
            chunkShape: info.chunkShape!,
            elementSize: ds.datatype.size,
            index: "btree-v1",
            address: -1,
          };
  const dataspace = {
    kind: info.shape.length === 0 ? "scalar" : "simple",
    shape: info.shape,
    maxshape: info.maxshape,
  } as const;
  return { info, datatype: ds.datatype, dataspace, layout, fill: ds.fill };
}

/**
 * The decoder reads file metadata only for variable-length values, which are never decoded from a
 * DMR++ document (they go to the fallback reader): any use of this reader is a bug.
 */
const NO_METADATA: MetaReader = {
  source: {
    url: new URL("dmrpp:metadata"),
    size: () => Promise.reject(new Error("DMR++ files have no HDF5 metadata to read")),
    read: () => Promise.reject(new Error("DMR++ files have no HDF5 metadata to read")),
  },
  fileSize: 0,
  baseAddress: 0,
  offsetSize: 8,
  lengthSize: 8,
};

function normalize(path: string): string {
  return `/${path
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/")}`;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
