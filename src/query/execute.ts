/** Query execution: runs a plan's windows of chunk rows through the query's request pool, in plan order. */
import type { RecordBatch } from "apache-arrow";
import { IndexMismatchError } from "../errors.js";
import {
  fingerprintChange,
  fingerprintOf,
  type OpenedSource,
  openSource,
  withReadStats,
} from "../source/index.js";
import { createLimiter, type Limiter } from "../source/limit.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow } from "../store/schema.js";
import { coordinateMask, type DecodeOptions, decodeChunkRow } from "./decode.js";
import { fetchRanges, mergeFetched, rangesOfRefs, refsOf } from "./fetch.js";
import {
  type ChunkRead,
  coordinateVariables,
  type GranulePlan,
  type QuerySpec,
  type ReadPlan,
} from "./plan.js";
import { QueryArrays } from "./variables.js";

export { arrayKey } from "./variables.js";

/** Counters of one query run (the `--stats` object). */
export interface QueryStats {
  granules: number;
  chunks_candidate: number;
  chunks_read: number;
  requests: number;
  bytes_read: number;
  /** Stored size of the requested variables' chunks that hold at least one answer point. */
  bytes_minimal: number;
  rows: number;
  seconds: number;
  /** How candidate chunks were found: "bbox" or "h3" (with the cover's cell count). */
  selection?: string;
  cover_cells?: number;
  /**
   * What the result lacks, one line each, e.g. a variable some granules do not have (subsetted
   * files), whose rows hold nulls for it; absent when there is nothing to say.
   */
  warnings?: string[];
}

/** Options for {@link executePlan}. */
export interface ExecuteOptions extends Omit<DecodeOptions, "arrays"> {
  /** Array rows by {@link arrayKey} (`${granule_id}\u0000${path}`): how to decode each dataset. */
  arrays: ReadonlyMap<string, ArrayRow>;
  /** Counters updated while running. */
  stats: QueryStats;
  /** Range requests in flight per granule. Default 8. */
  concurrency?: number;
  /** Granules fetched and decoded at the same time. Default {@link DEFAULT_GRANULE_CONCURRENCY}. */
  granuleConcurrency?: number;
  /** Points per window of chunk rows ({@link windowsOf}). Default {@link WINDOW_POINTS}. */
  windowPoints?: number;
  /** Largest gap (bytes) read through when coalescing; default the plan's. */
  maxGap?: number;
  /** Options for opening sources (HTTP headers or fetch, ...); unused when `open` is given. */
  source?: Parameters<typeof openSource>[1];
  /**
   * Opens a granule's source by its URL; default {@link openSource} with `source`. Each granule is
   * opened once and closed after its last window.
   */
  open?: (url: string) => Promise<OpenedSource>;
  signal?: AbortSignal;
}

/**
 * Points one unit of work holds at most: a granule's chunk rows are read and decoded in windows of about
 * this many points (a single larger chunk row is a window of its own). A query over a small AOI reads a
 * granule in one window, so in two rounds; a query over a whole ATL03 granule (tens of millions of photons)
 * holds only `granuleConcurrency` windows at a time instead of whole granules.
 */
export const WINDOW_POINTS = 1 << 19;

/** A granule's chunk rows in windows of at most `limit` points each (in order). */
export function windowsOf(chunks: readonly ChunkRead[], limit = WINDOW_POINTS): ChunkRead[][] {
  const windows: ChunkRead[][] = [];
  let current: ChunkRead[] = [];
  let points = 0;
  for (const read of chunks) {
    if (current.length > 0 && points + read.chunk.row_count > limit) {
      windows.push(current);
      current = [];
      points = 0;
    }
    current.push(read);
    points += read.chunk.row_count;
  }
  if (current.length > 0) windows.push(current);
  return windows;
}

/** A granule's source, opened by its first window and closed after its last. */
interface OpenedGranule {
  /** Set when the granule's first window starts. */
  source?: Promise<OpenedSource>;
  /** Windows not yet finished. */
  remaining: number;
  /** Whether the fingerprint has been checked (by the first window to read coordinates). */
  checked?: Promise<void>;
  /** Offsets of the stored chunks already counted in `bytes_minimal` (windows may share parent chunks). */
  counted: Set<number>;
}

/** The state of one query run, shared by its windows and dropped with it. */
interface QueryRun {
  spec: QuerySpec;
  opts: ExecuteOptions;
  /** What decoding needs, with the run's own decode specs. */
  decode: DecodeOptions;
  /** Every range read of the run goes through this pool. */
  pool: (g: GranulePlan) => Limiter;
}

/**
 * Runs a plan: granules are read in windows of chunk rows ({@link windowsOf}), `granuleConcurrency`
 * windows fetched and decoded at a time, and their batches are yielded in plan order (granule, beam,
 * along-track), one record batch per chunk row that has points inside the AOI. At most that many
 * windows' results are held in memory, whatever the size of a granule.
 */
