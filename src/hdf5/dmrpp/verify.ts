/** Does a DMR++ document describe this file? Cheap structural checks, then a spot check against the file's own metadata. */
import type { ReadOptions } from "../../source/types.js";
import { itemSize } from "../dtype.js";
import type { Hdf5Reader } from "../hdf5-reader.js";
import type { ChunkRef } from "../types.js";
import type { DmrppDataset, DmrppDocument } from "./parse.js";

/** Options of {@link verifyDmrpp}. */
export interface DmrppCheck extends ReadOptions {
  /** Size of the described file, bytes: every chunk must lie inside it. */
  fileSize: number;
  /**
   * The HDF5 reader of the file, to compare the chunk refs of a few datasets with the file's own
   * chunk index. Default: no spot check (structural checks only).
   */
  hdf5?: Hdf5Reader;
  /** Datasets spot-checked against `hdf5`. Default {@link DEFAULT_SPOT_CHECKS}. */
  spotChecks?: number;
}

/**
 * Datasets whose chunk refs are compared with the file's chunk index. Two: the dataset with the
 * most chunks and the one stored last in the file, so a document of another granule of the same
 * product (same paths and shapes, other offsets) or of an earlier version of the file is caught.
 */
export const DEFAULT_SPOT_CHECKS = 2;

/**
 * Why `doc` does not describe the file, or undefined when every check passes: no datasets, chunks
 * held in other files, a chunk outside the file or outside its dataset, a contiguous block of the
 * wrong size, or (with `hdf5`) spot-checked datasets whose type, shape or chunk refs differ from
 * the file's own.
 * @throws SourceError / InvalidHdf5Error from the spot check's reads.
 */
export async function verifyDmrpp(doc: DmrppDocument, opts: DmrppCheck): Promise<string | undefined> {
  if (doc.datasets.size === 0) return "it describes no dataset";
  for (const ds of doc.datasets.values()) {
    const why = structuralProblem(ds, opts.fileSize);
    if (why) return why;
  }
  if (!opts.hdf5) return undefined;
  // The spot checks walk different branches of the file: concurrently, their reads share rounds.
  const { hdf5 } = opts;
  const problems = await Promise.all(
    spotCheckSet(doc, opts.spotChecks ?? DEFAULT_SPOT_CHECKS).map((ds) => spotCheck(ds, hdf5, opts)),
  );
  return problems.find((p) => p !== undefined);
}

async function spotCheck(ds: DmrppDataset, hdf5: Hdf5Reader, opts: ReadOptions): Promise<string | undefined> {
  const path = ds.info.path;
  const info = await hdf5.dataset(path, opts);
  if (!info) return `the file has no dataset ${path}`;
  if (info.dtype !== ds.info.dtype || String(info.shape) !== String(ds.info.shape)) {
    return `${path} is ${info.dtype} [${info.shape}] in the file, ${ds.info.dtype} [${ds.info.shape}] in the sidecar`;
  }
  const refs = await hdf5.chunkRefs(path, opts);
  const differs = refs.length !== ds.refs.length || refs.some((r, i) => !sameRef(r, ds.refs[i]!));
  if (differs) return `the chunk refs of ${path} differ from the file's`;
  return undefined;
}

function structuralProblem(ds: DmrppDataset, fileSize: number): string | undefined {
  const { info, refs } = ds;
  if (ds.foreignData) return `${info.path} has chunks in other files`;
  for (const r of refs) {
    if (r.offset + r.size > fileSize) {
      return `${info.path} has a chunk at bytes ${r.offset}-${r.offset + r.size}, past the end of the ${fileSize}-byte file`;
    }
    const chunk = info.chunkShape;
    if (chunk && r.coords.some((c, d) => c % chunk[d]! !== 0 || c >= Math.max(1, info.shape[d]!))) {
      return `${info.path} has a chunk at [${r.coords}] outside its shape [${info.shape}] in chunks of [${chunk}]`;
    }
  }
  if (info.layout === "contiguous" && refs.length === 1 && ds.datatype.typeClass >= 0) {
    const bytes = info.shape.reduce((a, b) => a * b, 1) * itemSize(info.dtype);
    if (refs[0]!.size !== bytes) return `${info.path} is stored in ${refs[0]!.size} bytes, not ${bytes}`;
  }
  return undefined;
}

/** The chunked datasets to spot-check: most chunks first, then the one stored last, then by path. */
function spotCheckSet(doc: DmrppDocument, count: number): DmrppDataset[] {
  const chunked = [...doc.datasets.values()].filter((d) => d.refs.length > 0);
  const end = (d: DmrppDataset) => Math.max(...d.refs.map((r) => r.offset + r.size));
  const picks = [
    chunked.reduce<DmrppDataset | undefined>(
      (a, d) => (!a || d.refs.length > a.refs.length ? d : a),
      undefined,
    ),
    chunked.reduce<DmrppDataset | undefined>((a, d) => (!a || end(d) > end(a) ? d : a), undefined),
    ...chunked,
  ];
  return [...new Set(picks.filter((d) => d !== undefined))].slice(0, count);
}

function sameRef(a: ChunkRef, b: ChunkRef): boolean {
  return (
    a.offset === b.offset &&
    a.size === b.size &&
    a.filterMask === b.filterMask &&
    String(a.coords) === String(b.coords)
  );
}
