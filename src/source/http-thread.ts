/**
 * The network thread: an {@link HttpTransport} whose requests are sent and whose bodies are taken in
 * on a worker thread of their own (http-thread-worker.ts), over the same transports (the plain-TCP
 * reader for http:, node:https for https:). A range body of a line's size is read straight into a
 * buffer of shared memory lent with the request (`sharedLinePool`), so the kernel's copy of the
 * bytes, the socket reads and, over https:, the decryption, are that thread's CPU and not the
 * caller's; no byte is copied between the threads. Other bodies (error pages, small ranges) come over
 * in copied pieces.
 *
 * An index run takes in every byte of its granules through whole-file lines (1.6 GB for 24 full-size
 * ones), and that intake was a third of its calling thread's CPU, on the thread that is the run's
 * critical path (docs/design/index-build.md). One thread per process (and per index worker thread
 * that uses it), started on the first request; it does not keep the process alive while idle. If it
 * cannot start or dies, the requests in flight fail (and are retried) and later ones are sent on the
 * calling thread.
 */
import type { Worker } from "node:worker_threads";
import { workerBeside } from "../threads.js";
import { BodyPieces } from "./body-pieces.js";
import type { BearerTokenOptions } from "./earthdata.js";
import {
  receivedError,
  type ThreadMessage,
  type ThreadRequest,
  type ThreadStop,
  transportFor,
} from "./http-thread-protocol.js";
import type { HttpReply, HttpTransport } from "./http-transport.js";
import { LINE_MIN_BYTES, sharedLinePool } from "./line-pool.js";

/** One request in flight on the thread, until its last message. */
interface Pending {
  resolve(reply: HttpReply): void;
  reject(err: unknown): void;
  progress: (() => void) | undefined;
  into: Uint8Array | undefined;
  reply: ThreadReply | undefined;
  /** The caller gave up (aborted): later messages are dropped, the lent buffer still awaited. */
  gone: boolean;
  /** Stops following the call's signal. */
  release(): void;
}

let thread: Worker | undefined;
/** Set once the thread failed to start or stopped: later requests are sent on the calling thread. */
let broken = false;
const pending = new Map<number, Pending>();
let nextId = 1;

/**
 * Starts the network thread now, if it is not running, so that its start (its own V8 instance and
 * script: about 40 ms here) overlaps the caller's other work instead of delaying the first request.
 */
export function warmNetworkThread(): void {
  if (broken) return;
  try {
    threadOf();
  } catch {
    broken = true;
  }
}

/**
 * Stops the network thread, as if it had died: requests in flight fail (the source retries them),
 * later ones are sent on the calling thread. For a program that wants no thread left, and for tests.
 */
export async function stopNetworkThread(): Promise<void> {
  broken = true;
  await thread?.terminate();
}

function threadOf(): Worker {
  if (thread) return thread;
  const worker = workerBeside(import.meta.url, "http-thread-worker");
  worker.on("message", (m: ThreadMessage) => onMessage(m));
  const stopped = (err: Error) => {
    if (thread !== worker) return;
    thread = undefined;
    broken = true;
    for (const [id, p] of pending) {
      p.release();
      pending.delete(id);
      // The buffer lent is left to the collector: the thread may have been writing into it.
      if (p.reply) p.reply.fail(err);
      else if (!p.gone) p.reject(err);
    }
  };
  worker.on("error", stopped);
  worker.on("exit", (code) => stopped(new Error(`the network thread stopped (exit code ${code})`)));
  worker.unref();
  thread = worker;
  return worker;
}

