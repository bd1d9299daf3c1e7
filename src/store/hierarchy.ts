/**
 * The part of a granule the chunk rows do not describe: every group with its attributes and every
 * dataset outside the indexed row-rate arrays (ancillary data, orbit info, histograms, metadata),
 * with where its chunks live. Stored as JSON in the `hierarchy` column of the `granules` table so
 * that exports can rebuild the whole granule's tree without opening it.
 */
import type { AttrValue, FilterInfo } from "../hdf5/types.js";

/** One stored chunk of a dataset: element coordinates of its first element, then offset, size, filter mask. */
export type HierarchyRef = [coords: number[], offset: number, size: number, filterMask: number];

/** A dataset the chunk rows do not cover. */
export interface HierarchyDataset {
  /** numpy-style dtype (`<f8`, `|S4096`); `other:<class>` for types without one (vlen strings: `other:vlen`). */
  dtype: string;
  shape: number[];
  chunk_shape: number[] | null;
  layout: "compact" | "contiguous" | "chunked";
  filters: FilterInfo[];
  /** The fill value property; bigint as text, non-finite floats as "NaN", "Infinity", "-Infinity". */
  fill_value: number | string | null;
  attrs: Record<string, AttrValue>;
  /** Every stored chunk ([] for compact datasets and datasets never written). */
  refs: HierarchyRef[];
  /**
   * The values, row-major, for strings, scalars and compact datasets (which exports inline);
   * bigint as text, non-finite floats as text. Absent for other datasets.
   */
  values?: (number | string)[];
}

/** The tree of one granule. */
export interface GranuleHierarchy {
  /** Attributes of every group by path, the root as "/". */
  groups: Record<string, Record<string, AttrValue>>;
  /** Datasets not listed in the `arrays` table, by path. */
  datasets: Record<string, HierarchyDataset>;
}

/**
 * Parses a granule row's `hierarchy` column; undefined for granules indexed before it existed
 * (their exports hold only the indexed arrays).
 */
export function parseHierarchy(json: string | null | undefined): GranuleHierarchy | undefined {
  if (json === null || json === undefined || json === "") return undefined;
  const value = JSON.parse(json) as GranuleHierarchy;
  return { groups: value.groups ?? {}, datasets: value.datasets ?? {} };
}
