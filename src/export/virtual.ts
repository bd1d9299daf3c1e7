/**
 * A virtual zarr hierarchy of indexed granules, built from the store alone: one group per granule
 * holding the granule's own tree, arrays whose chunks point at byte ranges of the HDF5 files (or
 * hold small values inline). Kerchunk and Icechunk exports both write it.
 */
import { mapLimit } from "../concurrency.js";
import { itemSize } from "../hdf5/dtype.js";
import type { AttrValue, FilterInfo } from "../hdf5/types.js";
import { findProfile } from "../products/index.js";
import { type GranuleHierarchy, type HierarchyDataset, parseHierarchy } from "../store/hierarchy.js";
import type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "../store/schema.js";
import { nameDimensions } from "./dimensions.js";
import { encodeValues } from "./values.js";
import { codecsOf, type ZarrCodecs, zarrAttrs, zarrFillValue } from "./zarr-v2.js";

/** Where a chunk's bytes are: a byte range of a granule's file, or the bytes themselves. */
export type ChunkTarget = { url: string; offset: number; size: number } | { data: Uint8Array };

/** A zarr group: its path in the export (`<granule_id>/gt1l`) and attributes. */
export interface VirtualGroup {
  path: string;
  attrs: Record<string, unknown>;
}

/** A zarr array of the export: metadata and its chunks by zarr v2 key ("0", "3.0"). */
export interface VirtualArray {
  path: string;
  granule_id: string;
  /** Path of the HDF5 dataset in its granule. */
  dataset: string;
  dtype: string;
  shape: number[];
  chunks: number[];
  codecs: ZarrCodecs;
  fill_value: number | string | null;
  /** `.zattrs`, with `_ARRAY_DIMENSIONS`. */
  attrs: Record<string, unknown>;
  refs: Map<string, ChunkTarget>;
}

/** The export's content. */
export interface VirtualTree {
  groups: VirtualGroup[];
  arrays: VirtualArray[];
  granules: GranuleRow[];
  /** Datasets left out, each with its reason. */
  skipped: string[];
  /** Granules indexed before the store recorded their whole tree: only their indexed arrays are exported. */
  partial: string[];
}

/** What goes into a virtual tree. */
export interface VirtualInput {
  granules: readonly GranuleRow[];
  arrays: readonly ArrayRow[];
  /** The chunk rows whose stored chunks the row-rate arrays list (all, or a query's candidates). */
  chunks: readonly ChunkRow[];
  /**
   * True when `chunks` is a selection: granules without a selected chunk row are left out, and so
   * are beam groups without one.
   */
  limited: boolean;
  /** Only these variables of the beams (matched as the end of a dataset's path), plus coordinates; default all. */
  vars?: readonly string[];
}

/** One dataset before it becomes an array: metadata plus where its chunks are. */
interface DatasetSource {
  path: string;
  dtype: string;
  shape: number[];
  chunkShape: number[] | null;
  filters: FilterInfo[];
  fill: unknown;
  attrs: Record<string, AttrValue>;
  /** Chunk refs as [coords, offset, size, filter mask]. */
  refs: [number[], number, number, number][];
  values?: (number | string)[];
  contiguous: boolean;
}

const parseJson = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    // A row written with unparsable JSON exports without that field.
    return fallback;
  }
};

/** Row-rate datasets of a granule from its `arrays` rows and the refs of the given chunk rows. */
function indexedSources(arrays: readonly ArrayRow[], chunks: readonly ChunkRow[]): DatasetSource[] {
  const refs = new Map<string, Map<string, ChunkRefRow>>();
  for (const c of chunks) {
    for (const r of c.refs) {
      if (!refs.has(r.path)) refs.set(r.path, new Map());
      refs.get(r.path)!.set(`${r.chunk_start},${r.col_start}`, r);
    }
  }
  return arrays.map((a) => {
    const list = [...(refs.get(a.path)?.values() ?? [])];
    const contiguous = a.chunk_shape === null;
    return {
      path: a.path,
      dtype: a.dtype,
      shape: a.shape,
      chunkShape: a.chunk_shape,
      filters: parseJson<FilterInfo[]>(a.filters, []),
      fill: parseJson<unknown>(a.fill_value, null),
      attrs: parseJson<Record<string, AttrValue>>(a.attrs, {}),
      refs: contiguous
        ? contiguousBlock(a, list)
        : list.map((r) => [[r.chunk_start, r.col_start], r.offset, r.size, r.filter_mask]),
      contiguous,
    };
  });
}

