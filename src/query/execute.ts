/** Query execution: runs a plan's windows of chunk rows through the query's request pool, in plan order. */
import type { RecordBatch } from "apache-arrow";
import { IndexMismatchError } from "../errors.js";
import { releaseInflated } from "../hdf5/inflate-worker.js";
import type { ResultColumns } from "../result/columns.js";
import {
  fingerprintChange,
  fingerprintOf,
  type OpenedSource,
  openSource,
  withReadStats,
} from "../source/index.js";
import { createLimiter, type Limiter } from "../source/limit.js";
import type { ByteSource } from "../source/types.js";
import type { ArrayRow, ChunkRefRow } from "../store/schema.js";
import { checkChunkChecksums } from "./checksums.js";
import { coordinateMask, type DecodeOptions, decodeChunkRow, type Hits } from "./decode.js";
import { type Fetched, fetchRanges, mergeFetched, rangesOfRefs, refsByRange, refsOf } from "./fetch.js";
import {
  type ByteRange,
  type ChunkRead,
  coalesceRanges,
  coordinateVariables,
  type GranulePlan,
  type QuerySpec,
  type ReadPlan,
} from "./plan.js";
import { firstRoundReads, type LinkModel } from "./rounds.js";
import { decodeRefs, QueryArrays } from "./variables.js";

export { arrayKey } from "./variables.js";

/** The module that makes result columns Arrow record batches (it loads apache-arrow). */
type ResultModule = typeof import("../result/arrow.js");
let resultModule: Promise<ResultModule> | undefined;

/**
 * result.ts, loaded on first use: by a window whose first round is back, so apache-arrow (a third of
 * the command's JavaScript) loads while requests are in flight rather than before the first leaves.
 */
function loadResultModule(): Promise<ResultModule> {
  resultModule ??= import("../result/arrow.js");
  return resultModule;
}

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
  /**
   * Range requests in flight at once over the whole query, all granules together (one pool).
   * Default {@link DEFAULT_QUERY_REQUESTS}.
   */
  requests?: number;
  /**
   * Windows of chunk rows (a granule, or a part of a large one) fetched and decoded at the same time at
   * most. Default: as many as {@link POINTS_IN_FLIGHT} allows.
   */
  granuleConcurrency?: number;
  /** Points per window of chunk rows ({@link windowsOf}). Default {@link WINDOW_POINTS}. */
  windowPoints?: number;
  /** Largest gap (bytes) read through when coalescing; default the plan's. */
  maxGap?: number;
  /**
   * The link the cost model assumes when it chooses one round or two per window (rounds.ts); default
   * `DEFAULT_LINK_MODEL` (rounds.ts). A latency of 0 reads every window in two rounds.
   */
  link?: LinkModel;
  /**
   * Options for opening sources (HTTP headers or fetch, ...); unused when `open` is given. HTTP sources
   * get `requests` as their own concurrency unless these options set one.
   */
  source?: Parameters<typeof openSource>[1];
  /**
   * Opens a granule's source by its URL; default {@link openSource} with `source`. Each granule is
   * opened once and closed after its last window.
   */
  open?: (url: string) => Promise<OpenedSource>;
  signal?: AbortSignal;
  /** Called when a window's first round of requests is back (the Arrow path loads apache-arrow then). */
  onFirstRound?: () => void;
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
  pool: Limiter;
}

/**
 * Range requests in flight at once over a whole query by default. Object stores serve each request
 * from its own connection with tens of milliseconds of first-byte latency, so a query is bound by
 * rounds of latency, not by bytes, until about this many are in flight; measured with
 * bench/query-pool.ts over the loopback range server at 20 and 60 ms (docs/design/query.md).
 */
export const DEFAULT_QUERY_REQUESTS = 128;

/**
 * Candidate points of the windows fetched and decoded at the same time, at most (a single larger
 * window runs alone): four full windows, the memory bound of the whole-granule queries. Small-AOI
 * queries read a few chunk rows of each granule, so all their granules' first rounds start at once.
 */
