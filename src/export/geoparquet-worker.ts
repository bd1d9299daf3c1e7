/**
 * The GeoParquet writer thread: receives a result's record batches as Arrow IPC streams (their
 * buffers transferred, not copied), encodes them into Parquet row groups and appends them to the
 * temporary output file, so the Parquet encoding runs beside the query on another core.
 *
 * Started before the result's first batch (its module loading overlaps the query's first
 * requests). Messages in: `{ start: WriterStart }` once, `{ ipc: Uint8Array }` per batch, then
 * `{ end: true }` (finish the file) or `{ abort: true }` (stop, close the file). Messages out:
 * `{ taken: true }` each time a batch has been handed to the encoder (the sender's queue has room
 * again), then `{ done: true }` or `{ error: WorkerFailure }`.
 */
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { parentPort } from "node:worker_threads";
import { type ParquetWriteOptions, pw, writerProperties } from "../store/parquet-wasm.js";

/** What the writer thread writes: the file and its Parquet options. */
export interface WriterStart {
  /** The temporary file to create and write. */
  path: string;
  opts: ParquetWriteOptions;
}

/** An error of the writer thread, as plain data (what a file system error's handling needs). */
export interface WorkerFailure {
  message: string;
  name?: string;
  code?: string;
  path?: string;
  syscall?: string;
}

/** A message to the writer thread. */
export type WriterMessage = { start: WriterStart } | { ipc: Uint8Array } | { end: true } | { abort: true };

const port = parentPort!;

/** Messages after the start, as they arrive; `pending` wakes the encoder when one does. */
const queue: WriterMessage[] = [];
let pending: (() => void) | undefined;
let started: ((start: WriterStart) => void) | undefined;
const start = new Promise<WriterStart>((resolve) => (started = resolve));
port.on("message", (message: WriterMessage) => {
  if ("start" in message) started!(message.start);
  else queue.push(message);
  pending?.();
});

/** The next message after the start. */
async function next(): Promise<WriterMessage> {
  if (queue.length === 0) await new Promise<void>((resolve) => (pending = resolve));
  pending = undefined;
  return queue.shift()!;
}

async function write(): Promise<void> {
  const { path, opts } = await start;
  const input = new ReadableStream<pw.RecordBatch>({
    async pull(controller) {
      const message = await next();
      if ("end" in message) {
        controller.close();
        return;
      }
      if (!("ipc" in message)) throw new Error("aborted");
      port.postMessage({ taken: true });
      const table = pw.Table.fromIPCStream(message.ipc);
      for (const batch of table.recordBatches()) controller.enqueue(batch);
      // recordBatches() copies: free the table's wasm memory now (store/parquet.ts says why).
      table.free();
    },
  });
  const stream = await pw.transformParquetStream(input, writerProperties(opts));
  await stream.pipeTo(Writable.toWeb(createWriteStream(path, { flags: "wx" })));
}

write().then(
  () => port.postMessage({ done: true }),
  (err: NodeJS.ErrnoException) => {
    const failure: WorkerFailure = {
      message: err?.message ?? String(err),
      name: err?.name,
      code: err?.code,
      path: err?.path,
      syscall: err?.syscall,
    };
    port.postMessage({ error: failure });
  },
);