function onMessage(m: ThreadMessage): void {
  const p = pending.get(m.id);
  if (!p) return;
  switch (m.type) {
    case "progress":
      if (!p.gone) p.progress?.();
      return;
    case "head":
      if (p.gone) return;
      p.reply = new ThreadReply(m.id, m.status, new Map(m.headers));
      p.resolve(p.reply);
      return;
    case "piece":
      p.reply?.push(m.bytes);
      return;
    case "end": {
      finish(m.id);
      // A body handed over is the caller's; the lent buffer goes back only when it was not.
      const reply = p.gone ? undefined : p.reply;
      if (m.inPlace && reply) reply.push(p.into!);
      else if (p.into) sharedLinePool.give(p.into);
      reply?.finish();
      return;
    }
    case "error": {
      finish(m.id);
      if (p.into) sharedLinePool.give(p.into);
      const err = receivedError(m.error);
      if (p.reply) p.reply.fail(err);
      else if (!p.gone) p.reject(err);
      return;
    }
  }
}

/** A request's last message came: the thread is done with it and with the buffer lent. */
function finish(id: number): void {
  pending.get(id)?.release();
  pending.delete(id);
  if (pending.size === 0) thread?.unref();
}

/** Bytes of the body a `bytes=a-b` range asks for; undefined for any other range header or none. */
function rangeLength(range: string | undefined): number | undefined {
  const m = range === undefined ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
  return m ? Number(m[2]) - Number(m[1]) + 1 : undefined;
}

/** Options of {@link threadTransport}, as in {@link ThreadRequest}. */
export interface ThreadTransportOptions {
  client?: "auto" | "node";
  bearer?: BearerTokenOptions;
}

/** The transport. */
export function threadTransport(opts: ThreadTransportOptions = {}): HttpTransport {
  const client = opts.client ?? "auto";
  const bearer = opts.bearer;
  return (url, call) => {
    if (broken) return transportFor(url, client, bearer)(url, call);
    return new Promise<HttpReply>((resolve, reject) => {
      const { signal } = call;
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      let worker: Worker;
      try {
        worker = threadOf();
      } catch {
        broken = true;
        transportFor(url, client, bearer)(url, call).then(resolve, reject);
        return;
      }
      const id = nextId++;
      const length = call.method === "GET" ? rangeLength(call.headers.range) : undefined;
      const into = length !== undefined && length >= LINE_MIN_BYTES ? sharedLinePool.take(length) : undefined;
      const onAbort = () => {
        if (!pending.has(id)) return;
        if (p.reply) p.reply.fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
        else reject(signal.reason);
        p.gone = true;
        worker.postMessage({ type: "abort", id } satisfies ThreadStop);
      };
      const p: Pending = {
        resolve,
        reject,
        progress: call.progress,
        into,
        reply: undefined,
        gone: false,
        release: () => signal.removeEventListener("abort", onAbort),
      };
      if (pending.size === 0) worker.ref();
      pending.set(id, p);
      signal.addEventListener("abort", onAbort, { once: true });
      worker.postMessage({
        type: "request",
        id,
        url,
        method: call.method,
        headers: call.headers,
        client,
        bearer,
        into,
      } satisfies ThreadRequest);
    });
  };
}

/** A response whose body the network thread sends piece by piece (or as the lent buffer, whole). */
class ThreadReply implements HttpReply {
  readonly #body = new BodyPieces();
  #done = false;

  constructor(
    readonly id: number,
    readonly status: number,
    readonly headers: Map<string, string>,
  ) {}

  header(name: string): string | null {
    return this.headers.get(name) ?? null;
  }

  headerEntries(): [string, string][] {
    return [...this.headers];
  }

  /** A piece from the thread; ignored once the body failed or was cancelled. */
  push(bytes: Uint8Array): void {
    if (!this.#done) this.#body.push(bytes);
  }

  finish(): void {
    this.#done = true;
    this.#body.end();
  }

  fail(err: Error): void {
    this.#done = true;
    this.#body.fail(err);
  }

  read(): Promise<Uint8Array | undefined> {
    return this.#body.read();
  }

  async cancel(): Promise<void> {
    if (this.#done) return;
    // The rest is dropped: reads end here, whatever the thread reports of it.
    this.finish();
    this.#body.drop();
    thread?.postMessage({ type: "cancel", id: this.id } satisfies ThreadStop);
  }
}
