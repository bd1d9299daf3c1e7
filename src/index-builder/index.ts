/** Indexing runs: many granules into one store, skipping unchanged files and replacing changed ones. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mapPipelined } from "../concurrency.js";
import { isGeochunksError, namingInput } from "../errors.js";
import { datasetPath, findProfile, registeredProfiles } from "../products/index.js";
import { warmNetworkThread } from "../source/http-thread.js";
import type { SourceOptions } from "../source/index.js";
import { fingerprintChange, fingerprintOf, openSource } from "../source/index.js";
import { createLimiter } from "../source/limit.js";
import { clearLines } from "../source/line-pool.js";
import { openStoreBackend } from "../store/backend.js";
import { readFingerprints } from "../store/fingerprints.js";
import type { GranuleFingerprint } from "../store/manifest.js";
import { localPartEncoder, type PartEncoder } from "../store/part-encoder.js";
import { mergeBatches } from "../store/parts.js";
import { DEFAULT_H3_RESOLUTION, Store, type StoreBatch } from "../store/store.js";
import type { DmrppMode } from "./dmrpp.js";
import { type GranuleJob, LINE_GATE, openGranuleJob } from "./job.js";
import { jobCount, startIndexPool } from "./pool.js";
import { DEFAULT_LINK, type LinkModel } from "./read-cost.js";
import { shardStamp, shareOf } from "./shares.js";
import { type RecordedChunk, recordedChunks } from "./verify.js";

export type { DmrppMode } from "./dmrpp.js";
export type { GranuleIdentity, OpenedGranule } from "./granule.js";
export { indexGranule, indexOpenedGranule, openGranule } from "./granule.js";
export type { LinkModel } from "./read-cost.js";

/** Granules read at the same time by default. */
export const DEFAULT_CONCURRENCY = 4;

/**
 * Granules opened beyond `concurrency` once earlier ones have all their bytes in and are being indexed
 * (remote granules read in lines; see `GranuleJob.readsDone`): their reads then overlap the earlier
 * ones' CPU work. Each holds its file's lines in memory until it is indexed.
 */
export function readAhead(concurrency: number): number {
  return Math.ceil(concurrency / 2);
}

/**
 * Bytes the granules read and not yet indexed may hold before another granule is opened beyond
 * `concurrency` ({@link readAhead}): about two full-size granules' lines. Full-size granules held
 * whole then read one granule ahead, not two: 24 of them over HTTP at 20 ms (4 at a time, 4
 * alternated runs each) took 3.04 s and 4.4 s of CPU with one ahead against 3.18 s and 4.7 s with
 * two, and 50 MB less memory (fewer lines held, more of them lent again, less garbage collection).
 * Granules that hold less still read two ahead: with DMR++ sidecars (12 MB read a granule) one
 * ahead was 3 % slower, and 12 MB granules were even.
 */
export const READ_AHEAD_BYTES = 128 * 2 ** 20;

