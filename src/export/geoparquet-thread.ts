/**
 * The sending side of a GeoParquet writer thread (geoparquet-worker.ts): streams a result's batches to
 * the thread, as Arrow IPC (geoparquet.ts) or as plain columns (geoparquet-columns.ts), with a bounded
 * queue, and hands the thread back for the next file. Loads no apache-arrow: the message of each batch
 * is made by the caller.
 */

import type { WorkerFailure, WriterMessage, WriterStart } from "./geoparquet-worker.js";
import type { ByteSink } from "./sink.js";
import { canKeepWriterThread, keepWriterThread, takeWriterThread } from "./writer-threads.js";

/** One batch as a message to the writer thread: the buffers it transfers and its rows. */
export interface BatchMessage {
  message: WriterMessage;
  transfer: ArrayBuffer[];
  rows: number;
}

/**
 * Rows handed to the writer thread and not yet taken by its encoder, at most: a bound on the memory
 * the queue holds (~10 MB of Arrow IPC for a query result). Two row groups of the default size
 * (65 536 rows, store/parquet-wasm.ts), because the thread takes nothing while it encodes a row
 * group: a queue of a few batches (it was 8, ~7 000 rows) fills up during each row group's encoding
 * and stops the main thread from pulling the result, so the query's next requests wait on the
 * encoder (on the loaded 2-core machine the Greenland query over 24 subsetted-size granules took
 * 15.6-16.8 s at 20 ms with it, 7.6-9.2 s on the calling thread).
 */
const MAX_QUEUED_ROWS = 2 * 65_536;

/** An error of the writer thread as an Error with its file system fields (code, path, syscall). */
function failureError(failure: WorkerFailure): Error {
  return Object.assign(new Error(failure.message), {
    code: failure.code,
    path: failure.path,
    syscall: failure.syscall,
  });
}

/** A writer thread of {@link startWriterThread}. */
export type WriterThread = ReturnType<typeof startWriterThread>;

/**
 * A writer thread: `write` streams the batches to it and resolves with the rows once the file is
 * complete, written by the thread to a path, or handed back piece by piece to a sink.
 */
export function startWriterThread() {
  const worker = takeWriterThread();
  let queued = 0;
  /** Rows of the batches sent and not yet taken, oldest first. */
  const sent: number[] = [];
  let wake: (() => void) | undefined;
  let settled = false;
  let clean = false;
  let sink: ByteSink | undefined;
  const listeners = {
    message(message: { taken?: true; done?: true; error?: WorkerFailure; bytes?: Uint8Array }) {
      if (message.bytes) {
        // The thread waits for this answer before sending more: the pieces arrive in order.
        sink!.write(message.bytes).then(
          () => send({ written: true }),
          (err: Error) => rejectFinished(err),
        );
        return;
      }
      if (message.taken) queued -= sent.shift() ?? 0;
      else if (message.done) resolveFinished();
      else if (message.error) rejectFinished(failureError(message.error));
      wake?.();
    },
    error: (err: Error) => rejectFinished(err),
    exit: (code: number) =>
      rejectFinished(new Error(`the GeoParquet writer thread stopped (exit code ${code})`)),
  };
  let resolveFinished: () => void = () => {};
  let rejectFinished: (err: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  worker.on("message", listeners.message);
  worker.on("error", listeners.error);
  worker.on("exit", listeners.exit);
  const onSettled = () => {
    settled = true;
    wake?.();
  };
  finished.then(() => {
    clean = true;
    onSettled();
  }, onSettled);
  const send = (message: WriterMessage, transfer?: ArrayBuffer[]) => worker.postMessage(message, transfer);
  let opened = false;
  return {
    async write<T>(
      target: string | ByteSink,
      start: Omit<WriterStart, "path">,
      first: IteratorResult<T>,
      iterator: AsyncIterator<T>,
      messageOf: (batch: T) => BatchMessage,
    ): Promise<number> {
      if (typeof target === "string") send({ start: { ...start, path: target } });
      else {
        sink = target;
        send({ start });
      }
      opened = true;
      let rows = 0;
      try {
        for (let next = first; !next.done && !settled; next = await iterator.next()) {
          const batch = messageOf(next.value);
          rows += batch.rows;
          send(batch.message, batch.transfer);
          sent.push(batch.rows);
          queued += batch.rows;
          while (queued >= MAX_QUEUED_ROWS && !settled) await new Promise<void>((r) => (wake = r));
        }
        if (!settled) send({ end: true });
        await finished;
        return rows;
      } catch (err) {
        await iterator.return?.();
        throw err;
      }
    },
    /**
     * Hands the thread back for the next file when it finished this one cleanly; otherwise stops it
     * (an unfinished file is closed first, and the caller removes it).
     */
    async close(): Promise<void> {
      worker.off("message", listeners.message);
      worker.off("error", listeners.error);
      worker.off("exit", listeners.exit);
      if ((clean || (!opened && !settled)) && canKeepWriterThread()) {
        keepWriterThread(worker);
        return;
      }
      // A sink's owner discards what it was given; the thread may be waiting on a piece's answer.
      if (opened && !settled && !sink) {
        worker.on("message", listeners.message);
        send({ abort: true });
        await finished.catch(() => {});
        worker.off("message", listeners.message);
      }
      await worker.terminate();
    },
  };
}
