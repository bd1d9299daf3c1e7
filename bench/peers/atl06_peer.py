"""
Python peers of the geochunks benchmark, run by bench/contenders over the loopback range server.

  python3 atl06_peer.py MODE JOB.json  ->  one JSON object on stdout

MODE:
  h5coro-subset  SlideRule's ATL06 subsetting on H5Coro (pure Python, HTTP driver): per beam read the
                 whole latitude/longitude, mask by the polygon, then read the slice [first, last] of the
                 inside points of delta_time, h_li, h_li_sigma, atl06_quality_summary and segment_id
                 (every inside point is kept: SlideRule's "all points" mode, exact for any polygon).
  h5coro-latlon  read latitude, longitude and delta_time of every beam (what indexing needs), nothing else.
  h5py-download  download each whole granule over HTTP into a temporary file, read it with h5py, filter.

JOB: {"urls": [...], "polygons": [[ring, ...], ...] (GeoJSON lon/lat rings), "workers": N,
      "cache_line_size": bytes (h5coro), "h5coro_src": checkout directory (h5coro modes)}

Output: {"rows", "hash" (sha256 of the sorted "granule\\tbeam\\tsegment_id" lines), "seconds" (after
imports), "granules", "versions"}. Granules run in `workers` processes at once.
"""
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import numpy as np

BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]
OTHER_VARS = ["delta_time", "h_li", "h_li_sigma", "atl06_quality_summary", "segment_id"]
FLT_MAX = np.float32(3.4028235e38)

JOB = {}


def load_h5coro(src):
    """Imports h5coro from a source checkout (its version module reads installed package metadata)."""
    original = importlib.metadata.metadata

    def metadata(name):
        try:
            return original(name)
        except importlib.metadata.PackageNotFoundError:
            if name != "h5coro":
                raise
            version_file = os.path.join(src, "version.txt")
            version = open(version_file).read().strip().lstrip("v") if os.path.exists(version_file) else "0"
            return {"version": version, "Name": "h5coro"}

    importlib.metadata.metadata = metadata
    sys.path.insert(0, src)
    from h5coro import h5coro, webdriver  # noqa: E402

    return h5coro, webdriver


def inside(polygons, lon, lat):
    """Even-odd ray casting per polygon (holes included), union over polygons; bbox tested first."""
    result = np.zeros(lon.shape, dtype=bool)
    for rings in polygons:
        outer = np.asarray(rings[0], dtype=np.float64)
        cand = np.nonzero(
            (lon >= outer[:, 0].min()) & (lon <= outer[:, 0].max())
            & (lat >= outer[:, 1].min()) & (lat <= outer[:, 1].max())
        )[0]
        if cand.size == 0:
            continue
        x = lon[cand]
        y = lat[cand]
        odd = np.zeros(cand.shape, dtype=bool)
        for ring in rings:
            r = np.asarray(ring, dtype=np.float64)
            x1, y1 = r[:-1, 0], r[:-1, 1]
            x2, y2 = r[1:, 0], r[1:, 1]
            for k in range(len(x1)):
                if y1[k] == y2[k]:
                    continue
                crosses = (y1[k] > y) != (y2[k] > y)
                xint = x1[k] + (y - y1[k]) * (x2[k] - x1[k]) / (y2[k] - y1[k])
                odd ^= crosses & (x < xint)
        result[cand] |= odd
    return result


@contextmanager
def downloaded(url):
    """The whole object at `url` in a temporary file, removed afterwards."""
    fd, path = tempfile.mkstemp(suffix=".h5")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as body:
            while True:
                block = body.read(1 << 20)
                if not block:
                    break
                out.write(block)
        yield path
    finally:
        os.unlink(path)


def granule_id(url):
    return url.rstrip("/").split("/")[-1].rsplit(".", 1)[0]


def keys_of(gid, beam, segment_id):
    return [f"{gid}\t{beam}\t{int(s)}" for s in segment_id]