/** Options for {@link indexGranules}. */
export interface IndexOptions {
  /** Store directory, or `s3://bucket/prefix` (written with `source.s3`'s credentials); created when missing (only once a granule is indexed). */
  store: string;
  /**
   * Granules read at the same time. Default {@link DEFAULT_CONCURRENCY}. Remote granules whose bytes
   * are all in (read in whole-file lines) make room for the next while they are indexed, up to
   * {@link readAhead} more granules open at once.
   */
  concurrency?: number;
  /**
   * Threads that read granules and compute their rows: the calling thread (which also writes the
   * store) and `jobs - 1` worker threads. Default: one per 1.5 of the machine's available cores
   * (`CORES_PER_THREAD`; 1 on 2 cores), with at least {@link MIN_INPUTS_PER_WORKER} inputs per
   * thread and at most `concurrency`; 1 reads in this thread only.
   */
  jobs?: number;
  /** H3 resolution for a new store (an existing store keeps its own). */
  h3Resolution?: number;
  /**
   * Index only granules of this product (a registered profile's name, e.g. "ATL06"); others are
   * skipped as not of it, and a file without a product name in its metadata is read as this
   * product. Default: each file's product from its own metadata.
   */
  product?: string;
  /**
   * Index only this shard of the inputs (every `count`-th of the sorted list from `index`, so every
   * machine given the same inputs, in any order, picks a disjoint share; see `shareOf`) and stage
   * the rows instead of committing them, recording the shard and a digest of the input list; a
   * later `commitStaged` (the `geochunks commit` step) makes all shards visible at once. A shard
   * with nothing new still stages an empty set, so the commit knows it ran.
   */
  shard?: { index: number; count: number };
  /**
   * Fail the whole run, writing nothing, on the first input that cannot be indexed. Default false:
   * such inputs are skipped and listed in {@link IndexReport.skipped}, and the others are indexed.
   */
  strict?: boolean;
  /** Called after the part files are written and before the manifest swap (orchestration, crash tests). */
  beforeCommit?: () => Promise<void>;
  /** How long the commit waits for another writer's lock (ms). Default 120 s. */
  lockTimeoutMs?: number;
  /**
   * Also re-read the chunks whose checksums were recorded at index time (the coordinate chunks) of
   * granules whose size and ETag/mtime are unchanged, and re-index those whose bytes differ (an
   * edit that kept the size and restored the mtime). Default false: size and ETag/mtime only.
   */
  verify?: boolean;
  /** Called after each input, e.g. for a progress bar. */
  onProgress?: (event: IndexProgress) => void;
  /** How inputs are opened: S3 region, endpoint and credentials, HTTP options, bearer token. */
  source?: SourceOptions;
  /** When granule metadata comes from a `GRANULE.h5.dmrpp` sidecar (see {@link DmrppMode}). Default `auto`. */
  dmrpp?: DmrppMode;
  /**
   * The link remote granules are read over, for the cost model that reads their HDF5 metadata in small
   * blocks (few bytes) or in whole-file lines (few requests); fields not given keep `DEFAULT_LINK`'s
   * (20 ms, 100 MB/s). See docs/design/index-build.md.
   */
  link?: Partial<LinkModel>;
  /** Told about inputs indexed in a way other than asked, e.g. without their stale DMR++ sidecar. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * What happened to one input: indexed as a new granule (`added`) or over its earlier rows
 * (`replaced`), left as indexed (`unchanged`), recognised as a copy of a granule indexed from
 * another input (`duplicate`), or not indexable (`skipped`).
 */
export type GranuleStatus = "added" | "replaced" | "unchanged" | "duplicate" | "skipped";

/** One input done. */
export interface IndexProgress {
  done: number;
  total: number;
  input: string;
  status: GranuleStatus;
  /** Why a `skipped` input could not be indexed; which input a `duplicate` is a copy of. */
  reason?: string;
}

/** An input that could not be indexed, and why. */
export interface SkippedInput {
  input: string;
  /** The error's message without the input's name, e.g. "not an ATL06 granule (product ATL07)". */
  reason: string;
  /** Name of the error class: "InvalidHdf5Error", "NotAGranuleError", "SourceError" (404, 416)... */
  error: string;
}

/** An input holding a granule already indexed from another input (a renamed copy). */
export interface DuplicateInput {
  input: string;
  granule_id: string;
  /** The input (this run) or stored location (earlier runs; a path for local files) indexed instead. */
  sameAs: string;
}

/** Summary of an indexing run. */
export interface IndexReport {
  added: string[];
  replaced: string[];
  unchanged: string[];
  /** Inputs that could not be indexed (corrupt, not HDF5, another product, missing), in input order. */
  skipped: SkippedInput[];
  /** Inputs recognised as copies of a granule indexed from another input, in input order. */
  duplicates: DuplicateInput[];
  /**
   * With {@link IndexOptions.verify}: inputs whose size and ETag/mtime were unchanged but whose
   * recorded chunks differ, and why; each is re-indexed (or skipped when it no longer indexes).
   */
  changed: { input: string; granule_id: string; reason: string }[];
  /** Bytes read from the granules while indexing, and the requests that read them. */
  bytesRead: number;
  requests: number;
  /** Total size of the inputs, bytes. */
  bytesTotal: number;
  /** Stored size of the latitude, longitude and time chunks of the indexed granules, bytes. */
  bytesCoordinates: number;
  /** True when the rows were staged for a later commit (sharded runs). */
  staged: boolean;
  chunks: number;
  seconds: number;
}

/** What one input came to. */
type Outcome =
  | { kind: "added" | "replaced"; id: string; batch: StoreBatch; replace: string[] }
  | { kind: "unchanged"; id: string }
  | { kind: "duplicate"; id: string; sameAs: string }
  | { kind: "skipped"; skip: SkippedInput; error: Error };

/**
 * Indexes granules (paths or URLs) of any registered product into the store at `opts.store`. A granule already in the
 * store with the same size and ETag/mtime is skipped; a changed one replaces its old rows. All new
 * rows become visible in one atomic commit at the end, so a failure leaves the store unchanged.
 *
 * Granules are identified by their own metadata, never by file name: an input holding a granule
 * already indexed from another input that is still there unchanged (this run's earliest copy, or
 * the stored one) is reported in `duplicates` and not indexed again. An input that cannot be
 * indexed (corrupt or truncated, not HDF5, another product, missing) is reported in `skipped`;
 * with `strict` it fails the run instead, and nothing is written.
 * @throws RangeError when `opts.product` names no registered product.
 * @throws the first bad input's error (NotAGranuleError, InvalidHdf5Error, SourceError...) when
 * `strict` is set or no input could be used at all; SourceError for failures that are not the
 * input's fault (access denied by a server, 5xx after retries, an object changed while read).
 * @example
 * const report = await indexGranules(["ATL06_20230816161508_08782002_006_02.h5"], { store: "idx" });
 * for (const s of report.skipped) console.error(`${s.input}: skipped: ${s.reason}`);
 */
export async function indexGranules(inputs: readonly string[], given: IndexOptions): Promise<IndexReport> {
  const started = performance.now();
  const opts: IndexOptions = { ...given, source: readOnNetworkThread(given.source) };
  // The network thread starts while the store is opened, not at the first request.
  if (opts.source?.http?.client === "thread" && inputs.some((i) => /^https?:/i.test(i))) warmNetworkThread();
  if (opts.product !== undefined && !registeredProfiles().some((p) => p.name === opts.product)) {
    const names = registeredProfiles().map((p) => p.name);
    throw new RangeError(`product ${opts.product} is not one of ${names.join(", ")}`);
  }
  // A store is created only when something is committed: a run that indexes nothing leaves none.
  const backend = await openStoreBackend(opts.store, { s3: opts.source?.s3 });
  const { manifest } = await backend.readManifest();
  const h3Resolution = manifest?.h3_resolution ?? opts.h3Resolution ?? DEFAULT_H3_RESOLUTION;
  // The stored granules' fingerprints: the granules table's small columns (or a version 3 manifest's
  // map); the part sets' granule ids read with them serve the commit's rebase.
  const granuleIds = new Map<string, readonly string[]>();
  const known: ReadonlyMap<string, GranuleFingerprint> = manifest
    ? await readFingerprints(backend, manifest, granuleIds).finally(() => backend.release())
    : new Map();
  const storedAt = new Map([...known].map(([id, g]) => [g.url, id]));
  const report: IndexReport = {
    added: [],
    replaced: [],
    unchanged: [],
    skipped: [],
    duplicates: [],
    changed: [],
    bytesRead: 0,
    requests: 0,
    bytesTotal: 0,
    bytesCoordinates: 0,
    staged: opts.shard !== undefined,
    chunks: 0,
    seconds: 0,
  };
  const mine = opts.shard ? shareOf(inputs, opts.shard) : inputs;
  const outcomes = new Array<Outcome | undefined>(mine.length);
  const copies = new RunCopies();
  let done = 0;
  let stop = false;
  let checksums: Promise<Map<string, RecordedChunk[]>> | undefined;
  const storedChecksums = () => {
    checksums ??= Store.open(opts.store).then(recordedChunks);
    return checksums;
  };
  const jobs = jobCount(opts, mine.length);
  const link = { ...DEFAULT_LINK, ...opts.link };
  const pool = jobs > 1 ? await startIndexPool(jobs, { ...opts, link }) : undefined;
  // The store's part files are encoded on this thread as granules' rows come, a file group at a time
  // between other work, so little is left to encode after the last one; only when more inputs than
  // are read at once: otherwise they all finish together (see encodesAhead). With the store's own
  // Parquet encoder this costs less CPU than the encoder thread did, which had to start, load its
  // modules and take a copy of the rows (docs/design/index-build.md).
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  let encoder: PartEncoder | undefined;
  const lineGate = createLimiter(LINE_GATE);
  const openJob = (input: string): Promise<GranuleJob> =>
    pool
      ? pool.open(input)
      : openGranuleJob(input, {
          product: opts.product,
          source: opts.source,
          signal: opts.signal,
          dmrpp: opts.dmrpp,
          link,
          onWarning: opts.onWarning,
          lineGate,
        });
  try {
    await mapPipelined(
      mine,
      { reading: concurrency, open: concurrency + readAhead(concurrency), heldBytes: READ_AHEAD_BYTES },
      async (input, i, readsDone) => {
        if (stop) return;
        let job: GranuleJob | undefined;
        try {
          job = await openJob(input);
          // What a granule whose reads are done holds until it is indexed: the bytes it read.
          const opened = job;
          void opened
            .readsDone()
            .then(() => opened.stats())
            .then(
              (read) => readsDone(read.bytes),
              () => readsDone(),
            );
          try {
            const fingerprint = await job.fingerprint({ identifyNext: !storedAt.has(job.url) });
            report.bytesTotal += fingerprint.size;
            const url = job.url;
            const storedId = storedAt.get(url);
            if (
              storedId !== undefined &&
              fingerprintChange(known.get(storedId)!, fingerprint) === undefined
            ) {
              const change = opts.verify
                ? await job.chunkChange((await storedChecksums()).get(storedId) ?? [])
                : undefined;
              if (change === undefined) {
                outcomes[i] = { kind: "unchanged", id: storedId };
                return;
              }
              report.changed.push({ input, granule_id: storedId, reason: change });
            }
            const identity = await job.identify();
            const id = identity.granule_id;
            const stored = known.get(id);
            if (stored && stored.url !== url && (await stillThere(stored, opts))) {
              outcomes[i] = { kind: "duplicate", id, sameAs: displayName(stored.url) };
              return;
            }
            const earlier = await copies.earlierCopy(id, i);
            if (earlier !== undefined) {
              outcomes[i] = { kind: "duplicate", id, sameAs: mine[earlier]! };
              return;
            }
            const indexing = job.index({ h3Resolution, fingerprint });
            copies.add(id, i, indexing);
            if (encodesAhead(mine.length, concurrency)) encoder ??= localPartEncoder();
            const batch = await indexing;
            encoder?.add(i, batch);
            // This url held another granule before: its rows no longer describe any file.
            const replace = storedId !== undefined && storedId !== id ? [storedId] : [];
            outcomes[i] = { kind: stored ? "replaced" : "added", id, batch, replace };
          } finally {
            const read = await job.stats();
            report.bytesRead += read.bytes;
            report.requests += read.requests;
          }
        } catch (err) {
          const named = namingInput(err, input);
          if (!isBadInput(named)) throw named;
          const skip = { input, reason: reasonOf(named, input), error: named.name };
          outcomes[i] = { kind: "skipped", skip, error: named };
          if (opts.strict) stop = true;
        } finally {
          await job?.close();
          const o = outcomes[i];
          if (o) {
            const reason =
              o.kind === "skipped"
                ? o.skip.reason
                : o.kind === "duplicate"
                  ? `same granule as ${o.sameAs}`
                  : undefined;
            opts.onProgress?.({ done: ++done, total: mine.length, input, status: o.kind, reason });
          }
        }
      },
    );
  } catch (err) {
    await encoder?.close();
    throw err;
  } finally {
    await pool?.close();
    // Every granule is read: the lines' buffers kept for the next ones are not needed any more.
    clearLines();
  }
  try {
    await writeRun();
  } finally {
    await encoder?.close();
  }
  for (const list of [report.added, report.replaced, report.unchanged]) list.sort();
  report.changed.sort((a, b) => a.input.localeCompare(b.input));
  report.seconds = (performance.now() - started) / 1000;
  return report;

  /** Reports the outcomes and commits (or stages) the new rows. */
  async function writeRun(): Promise<void> {
    copies.settle(outcomes, mine);
    const failed = outcomes.flatMap((o) => (o?.kind === "skipped" ? [o.error] : []));
    // Strict runs fail on any bad input; others only when no input could be used at all.
    if (failed.length > 0 && (opts.strict || failed.length === mine.length)) throw failed[0]!;
    // The files still out of date are encoded meanwhile (while the outcomes are reported and the store opens).
    const indices = outcomes.flatMap((o, i) => (o?.kind === "added" || o?.kind === "replaced" ? [i] : []));
    const encoding = indices.length > 0 ? encoder?.finish(indices) : undefined;
    const batches: StoreBatch[] = [];
    const replace: string[] = [];
    for (const [i, o] of outcomes.entries()) {
      if (!o) continue;
      if (o.kind === "skipped") report.skipped.push(o.skip);
      else if (o.kind === "duplicate")
        report.duplicates.push({ input: mine[i]!, granule_id: o.id, sameAs: o.sameAs });
      else report[o.kind].push(o.id);
      if (o.kind === "added" || o.kind === "replaced") {
        batches.push(o.batch);
        replace.push(...o.replace);
        report.chunks += o.batch.chunks.length;
        report.bytesCoordinates += coordinateBytes(o.batch);
      }
    }
    if (batches.length > 0 || opts.shard) {
      const store = await Store.open(opts.store, {
        create: true,
        h3Resolution,
        lockTimeoutMs: opts.lockTimeoutMs,
        s3: opts.source?.s3,
        granuleIds,
      });
      const encoded = await encoding;
      if (opts.shard)
        await store.stage(mergeBatches(batches), { shard: shardStamp(inputs, opts.shard), encoded });
      else await store.commit(mergeBatches(batches), { replace, beforeSwap: opts.beforeCommit, encoded });
    }
  }
}

/**
 * Whether a run of `inputs` inputs, `concurrency` read at a time, encodes its part files ahead, as
 * rows come (store/part-encoder.ts `localPartEncoder`). Only when some inputs wait for others to
 * finish: otherwise their rows all come at the end (measured with the encoder thread this replaced:
 * runs of 2 and 3 full-size granules, 4 at a time, wrote no sooner and took 0.06-0.27 s more CPU;
 * docs/design/index-build.md).
 */
export function encodesAhead(inputs: number, concurrency: number): boolean {
  return inputs > concurrency;
}

/**
 * Copies of one granule among this run's inputs: the earliest input (by position) that indexes
 * wins; a later one waits for earlier copies in flight and stands down if one of them succeeds, so
 * a truncated earlier copy never hides a good later one.
 */
class RunCopies {
  readonly #runs = new Map<string, { index: number; ok: Promise<boolean> }[]>();

