import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Dataset, File } from "h5wasm/node";
import h5wasm from "h5wasm/node";

/*
 * Small helpers for tests that read generated HDF5 files back with h5wasm (the HDF5 C library).
 */

/** The dataset at `path` of an open file. @throws when there is none. */
export function dataset(f: File, path: string): Dataset {
  const d = f.get(path);
  if (!(d instanceof h5wasm.Dataset)) throw new Error(`${path} is not a dataset`);
  return d;
}

/** The bytes of a typed array, to compare values bit for bit (fill values and -0 included). */
export function bytesOf(value: unknown): Buffer {
  if (!ArrayBuffer.isView(value)) throw new Error("not a typed array");
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Opens `path` read-only, hands it to `read` and closes it, whatever `read` does. */
export function withFile<T>(path: string, read: (f: File) => T): T {
  const f = new h5wasm.File(path, "r");
  try {
    return read(f);
  } finally {
    f.close();
  }
}

/** SHA-256 of a file's bytes, hex. */
export async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** A GeoJSON lon/lat rectangle `dLon` x `dLat` degrees either side of a centre. */
export function boxAround(centre: { lat: number; lon: number }, dLon: number, dLat: number) {
  const [w, e, s, n] = [centre.lon - dLon, centre.lon + dLon, centre.lat - dLat, centre.lat + dLat];
  return {
    type: "Polygon" as const,
    coordinates: [
      [
        [w, s],
        [e, s],
        [e, n],
        [w, n],
        [w, s],
      ],
    ],
  };
}