export async function* executePlan(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<RecordBatch> {
  const limit = Math.max(1, opts.granuleConcurrency ?? DEFAULT_GRANULE_CONCURRENCY);
  const open = opts.open ?? ((url: string) => openSource(url, opts.source));
  const pools = new Map<GranulePlan, Limiter>();
  const run: QueryRun = {
    spec,
    opts,
    decode: { ...opts, arrays: new QueryArrays(opts.arrays) },
    pool: (g) => {
      let pool = pools.get(g);
      if (!pool) {
        pool = createLimiter(opts.concurrency ?? 8);
        pools.set(g, pool);
      }
      return pool;
    },
  };
  const units = plan.granules.flatMap((g) => {
    const windows = g.chunks.length === 0 ? [[]] : windowsOf(g.chunks, opts.windowPoints);
    const opened: OpenedGranule = { remaining: windows.length, counted: new Set() };
    return windows.map((chunks, i) => ({ g, chunks, opened, first: i === 0 }));
  });
  const pending: Promise<RecordBatch[]>[] = [];
  let next = 0;
  const startNext = () => {
    const unit = units[next++]!;
    if (unit.first) {
      unit.opened.source = open(unit.g.granule.url);
      unit.opened.source.catch(() => undefined);
    }
    const running = runWindow(unit.g, unit.chunks, unit.opened, unit.first, run);
    // Failures surface when this window's turn comes; until then they must not go unhandled.
    running.catch(() => undefined);
    pending.push(running);
  };
  try {
    while (pending.length < limit && next < units.length) startNext();
    while (pending.length > 0) {
      opts.signal?.throwIfAborted();
      const batches = await pending.shift()!;
      if (next < units.length) startNext();
      yield* batches;
    }
  } finally {
    await Promise.allSettled(pending);
    // Windows never started (an error or an early return): close the sources their granule opened.
    for (const unit of units.slice(next)) {
      const { opened } = unit;
      if (opened.source && opened.remaining > 0) {
        opened.remaining = 0;
        await opened.source.then((s) => s.close()).catch(() => undefined);
      }
    }
  }
}

/** Granules fetched and decoded at the same time by default. */
export const DEFAULT_GRANULE_CONCURRENCY = 4;

/**
 * Fetches one window of a granule's chunk rows in two rounds (coordinates of its candidate chunks, then
 * the other variables of the chunks with hits) and decodes its batches.
 */
async function runWindow(
  g: GranulePlan,
  chunks: ChunkRead[],
  opened: OpenedGranule,
  first: boolean,
  run: QueryRun,
): Promise<RecordBatch[]> {
  const { spec, opts } = run;
  const raw = await opened.source!;
  try {
    opts.signal?.throwIfAborted();
    const { source, stats } = withReadStats(raw);
    const fetch = { pool: run.pool(g), signal: opts.signal };
    const maxGap = opts.maxGap ?? g.maxGap;
    const coordinates = coordinateVariables(opts.profile);
    const round1 = rangesOfRefs(
      chunks.flatMap((c) => refsOf(c, coordinates)),
      maxGap,
    );
    const fetched = await fetchRanges(source, round1, fetch);
    opened.checked ??= checkFingerprint(g, raw, opts);
    await opened.checked;
    const hits = chunks
      .map((read) => ({ read, mask: coordinateMask(read, fetched, spec, run.decode) }))
      .filter((h) => h.mask.count > 0);
    const others = (read: ChunkRead) =>
      refsOf(
        read,
        [...read.refs.keys()].filter((v) => !coordinates.includes(v)),
      );
    const round2 = rangesOfRefs(
      hits.flatMap((h) => others(h.read)),
      maxGap,
    );
    const all = mergeFetched(fetched, await fetchRanges(source, round2, fetch));
    const batches: RecordBatch[] = [];
    for (const { read, mask } of hits) {
      const batch = decodeChunkRow(g.granule, read, all, mask, run.decode);
      if (!batch) continue;
      batches.push(batch);
      opts.stats.rows += batch.numRows;
      for (const ref of [...read.refs.values()].flat()) {
        if (opened.counted.has(ref.offset)) continue;
        opened.counted.add(ref.offset);
        opts.stats.bytes_minimal += ref.size;
      }
    }
    opts.stats.chunks_read += chunks.length;
    opts.stats.requests += stats.requests;
    opts.stats.bytes_read += stats.bytes;
    if (first) opts.stats.granules++;
    return batches;
  } catch (err) {
    // A read past the end or an unexpected body usually means the object changed: say so.
    if (err instanceof IndexMismatchError) throw err;
    await checkFingerprint(g, raw, opts).catch((mismatch: unknown) => {
      if (mismatch instanceof IndexMismatchError) throw mismatch;
    });
    throw err;
  } finally {
    if (--opened.remaining === 0) await raw.close();
  }
}

/** Refuses a file whose size, ETag or mtime differs from what the index recorded. */
async function checkFingerprint(g: GranulePlan, source: ByteSource, opts: ExecuteOptions): Promise<void> {
  const { granule } = g;
  const change = fingerprintChange(granule, await fingerprintOf(source, opts));
  if (change) {
    const name = granule.granule_id;
    throw new IndexMismatchError(name, `${name}: file changed since it was indexed (${change}); re-index it`);
  }
}
