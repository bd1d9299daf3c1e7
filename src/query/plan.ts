/** Query planning: pure functions from the index and a query to the chunks and byte ranges to read. */
import { datasetPath, type FilterValue, type ProductProfile } from "../products/index.js";
import type { ChunkRefRow, ChunkRow, GranuleRow } from "../store/schema.js";
import { type Aoi, bboxIntersects } from "./aoi.js";
import { footprintNearAoi } from "./footprint.js";

/** What to select. */
export interface QuerySpec {
  aoi: Aoi;
  /** Inclusive start of the time range. */
  start?: Date;
  /** Exclusive end of the time range. */
  end?: Date;
  /** Beam names (`gt1l`...) and/or beam kinds (`strong`, `weak`...); all beams when absent or empty. */
  beams?: string[];
  /**
   * The product to query (a registered profile's name); default: the only product of the store.
   * Required when the store holds several.
   */
  product?: string;
  /** The product's `quality` filter (best-quality rows only); the same as `filters.quality`. Default false. */
  quality?: boolean;
  /** Values of the product's filters by name (`{ cnf: 3 }`); a flag's value is `true`. */
  filters?: Readonly<Record<string, FilterValue>>;
  /**
   * Extra variables, as paths relative to the beam's row group (`ground_track/x_atc`), read
   * besides the coordinates, time and the product's default variables.
   */
  vars?: string[];
}

/** A byte range of one file. */
export interface ByteRange {
  offset: number;
  length: number;
}

/** One chunk row to read, with the refs of the variables it needs. */
export interface ChunkRead {
  chunk: ChunkRow;
  /** Refs by variable name (path relative to the beam's row group), one or more stored chunks each. */
  refs: Map<string, ChunkRefRow[]>;
}

/** Reads of one granule. */
export interface GranulePlan {
  granule: GranuleRow;
  /** In result order: beam, then along-track. */
  chunks: ChunkRead[];
  /**
   * Coalesced ranges covering every ref of `chunks`: the coordinate round, then the other
   * variables' round (read only for chunk rows with hits). The most the query reads.
   */
  ranges: ByteRange[];
  /** Coalescing gap the ranges were made with, bytes. */
  maxGap: number;
}

/** The whole plan: what `--dry-run` prints. */
export interface ReadPlan {
  granules: GranulePlan[];
  /** Chunk rows of the index whose bbox, time and beam match the query. */
  chunksCandidate: number;
  /** Sum of the lengths of all ranges, bytes. */
  bytes: number;
  /** Number of ranges (one request each). */
  requests: number;
}

/**
 * Largest hole between two needed byte ranges that is read through rather than split into two
 * requests. Measured (bench/query-gap.ts and the real release-006 granules): ranges of one granule
 * are fetched concurrently, so fewer requests bought no wall time at 20 or 60 ms latency for gaps
 * up to 256 KiB, while bytes grew fast: on the real granules a box query read 1.00x bytes_minimal
 * at 0-1 KiB, 1.07x at 4 KiB, 1.42x at 16 KiB and 4.2x at 64 KiB (metadata and other datasets'
 * chunks sit between a chunk row's chunks). 4 KiB joins chunks separated only by small metadata.
 */
export const DEFAULT_MAX_GAP = 4 * 1024;

/** Nanoseconds since the Unix epoch of a date. */
const toNs = (d: Date) => BigInt(d.getTime()) * 1_000_000n;

/**
 * Whether a chunk row can hold points the query wants: its bbox meets a polygon's bbox, its
 * footprint line comes within its recorded error of the AOI, and its time range and beam match.
 */
