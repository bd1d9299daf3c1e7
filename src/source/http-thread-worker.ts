/**
 * The network thread's script (http-thread.ts starts it): sends each request it is given over the
 * plain-TCP reader (http:) or node:http(s), or with a bearer token through the global `fetch`
 * (earthdata.ts), and sends back the head, the body and the end. A body the caller lent shared memory
 * for (`into`) is written there: in place by the plain-TCP reader, by one copy here from node:https's
 * or fetch's pieces; every other piece is sent as a copy.
 */
import { parentPort } from "node:worker_threads";
import {
  sendableError,
  type ThreadMessage,
  type ThreadRequest,
  type ThreadStop,
  transportFor,
} from "./http-thread-protocol.js";
import type { HttpReply } from "./http-transport.js";

/** Most often a request's progress is sent, ms: the caller's stall timer needs no finer grain. */
const PROGRESS_MS = 100;

const port = parentPort!;
/** Requests in flight: how to stop each, and its reply once the head is in. */
const running = new Map<number, { stop: AbortController; reply?: HttpReply }>();

function send(m: ThreadMessage, transfer?: ArrayBuffer[]): void {
  port.postMessage(m, transfer);
}

port.on("message", (m: ThreadRequest | ThreadStop) => {
  if (m.type === "request") {
    void exchange(m);
    return;
  }
  const run = running.get(m.id);
  if (m.type === "abort") run?.stop.abort();
  else void run?.reply?.cancel();
});

/** A piece of a body as the caller gets it: its own buffer, sent without a copy when it has one. */
function sendPiece(id: number, piece: Uint8Array): void {
  const own =
    !Buffer.isBuffer(piece) &&
    piece.buffer instanceof ArrayBuffer &&
    piece.byteOffset === 0 &&
    piece.byteLength === piece.buffer.byteLength;
  const bytes = own ? piece : new Uint8Array(piece);
  send({ type: "piece", id, bytes }, [bytes.buffer as ArrayBuffer]);
}

async function exchange(m: ThreadRequest): Promise<void> {
  const stop = new AbortController();
  const run: { stop: AbortController; reply?: HttpReply } = { stop };
  running.set(m.id, run);
  let last = 0;
  const progress = () => {
    const now = performance.now();
    if (now - last < PROGRESS_MS) return;
    last = now;
    send({ type: "progress", id: m.id });
  };
  const into = m.into;
  try {
    const transport = transportFor(m.url, m.client, m.bearer);
    const reply = await transport(m.url, {
      method: m.method,
      headers: m.headers,
      signal: stop.signal,
      progress,
      into,
    });
    run.reply = reply;
    send({ type: "head", id: m.id, status: reply.status, headers: reply.headerEntries() });
    // A 206 of the lent buffer's length is copied into it when the transport hands it in pieces.
    let fill =
      into !== undefined && reply.status === 206 && Number(reply.header("content-length")) === into.length;
    let at = 0;
    let inPlace = false;
    for (;;) {
      const piece = await reply.read();
      if (piece === undefined) break;
      progress();
      if (piece === into) {
        inPlace = true;
        continue;
      }
      if (fill && at + piece.length <= into!.length) {
        into!.set(piece, at);
        at += piece.length;
        continue;
      }
      if (fill) {
        // Longer than it said: what was copied goes first, then the pieces as they come.
        fill = false;
        if (at > 0) sendPiece(m.id, into!.subarray(0, at));
      }
      sendPiece(m.id, piece);
    }
    if (fill && at === into!.length) inPlace = true;
    else if (fill && at > 0) sendPiece(m.id, into!.subarray(0, at));
    send({ type: "end", id: m.id, inPlace });
  } catch (err) {
    send({ type: "error", id: m.id, error: sendableError(err) });
  } finally {
    running.delete(m.id);
  }
}
