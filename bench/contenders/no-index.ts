/**
 * no-index, the kerchunk/VirtualiZarr way: chunk references without per-chunk geography. geochunks' own
 * HDF5 reader builds the references beforehand (untimed, like a kerchunk JSON); a run then range-reads
 * ALL latitude, longitude and delta_time chunks of every beam of every listed granule, masks the points
 * by the AOI, and reads the chunks of the other variables that hold points inside.
 */

import type { ChunkRef, DecodeSpec, NumericArray } from "../../src/hdf5/index.js";
import { decodeSpecOf, toTypedArray } from "../../src/hdf5/index.js";
import { decodeChunk, Hdf5File, mapLimit, openSource, pointsInAoi, toAoi } from "../../src/index.js";
import { coalesceRanges, DEFAULT_MAX_GAP } from "../../src/query/index.js";
import type { ByteSource } from "../../src/source/index.js";
import { digestKeys, rowKey } from "../lib/rows.js";
import type { Contender, ListedGranule } from "./types.js";

export const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
const COORDINATES = ["latitude", "longitude", "delta_time"];
const OTHERS = ["h_li", "h_li_sigma", "atl06_quality_summary", "segment_id"];
/** The datasets below each beam that this contender and geochunks' default query read. */
export const ATL06_QUERY_DATASETS = [...COORDINATES, ...OTHERS].map((v) => `land_ice_segments/${v}`);

/** One dataset's references: how to decode its chunks and where they are. */
interface ArrayRefs {
  spec: DecodeSpec;
  length: number;
  chunk: number;
  refs: ChunkRef[];
}

type GranuleRefs = Map<string, Map<string, ArrayRefs>>;

/** References per granule file, built once per process. */
const REFERENCES = new Map<string, Promise<GranuleRefs>>();

async function buildRefs(file: string): Promise<GranuleRefs> {
  const source = await openSource(file);
  try {
    const h5 = await Hdf5File.open(source);
    const out: GranuleRefs = new Map();
    for (const beam of BEAMS) {
      if ((await h5.kindOf(`/${beam}/land_ice_segments`)) !== "group") continue;
      const arrays = new Map<string, ArrayRefs>();
      for (const v of [...COORDINATES, ...OTHERS]) {
        const path = `/${beam}/land_ice_segments/${v}`;
        const info = await h5.dataset(path);
        if (!info?.chunkShape) throw new Error(`${file}: ${path} is not a chunked dataset`);
        const refs = await h5.chunkRefs(path);
        arrays.set(v, { spec: decodeSpecOf(info), length: info.shape[0]!, chunk: info.chunkShape[0]!, refs });
      }
      out.set(beam, arrays);
    }
    return out;
  } finally {
    await source.close();
  }
}

function refsOf(g: ListedGranule): Promise<GranuleRefs> {
  let refs = REFERENCES.get(g.file);
  if (!refs) {
    refs = buildRefs(g.file);
    REFERENCES.set(g.file, refs);
  }
  return refs;
}

interface Fetched {
  offsets: number[];
  buffers: Uint8Array[];
}

/** Reads the coalesced ranges covering `refs`, 8 requests at a time (as geochunks does per granule). */
async function fetchRefs(source: ByteSource, refs: ChunkRef[]): Promise<Fetched> {
  const ranges = coalesceRanges(
    refs.map((r) => ({ offset: r.offset, length: r.size })),
    DEFAULT_MAX_GAP,
  );
  const buffers = await mapLimit(ranges, 8, (r) => source.read(r.offset, r.length));
  return { offsets: ranges.map((r) => r.offset), buffers };
}

function stored(f: Fetched, ref: ChunkRef): Uint8Array {
  let lo = 0;
  let hi = f.offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f.offsets[mid]! <= ref.offset) lo = mid;
    else hi = mid - 1;
  }
  const at = ref.offset - f.offsets[lo]!;
  return f.buffers[lo]!.subarray(at, at + ref.size);
}

function decoded(f: Fetched, a: ArrayRefs, ref: ChunkRef): NumericArray {
  return toTypedArray(decodeChunk(stored(f, ref), a.spec, ref.filterMask), a.spec.dtype);
}

/** The whole dataset from its fetched chunks, as float64. */
function assemble(f: Fetched, a: ArrayRefs): Float64Array {
  const out = new Float64Array(a.length);
  for (const ref of a.refs) {
    const values = decoded(f, a, ref);
    const start = ref.coords[0]!;
    const n = Math.min(a.chunk, a.length - start);
    for (let i = 0; i < n; i++) out[start + i] = Number(values[i]);
  }
  return out;
}

async function runGranule(g: ListedGranule, aoi: ReturnType<typeof toAoi>, keys: string[]): Promise<void> {
  const refs = await refsOf(g);
  const source = await openSource(g.url);
  try {
    const coordinateRefs = [...refs.values()].flatMap((arrays) =>
      COORDINATES.flatMap((v) => arrays.get(v)!.refs),
    );
    const first = await fetchRefs(source, coordinateRefs);
    const hits: { beam: string; mask: Uint8Array; chunks: Set<number> }[] = [];
    for (const [beam, arrays] of refs) {
      const lat = assemble(first, arrays.get("latitude")!);
      const lon = assemble(first, arrays.get("longitude")!);
      assemble(first, arrays.get("delta_time")!);
      const mask = pointsInAoi(aoi, lon, lat);
      const chunk = arrays.get("latitude")!.chunk;
      const chunks = new Set<number>();
      for (let i = 0; i < mask.length; i++) if (mask[i]) chunks.add(Math.floor(i / chunk) * chunk);
      if (chunks.size > 0) hits.push({ beam, mask, chunks });
    }
    const wanted = hits.flatMap(({ beam, chunks }) =>
      OTHERS.flatMap((v) =>
        refs
          .get(beam)!
          .get(v)!
          .refs.filter((r) => chunks.has(r.coords[0]!)),
      ),
    );
    const second = await fetchRefs(source, wanted);
    for (const { beam, mask, chunks } of hits) {
      const arrays = refs.get(beam)!;
      const columns = new Map<string, Map<number, NumericArray>>();
      for (const v of OTHERS) {
        const a = arrays.get(v)!;
        const byStart = new Map<number, NumericArray>();
        for (const ref of a.refs)
          if (chunks.has(ref.coords[0]!)) byStart.set(ref.coords[0]!, decoded(second, a, ref));
        columns.set(v, byStart);
      }
      const segmentIds = columns.get("segment_id")!;
      const chunk = arrays.get("segment_id")!.chunk;
      for (let i = 0; i < mask.length; i++) {
        if (!mask[i]) continue;
        const start = Math.floor(i / chunk) * chunk;
        keys.push(rowKey(g.granule_id, beam, Number(segmentIds.get(start)![i - start])));
      }
    }
  } finally {
    await source.close();
  }
}

export const noIndex: Contender = {
  name: "no-index",
  description:
    "chunk references only (kerchunk/VirtualiZarr way): all lat/lon/time chunks of every listed granule, mask, then the hit chunks of the other variables",
  unavailable: async () => undefined,
  async prepare(ctx) {
    await Promise.all(ctx.listed.map(refsOf));
  },
  async run(ctx) {
    const aoi = toAoi(ctx.aoi.geometry);
    const keys: string[] = [];
    await mapLimit(ctx.listed, ctx.granuleConcurrency, (g) => runGranule(g, aoi, keys));
    return { rows: async () => digestKeys(keys) };
  },
};
