/**
 * The GeoParquet writer thread: receives a result's record batches as Arrow IPC streams (their
 * buffers transferred, not copied), encodes them into Parquet row groups and appends them to the
 * temporary output file, or hands them back to the sender for a byte sink (an S3 upload), so the
 * Parquet encoding runs beside the query on another core. A result sent as plain columns is encoded
 * by the TypeScript encoder (geoparquet-encoder.ts) when it has no list columns, by parquet-wasm
 * through Arrow batches built here otherwise.
 *
 * Started before the first result's first batch (its module loading overlaps the query's first
 * requests) and kept for the next file: one thread writes one file after another. Messages in, per
 * file: `{ start: WriterStart }`, `{ ipc: Uint8Array }` or `{ columns: ResultColumns }` per batch (the
 * latter's typed arrays transferred; the thread builds the record batch, and with `columns` in the
 * start message the writer settings the batch's schema gives), then `{ end: true }` (finish the
 * file) or `{ abort: true }` (stop, close the file). Messages out: `{ taken: true }` each time a
 * batch has been handed to the encoder (the sender's queue has room again), for a start without a
 * path `{ bytes: Uint8Array }` per encoded piece (transferred; the next is sent once the sender
 * answers `{ written: true }`), then `{ done: true }` or `{ error: WorkerFailure }`. After an error or an abort the sender ends the thread instead of
 * reusing it, so no message of a failed file can reach the next one.
 */
import { createWriteStream } from "node:fs";
import { Writable } from "node:stream";
import { parentPort } from "node:worker_threads";
import type { ResultColumns } from "../result/columns.js";
import type { ParquetWriteOptions, pw as parquetWasm } from "../store/parquet-wasm.js";
import { isEncodable } from "./geoparquet-encoder.js";

/**
 * What turns plain columns into Arrow IPC here (apache-arrow, the result's Arrow schema), loaded as the
 * thread starts, while the query it writes for makes its first requests.
 */
const arrowSide = (async () => {
  const [{ Table, tableToIPC }, { resultBatch }, { writeOptionsOf }] = await Promise.all([
    import("apache-arrow"),
    import("../result/arrow.js"),
    import("./geoparquet-schema.js"),
  ]);
  return {
    /** A batch's columns as an Arrow IPC stream, with the batch's schema. */
    ipcOf(columns: ResultColumns) {
      const batch = resultBatch(columns);
      return { ipc: tableToIPC(new Table([batch]), "stream"), schema: batch.schema };
    },
    writeOptionsOf,
  };
})();
arrowSide.catch(() => undefined);

/** The TypeScript encoder and its zstd module, loaded as the thread starts. */
const encoderSide = (async () => {
  const [encode, zstd] = await Promise.all([import("./geoparquet-encode.js"), import("../parquet/zstd.js")]);
  await zstd.loadZstd();
  return encode;
})();
encoderSide.catch(() => undefined);