/** The one stored block of a contiguous dataset, from any slice of it that a chunk row lists. */
function contiguousBlock(a: ArrayRow, slices: readonly ChunkRefRow[]): [number[], number, number, number][] {
  const first = slices[0];
  if (!first) return [];
  const rowBytes = itemSize(a.dtype) * a.shape.slice(1).reduce((x, y) => x * y, 1);
  const total = rowBytes * (a.shape[0] ?? 0);
  return [[a.shape.map(() => 0), first.offset - first.chunk_start * rowBytes, total, 0]];
}

function hierarchySource(path: string, d: HierarchyDataset): DatasetSource {
  return {
    path,
    dtype: d.dtype,
    shape: d.shape,
    chunkShape: d.chunk_shape,
    filters: d.filters,
    fill: d.fill_value,
    attrs: d.attrs,
    refs: d.refs,
    values: d.values,
    contiguous: d.layout !== "chunked",
  };
}

const fillOf = (s: DatasetSource, dtype: string) => zarrFillValue(s.attrs._FillValue ?? s.fill, dtype);

/** A dataset as a virtual array, or the reason it cannot be one. */
function toArray(s: DatasetSource, g: GranuleRow, dims: string[]): VirtualArray | string {
  const base = { path: `${g.granule_id}${s.path}`, granule_id: g.granule_id, dataset: s.path };
  if (s.values) {
    const { dtype, bytes } = encodeValues(s.values, s.dtype);
    const key = s.shape.length === 0 ? "0" : s.shape.map(() => 0).join(".");
    return {
      ...base,
      dtype,
      shape: s.shape,
      chunks: s.shape.map((n) => Math.max(1, n)),
      codecs: { filters: null, compressor: null },
      fill_value: fillOf(s, dtype),
      attrs: zarrAttrs(s.attrs, dims),
      refs: new Map(s.refs.length > 0 || s.values.length > 0 ? [[key, { data: bytes }]] : []),
    };
  }
  if (s.dtype.startsWith("other:")) return `${s.path}: datatype ${s.dtype.slice(6)} has no zarr v2 spelling`;
  const codecs = codecsOf(s.contiguous ? [] : s.filters, itemSize(s.dtype));
  if ("unsupported" in codecs) return `${s.path}: ${codecs.unsupported}`;
  const chunks = s.contiguous || !s.chunkShape ? s.shape.map((n) => Math.max(1, n)) : s.chunkShape;
  if (s.shape.length > 2 && chunks.slice(2).some((c, i) => c < s.shape[i + 2]!) && !s.values)
    return `${s.path}: chunks split along a third dimension`;
  const refs = new Map<string, ChunkTarget>();
  // An empty dataset has no chunk to read, whatever its layout recorded.
  const stored = s.shape.includes(0) ? [] : s.refs;
  for (const [coords, offset, size, mask] of stored) {
    if (mask !== 0) return `${s.path}: chunk at ${coords.join(",")} skipped filters (mask ${mask})`;
    const key = s.shape.length === 0 ? "0" : chunks.map((c, i) => Math.floor((coords[i] ?? 0) / c)).join(".");
    refs.set(key, { url: g.url, offset, size });
  }
  return {
    ...base,
    dtype: s.dtype,
    shape: s.shape,
    chunks,
    codecs,
    fill_value: fillOf(s, s.dtype),
    attrs: zarrAttrs(s.attrs, dims),
    refs,
  };
}

/** The first path component when it is a beam of the granule's product. */
function beamOf(path: string, beams: ReadonlySet<string>): string | undefined {
  const first = path.split("/")[1];
  return first !== undefined && beams.has(first) ? first : undefined;
}

