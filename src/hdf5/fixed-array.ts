import { UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import { chunkBytesOf, coordsOf, gridOf, readElement, toRefs } from "./chunk-elements.js";
import { expectSignature, readAddress, readUint8, readUintLE, UNDEFINED_ADDRESS } from "./cursor.js";
import type { DatasetMeta } from "./dataset.js";
import type { ChunkedLayout } from "./layout.js";
import type { MetaReader } from "./reader.js";
import { parseAt, readAt } from "./reader.js";
import type { ChunkRef } from "./types.js";

/**
 * Reads a Fixed Array chunk index (`FAHD` + `FADB`; datasets with fixed maximum dimensions).
 * @throws UnsupportedHdf5Error for paged data blocks.
 */
export async function readFixedArrayRefs(
  meta: MetaReader,
  ds: DatasetMeta,
  layout: ChunkedLayout,
  opts?: ReadOptions,
): Promise<ChunkRef[]> {
  const at = layout.address;
  const head = await readAt(meta, at, 12 + meta.lengthSize + meta.offsetSize, "fixed array header", opts);
  const h = parseAt(at, "fixed array header", () => {
    expectSignature(head, "FAHD", at);
    head.offset += 2; // version, client id
    const filtered = ds.info.filters.length > 0;
    const shape = {
      offsetSize: meta.offsetSize,
      elementSize: readUint8(head),
      filtered,
      chunkBytes: chunkBytesOf(layout),
    };
    const pageBits = readUint8(head);
    const count = readUintLE(head, meta.lengthSize, "fixed array entries");
    return { shape, pageBits, count, block: readAddress(head, meta.offsetSize) };
  });
  if (h.block === UNDEFINED_ADDRESS) return [];
  if (h.count > 2 ** h.pageBits)
    throw new UnsupportedHdf5Error("chunk-index", `paged fixed array index of ${ds.info.path}`);
  const prefix = 6 + meta.offsetSize;
  const c = await readAt(
    meta,
    h.block,
    prefix + h.count * h.shape.elementSize,
    "fixed array data block",
    opts,
  );
  expectSignature(c, "FADB", h.block);
  c.offset = prefix;
  const elements = Array.from({ length: h.count }, (_, index) => ({
    index,
    element: readElement(c, h.shape),
  }));
  const grid = gridOf(ds, layout);
  const order = grid.map((_, d) => d);
  return toRefs(ds, elements, (i) => coordsOf(i, grid, layout.chunkShape, order));
}
