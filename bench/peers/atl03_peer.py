"""
Python peers of the geochunks ATL03 benchmark, run by bench/contenders/atl03.ts over the loopback range server.

  python3 atl03_peer.py MODE JOB.json  ->  one JSON object on stdout

MODE:
  h5coro-subset  SlideRule's ATL03 subsetting on H5Coro (pure Python, HTTP driver): per beam read the whole
                 geolocation reference_photon_lat/lon and segment_ph_cnt, find the segments whose reference
                 photon is inside the polygon, widen that range by one segment on each side (a segment's photons
                 lie up to 20 m from its reference photon), turn it into a photon range with the cumulative
                 photon counts, then read that slice of lat_ph, lon_ph, delta_time, h_ph, signal_conf_ph,
                 quality_ph (and segment_id for the segments) and keep the photons inside the polygon.
  h5py-download  download each whole granule over HTTP into a temporary file, read it with h5py, filter.

JOB: {"urls": [...], "polygons": [[ring, ...], ...] (GeoJSON lon/lat rings), "workers": N,
      "cache_line_size": bytes (h5coro), "h5coro_src": checkout directory (h5coro mode)}

Output: {"rows", "hash" (sha256 of the sorted "granule\\tbeam\\tsegment_id" lines, one per photon), "seconds"
(after imports), "granules", "versions"}. Granules run in `workers` processes at once.
"""
import hashlib
import importlib.metadata
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from atl06_peer import downloaded, granule_id, inside, keys_of, load_h5coro

BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]
PHOTON_VARS = ["lat_ph", "lon_ph", "delta_time", "h_ph", "signal_conf_ph", "quality_ph"]
FLT_MAX = np.float32(3.4028235e38)

JOB = {}


def segment_range(polygons, ref_lat, ref_lon, counts):
    """[s0, s1) of the segments to read, or None: the inside reference photons, widened by one segment."""
    has_photons = counts > 0
    mask = inside(polygons, np.asarray(ref_lon, dtype=np.float64), np.asarray(ref_lat, dtype=np.float64))
    hits = np.nonzero(mask & has_photons)[0]
    if hits.size == 0:
        return None
    return max(int(hits[0]) - 1, 0), min(int(hits[-1]) + 2, len(counts))


def kept_segments(gid, beam, polygons, lat, lon, segment_id, counts):
    """(granule, beam, segment_id of every photon of a slice inside the polygons), segment_id broadcast by counts.
    Row keys are made from these after the clock stops, as for geochunks."""
    per_photon = np.repeat(np.asarray(segment_id), np.asarray(counts, dtype=np.int64))
    mask = inside(polygons, np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return [(gid, beam, per_photon[mask])]


def h5coro_subset(url):
    h5coro, webdriver = load_h5coro(JOB["h5coro_src"])
    h5 = h5coro.H5Coro(url, webdriver.HTTPDriver, cacheLineSize=JOB["cache_line_size"])
    try:
        gid = granule_id(url)
        polygons = JOB["polygons"]
        # Phase 1, as SlideRule's ATL03 subsetter: every beam's whole segment-rate reference photon
        # coordinates and photon counts, concurrently.
        seg_vars = ("reference_photon_lat", "reference_photon_lon", "segment_ph_cnt")
        paths = [f"/{b}/geolocation/{v}" for b in BEAMS for v in seg_vars]
        p = h5.readDatasets(paths, block=True)
        ranges = {}
        for b in BEAMS:
            lat, lon, cnt = (p[f"/{b}/geolocation/{v}"] for v in seg_vars)
            if lat is None or lon is None or cnt is None:
                continue
            counts = np.asarray(cnt, dtype=np.int64)
            seg = segment_range(polygons, lat, lon, counts)
            if seg is None:
                continue
            starts = np.concatenate(([0], np.cumsum(counts)))
            s0, s1 = seg
            p0, p1 = int(starts[s0]), int(starts[s1])
            if p1 > p0:
                ranges[b] = (s0, s1, p0, p1, counts[s0:s1])
        if not ranges:
            return []
        # Phase 2: the photon slice of each beam with hits, and its segments' ids. h5coro 1.0.5 fails a
        # slice starting on an interior chunk boundary: start one element early.
        requests = []
        for b, (s0, s1, p0, p1, _) in ranges.items():
            q0 = p0 - 1 if p0 > 0 else p0
            requests += [{"dataset": f"/{b}/heights/{v}", "hyperslice": [[q0, p1]]} for v in PHOTON_VARS]
            requests.append({"dataset": f"/{b}/geolocation/segment_id", "hyperslice": [[s0 - 1 if s0 > 0 else s0, s1]]})
        q = h5.readDatasets(requests, block=True)
        kept = []
        for b, (s0, s1, p0, p1, counts) in ranges.items():
            cols = {}
            for v in PHOTON_VARS:
                values = q[f"/{b}/heights/{v}"]
                if values is None:
                    raise RuntimeError(f"h5coro could not read /{b}/heights/{v} of {url}")
                cols[v] = np.asarray(values)[(1 if p0 > 0 else 0):]
            segment_id = np.asarray(q[f"/{b}/geolocation/segment_id"])[(1 if s0 > 0 else 0):]
            # The subsetter's output conversions (not needed for the row keys, timed all the same).
            cols["h_ph"] = np.where(cols["h_ph"] == FLT_MAX, np.nan, cols["h_ph"])
            cols["time_ns"] = np.round(cols["delta_time"] * 1e9).astype(np.int64) + 1514764800000000000
            kept += kept_segments(gid, b, polygons, cols["lat_ph"], cols["lon_ph"], segment_id, counts)
        return kept
    finally:
        h5.close()


def h5py_download(url):
    import h5py

    gid = granule_id(url)
    kept = []
    with downloaded(url) as path, h5py.File(path, "r") as f:
        for b in BEAMS:
            g = f.get(f"{b}/heights")
            if g is None:
                continue
            cols = {v: g[v][:] for v in PHOTON_VARS}
            counts = f[f"{b}/geolocation/segment_ph_cnt"][:]
            segment_id = f[f"{b}/geolocation/segment_id"][:]
            kept += kept_segments(gid, b, JOB["polygons"], cols["lat_ph"], cols["lon_ph"], segment_id, counts)
    return kept


MODES = {"h5coro-subset": h5coro_subset, "h5py-download": h5py_download}


def init(job):
    global JOB
    JOB = job


def main():
    mode, job_path = sys.argv[1], sys.argv[2]
    job = json.load(open(job_path))
    init(job)
    versions = {"python": sys.version.split()[0], "numpy": np.__version__}
    if mode.startswith("h5coro"):
        load_h5coro(job["h5coro_src"])
        versions["h5coro"] = importlib.metadata.metadata("h5coro")["version"]
    else:
        import h5py

        versions["h5py"] = h5py.__version__
    fn = MODES[mode]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=job["workers"], initializer=init, initargs=(job,)) as pool:
        parts = list(pool.map(fn, job["urls"]))
    seconds = time.perf_counter() - started
    keys = sorted(k for part in parts for gid, beam, ids in part for k in keys_of(gid, beam, ids))
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    print(json.dumps({"rows": len(keys), "hash": digest, "seconds": seconds, "granules": len(parts),
                      "versions": versions}))


if __name__ == "__main__":
    main()
