/** Indexing runs: many granules into one store, skipping unchanged files and replacing changed ones. */
import { mapLimit } from "../concurrency.js";
import { namingInput } from "../errors.js";
import type { SourceOptions } from "../source/index.js";
import { fingerprintChange, fingerprintOf, openSource, withReadStats } from "../source/index.js";
import { mergeBatches } from "../store/parts.js";
import { Store, type StoreBatch } from "../store/store.js";
import { granuleIdOf, indexGranule } from "./granule.js";

export { granuleIdOf, indexGranule } from "./granule.js";

/** Options for {@link indexGranules}. */
export interface IndexOptions {
  /** Store directory; created when missing. */
  store: string;
  /** Granules read at the same time. Default 4. */
  concurrency?: number;
  /** H3 resolution for a new store (an existing store keeps its own). */
  h3Resolution?: number;
  /**
   * Index only this shard of the inputs (by a hash of each file name, so every machine given the
   * same list picks disjoint sets) and stage the rows instead of committing them; a later
   * `commitStaged` (the `geochunks commit` step) makes all shards visible at once.
   */
  shard?: { index: number; count: number };
  /** Called after the part files are written and before the manifest swap (orchestration, crash tests). */
  beforeCommit?: () => Promise<void>;
  /** Called after each granule, e.g. for a progress bar. */
  onProgress?: (event: { done: number; total: number; input: string; status: GranuleStatus }) => void;
  /** How inputs are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  signal?: AbortSignal;
}

/** What happened to one input. */
export type GranuleStatus = "added" | "replaced" | "unchanged";

/** Summary of an indexing run. */
export interface IndexReport {
  added: string[];
  replaced: string[];
  unchanged: string[];
  /** Bytes read from the granules while indexing, and the requests that read them. */
  bytesRead: number;
  requests: number;
  /** Total size of the inputs, bytes. */
  bytesTotal: number;
  /** Stored size of the latitude, longitude and delta_time chunks of the indexed granules, bytes. */
  bytesCoordinates: number;
  /** True when the rows were staged for a later commit (sharded runs). */
  staged: boolean;
  chunks: number;
  seconds: number;
}

/**
 * Indexes ATL06 granules (paths or URLs) into the store at `opts.store`. A granule already in the
 * store with the same size and ETag/mtime is skipped; a changed one replaces its old rows. All new
 * rows become visible in one atomic commit at the end, so a failure leaves the store unchanged.
 * @throws NotAGranuleError, InvalidHdf5Error, SourceError naming the failing input.
 * @example
 * const report = await indexGranules(["ATL06_20230816161508_08782002_006_02.h5"], { store: "idx" });
 */
export async function indexGranules(inputs: readonly string[], opts: IndexOptions): Promise<IndexReport> {
  const started = performance.now();
  const store = await Store.open(opts.store, { create: true, h3Resolution: opts.h3Resolution });
  const known = store.manifest.granules;
  const report: IndexReport = {
    added: [],
    replaced: [],
    unchanged: [],
    bytesRead: 0,
    requests: 0,
    bytesTotal: 0,
    bytesCoordinates: 0,
    staged: opts.shard !== undefined,
    chunks: 0,
    seconds: 0,
  };
  const batches: StoreBatch[] = [];
  let done = 0;
  const mine = opts.shard ? inputs.filter((input) => inShard(input, opts.shard!)) : inputs;
  await mapLimit(mine, opts.concurrency ?? 4, async (input) => {
    const opened = await openSource(input, opts.source);
    const { source, stats } = withReadStats(opened);
    try {
      const fingerprint = await fingerprintOf(opened, opts);
      report.bytesTotal += fingerprint.size;
      const id = granuleIdOf(source.url);
      const old = known[id];
      let status: GranuleStatus = old ? "replaced" : "added";
      if (old && old.url === source.url.href && fingerprintChange(old, fingerprint) === undefined) {
        status = "unchanged";
      } else {
        const batch = await indexGranule(source, {
          h3Resolution: store.manifest.h3_resolution,
          fingerprint,
          signal: opts.signal,
        });
        batches.push(batch);
        report.chunks += batch.chunks.length;
        report.bytesCoordinates += coordinateBytes(batch);
      }
      report[status].push(id);
      report.bytesRead += stats.bytes;
      report.requests += stats.requests;
      opts.onProgress?.({ done: ++done, total: mine.length, input, status });
    } catch (err) {
      throw namingInput(err, input);
    } finally {
      await opened.close();
    }
  });
  if (batches.length > 0) {
    if (opts.shard) await store.stage(mergeBatches(batches));
    else await store.commit(mergeBatches(batches), { beforeSwap: opts.beforeCommit });
  }
  for (const list of [report.added, report.replaced, report.unchanged]) list.sort();
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** FNV-1a hash of a file name, stable across machines and runs. */
function nameHash(input: string): number {
  const name = input.split(/[\\/]/).pop() ?? input;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Whether an input belongs to shard `index` of `count`. */
export function inShard(input: string, shard: { index: number; count: number }): boolean {
  return nameHash(input) % shard.count === shard.index;
}

const COORDINATE_PATH = /\/(latitude|longitude|delta_time)$/;

function coordinateBytes(batch: StoreBatch): number {
  let sum = 0;
  const seen = new Set<number>();
  for (const chunk of batch.chunks) {
    for (const ref of chunk.refs) {
      if (!COORDINATE_PATH.test(ref.path) || seen.has(ref.offset)) continue;
      seen.add(ref.offset);
      sum += ref.size;
    }
  }
  return sum;
}
