/** A granule's groups and the datasets its chunk rows do not cover, for the `hierarchy` column. */
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import type { DatasetInfo, DatasetValues } from "../hdf5/types.js";
import type { GranuleHierarchy, HierarchyDataset } from "../store/hierarchy.js";

/**
 * Most elements of a string, scalar or compact dataset whose values are recorded: metadata strings
 * and scalars are far below it, and a larger dataset stays a reference.
 */
export const MAX_RECORDED_VALUES = 4096;

/** JSON-safe number: bigint and non-finite floats as text. */
function jsonNumber(v: number | bigint | string | null): number | string | null {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return v;
}

/** Whether exports inline this dataset's values rather than reference its bytes. */
function recordsValues(info: DatasetInfo): boolean {
  const elements = info.shape.reduce((a, b) => a * b, 1);
  if (elements > MAX_RECORDED_VALUES) return false;
  // Numbers, fixed-length strings and variable-length strings only: other types (compounds,
  // references, opaque) are described and referenced but not read.
  if (!/^[<>|][fiuS]\d+$/.test(info.dtype) && info.dtype !== "other:vlen") return false;
  return (
    info.dtype.startsWith("|S") ||
    info.dtype === "other:vlen" ||
    info.shape.length === 0 ||
    info.layout === "compact"
  );
}

/** Values as JSON-safe numbers and strings; undefined for values of other kinds (compounds, references). */
function plainValues(values: DatasetValues): (number | string)[] | undefined {
  const out: (number | string)[] = [];
  for (const v of values as Iterable<unknown>) {
    if (typeof v === "string") out.push(v);
    else if (typeof v === "number" || typeof v === "bigint") out.push(jsonNumber(v) as number | string);
    else return undefined;
  }
  return out;
}

async function hierarchyDataset(
  file: Hdf5Reader,
  info: DatasetInfo,
  opts: { signal?: AbortSignal },
): Promise<HierarchyDataset> {
  const refs = info.layout === "compact" ? [] : await file.chunkRefs(info.path, opts);
  const dataset: HierarchyDataset = {
    dtype: info.dtype,
    shape: info.shape,
    chunk_shape: info.chunkShape,
    layout: info.layout,
    filters: info.filters,
    fill_value: jsonNumber(info.fillValue),
    attrs: info.attrs,
    refs: refs.map((r) => [r.coords, r.offset, r.size, r.filterMask]),
  };
  if (recordsValues(info)) {
    const values = plainValues(await file.read(info.path, opts));
    if (values) dataset.values = values;
  }
  return dataset;
}

/**
 * Reads every group's attributes and every dataset not in `indexed` (paths of the granule's
 * `arrays` rows): dtype, shape, layout, filters, fill value, attributes and chunk locations, plus the
 * values of strings, scalars and compact datasets. Metadata reads only, except those small values.
 * `indexed` may still be on its way (the beams being indexed): the walk and every dataset's header
 * are read meanwhile, and only the chunk locations and values wait for it.
 */
export async function readHierarchy(
  file: Hdf5Reader,
  indexed: ReadonlySet<string> | Promise<ReadonlySet<string>>,
  opts: { signal?: AbortSignal } = {},
): Promise<GranuleHierarchy> {
  const tree = await file.tree(opts);
  const groupPaths = ["/", ...tree.groups];
  const described = Promise.all(tree.datasets.map((p) => file.dataset(p, opts)));
  const attrs = await Promise.all(groupPaths.map((p) => file.groupAttrs(p, opts)));
  const groups = Object.fromEntries(groupPaths.map((p, i) => [p, attrs[i] ?? {}]));
  const [all, skip] = await Promise.all([described, indexed]);
  const paths = tree.datasets.filter((p) => !skip.has(p));
  const infos = all.filter((_, i) => !skip.has(tree.datasets[i]!));
  const datasets = await Promise.all(
    infos.map((info) => (info ? hierarchyDataset(file, info, opts) : undefined)),
  );
  return {
    groups,
    datasets: Object.fromEntries(paths.flatMap((p, i) => (datasets[i] ? [[p, datasets[i]] as const] : []))),
  };
}