export function chunkMatches(chunk: ChunkRow, spec: QuerySpec): boolean {
  if (!spec.aoi.polygons.some((p) => bboxIntersects(p.bbox, chunk.bbox))) return false;
  if (!footprintNearAoi(chunk.geometry, chunk.footprint_error, spec.aoi)) return false;
  if (spec.start && chunk.time_end < toNs(spec.start)) return false;
  if (spec.end && chunk.time_start >= toNs(spec.end)) return false;
  const beams = spec.beams ?? [];
  if (beams.length === 0) return true;
  return beams.includes(chunk.beam) || (chunk.beam_kind !== "" && beams.includes(chunk.beam_kind));
}

/** Merges ranges whose gap is at most `maxGap` bytes (overlaps included); input in any order. */
export function coalesceRanges(ranges: readonly ByteRange[], maxGap = DEFAULT_MAX_GAP): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length + maxGap) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** The coordinate variables of a profile (lat, lon, time), relative to the row group. */
export function coordinateVariables(profile: ProductProfile): string[] {
  return [profile.coordinates.lat, profile.coordinates.lon, profile.coordinates.time];
}

/** Variable names (relative to the row group) a query reads: coordinates and time first, then `others`. */
export function queryVariables(profile: ProductProfile, others: readonly string[] = []): string[] {
  return [...new Set([...coordinateVariables(profile), ...others])];
}

function refsByVariable(
  profile: ProductProfile,
  chunk: ChunkRow,
  variables: readonly string[],
): Map<string, ChunkRefRow[]> {
  const out = new Map<string, ChunkRefRow[]>();
  for (const name of variables) {
    const path = datasetPath(profile, chunk.beam, name);
    out.set(
      name,
      chunk.refs.filter((r) => r.path === path),
    );
  }
  return out;
}

/**
 * Plans a query over the index of one product: candidate chunks by bbox, time and beam, the refs
 * of the variables to read (`opts.variables`, relative to the row group of `opts.profile`), and
 * coalesced byte ranges per granule.
 */
export function planQuery(
  index: { granules: readonly GranuleRow[]; chunks: readonly ChunkRow[] },
  spec: QuerySpec,
  opts: { profile: ProductProfile; variables: readonly string[]; maxGap?: number },
): ReadPlan {
  const coordinates = coordinateVariables(opts.profile);
  const byGranule = new Map<string, ChunkRead[]>();
  let candidates = 0;
  for (const chunk of index.chunks) {
    if (!chunkMatches(chunk, spec)) continue;
    candidates++;
    const reads = byGranule.get(chunk.granule_id) ?? [];
    reads.push({ chunk, refs: refsByVariable(opts.profile, chunk, opts.variables) });
    byGranule.set(chunk.granule_id, reads);
  }
  const granules: GranulePlan[] = [];
  for (const granule of [...index.granules].sort((a, b) => byCodeUnits(a.granule_id, b.granule_id))) {
    const chunks = byGranule.get(granule.granule_id);
    if (!chunks) continue;
    chunks.sort((a, b) => byCodeUnits(a.chunk.beam, b.chunk.beam) || a.chunk.row_start - b.chunk.row_start);
    const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
    const rangesOf = (keep: (variable: string) => boolean) =>
      coalesceRanges(
        chunks.flatMap((c) =>
          [...c.refs]
            .filter(([v]) => keep(v))
            .flatMap(([, refs]) => refs.map((r) => ({ offset: r.offset, length: r.size }))),
        ),
        maxGap,
      );
    // The executor's two rounds: coordinates of every candidate, then the rest for chunks with hits.
    const first = rangesOf((v) => coordinates.includes(v));
    const second = rangesOf((v) => !coordinates.includes(v));
    granules.push({ granule, chunks, ranges: [...first, ...second], maxGap });
  }
  const ranges = granules.flatMap((g) => g.ranges);
  return {
    granules,
    chunksCandidate: candidates,
    bytes: ranges.reduce((sum, r) => sum + r.length, 0),
    requests: ranges.length,
  };
}

/**
 * Orders ASCII names (granule ids, beams) by their characters' codes. Not `localeCompare`: its first
 * call in a process sets up ICU's collator, about 6 ms of CPU on a command's path to its first request.
 */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
