/** What readers of a granule's structure and values ask of an open HDF5 file, whichever metadata it comes from. */
import type { PrefetchOptions } from "../source/prefetch.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import type { Hdf5Tree } from "./file.js";
import type { AttrValue, ChunkRef, DatasetInfo, DatasetValues } from "./types.js";
import type { ValueBuffers } from "./value-buffers.js";

/** Options of {@link Hdf5Reader.readMany}. */
export interface ReadManyOptions extends PrefetchOptions {
  /** Where the values' bytes are written (see `readDatasetValues`); default new buffers. */
  buffers?: ValueBuffers;
  /** Called with each stored chunk read and decoded whole (see `readDatasetValues`). */
  onStoredChecksum?: (offset: number, size: number, sum: number) => void;
  /**
   * For the paths in it, only the values at these rows (see `readDatasetValues`' `rows`): their chunks
   * are read with the others', and decoded no further than the last row asked where their filters
   * allow.
   */
  rowsOf?: ReadonlyMap<string, readonly number[]>;
}

/**
 * An open HDF5 file: its groups, attributes, dataset metadata, chunk locations and values. The
 * HDF5 reader ({@link Hdf5File}) answers from the file's own metadata; a DMR++-backed file
 * ({@link DmrppFile}) from a DMR++ sidecar, reading only chunk data from the file. Each method
 * behaves as its namesake on {@link Hdf5File}.
 */
export interface Hdf5Reader {
  /** The source the data is read from. */
  readonly source: ByteSource;
  listGroup(path: string, opts?: ReadOptions): Promise<string[] | undefined>;
  kindOf(path: string, opts?: ReadOptions): Promise<"group" | "dataset" | undefined>;
  groupAttrs(path: string, opts?: ReadOptions): Promise<Record<string, AttrValue> | undefined>;
  dataset(path: string, opts?: ReadOptions): Promise<DatasetInfo | undefined>;
  listDatasets(opts?: ReadOptions): Promise<string[]>;
  tree(opts?: ReadOptions): Promise<Hdf5Tree>;
  chunkRefs(path: string, opts?: ReadOptions): Promise<ChunkRef[]>;
  read(path: string, opts?: ReadOptions): Promise<DatasetValues>;
  readMany(paths: readonly string[], opts?: ReadManyOptions): Promise<DatasetValues[]>;
  readSlice(path: string, start: number, stop: number, opts?: ReadOptions): Promise<DatasetValues>;
}
