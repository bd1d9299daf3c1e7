/**
 * Indexing on every core: worker threads that run the steps of {@link GranuleJob}s (reading a granule
 * and computing its rows is almost all of an index run's CPU), while the calling thread decides
 * between the steps and writes the store.
 */
import { availableParallelism } from "node:os";
import type { HttpSourceOptions, SourceOptions } from "../source/index.js";
import type { StoreBatch } from "../store/store.js";
import { workerBeside } from "../threads.js";
import type { DmrppMode } from "./dmrpp.js";
import { type GranuleJob, openGranuleJob } from "./job.js";
import type { LinkModel } from "./read-cost.js";
import {
  errorFromMessage,
  type JobReply,
  type JobRequest,
  type JobStep,
  type WorkerInit,
} from "./worker-protocol.js";

/**
 * Inputs per worker thread below which a run uses fewer threads: starting a thread (loading the
 * reader, H3 and the products) costs about 0.2-0.3 s of CPU, about what indexing one 12 MB granule
 * costs, so a thread pays off from a couple of granules on (measured with bench/index-build.ts).
 */
export const MIN_INPUTS_PER_WORKER = 2;

/**
 * Cores one indexing thread keeps busy: besides its own work, its inflate runs on the libuv threadpool
 * and its garbage collection on V8's background threads. Measured with bench/index-build.ts (6 full-size
 * granules, 1 thread, load 3-4 on 2 CPUs): 5.76 s of CPU in 4.17 s over HTTP (1.38 cores), 3.68 s in
 * 2.35 s from local files (1.57 cores). So a second thread on 2 cores only adds its start-up and
 * contention: 2 threads took 4.46 and 2.48 s there.
 */
export const CORES_PER_THREAD = 1.5;

/** Threads the default run starts on `cores` cores: one per {@link CORES_PER_THREAD}, at least one. */
export function threadsForCores(cores: number): number {
  return Math.max(1, Math.floor(cores / CORES_PER_THREAD));
}

/** What {@link jobCount} looks at. */
export interface JobCountOptions {
  jobs?: number;
  concurrency?: number;
  source?: SourceOptions;
}

/**
 * Threads an indexing run uses: `jobs` when given, else one per {@link CORES_PER_THREAD} of the
 * machine's `cores` (default: its available parallelism), at most one per
 * {@link MIN_INPUTS_PER_WORKER} inputs and per granule read at a time; 1 (this thread) when the
 * source options cannot be sent to a thread (a custom `fetch` or limiter).
 */
export function jobCount(
  opts: JobCountOptions,
  inputs: number,
  cores: number = availableParallelism(),
): number {
  if (!cloneable(sendable(opts.source).source)) return 1;
  if (opts.jobs !== undefined) return Math.max(1, Math.min(opts.jobs, inputs));
  const byInputs = Math.floor(inputs / MIN_INPUTS_PER_WORKER);
  return Math.max(
    1,
    Math.min(threadsForCores(cores), byInputs, opts.concurrency ?? Number.POSITIVE_INFINITY),
  );
}

/**
 * Source options as a thread gets them: without `http.onWarning`, which stays here (the thread sends
 * its warnings back, see {@link startIndexPool}).
 */
