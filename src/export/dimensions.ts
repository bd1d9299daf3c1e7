/**
 * Dimension names for zarr's `_ARRAY_DIMENSIONS`, so that xarray can open every group. HDF5 ties
 * dimensions to dimension-scale datasets by object references, which the store does not keep; the
 * names follow the netCDF reading of them instead: a dimension of length n is named after the
 * nearest 1-D dimension scale of length n in the array's group or an ancestor (`delta_time` for
 * ICESat-2 rows), else `phony_dim_<n>`.
 */

/** What naming needs of one array: its path, shape and whether it is a dimension scale. */
export interface DimensionInput {
  path: string;
  shape: readonly number[];
  isScale: boolean;
}

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf("/")));
const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * The dimension names of each array, by path. Within a group a name always means one length, no
 * array repeats a name, and a name that is also an array of the group is that array's own dimension.
 */
export function nameDimensions(arrays: readonly DimensionInput[]): Map<string, string[]> {
  const scales = new Map<string, Map<number, string>>();
  const members = new Map<string, Map<string, DimensionInput>>();
  for (const a of arrays) {
    const group = parentOf(a.path);
    if (!members.has(group)) members.set(group, new Map());
    members.get(group)!.set(nameOf(a.path), a);
    if (a.isScale && a.shape.length === 1) {
      if (!scales.has(group)) scales.set(group, new Map());
      const byLength = scales.get(group)!;
      if (!byLength.has(a.shape[0]!)) byLength.set(a.shape[0]!, nameOf(a.path));
    }
  }
  const nearestScale = (group: string, length: number): string | undefined => {
    for (let g: string | undefined = group; g !== undefined; g = g === "" ? undefined : parentOf(g)) {
      const name = scales.get(g)?.get(length);
      if (name !== undefined) return name;
    }
    return undefined;
  };
  const out = new Map<string, string[]>();
  for (const a of arrays) {
    const group = parentOf(a.path);
    const siblings = members.get(group)!;
    const dims: string[] = [];
    for (const length of a.shape) {
      let name = a.isScale && a.shape.length === 1 ? nameOf(a.path) : nearestScale(group, length);
      const sibling = name === undefined ? undefined : siblings.get(name);
      // A sibling of that name that is not a 1-D array of this length would clash in xarray.
      const clash = sibling !== undefined && !(sibling.shape.length === 1 && sibling.shape[0] === length);
      if (name === undefined || clash || dims.includes(name)) name = `phony_dim_${length}`;
      if (dims.includes(name)) name = `phony_dim_${length}_${dims.length}`;
      dims.push(name);
    }
    out.set(a.path, dims);
  }
  return out;
}