def h5coro_subset(url):
    h5coro, webdriver = load_h5coro(JOB["h5coro_src"])
    h5 = h5coro.H5Coro(url, webdriver.HTTPDriver, cacheLineSize=JOB["cache_line_size"])
    try:
        gid = granule_id(url)
        group = lambda b: f"/{b}/land_ice_segments"  # noqa: E731
        # Phase 1, as SlideRule's atl06x: every beam's whole latitude and longitude, concurrently.
        paths = [f"{group(b)}/{v}" for b in BEAMS for v in ("latitude", "longitude")]
        p = h5.readDatasets(paths, block=True)
        slices = {}
        for b in BEAMS:
            lat = p[f"{group(b)}/latitude"]
            lon = p[f"{group(b)}/longitude"]
            if lat is None or lon is None:
                continue
            mask = inside(JOB["polygons"], np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
            hits = np.nonzero(mask)[0]
            if hits.size == 0:
                continue
            first, last = int(hits[0]), int(hits[-1]) + 1
            # h5coro 1.0.5 fails a slice starting on an interior chunk boundary: start one element early.
            start = first - 1 if first > 0 else first
            slices[b] = (start, first, last, mask[first:last])
        if not slices:
            return []
        # Phase 2: the slice [first, last) of the other variables of each beam with hits.
        requests = [
            {"dataset": f"{group(b)}/{v}", "hyperslice": [[s[0], s[2]]]}
            for b, s in slices.items()
            for v in OTHER_VARS
        ]
        q = h5.readDatasets(requests, block=True)
        keys = []
        for b, (start, first, last, mask) in slices.items():
            cols = {}
            for v in OTHER_VARS:
                values = q[f"{group(b)}/{v}"]
                if values is None:
                    raise RuntimeError(f"h5coro could not read {group(b)}/{v} of {url}")
                cols[v] = np.asarray(values)[first - start:][mask]
            # The subsetter's output conversions (not needed for the row keys, timed all the same).
            for v in ("h_li", "h_li_sigma"):
                cols[v] = np.where(cols[v] == FLT_MAX, np.nan, cols[v])
            cols["time_ns"] = np.round(cols["delta_time"] * 1e9).astype(np.int64) + 1514764800000000000
            keys += keys_of(gid, b, cols["segment_id"])
        return keys
    finally:
        h5.close()


def h5coro_latlon(url):
    h5coro, webdriver = load_h5coro(JOB["h5coro_src"])
    h5 = h5coro.H5Coro(url, webdriver.HTTPDriver, cacheLineSize=JOB["cache_line_size"])
    try:
        paths = [f"/{b}/land_ice_segments/{v}" for b in BEAMS for v in ("latitude", "longitude", "delta_time")]
        p = h5.readDatasets(paths, block=True)
        n = sum(len(p[path]) for path in paths if p[path] is not None)
        return [str(n)]
    finally:
        h5.close()


def h5py_download(url):
    import h5py

    gid = granule_id(url)
    keys = []
    with downloaded(url) as path, h5py.File(path, "r") as f:
        for b in BEAMS:
            g = f.get(f"{b}/land_ice_segments")
            if g is None:
                continue
            lat = g["latitude"][:]
            lon = g["longitude"][:]
            mask = inside(JOB["polygons"], lon, lat)
            cols = {v: g[v][:][mask] for v in OTHER_VARS}
            keys += keys_of(gid, b, cols["segment_id"])
    return keys


MODES = {"h5coro-subset": h5coro_subset, "h5coro-latlon": h5coro_latlon, "h5py-download": h5py_download}


def init(job):
    global JOB
    JOB = job


def main():
    mode, job_path = sys.argv[1], sys.argv[2]
    job = json.load(open(job_path))
    init(job)
    versions = {"python": sys.version.split()[0], "numpy": np.__version__}
    if mode.startswith("h5coro"):
        h5coro, _ = load_h5coro(job["h5coro_src"])
        versions["h5coro"] = importlib.metadata.metadata("h5coro")["version"]
    else:
        import h5py

        versions["h5py"] = h5py.__version__
    fn = MODES[mode]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=job["workers"], initializer=init, initargs=(job,)) as pool:
        parts = list(pool.map(fn, job["urls"]))
    seconds = time.perf_counter() - started
    if mode == "h5coro-latlon":
        print(json.dumps({"rows": sum(int(p[0]) for p in parts), "hash": "", "seconds": seconds,
                          "granules": len(parts), "versions": versions}))
        return
    keys = sorted(k for part in parts for k in part)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    print(json.dumps({"rows": len(keys), "hash": digest, "seconds": seconds, "granules": len(parts),
                      "versions": versions}))


if __name__ == "__main__":
    main()
