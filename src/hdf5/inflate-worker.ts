/**
 * Inflating chunks on a worker thread of this thread's own, in batches. `zlib.inflate` runs on the
 * libuv threadpool but costs its caller a stream, a zlib handle and an output buffer per call: on the
 * index build of five full-size granules (about 1000 coordinate chunks of 80 KB) 70-160 us of the
 * calling thread per chunk, as much as inflating it there (`inflateSync`, 40-360 us). Here the
 * calling thread only copies each stored chunk into a buffer it hands over (the stored bytes are
 * views into the reader's cache lines, which stay) and takes the inflated bytes back without a copy;
 * the chunks asked for in one turn of the event loop travel in one message.
 *
 * The worker is started on first use, kept unreferenced while it has nothing to do (it never holds
 * the process open), and written as a short script evaluated in the worker (no file to find beside a
 * bundle). If it cannot start or dies, the chunks in flight and later ones inflate on the threadpool.
 */
import { Worker } from "node:worker_threads";
import { inflate as inflateCallback } from "node:zlib";

/** Largest inflated size accepted and the size of the output buffer, as zlib options. */
export interface InflateLimits {
  maxOutputLength: number;
  chunkSize: number;
}

/** Most chunks in one message: a batch returns whole, so long ones would hold the first results back. */
const BATCH_CHUNKS = 16;

/** Most messages the worker holds at once; later chunks wait in the queue. */
const BATCHES_IN_FLIGHT = 4;