/** Builds the virtual tree of the given granules. */
export function buildVirtualTree(input: VirtualInput): VirtualTree {
  const tree: VirtualTree = {
    groups: [{ path: "", attrs: {} }],
    arrays: [],
    granules: [],
    skipped: [],
    partial: [],
  };
  const byGranule = <T extends { granule_id: string }>(rows: readonly T[]) => {
    const m = new Map<string, T[]>();
    for (const r of rows) m.set(r.granule_id, [...(m.get(r.granule_id) ?? []), r]);
    return m;
  };
  const arrays = byGranule(input.arrays);
  const chunks = byGranule(input.chunks);
  for (const g of input.granules) {
    const own = chunks.get(g.granule_id) ?? [];
    if (input.limited && own.length === 0) continue;
    tree.granules.push(g);
    const hierarchy = parseHierarchy(g.hierarchy);
    if (!hierarchy) tree.partial.push(g.granule_id);
    addGranule(tree, g, { arrays: arrays.get(g.granule_id) ?? [], chunks: own, hierarchy }, input);
  }
  return tree;
}

function addGranule(
  tree: VirtualTree,
  g: GranuleRow,
  rows: { arrays: readonly ArrayRow[]; chunks: readonly ChunkRow[]; hierarchy: GranuleHierarchy | undefined },
  input: VirtualInput,
): void {
  const profile = findProfile(g.product);
  const beams = new Set(profile?.beams ?? []);
  const selectedBeams = new Set(rows.chunks.map((c) => c.beam));
  const coordinates = new Set(Object.values(profile?.coordinates ?? {}).map((c) => `/${c}`));
  const keep = (path: string) => {
    const beam = beamOf(path, beams);
    if (beam === undefined) return true;
    if (input.limited && !selectedBeams.has(beam)) return false;
    if (!input.vars) return true;
    return [...input.vars, ...coordinates].some((v) => path.endsWith(v.startsWith("/") ? v : `/${v}`));
  };
  const sources = [
    ...indexedSources(rows.arrays, rows.chunks),
    ...Object.entries(rows.hierarchy?.datasets ?? {}).map(([p, d]) => hierarchySource(p, d)),
  ].filter((s) => keep(s.path));
  const dims = nameDimensions(
    sources.map((s) => ({ path: s.path, shape: s.shape, isScale: s.attrs.CLASS === "DIMENSION_SCALE" })),
  );
  const groups = new Map<string, Record<string, AttrValue>>();
  for (const [p, attrs] of Object.entries(rows.hierarchy?.groups ?? {})) {
    const beam = beamOf(p, beams);
    if (beam === undefined || !input.limited || selectedBeams.has(beam))
      groups.set(p === "/" ? "" : p, attrs);
  }
  groups.set("", groups.get("") ?? {});
  for (const s of sources) {
    for (let p = s.path.slice(0, s.path.lastIndexOf("/")); p !== ""; p = p.slice(0, p.lastIndexOf("/")))
      if (!groups.has(p)) groups.set(p, {});
    const array = toArray(s, g, dims.get(s.path) ?? []);
    if (typeof array === "string") tree.skipped.push(`${g.granule_id}: ${array}`);
    else tree.arrays.push(array);
  }
  for (const [p, attrs] of [...groups].sort(([a], [b]) => a.localeCompare(b)))
    tree.groups.push({ path: `${g.granule_id}${p}`, attrs: zarrAttrs(attrs) });
}

/** Small-chunk reads in flight while inlining: enough to hide a remote store's latency. */
const INLINE_READS_IN_FLIGHT = 16;

/** Reads `size` bytes at `offset` of the file at `url`. */
export type RangeReader = (url: string, offset: number, size: number) => Promise<Uint8Array>;

/**
 * Replaces every referenced chunk of at most `threshold` bytes by its bytes, read with `read`
 * (a few requests per granule, since such chunks are few and small). Returns the number inlined.
 */
export async function inlineSmallChunks(
  tree: VirtualTree,
  opts: { threshold: number; read: RangeReader },
): Promise<number> {
  const jobs: { refs: Map<string, ChunkTarget>; key: string; url: string; offset: number; size: number }[] =
    [];
  for (const a of tree.arrays) {
    for (const [key, target] of a.refs) {
      if ("url" in target && target.size <= opts.threshold) jobs.push({ refs: a.refs, key, ...target });
    }
  }
  await mapLimit(jobs, INLINE_READS_IN_FLIGHT, async (j) => {
    j.refs.set(j.key, { data: await opts.read(j.url, j.offset, j.size) });
  });
  return jobs.length;
}
