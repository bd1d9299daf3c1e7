/**
 * Inflating chunks on a worker thread of this thread's own, in batches. `zlib.inflate` runs on the
 * libuv threadpool but costs its caller a stream, a zlib handle and an output buffer per call: on the
 * index build of five full-size granules (about 1000 coordinate chunks of 80 KB) 70-160 us of the
 * calling thread per chunk, as much as inflating it there (`inflateSync`, 40-360 us). Here the
 * calling thread only copies each stored chunk into a buffer it hands over (the stored bytes are
 * views into the reader's cache lines, which stay; lines in shared memory are read where they are)
 * and takes the inflated bytes back without a copy, or, for a chunk placed ({@link inflateInto}), has
 * the worker write them into the values' buffer in shared memory itself; the chunks asked for in one
 * turn of the event loop travel in one message.
 *
 * The worker is started on first use, kept unreferenced while it has nothing to do (it never holds
 * the process open), and written as a short script evaluated in the worker (no file to find beside a
 * bundle). If it cannot start or dies, the chunks in flight and later ones inflate on the threadpool.
 */
import { Worker } from "node:worker_threads";
import { inflate as inflateCallback, inflateSync } from "node:zlib";
import { XXHASH32_SOURCE, xxhash32 } from "../source/xxhash32.js";

/** Largest inflated size accepted and the size of the output buffer, as zlib options. */
export interface InflateLimits {
  maxOutputLength: number;
  chunkSize: number;
}

/** Most chunks in one message: a batch returns whole, so long ones would hold the first results back. */
const BATCH_CHUNKS = 16;

/** Most messages the worker holds at once; later chunks wait in the queue. */
const BATCHES_IN_FLIGHT = 4;

/**
 * Where a chunk's inflated bytes go instead of coming back: `length` bytes of the output from byte
 * `from`, written at byte `at` of `shared` (the values' buffer of a whole-dataset read), by the thread
 * that inflated them. Bytes the output lacks are not written.
 */
export interface Placement {
  shared: SharedArrayBuffer;
  at: number;
  from: number;
  length: number;
}

interface Job {
  bytes: Uint8Array;
  limits: InflateLimits;
  /** Called with the XXH32 of the stored bytes, computed where they are inflated. */
  onSum: ((sum: number) => void) | undefined;
  /**
   * Where the output goes, asked when the chunk is sent to be inflated (so a values' buffer is made
   * when its first chunk is, not when its stored bytes come in); the job then resolves with the
   * output's length.
   */
  place?: () => Placement;
  /** What `place` answered, once the chunk is sent. */
  placed?: Placement;
  /** Only the output's first `head` bytes are wanted: the stream is inflated no further than it takes. */
  head?: number;
  resolve(out: Uint8Array | number): void;
  reject(err: Error): void;
}

/**
 * What the worker answers for one chunk: where its inflated bytes lie in the batch's output buffer, or
 * in a buffer of their own (an output longer than its place, which the caller then rejects), or the
 * length of an output it wrote where the chunk's {@link Placement} said, or zlib's error.
 */
type Answer = (
  | { at: number; length: number }
  | { placed: number }
  | { buffer: ArrayBuffer; offset: number; length: number }
  | { message: string; code?: string }
) & { sum?: number };

/** One batch as sent: the stored chunks one after another in `input`, places for the outputs in `output`. */
interface Sent {
  id: number;
  input: ArrayBuffer;
  output: ArrayBuffer;
  jobs: {
    at: number;
    length: number;
    outAt: number;
    limits: InflateLimits;
    sum: boolean;
    /** The shared memory the stored bytes lie in at `at` (then not copied into `input`). */
    shared?: SharedArrayBuffer;
    /** Where the output goes (then it has no place in `output`). */
    place?: Placement;
    /** Only the output's first `head` bytes are wanted ({@link inflateHead}). */
    head?: number;
    /** Bytes kept for the output in `output` from `outAt`. */
    slot: number;
  }[];
}