/** What the writer thread writes: the file and its Parquet options. */
export interface WriterStart {
  /** The temporary file to create and write; absent: the bytes go back to the sender. */
  path?: string;
  opts: ParquetWriteOptions;
  /**
   * The batches come as plain columns: `opts` is completed from the first batch's schema (its
   * columns' metadata and dictionary-encoded columns, export/geoparquet-schema.ts), after `geo`.
   */
  columns?: { geo: string; rowGroupSize?: number };
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
export type WriterMessage =
  | { start: WriterStart }
  | { ipc: Uint8Array }
  | { columns: ResultColumns }
  | { end: true }
  | { abort: true }
  | { written: true };

const port = parentPort!;

/** Messages as they arrive; `pending` wakes the encoder when one does. */
const queue: WriterMessage[] = [];
let pending: (() => void) | undefined;
/** Resolves when the sender has taken the last piece handed back (bytes going back to it). */
let written: (() => void) | undefined;
port.on("message", (message: WriterMessage) => {
  if ("written" in message) {
    written?.();
    return;
  }
  queue.push(message);
  pending?.();
});

/** Hands one encoded piece back to the sender and waits until it has taken it. */
function handBack(chunk: Uint8Array): Promise<void> {
  // A copy: the piece may be a view into the encoder's memory, which must not be transferred.
  const owned = chunk.slice();
  const taken = new Promise<void>((resolve) => (written = resolve));
  port.postMessage({ bytes: owned }, [owned.buffer as ArrayBuffer]);
  return taken;
}

/** The next message. */
async function next(): Promise<WriterMessage> {
  if (queue.length === 0) await new Promise<void>((resolve) => (pending = resolve));
  pending = undefined;
  return queue.shift()!;
}

/** A batch message as Arrow IPC; with its schema when it came as columns. */
async function ipcOf(
  message: WriterMessage,
): Promise<{ ipc: Uint8Array; schema?: import("apache-arrow").Schema }> {
  if ("ipc" in message) return { ipc: message.ipc };
  if ("columns" in message) return (await arrowSide).ipcOf(message.columns);
  throw new Error("aborted");
}

/** Writes one file: its batches until `end` (or an abort, which rejects). */
async function write({ path, opts, columns }: WriterStart): Promise<void> {
  // Sent as columns, the file's settings come from the first batch's schema, as on the calling thread.
  let held: WriterMessage | undefined;
  let heldIpc: Uint8Array | undefined;
  let settings = opts;
  if (columns) {
    held = await next();
    if ("columns" in held && isEncodable(held.columns)) return writeEncoded(held.columns, columns, path);
    if ("columns" in held) {
      const { ipc, schema } = await ipcOf(held);
      heldIpc = ipc;
      settings = (await arrowSide).writeOptionsOf(schema!, columns.geo, columns);
    }
  }
  // parquet-wasm (compiled as it loads) only for the files the TypeScript encoder leaves to it.
  const { pw, writerProperties } = await import("../store/parquet-wasm.js");
  const input = new ReadableStream<parquetWasm.RecordBatch>({
    async pull(controller) {
      const message = held ?? (await next());
      held = undefined;
      if ("end" in message) {
        controller.close();
        return;
      }
      const ipc = heldIpc ?? (await ipcOf(message)).ipc;
      heldIpc = undefined;
      port.postMessage({ taken: true });
      const table = pw.Table.fromIPCStream(ipc);
      for (const batch of table.recordBatches()) controller.enqueue(batch);
      // recordBatches() copies: free the table's wasm memory now (store/parquet.ts says why).
      table.free();
    },
  });
  const stream = await pw.transformParquetStream(input, writerProperties(settings));
  await stream.pipeTo(outputOf(path));
}

/** The file to create, or the sender (a byte sink's pieces handed back). */
function outputOf(path: string | undefined): WritableStream<Uint8Array> {
  return path === undefined
    ? new WritableStream<Uint8Array>({ write: handBack })
    : Writable.toWeb(createWriteStream(path, { flags: "wx" }));
}

/**
 * Writes one file of plain columns with the TypeScript encoder (export/geoparquet-encoder.ts; no
 * Arrow batches, no parquet-wasm), from the first batch until `end`.
 */
async function writeEncoded(
  first: ResultColumns,
  start: NonNullable<WriterStart["columns"]>,
  path: string | undefined,
): Promise<void> {
  const { encodeResultColumns } = await encoderSide;
  port.postMessage({ taken: true });
  const more = async () => {
    const message = await next();
    if ("end" in message) return undefined;
    if (!("columns" in message)) throw new Error("aborted");
    port.postMessage({ taken: true });
    return message.columns;
  };
  await encodeResultColumns(first, more, start, outputOf(path));
}

/** An error as plain data for the sender. */
function failureOf(err: NodeJS.ErrnoException): WorkerFailure {
  return {
    message: err?.message ?? String(err),
    name: err?.name,
    code: err?.code,
    path: err?.path,
    syscall: err?.syscall,
  };
}

/** One file after another, for as long as the thread lives. */
async function serve(): Promise<never> {
  for (;;) {
    const message = await next();
    // Only a start opens a file; anything else here is left of a file already answered.
    if (!("start" in message)) continue;
    try {
      await write(message.start);
      port.postMessage({ done: true });
    } catch (err) {
      port.postMessage({ error: failureOf(err as NodeJS.ErrnoException) });
    }
  }
}

void serve();
