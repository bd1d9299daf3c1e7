import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DatasetValues } from "../../src/hdf5/index.js";

/** Folder of the committed HDF5 format corpus (made by fixtures/corpus/make_corpus.py). */
export const CORPUS_DIR = fileURLToPath(new URL("../../fixtures/corpus/", import.meta.url));

/** A dataset as h5py described it. */
export interface CorpusDataset {
  dtype: string;
  shape: number[] | null;
  maxshape: (number | null)[] | null;
  layout: string;
  chunks: number[] | null;
  filters: { id: number; flags: number; params: number[] }[];
  attrs: string[];
  index?: string;
  error?: string;
  chunk_refs?: [number[], number, number, number][];
  /** Set when HDF5 1.10 reported impossible chunk coordinates (offsets and sizes are still right). */
  chunk_coords_wrong?: boolean;
  chunk_count?: number;
  chunk_refs_sample?: [number[], number, number, number][];
  contiguous?: [number | null, number];
  values?: unknown[] | null;
  values_sha256?: string;
  count?: number;
}

/** The truth file of one corpus file. */
export interface CorpusTruth {
  file: string;
  size: number;
  /** User block size, bytes: the HDF5 library's chunk offsets are relative to its end. */
  userblock: number;
  groups: string[];
  root_attrs: Record<string, unknown>;
  datasets: Record<string, CorpusDataset>;
}

/** Every corpus file with its truth, sorted by name. */
export function corpusFiles(): { path: string; truth: CorpusTruth }[] {
  return readdirSync(CORPUS_DIR)
    .filter((name) => name.endsWith(".truth.json"))
    .sort()
    .map((name) => ({
      path: `${CORPUS_DIR}${name.replace(/\.truth\.json$/, ".h5")}`,
      truth: JSON.parse(readFileSync(`${CORPUS_DIR}${name}`, "utf8")) as CorpusTruth,
    }));
}

/**
 * Converts values read by the reader into the JSON form of the truth: 64-bit integers beyond 2^53 as
 * strings, non-finite floats as Python spells them, opaque elements as hex, references as "ref".
 */
export function asTruthValues(values: DatasetValues, dtype: string): unknown[] {
  const opaque = /^\|V(\d+)$/.exec(dtype);
  if (opaque && values instanceof Uint8Array) {
    const size = Number(opaque[1]);
    return Array.from({ length: values.length / size }, (_, i) =>
      Buffer.from(values.subarray(i * size, (i + 1) * size)).toString("hex"),
    );
  }
  const list: unknown[] = Array.isArray(values) ? values : Array.from(values as ArrayLike<unknown>);
  return list.map((v) => plain(v, dtype === "other:reference"));
}

function plain(v: unknown, reference: boolean): unknown {
  if (reference) return v === 0 || v === null ? null : "ref";
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  if (Array.isArray(v)) return v.map((x) => plain(x, false));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x, false)]));
  }
  return v;
}

/** True when the reader's dtype is what numpy spells `truth` (numpy has no spelling for some types). */
export function sameDtype(ours: string, truth: string): boolean {
  if (truth === "|b1") return ours === "|i1"; // h5py reads a FALSE/TRUE enum as bool
  if (truth === "compound") return ours === "other:compound";
  if (truth === "|O") return ours === "other:vlen" || ours === "other:reference";
  if (ours === "other:array") return /^\|V\d+$/.test(truth);
  return ours === truth;
}