function sendable(source: SourceOptions | undefined): {
  source: SourceOptions | undefined;
  onWarning: HttpSourceOptions["onWarning"];
} {
  const onWarning = source?.http?.onWarning;
  if (!onWarning) return { source, onWarning };
  const { onWarning: _, ...http } = source.http!;
  return { source: { ...source, http }, onWarning };
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Worker threads running granule jobs. */
export interface IndexPool {
  /** A job for `input`, run by the least busy thread. */
  open(input: string): Promise<GranuleJob>;
  /** Stops every thread. */
  close(): Promise<void>;
}

/** Options a pool's threads are started with. */
export interface IndexPoolOptions {
  product?: string;
  source?: SourceOptions;
  signal?: AbortSignal;
  dmrpp?: DmrppMode;
  /** The link remote granules are read over (`IndexOptions.link`). */
  link?: LinkModel;
  /** Granule warnings (a stale sidecar passed over), from every thread. */
  onWarning?: (message: string) => void;
}

/**
 * Runs jobs on `count` threads (at most `source.maxRequests` of them): this one, which is idle while
 * the run reads, and `count - 1` worker threads (each new thread costs its start-up and its own warm-up
 * of the compiled code). `source.maxRequests` is shared out among them, so the run keeps its bound on
 * requests in flight.
 */
export async function startIndexPool(count: number, opts: IndexPoolOptions): Promise<IndexPool> {
  const { source: given, onWarning } = sendable(opts.source);
  const limit = given?.maxRequests;
  const threadCount = limit === undefined ? count : Math.max(1, Math.min(count, limit));
  /** Thread k's share of the run's bound on requests in flight: the shares add up to the bound. */
  const share = (k: number) =>
    limit === undefined ? undefined : Math.floor(limit / threadCount) + (k < limit % threadCount ? 1 : 0);
  const workers = await Promise.all(
    Array.from({ length: threadCount - 1 }, (_, k) => {
      const source = limit === undefined ? given : { ...given, maxRequests: share(k + 1) };
      const init: WorkerInit = {
        product: opts.product,
        source,
        warnings: onWarning !== undefined,
        dmrpp: opts.dmrpp,
        link: opts.link,
        granuleWarnings: opts.onWarning !== undefined,
      };
      return startThread(init, onWarning, opts.onWarning);
    }),
  );
  // One options object for all of this thread's jobs: sources opened with it share its limiter.
  const here = limit === undefined ? opts.source : { ...opts.source, maxRequests: share(0) };
  const calling = thisThread({
    product: opts.product,
    source: here,
    signal: opts.signal,
    dmrpp: opts.dmrpp,
    link: opts.link,
    onWarning: opts.onWarning,
  });
  // Worker threads first, so that they take the ties.
  const threads = [...workers, calling];
  /**
   * A thread's share of the jobs so far, counting the calling thread's store work (taking every
   * thread's rows, deciding, the store write) as about one more job once it has one of its own: on
   * plain job counts it took 4 of 6 granules and the worker thread, slower to start, 2 (the calling
   * thread then held the run's end, busy 2.5-4.0 s against the worker's 1.5-2.4 s, docs/design/index-build.md).
   */
  const load = (t: Thread) => (t === calling ? t.busy + (t.busy === 0 ? 0.5 : 1) : t.busy);
  const stop = () => void Promise.all(workers.map((t) => t.close()));
  opts.signal?.addEventListener("abort", stop, { once: true });
  return {
    async open(input) {
      opts.signal?.throwIfAborted();
      const thread = threads.reduce((a, b) => (load(b) < load(a) ? b : a));
      return thread.open(input);
    },
    async close() {
      opts.signal?.removeEventListener("abort", stop);
      await Promise.all(workers.map((t) => t.close()));
    },
  };
}

/** The calling thread as one of the pool's threads. */
function thisThread(opts: IndexPoolOptions): Thread {
  const thread: Thread = {
    busy: 0,
    async open(input) {
      thread.busy++;
      let job: GranuleJob;
      try {
        job = await openGranuleJob(input, opts);
      } catch (err) {
        thread.busy--;
        throw err;
      }
      return {
        ...job,
        async close() {
          thread.busy--;
          await job.close();
        },
      };
    },
    close: async () => undefined,
  };
  return thread;
}

interface Thread {
  /** Jobs open on this thread. */
  busy: number;
  open(input: string): Promise<GranuleJob>;
  close(): Promise<void>;
}

async function startThread(
  init: WorkerInit,
  onWarning: HttpSourceOptions["onWarning"],
  onGranuleWarning: IndexPoolOptions["onWarning"],
): Promise<Thread> {
  const worker = workerBeside(import.meta.url, "worker", { workerData: init });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let next = 0;
  let failed: Error | undefined;
  const failAll = (err: Error) => {
    failed = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (reply: JobReply) => {
    if (reply.warning) {
      onWarning?.(reply.warning);
      return;
    }
    if (reply.granuleWarning !== undefined) {
      onGranuleWarning?.(reply.granuleWarning);
      return;
    }
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.error) w.reject(errorFromMessage(reply.error));
    else w.resolve(reply.value);
  });
  worker.on("error", (err) => failAll(err));
  worker.on("exit", (code) => failAll(new Error(`index worker thread exited with code ${code}`)));
  // Idle threads must not keep the process alive; a call in flight holds a reference.
  worker.unref();
  const call = <T>(request: Omit<JobRequest, "id">): Promise<T> => {
    if (failed) return Promise.reject(failed);
    const id = next++;
    if (waiting.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, ...request } satisfies JobRequest);
    }).finally(() => {
      if (waiting.size === 0) worker.unref();
    });
  };
  // Not awaited: the thread loads its modules (about 0.2-0.4 s of CPU) while the calling thread starts
  // on its own share of the inputs; jobs sent meanwhile wait in the thread's queue. A thread that fails
  // to start fails the calls waiting on it (failAll).
  call<void>({ step: "ready", job: -1 }).catch(() => undefined);
  const thread: Thread = {
    busy: 0,
    async open(input) {
      thread.busy++;
      const job = next++;
      let url: string;
      try {
        url = await call<string>({ step: "open", job, input });
      } catch (err) {
        thread.busy--;
        throw err;
      }
      const step = <T>(name: JobStep, arg?: unknown) => call<T>({ step: name, job, arg });
      return {
        url,
        fingerprint: (o) => step("fingerprint", o),
        chunkChange: (chunks) => step("chunkChange", chunks),
        identify: () => step("identify"),
        index: (o) => step<StoreBatch>("index", o),
        readsDone: () => step<void>("readsDone").catch(() => undefined),
        stats: () => step("stats"),
        async close() {
          thread.busy--;
          // A thread that failed has failed this job's steps already; there is nothing left to release.
          if (!failed) await step("close");
        },
      };
    },
    async close() {
      worker.removeAllListeners("exit");
      await worker.terminate();
    },
  };
  return thread;
}