export const POINTS_IN_FLIGHT = 4 * WINDOW_POINTS;

/** Points a window decodes at most: the rows of its candidate chunk rows. */
function pointsOf(chunks: readonly ChunkRead[]): number {
  let n = 0;
  for (const read of chunks) n += read.chunk.row_count;
  return n;
}

/** `source` with the query's pool size as HTTP concurrency, unless it sets its own. */
function sourceOptions(source: ExecuteOptions["source"], requests: number): ExecuteOptions["source"] {
  const http = source?.http;
  if (http?.concurrency !== undefined || http?.limiter !== undefined) return source;
  return { ...source, http: { ...http, concurrency: requests } };
}

/**
 * Runs a plan: granules are read in windows of chunk rows ({@link windowsOf}), as many fetched and
 * decoded at a time as {@link POINTS_IN_FLIGHT} (and `granuleConcurrency`) allow, every range read
 * through one request pool of `requests`; batches are yielded in plan order (granule, beam,
 * along-track), one record batch per chunk row that has points inside the AOI. The windows in flight
 * bound the results held in memory, whatever the size of a granule.
 */
export async function* executePlan(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<RecordBatch> {
  // apache-arrow loads once a window's first round is back, while its other requests are in flight.
  for await (const columns of executeColumns(plan, spec, { ...opts, onFirstRound: loadResultModule })) {
    const { resultBatch } = await loadResultModule();
    yield resultBatch(columns);
  }
}

/**
 * Runs a plan as {@link executePlan} does, yielding each batch's plain columns instead of an Arrow
 * record batch (no apache-arrow loads): what the GeoParquet writer thread is sent, their buffers
 * transferred, to build the batches there. Every array of a yielded batch is its own (no buffer
 * shared with another batch or with the decoder), so the buffers can be transferred.
 */
export async function* executeColumns(
  plan: ReadPlan,
  spec: QuerySpec,
  opts: ExecuteOptions,
): AsyncGenerator<ResultColumns> {
  const limit = Math.max(1, opts.granuleConcurrency ?? Number.POSITIVE_INFINITY);
  const requests = opts.requests ?? DEFAULT_QUERY_REQUESTS;
  const sources = sourceOptions(opts.source, requests);
  const open = opts.open ?? ((url: string) => openSource(url, sources));
  const run: QueryRun = {
    spec,
    opts,
    decode: { ...opts, arrays: new QueryArrays(opts.arrays) },
    pool: createLimiter(requests),
  };
  const units = plan.granules.flatMap((g) => {
    const windows = g.chunks.length === 0 ? [[]] : windowsOf(g.chunks, opts.windowPoints);
    const opened: OpenedGranule = { remaining: windows.length, counted: new Set() };
    return windows.map((chunks, i) => ({ g, chunks, opened, first: i === 0, points: pointsOf(chunks) }));
  });
  const pending: { points: number; batches: Promise<ResultColumns[]> }[] = [];
  let next = 0;
  let inFlight = 0;
  const startMore = () => {
    while (next < units.length && pending.length < limit) {
      const unit = units[next]!;
      if (pending.length > 0 && inFlight + unit.points > POINTS_IN_FLIGHT) return;
      next++;
      if (unit.first) {
        unit.opened.source = open(unit.g.granule.url);
        unit.opened.source.catch(() => undefined);
      }
      const batches = runWindow(unit.g, unit.chunks, unit.opened, unit.first, run);
      // Failures surface when this window's turn comes; until then they must not go unhandled.
      batches.catch(() => undefined);
      pending.push({ points: unit.points, batches });
      inFlight += unit.points;
    }
  };
  try {
    startMore();
    while (pending.length > 0) {
      opts.signal?.throwIfAborted();
      const head = pending.shift()!;
      const batches = await head.batches;
      inFlight -= head.points;
      startMore();
      yield* batches;
    }
  } finally {
    await Promise.allSettled(pending.map((p) => p.batches));
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

/**
 * Fetches one window of a granule's chunk rows in one or two rounds (coordinates of its candidate chunks,
 * with the other variables of the chunk rows the cost model reads early; then the other variables of the
 * remaining chunk rows with hits) and decodes its batches.
 */
async function runWindow(
  g: GranulePlan,
  chunks: ChunkRead[],
  opened: OpenedGranule,
  first: boolean,
  run: QueryRun,
): Promise<ResultColumns[]> {
  const { spec, opts } = run;
  const raw = await opened.source!;
  try {
    opts.signal?.throwIfAborted();
    const { source, stats } = withReadStats(raw);
    const fetch = { pool: run.pool, signal: opts.signal };
    const maxGap = opts.maxGap ?? g.maxGap;
    const coordinates = coordinateVariables(opts.profile);
    const others = (read: ChunkRead) =>
      refsOf(
        read,
        [...read.refs.keys()].filter((v) => !coordinates.includes(v)),
      );
    // Chunk rows whose other variables come with their coordinates, when that saves a round (rounds.ts).
    const early = firstRoundReads(chunks, spec, {
      coordinates: (read) => refsOf(read, coordinates),
      others,
      link: opts.link,
    });
    const coordinateRefs = chunks.flatMap((c) => refsOf(c, coordinates));
    const earlyRefs = chunks.filter((c) => early.has(c)).flatMap(others);
    const refs1 = [...coordinateRefs, ...earlyRefs];
    // Each set coalesced as in its own round, then joined only where ranges touch: one round reads the
    // bytes two rounds would, no gap between a coordinate chunk and another variable's read through.
    const ranges1 = coalesceRanges(
      [...rangesOfRefs(coordinateRefs, maxGap), ...rangesOfRefs(earlyRefs, maxGap)],
      0,
    );
    const { arrays } = run.decode;
    const id = g.granule.granule_id;
    // Each range's chunks are checked against their recorded checksums and decoded as it arrives, while
    // the round's other requests are in flight.
    const arriving = (
      refs: readonly ChunkRefRow[],
      ranges: readonly ByteRange[],
      then?: (f: Fetched, i: number) => void,
    ) => {
      const byRange = refsByRange(ranges, refs);
      return (f: Fetched, i: number) => {
        checkChunkChecksums(g.granule, byRange[i]!, f);
        const decoding = decodeRefs(f, byRange[i]!, id, arrays);
        if (!then) return decoding;
        if (!decoding) return then(f, i);
        return decoding.then(() => then(f, i));
      };
    };
    // Chunk rows worked out while the round's other ranges are in flight (see `aheadOfRound`).
    const ahead = aheadOfRound(g, chunks, early, refs1, ranges1, coordinates, run);
    const fetched = await fetchRanges(source, ranges1, {
      ...fetch,
      onRange: arriving(refs1, ranges1, ahead.arrived),
    });
    run.opts.onFirstRound?.();
    opened.checked ??= checkFingerprint(g, raw, opts);
    await opened.checked;
    const hits = chunks
      .map((read) => ({
        read,
        mask: ahead.done.get(read)?.hits ?? coordinateMask(read, fetched, spec, run.decode),
      }))
      .filter((h) => h.mask.count > 0);
    const refs2 = hits.filter((h) => !early.has(h.read)).flatMap((h) => others(h.read));
    const ranges2 = rangesOfRefs(refs2, maxGap);
    const more = await fetchRanges(source, ranges2, { ...fetch, onRange: arriving(refs2, ranges2) });
    const all = mergeFetched(fetched, more);
    const batches: ResultColumns[] = [];
    for (const { read, mask } of hits) {
      const done = ahead.done.get(read);
      const columns =
        done && "columns" in done ? done.columns : decodeChunkRow(g.granule, read, all, mask, run.decode);
      if (!columns) continue;
      batches.push(columns);
      opts.stats.rows += columns.lat.length;
      for (const ref of [...read.refs.values()].flat()) {
        if (opened.counted.has(ref.offset)) continue;
        opened.counted.add(ref.offset);
        opts.stats.bytes_minimal += ref.size;
      }
    }
    // The columns are copies (`gather`): the decoded chunks' buffers go back to the inflate worker's
    // pool, so the next windows' chunks are inflated into them rather than into fresh memory.
    for (const bytes of all.decoded.values()) releaseInflated(bytes);
    opts.stats.chunks_read += chunks.length;
    opts.stats.requests += stats.requests;
    opts.stats.bytes_read += stats.bytes;
    if (first) opts.stats.granules++;
    return batches;
  } catch (err) {
    // A read past the end, an unexpected body or a chunk checksum that differs usually means the
    // object changed: say so, by its size or mtime when those tell.
    await checkFingerprint(g, raw, opts).catch((mismatch: unknown) => {
      if (mismatch instanceof IndexMismatchError) throw mismatch;
    });
    throw err;
  } finally {
    if (--opened.remaining === 0) await raw.close();
  }
}

/** A chunk row worked out ahead: its points tested, and for a known hit its columns too. */
interface DoneAhead {
  hits: Hits;
  columns?: ResultColumns | undefined;
}

/**
 * Work on a window's chunk rows done while its first round is still arriving: once the ranges holding a
 * chunk row's coordinate chunks are in (checked and decoded), its points are tested; once a known hit's
 * other variables are in too, its columns are built. The main thread would otherwise do all of it after
 * the round's last response, where it is the critical path (responses come back smallest first, so the
 * coordinates of every window come last). Nothing leaves earlier: the round still completes, and the
 * granule's fingerprint is checked, before these results are used, in the same order. A chunk row whose
 * work throws here is left out of `done` and done again at its usual place, which then throws the same
 * error.
 */
function aheadOfRound(
  g: GranulePlan,
  chunks: readonly ChunkRead[],
  early: ReadonlySet<ChunkRead>,
  refs: readonly ChunkRefRow[],
  ranges: readonly ByteRange[],
  coordinates: readonly string[],
  run: QueryRun,
): { done: Map<ChunkRead, DoneAhead>; arrived: (f: Fetched, i: number) => void } {
  const byRange = refsByRange(ranges, refs);
  const rangeOf = new Map<number, number>();
  for (const [i, list] of byRange.entries()) for (const ref of list) rangeOf.set(ref.offset, i);
  /** Ranges each chunk row still waits for: its coordinates' (`points`) and all of its round-one reads. */
  const waits = new Map<ChunkRead, { points: Set<number>; all: Set<number> }>();
  const waiting: ChunkRead[][] = ranges.map(() => []);
  for (const read of chunks) {
    const points = new Set<number>();
    const all = new Set<number>();
    for (const [name, list] of read.refs) {
      const known = coordinates.includes(name);
      if (!known && !early.has(read)) continue;
      for (const ref of list) {
        const i = rangeOf.get(ref.offset);
        if (i === undefined) continue;
        if (known) points.add(i);
        all.add(i);
      }
    }
    waits.set(read, { points, all });
    for (const i of all) waiting[i]!.push(read);
  }
  const done = new Map<ChunkRead, DoneAhead>();
  const arrived = (f: Fetched, i: number) => {
    for (const read of waiting[i]!) {
      const wait = waits.get(read)!;
      wait.points.delete(i);
      wait.all.delete(i);
      try {
        if (wait.points.size === 0 && !done.has(read))
          done.set(read, { hits: coordinateMask(read, f, run.spec, run.decode) });
        const ready = done.get(read);
        if (ready && !("columns" in ready) && wait.all.size === 0 && early.has(read)) {
          ready.columns =
            ready.hits.count > 0 ? decodeChunkRow(g.granule, read, f, ready.hits, run.decode) : undefined;
        }
      } catch {
        // Done again, and thrown, where the round's results are used (applyFilters may have changed the mask).
        done.delete(read);
      }
    }
  };
  return { done, arrived };
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