  /** Position of an earlier input that indexed granule `id`, after waiting for those in flight. */
  async earlierCopy(id: string, index: number): Promise<number | undefined> {
    for (;;) {
      const earlier = (this.#runs.get(id) ?? []).filter((r) => r.index < index);
      if (earlier.length === 0) return undefined;
      const results = await Promise.all(earlier.map((r) => r.ok));
      const first = earlier.filter((_, k) => results[k]).sort((a, b) => a.index - b.index)[0];
      if (first) return first.index;
      // All failed: forget them, and look again (another may have started meanwhile).
      this.#runs.set(
        id,
        (this.#runs.get(id) ?? []).filter((r) => !earlier.includes(r)),
      );
    }
  }

  /** Records input `index` indexing granule `id`. */
  add(id: string, index: number, indexing: Promise<unknown>): void {
    const ok = indexing.then(
      () => true,
      () => false,
    );
    this.#runs.set(id, [...(this.#runs.get(id) ?? []), { index, ok }]);
  }

  /** A later copy that finished before an earlier one started becomes the earlier one's duplicate. */
  settle(outcomes: (Outcome | undefined)[], inputs: readonly string[]): void {
    const first = new Map<string, number>();
    for (const [i, o] of outcomes.entries()) {
      if (o?.kind !== "added" && o?.kind !== "replaced") continue;
      const winner = first.get(o.id);
      if (winner === undefined) first.set(o.id, i);
      else outcomes[i] = { kind: "duplicate", id: o.id, sameAs: inputs[winner]! };
    }
  }
}

/**
 * The run's source options with HTTP(S) bodies taken in on the network thread (`client: "thread"`,
 * source/http-thread.ts) unless the caller chose a client or a `fetch`: an index run reads whole
 * granules through their lines and computes on a fraction of the bytes, and the socket reads of 1.6 GB
 * over 24 full-size granules were a third of the calling thread's CPU (docs/design/index-build.md).
 * One object for the run, so that its sources share `maxRequests`'s limiter.
 */
function readOnNetworkThread(source: SourceOptions | undefined): SourceOptions {
  const http = source?.http;
  if (http?.fetch !== undefined || http?.client !== undefined) return source ?? {};
  return { ...source, http: { ...http, client: "thread" } };
}

/** Whether the stored copy of a granule is still where and as it was indexed. */
async function stillThere(stored: GranuleFingerprint, opts: IndexOptions): Promise<boolean> {
  try {
    const source = await openSource(stored.url, opts.source);
    try {
      return fingerprintChange(stored, await fingerprintOf(source, opts)) === undefined;
    } finally {
      await source.close();
    }
  } catch {
    return false;
  }
}

/** A stored URL as users name it: a path for local files. */
function displayName(url: string): string {
  return url.startsWith("file:") ? fileURLToPath(url) : url;
}

/**
 * Whether an error is the input's own fault, so that the run can go on without it: not HDF5,
 * corrupt or truncated, another product, a feature or filter we cannot read, missing or unreadable.
 * Denied access, server failures and objects changing while read fail the run: they are about the
 * environment, and a later run would index the same inputs.
 */
function isBadInput(err: unknown): err is Error {
  if (
    isGeochunksError(
      err,
      "InvalidHdf5Error",
      "UnsupportedHdf5Error",
      "UnsupportedFilterError",
      "NotAGranuleError",
    )
  )
    return true;
  if (isGeochunksError(err, "SourceError")) {
    const { status, url } = err as Error & { status: number; url: string };
    return status === 404 || status === 416 || (status === 403 && url.startsWith("file:"));
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    err instanceof Error &&
    (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR" || code === "EACCES")
  );
}

/** An error's message without the name of the input it starts with. */
function reasonOf(err: Error, input: string): string {
  const names = /^[a-z][a-z0-9+.-]+:\/\//i.test(input) ? [input] : [input, resolve(input)];
  for (const name of names)
    if (err.message.startsWith(`${name}: `)) return err.message.slice(name.length + 2);
  return err.message;
}

/** Stored size of the chunks of the coordinate datasets (lat, lon, time) the batch's chunk rows refer to. */
function coordinateBytes(batch: StoreBatch): number {
  const productOf = new Map(batch.granules.map((g) => [g.granule_id, g.product]));
  let sum = 0;
  const seen = new Set<number>();
  for (const chunk of batch.chunks) {
    const profile = findProfile(productOf.get(chunk.granule_id) ?? "");
    if (!profile) continue;
    const paths = Object.values(profile.coordinates).map((c) => datasetPath(profile, chunk.beam, c));
    for (const ref of chunk.refs) {
      if (!paths.includes(ref.path) || seen.has(ref.offset)) continue;
      seen.add(ref.offset);
      sum += ref.size;
    }
  }
  return sum;
}
