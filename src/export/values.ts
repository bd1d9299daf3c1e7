/** Dataset values recorded in the store, encoded back into the bytes of one uncompressed zarr chunk. */
import { parseDtype } from "../hdf5/dtype.js";

/**
 * The zarr dtype and raw bytes of recorded values: fixed-length strings as `|S<n>` padded with
 * zero bytes, variable-length strings as `|S<longest>` (at least 1), numbers in their own dtype.
 * @throws RangeError for a dtype without a numpy spelling other than vlen strings.
 */
export function encodeValues(
  values: readonly (number | string)[],
  dtype: string,
): { dtype: string; bytes: Uint8Array } {
  if (dtype.startsWith("|S") || dtype === "other:vlen") {
    const encoded = values.map((v) => new TextEncoder().encode(String(v)));
    const width =
      dtype === "other:vlen" ? Math.max(1, ...encoded.map((e) => e.length)) : Number(dtype.slice(2));
    const bytes = new Uint8Array(width * values.length);
    for (const [i, e] of encoded.entries()) bytes.set(e.subarray(0, width), i * width);
    return { dtype: `|S${width}`, bytes };
  }
  const { order, kind, size } = parseDtype(dtype);
  const bytes = new Uint8Array(size * values.length);
  const view = new DataView(bytes.buffer);
  const le = order !== ">";
  for (const [i, v] of values.entries()) writeNumber(view, i * size, { kind, size, le }, v);
  return { dtype, bytes };
}

function writeNumber(
  view: DataView,
  at: number,
  t: { kind: string; size: number; le: boolean },
  v: number | string,
): void {
  if (t.kind === "f") {
    const n = Number(v);
    if (t.size === 8) view.setFloat64(at, n, t.le);
    else if (t.size === 4) view.setFloat32(at, n, t.le);
    else throw new RangeError(`float of ${t.size} bytes cannot be written`);
    return;
  }
  if (t.size === 8) {
    const b = BigInt(typeof v === "string" ? v : Math.trunc(v));
    if (t.kind === "i") view.setBigInt64(at, b, t.le);
    else view.setBigUint64(at, b, t.le);
    return;
  }
  const n = Number(v);
  if (t.size === 1) t.kind === "i" ? view.setInt8(at, n) : view.setUint8(at, n);
  else if (t.size === 2) t.kind === "i" ? view.setInt16(at, n, t.le) : view.setUint16(at, n, t.le);
  else if (t.size === 4) t.kind === "i" ? view.setInt32(at, n, t.le) : view.setUint32(at, n, t.le);
  else throw new RangeError(`integer of ${t.size} bytes cannot be written`);
}
