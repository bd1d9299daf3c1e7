import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ByteSource, ReadOptions } from "../source/types.js";
import type { DatasetMeta } from "./dataset.js";
import { elementCount } from "./dataspace.js";
import { toTypedArray } from "./dtype.js";
import { decodeChunk } from "./filters.js";
import { readVlenValues } from "./global-heap.js";
import type { MetaReader } from "./reader.js";
import type { ChunkRef, DatasetInfo, DecodeSpec, NumericArray } from "./types.js";
import { decodeFixedString } from "./values.js";

/**
 * Builds what {@link decodeChunk} needs from a dataset's metadata. For unchunked datasets the "chunk" is
 * the whole dataset.
 */
export function decodeSpecOf(info: DatasetInfo): DecodeSpec {
  const { path, dtype, chunkShape, filters } = info;
  return { path, dtype, chunkShape: chunkShape ?? info.shape, filters };
}

/**
 * Reads and decodes a whole dataset: numeric types as a typed array (host order), fixed- and
 * variable-length strings as strings. Unallocated chunks and parts hold the fill value.
 * @throws UnsupportedHdf5Error for other datatypes; decode errors from {@link decodeChunk}.
 */
export async function readDatasetValues(
  meta: MetaReader,
  source: ByteSource,
  ds: DatasetMeta,
  refs: ChunkRef[],
  opts?: ReadOptions,
): Promise<NumericArray | string[]> {
  const { datatype } = ds;
  const vlenString = datatype.typeClass === 9 && datatype.vlenString === true;
  if (datatype.typeClass !== 0 && datatype.typeClass !== 1 && datatype.typeClass !== 3 && !vlenString) {
    throw new UnsupportedHdf5Error(
      "datatype",
      `dataset ${ds.info.path} has datatype ${ds.info.dtype}, not readable`,
    );
  }
  const count = elementCount(ds.dataspace);
  const raw = filled(count, datatype.size, ds.fill);
  if (ds.layout.kind === "compact") raw.set(ds.layout.data.subarray(0, raw.length));
  else if (ds.layout.kind === "contiguous") {
    if (refs[0]) raw.set(await source.read(refs[0].offset, Math.min(refs[0].size, raw.length), opts));
  } else {
    await readChunksInto(raw, source, ds, refs, opts);
  }
  if (datatype.typeClass === 3) return splitStrings(raw, datatype.size, datatype.stringPad);
  if (vlenString) return (await readVlenValues(meta, raw, count, datatype, opts)) as string[];
  return toTypedArray(raw, ds.info.dtype);
}

async function readChunksInto(
  raw: Uint8Array,
  source: ByteSource,
  ds: DatasetMeta,
  refs: ChunkRef[],
  opts?: ReadOptions,
): Promise<void> {
  // variable-length descriptors are decoded as raw bytes here and resolved afterwards
  const dtype = ds.datatype.typeClass === 9 ? `|V${ds.datatype.size}` : ds.info.dtype;
  const spec = { ...decodeSpecOf(ds.info), dtype };
  await Promise.all(
    refs.map(async (ref) => {
      const stored = await source.read(ref.offset, ref.size, opts);
      const chunk = decodeChunk(stored, spec, ref.filterMask);
      copyChunk(
        raw,
        ds.dataspace.shape,
        { bytes: chunk, shape: spec.chunkShape, coords: ref.coords },
        ds.datatype.size,
      );
    }),
  );
}

/** A decoded chunk placed at `coords` (element coordinates of its first element). */
export interface PlacedChunk {
  bytes: Uint8Array;
  shape: number[];
  coords: number[];
}

/**
 * Copies the part of a decoded chunk that lies inside the dataset into the dataset's row-major buffer;
 * edge chunks are cut to the dataset's extent.
 */
export function copyChunk(out: Uint8Array, shape: number[], chunk: PlacedChunk, itemSize: number): void {
  const rank = shape.length;
  if (rank === 0) {
    out.set(chunk.bytes.subarray(0, itemSize));
    return;
  }
  const extent = shape.map((n, d) => Math.max(0, Math.min(chunk.shape[d]!, n - chunk.coords[d]!)));
  if (extent.some((n) => n === 0)) return;
  const rowBytes = extent[rank - 1]! * itemSize;
  const index = new Array<number>(rank - 1).fill(0);
  for (;;) {
    let src = 0;
    let dst = 0;
    for (let d = 0; d < rank; d++) {
      const i = d < rank - 1 ? index[d]! : 0;
      src = src * chunk.shape[d]! + i;
      dst = dst * shape[d]! + chunk.coords[d]! + i;
    }
    out.set(chunk.bytes.subarray(src * itemSize, src * itemSize + rowBytes), dst * itemSize);
    if (!advance(index, extent)) return;
  }
}

/** Steps a row-major index over all but the last dimension; false when done. */
function advance(index: number[], extent: number[]): boolean {
  for (let d = index.length - 1; d >= 0; d--) {
    index[d]! += 1;
    if (index[d]! < extent[d]!) return true;
    index[d] = 0;
  }
  return false;
}

/** A buffer of `count` elements, each set to `fill` (zeros when undefined). */
function filled(count: number, size: number, fill: Uint8Array | undefined): Uint8Array {
  const total = count * size;
  if (!Number.isSafeInteger(total) || total > 2 ** 31) {
    throw new InvalidHdf5Error(`dataset of ${count} elements of ${size} bytes is too large to read at once`);
  }
  const out = new Uint8Array(total);
  if (fill?.some((b) => b !== 0)) {
    for (let i = 0; i < total; i += size) out.set(fill.subarray(0, size), i);
  }
  return out;
}

function splitStrings(raw: Uint8Array, size: number, pad: number): string[] {
  const count = size === 0 ? 0 : raw.length / size;
  return Array.from({ length: count }, (_, i) =>
    decodeFixedString(raw.subarray(i * size, (i + 1) * size), pad),
  );
}
