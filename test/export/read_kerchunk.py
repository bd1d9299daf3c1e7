"""Reads kerchunk references with fsspec's reference file system, zarr 2 and xarray; prints JSON.

Usage: python3 read_kerchunk.py REFS XARRAY_GROUP [ONLY_GROUP]
Prints {"arrays": {path: {"dtype", "shape", "sha256" | "strings"}}, "xarray": {...}} where sha256 is
of the array's values as little-endian bytes in C order, and "xarray" describes XARRAY_GROUP opened
with xarray (variables, their dimensions, and the sum of h_li when present). With ONLY_GROUP,
only the arrays below that group are read.
"""
import hashlib
import json
import sys

import fsspec
import numpy as np
import xarray as xr
import zarr

refs, xgroup = sys.argv[1], sys.argv[2]
mapper = fsspec.get_mapper("reference://", fo=refs, remote_protocol="file")
root = zarr.open_group(mapper, mode="r")
only = sys.argv[3] if len(sys.argv) > 3 else None

arrays = {}


def visit(name, node):
    if not isinstance(node, zarr.Array):
        return
    values = node[...]
    entry = {"dtype": node.dtype.str, "shape": list(node.shape)}
    if values.dtype.kind == "S":
        entry["strings"] = [v.decode("utf-8", "replace") for v in np.ravel(values)]
    else:
        little = values.astype(values.dtype.newbyteorder("<"), copy=False)
        entry["sha256"] = hashlib.sha256(np.ascontiguousarray(little).tobytes()).hexdigest()
    arrays["/" + name] = entry


(root[only] if only else root).visititems(lambda name, node: visit(f"{only}/{name}" if only else name, node))
ds = xr.open_dataset(
    mapper, engine="zarr", group=xgroup, consolidated=False, mask_and_scale=False, decode_times=False
)
described = {
    "variables": sorted(ds.variables),
    "dims": {name: list(ds[name].dims) for name in ds.variables},
}
if "h_li" in ds:
    described["h_li_sum"] = float(np.asarray(ds["h_li"].values, dtype="float64").sum())
print(json.dumps({"arrays": arrays, "xarray": described}))
