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

interface Job {
  bytes: Uint8Array;
  limits: InflateLimits;
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

/** What the worker answers for one chunk: the inflated bytes, or zlib's error. */
type Answer = { buffer: ArrayBuffer; offset: number; length: number } | { message: string; code?: string };

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { inflateSync } = require("node:zlib");
parentPort.on("message", ({ id, jobs }) => {
  const answers = [];
  const transfer = [];
  for (const { bytes, limits } of jobs) {
    try {
      let out = inflateSync(bytes, limits);
      // Outputs under 4 KiB may lie in Node's shared buffer pool, which must not be handed over: copied.
      if (out.byteLength < 4096 || transfer.includes(out.buffer)) out = new Uint8Array(out);
      answers.push({ buffer: out.buffer, offset: out.byteOffset, length: out.byteLength });
      transfer.push(out.buffer);
    } catch (err) {
      answers.push({ message: String(err && err.message), code: err && err.code });
    }
  }
  parentPort.postMessage({ id, answers }, transfer);
});
`;

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
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

function flush(): void {
  scheduled = false;
  const jobs = queue;
  queue = [];
  const w = broken ? undefined : started();
  if (!w) {
    for (const job of jobs) inflateOnPool(job.bytes, job.limits).then(job.resolve, job.reject);
    return;
  }
  for (let i = 0; i < jobs.length; i += BATCH_CHUNKS) {
    const batch = jobs.slice(i, i + BATCH_CHUNKS);
    const id = nextId++;
    // Copies: the stored bytes are views into cache lines that other reads still use.
    const sent = batch.map((job) => ({ bytes: new Uint8Array(job.bytes), limits: job.limits }));
    if (inFlight.size === 0) w.ref();
    inFlight.set(id, batch);
    w.postMessage(
      { id, jobs: sent },
      sent.map((s) => s.bytes.buffer),
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
        if ("buffer" in a) job.resolve(new Uint8Array(a.buffer, a.offset, a.length));
        else job.reject(Object.assign(new Error(a.message), a.code === undefined ? {} : { code: a.code }));
      });
    });
    const fail = () => {
      if (worker !== w) return;
      worker = undefined;
      broken = true;
      const lost = [...inFlight.values()].flat();
      inFlight.clear();
      for (const job of lost) inflateOnPool(job.bytes, job.limits).then(job.resolve, job.reject);
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
