/**
 * The part encoder's thread (part-encoder.ts): takes inputs' rows, encodes file groups ahead while
 * no message waits, and answers `finish` with the part set's files (their bytes moved, not copied).
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  cellsOfChunks,
  type PartEncoderInit,
  type PartEncoderReply,
  type PartEncoderRequest,
  PartEncoderState,
} from "./part-encoder.js";
import { loadPartEncoding } from "./parts.js";

const state = new PartEncoderState((workerData as PartEncoderInit).tileMinRows);
let scheduled = false;

/** One early encode per turn, so that a `finish` waiting behind it is taken next. */
function encodeAhead(): void {
  scheduled = false;
  if (state.encodeAhead()) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(encodeAhead);
}

// Requests wait for the page codec (zstd) to load; a codec that cannot load fails `finish`.
let loaded: boolean | string = false;
const waiting: PartEncoderRequest[] = [];
loadPartEncoding().then(
  () => {
    loaded = true;
    for (const request of waiting.splice(0)) handle(request);
  },
  (err: unknown) => {
    loaded = String(err);
    for (const request of waiting.splice(0)) handle(request);
  },
);

parentPort!.on("message", (request: PartEncoderRequest) => {
  if (loaded === false) waiting.push(request);
  else handle(request);
});

function handle(request: PartEncoderRequest): void {
  if (typeof loaded === "string") {
    if (request.kind === "finish") parentPort!.postMessage({ error: loaded } satisfies PartEncoderReply);
    return;
  }
  if (request.kind === "add") {
    const batch = request.batch;
    if (request.cellsFromChunks) batch.chunkCells = cellsOfChunks(batch.chunks);
    state.add(request.index, batch);
    schedule();
    return;
  }
  let reply: PartEncoderReply;
  try {
    reply = { set: state.finish(request.indices) };
  } catch (err) {
    parentPort!.postMessage({ error: String(err) } satisfies PartEncoderReply);
    return;
  }
  // Bytes that are a buffer of their own (copied out of the Parquet library's memory) are moved.
  const own = reply.set.files
    .map((f) => f.bytes)
    .filter(
      (b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer,
    );
  parentPort!.postMessage(reply, [...new Set(own.map((b) => b.buffer as ArrayBuffer))]);
}