interface Job {
  bytes: Uint8Array;
  limits: InflateLimits;
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

/**
 * What the worker answers for one chunk: the input's buffer and the unused output buffer back, and the
 * inflated bytes or zlib's error.
 */
type Answer = { input: ArrayBuffer; spare?: ArrayBuffer } & (
  | { buffer: ArrayBuffer; offset: number; length: number }
  | { message: string; code?: string }
);

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { inflateSync } = require("node:zlib");
parentPort.on("message", ({ id, jobs }) => {
  const answers = [];
  const transfer = [];
  for (const { bytes, out, limits } of jobs) {
    // The input's buffer goes back to be used again; so does the output's when it is not used.
    const answer = { input: bytes.buffer, spare: out };
    transfer.push(bytes.buffer);
    if (out) transfer.push(out);
    try {
      const inflated = inflateSync(bytes, limits);
      if (out && inflated.byteLength <= out.byteLength) {
        new Uint8Array(out).set(inflated);
        Object.assign(answer, { spare: undefined, buffer: out, offset: 0, length: inflated.byteLength });
      } else {
        // Outputs under 4 KiB may lie in Node's shared buffer pool, which must not be handed over: copied.
        let own = inflated;
        if (own.byteLength < 4096 || transfer.includes(own.buffer)) own = new Uint8Array(own);
        Object.assign(answer, { buffer: own.buffer, offset: own.byteOffset, length: own.byteLength });
        transfer.push(own.buffer);
      }
    } catch (err) {
      Object.assign(answer, { message: String(err && err.message), code: err && err.code });
    }
    answers.push(answer);
  }
  parentPort.postMessage({ id, answers }, transfer);
});
`;

/**
 * Buffers that travel to the worker and back, by size (powers of two from {@link POOL_MIN_BYTES} to
 * {@link POOL_MAX_BYTES}): a stored chunk is copied into one, its inflated bytes come back in another,
 * and both are used again. Fresh buffers for every chunk cost the calling thread page faults and
 * garbage collections started by external memory, far more than the copies themselves.
 */
const pool = new Map<number, ArrayBuffer[]>();
const POOL_MIN_BYTES = 16 * 1024;
const POOL_MAX_BYTES = 4 * 1024 * 1024;
/** Buffers kept per size; more are left to the garbage collector. */
const POOL_PER_SIZE = 2 * BATCHES_IN_FLIGHT * BATCH_CHUNKS;
/** Output buffers handed out by {@link inflateOffThread}, which {@link releaseInflated} may take back. */
const lent = new WeakSet<ArrayBuffer>();

/** The pool's size for `length` bytes, or undefined when buffers that large are not pooled. */
function pooledSize(length: number): number | undefined {
  if (length > POOL_MAX_BYTES) return undefined;
  return Math.max(POOL_MIN_BYTES, 2 ** Math.ceil(Math.log2(Math.max(1, length))));
}

function take(length: number): ArrayBuffer {
  const size = pooledSize(length);
  if (size === undefined) return new ArrayBuffer(length);
  return pool.get(size)?.pop() ?? new ArrayBuffer(size);
}

function give(buffer: ArrayBuffer | undefined): void {
  if (!buffer || buffer.byteLength === 0 || pooledSize(buffer.byteLength) !== buffer.byteLength) return;
  const kept = pool.get(buffer.byteLength) ?? [];
  pool.set(buffer.byteLength, kept);
  if (kept.length < POOL_PER_SIZE) kept.push(buffer);
}

/**
 * Gives the buffer of bytes that {@link inflateOffThread} returned back for later chunks. Only for a
 * caller done with them (and with every view of them); other arrays are ignored.
 */
export function releaseInflated(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer;
  if (!lent.has(buffer)) return;
  lent.delete(buffer);
  give(buffer);
}

let worker: Worker | undefined;
/** Set once the worker failed: every later chunk inflates on the threadpool. */
let broken = false;
let queue: Job[] = [];
let scheduled = false;
let nextId = 0;
const inFlight = new Map<number, Job[]>();

/**
 * Inflates a zlib stream on this thread's inflate worker (the threadpool if it is unavailable).
 * Rejects with zlib's error (message and code) for a corrupt stream or an output above the limit.
 */
export function inflateOffThread(bytes: Uint8Array, limits: InflateLimits): Promise<Uint8Array> {
  if (broken) return inflateOnPool(bytes, limits);
  return new Promise((resolve, reject) => {
    queue.push({ bytes, limits, resolve, reject });
    schedule();
  });
}

function schedule(): void {
  if (scheduled || queue.length === 0) return;
  scheduled = true;
  setImmediate(flush);
}

function flush(): void {
  scheduled = false;
  const w = broken ? undefined : started();
  if (!w) {
    const jobs = queue;
    queue = [];
    for (const job of jobs) inflateOnPool(job.bytes, job.limits).then(job.resolve, job.reject);
    return;
  }
  // A few batches at a time: enough to keep the worker busy, few enough that the buffers come back
  // to the pool before the next ones are sent (the rest wait here, as views, costing nothing).
  while (queue.length > 0 && inFlight.size < BATCHES_IN_FLIGHT) {
    const batch = queue.splice(0, BATCH_CHUNKS);
    const id = nextId++;
    // Copies: the stored bytes are views into cache lines that other reads still use.
    const sent = batch.map((job) => {
      const bytes = new Uint8Array(take(job.bytes.length), 0, job.bytes.length);
      bytes.set(job.bytes);
      const size = pooledSize(job.limits.chunkSize);
      return { bytes, out: size === undefined ? undefined : take(size), limits: job.limits };
    });
    if (inFlight.size === 0) w.ref();
    inFlight.set(id, batch);
    w.postMessage(
      { id, jobs: sent },
      sent.flatMap((s) => (s.out ? [s.bytes.buffer, s.out] : [s.bytes.buffer])),
    );
  }
}

/** The worker, started on first use; undefined when it cannot start. */
function started(): Worker | undefined {
  if (worker) return worker;
  try {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on("message", ({ id, answers }: { id: number; answers: Answer[] }) => {
      const batch = inFlight.get(id);
      inFlight.delete(id);
      if (inFlight.size === 0) w.unref();
      batch?.forEach((job, i) => {
        const a = answers[i]!;
        give(a.input);
        give(a.spare);
        if ("buffer" in a) {
          if (pooledSize(a.buffer.byteLength) === a.buffer.byteLength) lent.add(a.buffer);
          job.resolve(new Uint8Array(a.buffer, a.offset, a.length));
        } else job.reject(Object.assign(new Error(a.message), a.code === undefined ? {} : { code: a.code }));
      });
      // Next batches after the callers have taken these outputs (and given their buffers back).
      schedule();
    });
    const fail = () => {
      if (worker !== w) return;
      worker = undefined;
      broken = true;
      const lost = [...inFlight.values()].flat();
      inFlight.clear();
      for (const job of lost) inflateOnPool(job.bytes, job.limits).then(job.resolve, job.reject);
      flush();
    };
    w.on("error", fail);
    w.on("exit", fail);
    worker = w;
    return w;
  } catch {
    broken = true;
    return undefined;
  }
}

function inflateOnPool(bytes: Uint8Array, limits: InflateLimits): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    inflateCallback(bytes, limits, (err, out) => {
      if (err) reject(err);
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}
