/**
 * Kerchunk references (version 1) of a virtual tree: zarr v2 metadata of every group and array, and
 * every chunk as `[url, offset, size]` or inline `base64:` bytes. Written as one JSON file or in
 * kerchunk's Parquet layout (see kerchunk-parquet.ts).
 */
import { writeFile } from "node:fs/promises";
import { writeAtomically } from "./atomic.js";
import type { VirtualTree } from "./virtual.js";
import { zarrArray } from "./zarr-v2.js";

/** Kerchunk version-1 references. */
export interface KerchunkReferences {
  version: 1;
  /** Zarr keys to JSON text, `base64:` bytes or `[url, offset, size]`. */
  refs: Record<string, string | [string, number, number]>;
}

const key = (path: string, name: string) => (path === "" ? name : `${path}/${name}`);

/** Bytes as a kerchunk inline value: `base64:` text. */
export function inlineValue(data: Uint8Array): string {
  return `base64:${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64")}`;
}

/** The zarr v2 metadata documents of a tree (`.zgroup`, `.zattrs`, `.zarray`), by key, as objects. */
export function zarrMetadata(tree: VirtualTree): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const g of tree.groups) {
    meta[key(g.path, ".zgroup")] = { zarr_format: 2 };
    if (Object.keys(g.attrs).length > 0) meta[key(g.path, ".zattrs")] = g.attrs;
  }
  for (const a of tree.arrays) {
    meta[key(a.path, ".zarray")] = zarrArray(a);
    meta[key(a.path, ".zattrs")] = a.attrs;
  }
  return meta;
}

/**
 * The references of a tree. URLs are written in full rather than as templates: older fsspec
 * releases render templates with jinja2, which not every reader's environment has.
 */
export function kerchunkReferences(tree: VirtualTree): KerchunkReferences {
  const refs: KerchunkReferences["refs"] = {};
  for (const [k, doc] of Object.entries(zarrMetadata(tree))) refs[k] = JSON.stringify(doc);
  for (const a of tree.arrays) {
    for (const [chunk, target] of a.refs) {
      refs[key(a.path, chunk)] =
        "data" in target ? inlineValue(target.data) : [target.url, target.offset, target.size];
    }
  }
  return { version: 1, refs };
}

/**
 * Writes the references of a tree as one JSON file (temporary name, then renamed).
 * @returns the number of bytes written.
 */
export async function writeKerchunkJson(tree: VirtualTree, path: string): Promise<number> {
  const text = JSON.stringify(kerchunkReferences(tree));
  await writeAtomically(path, (tmp) => writeFile(tmp, text));
  return Buffer.byteLength(text);
}