/**
 * The first `head` bytes (fewer when the stream has fewer) of a zlib stream's output, inflating no more
 * of it than it takes: a first try on as many stored bytes as the head plus a dynamic Huffman block's
 * header, then four times as many until the head is out or the stream is whole. Sync-flushed, so a
 * stream cut short gives what its bytes hold, not an error. Self-contained (zlib's inflateSync given),
 * so that its source text runs on the worker as it is.
 */
export function inflateHead(
  inflate: (bytes: Uint8Array, opts: object) => Uint8Array,
  bytes: Uint8Array,
  head: number,
  maxOutputLength: number,
): Uint8Array {
  const Z_SYNC_FLUSH = 2;
  for (let k = Math.min(bytes.length, head + 1024); ; k = Math.min(bytes.length, k * 4)) {
    const out = inflate(bytes.subarray(0, k), {
      finishFlush: Z_SYNC_FLUSH,
      maxOutputLength,
      chunkSize: 16384,
    });
    if (out.byteLength >= head || k === bytes.length) return out.subarray(0, head);
  }
}

const INFLATE_HEAD_SOURCE = inflateHead.toString();

/**
 * Writes the part of an inflated output that {@link Placement} `place` asks for where it says (bytes
 * the output lacks are not written); the output's length. Self-contained, so that its source text runs
 * on the worker as it is.
 */
export function placeOutput(place: Placement, inflated: Uint8Array): number {
  const end = Math.min(inflated.byteLength, place.from + place.length);
  if (end > place.from)
    new Uint8Array(place.shared, place.at, end - place.from).set(inflated.subarray(place.from, end));
  return inflated.byteLength;
}

