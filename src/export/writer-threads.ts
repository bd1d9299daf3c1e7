/**
 * The GeoParquet writer threads of a process (geoparquet-worker.ts): started, kept idle between
 * files, and started ahead of a write. Apart from geoparquet.ts, which feeds them, so that a command
 * can start one before the first request without loading the writer's libraries (apache-arrow).
 */
import type { Worker } from "node:worker_threads";
import { workerBeside } from "../threads.js";

/**
 * Writer threads that finished a file cleanly and wait for the next one, unreferenced (they keep no
 * process alive): the second and later writes of a process skip the thread's start-up (a new isolate,
 * parquet-wasm compiled again). Shared by the process as the HTTP keep-alive agents are.
 */
const IDLE_WRITERS: { worker: Worker; forget: () => void; used: boolean }[] = [];

/**
 * Idle writer threads kept at most: each holds its parquet-wasm memory (as large as the largest row
 * group it wrote), so one, for the common case of one file after another.
 */
const MAX_IDLE_WRITERS = 1;

/** An idle writer thread, or a new one. */
export function takeWriterThread(): Worker {
  const idle = IDLE_WRITERS.pop();
  if (!idle) return workerBeside(import.meta.url, "geoparquet-worker");
  idle.worker.off("exit", idle.forget);
  idle.worker.ref();
  return idle.worker;
}

/**
 * Keeps a thread for the next write (`used`: it finished a file; otherwise it was started ahead by
 * {@link warmWriterThread}); a kept thread that stops is dropped.
 */
export function keepWriterThread(worker: Worker, used = true): void {
  const kept = {
    worker,
    used,
    forget: () => {
      const at = IDLE_WRITERS.indexOf(kept);
      if (at >= 0) IDLE_WRITERS.splice(at, 1);
    },
  };
  worker.once("exit", kept.forget);
  worker.unref();
  IDLE_WRITERS.push(kept);
}

/**
 * Starts a writer thread ahead of a write, kept idle and unreferenced (it keeps no process alive),
 * so that its start-up (a new isolate, its modules, parquet-wasm compiled: about 0.25 s of CPU) runs
 * on the other core while the query selects and makes its first requests. The next write takes it
 * from its first batch, whatever the result's size: its rows are encoded as they arrive, beside the
 * query, instead of after the result has reached THREAD_MIN_ROWS rows (geoparquet.ts). Does nothing
 * when a thread is idle already.
 */
export function warmWriterThread(): void {
  if (IDLE_WRITERS.length === 0) keepWriterThread(workerBeside(import.meta.url, "geoparquet-worker"), false);
}

/** Whether a thread is idle: one that wrote a file, or one started ahead. */
export function hasIdleWriterThread(): boolean {
  return IDLE_WRITERS.length > 0;
}

/** Whether an idle thread has written a file already (not only started ahead). */
export function hasUsedWriterThread(): boolean {
  return IDLE_WRITERS.some((idle) => idle.used);
}

/** Whether one more thread may be kept idle. */
export function canKeepWriterThread(): boolean {
  return IDLE_WRITERS.length < MAX_IDLE_WRITERS;
}