const PLACE_OUTPUT_SOURCE = placeOutput.toString();

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { inflateSync } = require("node:zlib");
const xxhash32 = (${XXHASH32_SOURCE});
const inflateHead = (${INFLATE_HEAD_SOURCE});
const placeOutput = (${PLACE_OUTPUT_SOURCE});
parentPort.on("message", ({ id, input, output, jobs }) => {
  const stored = new Uint8Array(input);
  const out = new Uint8Array(output);
  const answers = [];
  // Both buffers go back, to be used again.
  const transfer = [input, output];
  for (const { at, length, outAt, limits, sum, shared, place, head, slot } of jobs) {
    const bytes = shared ? new Uint8Array(shared, at, length) : stored.subarray(at, at + length);
    let answer;
    try {
      const inflated =
        head === undefined ? inflateSync(bytes, limits) : inflateHead(inflateSync, bytes, head, limits.maxOutputLength);
      if (place) {
        answer = { placed: placeOutput(place, inflated) };
      } else if (inflated.byteLength <= slot) {
        out.set(inflated, outAt);
        answer = { at: outAt, length: inflated.byteLength };
      } else {
        const own = new Uint8Array(inflated);
        answer = { buffer: own.buffer, offset: 0, length: own.byteLength };
        transfer.push(own.buffer);
      }
    } catch (err) {
      answer = { message: String(err && err.message), code: err && err.code };
    }
    if (sum) answer.sum = xxhash32(bytes);
    answers.push(answer);
  }
  parentPort.postMessage({ id, input, output, answers }, transfer);
});
`;

/**
 * Buffers that travel to the worker and back, by size (powers of two from {@link POOL_MIN_BYTES} to
 * {@link POOL_MAX_BYTES}): a batch's stored chunks are copied into one, their inflated bytes come back
 * in another, and both are used again once the caller has taken the chunks. One buffer each way per
 * batch, not per chunk: every transferred buffer costs the message, and fresh buffers cost the calling
 * thread page faults and garbage collections started by external memory, far more than the copies.
 */
const pool = new Map<number, ArrayBuffer[]>();
const POOL_MIN_BYTES = 64 * 1024;
const POOL_MAX_BYTES = 16 * 1024 * 1024;
/** Buffers kept per size; more are left to the garbage collector. */
const POOL_PER_SIZE = 2 * BATCHES_IN_FLIGHT;
/** The pool is emptied after this long without a batch, so an idle process does not hold it. */
const POOL_IDLE_MS = 1000;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
/** Output buffers handed out, with the number of their chunks not yet given back by {@link releaseInflated}. */
const lent = new WeakMap<ArrayBuffer, number>();

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

function give(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0 || pooledSize(buffer.byteLength) !== buffer.byteLength) return;
  const kept = pool.get(buffer.byteLength) ?? [];
  pool.set(buffer.byteLength, kept);
  if (kept.length < POOL_PER_SIZE) kept.push(buffer);
}

/**
 * Gives bytes that {@link inflateOffThread} returned back: their buffer is used again once every chunk
 * of its batch is given back. Only for a caller done with them (and with every view of them); other
 * arrays are ignored, and a chunk never given back only keeps its batch's buffer out of the pool.
 */
export function releaseInflated(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer;
  const left = lent.get(buffer);
  if (left === undefined) return;
  if (left > 1) lent.set(buffer, left - 1);
  else {
    lent.delete(buffer);
    give(buffer);
  }
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
 * `onSum`, when given, is called with the XXH32 of `bytes` before the promise settles (whether the
 * stream inflates or not), computed on the worker: the index's chunk checksums cost its calling
 * thread nothing but this call.
 */
export function inflateOffThread(
  bytes: Uint8Array,
  limits: InflateLimits,
  onSum?: (sum: number) => void,
): Promise<Uint8Array> {
  return enqueue({ bytes, limits, onSum }) as Promise<Uint8Array>;
}

/** A chunk for the worker (the threadpool when the worker is unavailable): its output, or its length when placed. */
function enqueue(job: Omit<Job, "resolve" | "reject">): Promise<Uint8Array | number> {
  if (broken) return inflateOnPool(job);
  return new Promise((resolve, reject) => {
    queue.push({ ...job, resolve, reject });
    schedule();
  });
}

/**
 * The first `head` bytes of a zlib stream's output (fewer when it has fewer), inflated on this thread's
 * inflate worker no further than it takes ({@link inflateHead}); as {@link inflateOffThread} otherwise.
 */
export function inflateHeadOffThread(
  bytes: Uint8Array,
  head: number,
  limits: InflateLimits,
  onSum?: (sum: number) => void,
): Promise<Uint8Array> {
  return enqueue({ bytes, limits, onSum, head }) as Promise<Uint8Array>;
}

/**
 * {@link inflateOffThread} whose output is written by the inflate worker where `place()` says (asked
 * when the chunk is sent to the worker), rather than coming back to be copied there: resolves with the output's length once its bytes are in place
 * (here, on the threadpool's output, when the worker is unavailable). Rejects as inflateOffThread.
 */
export function inflateInto(
  bytes: Uint8Array,
  limits: InflateLimits,
  place: () => Placement,
  onSum?: (sum: number) => void,
): Promise<number> {
  return enqueue({ bytes, limits, onSum, place }) as Promise<number>;
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
    for (const job of jobs) inflateOnPool(job).then(job.resolve, job.reject);
    return;
  }
  // A few batches at a time: enough to keep the worker busy, few enough that the buffers come back
  // to the pool before the next ones are sent (the rest wait here, as views, costing nothing).
  while (queue.length > 0 && inFlight.size < BATCHES_IN_FLIGHT) {
    const batch = queue.splice(0, BATCH_CHUNKS).filter(placedOrRejected);
    if (batch.length === 0) continue;
    const sent = packed(nextId++, batch);
    if (inFlight.size === 0) w.ref();
    inFlight.set(sent.id, batch);
    w.postMessage(sent, [sent.input, sent.output]);
  }
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = undefined;
}

/**
 * Asks a placed job where its output goes, as it is sent: false, the job rejected with the error,
 * when that throws (a caller's values not in shared memory).
 */
function placedOrRejected(job: Job): boolean {
  if (!job.place) return true;
  try {
    job.placed = job.place();
    return true;
  } catch (err) {
    job.reject(err as Error);
    return false;
  }
}

/**
 * A batch's stored chunks copied one after another into one buffer (they are views into cache lines
 * that other reads still use), with a place for each output the size zlib is told to fill. Chunks in
 * shared memory (lines the network thread read, source/http-thread.ts) are not copied: the worker
 * reads them where they are. Their lines go back to their pool only once the granule's rows are made
 * (`BlockCacheSource.release`), after every chunk of it is inflated.
 */
function packed(id: number, batch: readonly Job[]): Sent {
  let inBytes = 0;
  let outBytes = 0;
  for (const job of batch) {
    if (!(job.bytes.buffer instanceof SharedArrayBuffer)) inBytes += job.bytes.length;
    outBytes += slotOf(job);
  }
  const input = take(inBytes);
  const output = take(outBytes);
  const stored = new Uint8Array(input);
  const jobs: Sent["jobs"] = [];
  let at = 0;
  let outAt = 0;
  for (const job of batch) {
    const { bytes, limits, head } = job;
    const place = job.placed;
    const sum = job.onSum !== undefined;
    const slot = slotOf(job);
    if (bytes.buffer instanceof SharedArrayBuffer) {
      jobs.push({
        at: bytes.byteOffset,
        length: bytes.length,
        outAt,
        limits,
        sum,
        shared: bytes.buffer,
        place,
        head,
        slot,
      });
    } else {
      stored.set(bytes, at);
      jobs.push({ at, length: bytes.length, outAt, limits, sum, place, head, slot });
      at += bytes.length;
    }
    outAt += slot;
  }
  return { id, input, output, jobs };
}

/** Bytes a job's output takes in its batch's output buffer: none when placed, its head, or a whole chunk. */
function slotOf(job: Job): number {
  if (job.place) return 0;
  return job.head ?? job.limits.chunkSize;
}

/** The worker, started on first use; undefined when it cannot start. */
function started(): Worker | undefined {
  if (worker) return worker;
  try {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on("message", (reply: { id: number; input: ArrayBuffer; output: ArrayBuffer; answers: Answer[] }) => {
      const batch = inFlight.get(reply.id);
      inFlight.delete(reply.id);
      if (inFlight.size === 0) w.unref();
      give(reply.input);
      const placed = reply.answers.filter((a) => "at" in a).length;
      if (placed > 0) lent.set(reply.output, placed);
      else give(reply.output);
      batch?.forEach((job, i) => {
        const a = reply.answers[i]!;
        if (a.sum !== undefined) job.onSum?.(a.sum);
        if ("placed" in a) job.resolve(a.placed);
        else if ("at" in a) job.resolve(new Uint8Array(reply.output, a.at, a.length));
        else if ("buffer" in a) job.resolve(new Uint8Array(a.buffer, a.offset, a.length));
        else job.reject(Object.assign(new Error(a.message), a.code === undefined ? {} : { code: a.code }));
      });
      // Next batches after the callers have taken these outputs (and given their buffers back).
      schedule();
      if (inFlight.size === 0 && queue.length === 0)
        idleTimer ??= setTimeout(emptyPool, POOL_IDLE_MS).unref();
    });
    const fail = () => {
      if (worker !== w) return;
      worker = undefined;
      broken = true;
      const lost = [...inFlight.values()].flat();
      inFlight.clear();
      for (const job of lost) inflateOnPool(job).then(job.resolve, job.reject);
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

/**
 * Stops the inflate worker, as if it had died: its chunks in flight and every later one inflate on
 * the threadpool. For a program that wants no thread left, and for tests.
 */
export async function stopInflateWorker(): Promise<void> {
  const w = worker;
  if (!w) {
    broken = true;
    return;
  }
  // Exiting fails over the chunks in flight (the worker's "exit" handler), then nothing starts it again.
  await w.terminate();
}

function emptyPool(): void {
  idleTimer = undefined;
  pool.clear();
}

/**
 * The threadpool's inflate, for a thread whose worker could not start or died; its sum taken and its
 * output placed here.
 */
function inflateOnPool({
  bytes,
  limits,
  onSum,
  place: where,
  head,
}: Pick<Job, "bytes" | "limits" | "onSum" | "place" | "head">): Promise<Uint8Array | number> {
  onSum?.(xxhash32(bytes));
  if (head !== undefined) {
    try {
      const out = inflateHead(inflateSync, bytes, head, limits.maxOutputLength);
      return Promise.resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    inflateCallback(bytes, limits, (err, out) => {
      if (err) return reject(err);
      const inflated = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      if (!where) return resolve(inflated);
      try {
        resolve(placeOutput(where(), inflated));
      } catch (e) {
        reject(e);
      }
    });
  });
}
