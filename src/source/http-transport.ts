/**
 * How the HTTP source sends one request: the smallest response interface it needs, over node:http
 * with keep-alive agents (the default) or over a `fetch`-compatible function (where auth goes).
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";

/** A `fetch`-compatible function; wrap the global `fetch` to add tokens or request signing. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** One response as the HTTP source reads it. */
export interface HttpReply {
  status: number;
  /** A response header by lower-case name; null when absent. */
  header(name: string): string | null;
  /** Every response header, names in lower case (a repeated one joined with ", "). */
  headerEntries(): [string, string][];
  /** The next piece of the body; undefined at its end. Rejects when the connection fails mid-body. */
  read(): Promise<Uint8Array | undefined>;
  /** Drops the rest of the body (and, mid-body, its connection). */
  cancel(): Promise<void>;
}

/** One request: method, headers by lower-case name, and a signal that aborts it. */
export interface HttpCall {
  method: "GET" | "HEAD";
  headers: Record<string, string>;
  signal: AbortSignal;
  /**
   * Called whenever bytes of the response arrive, by transports that hand a body over in larger pieces
   * than they receive it (the stall timer must not count a long body's transfer as silence).
   */
  progress?: () => void;
  /**
   * A buffer a transport may read the body into when it is a 206 of exactly this length (the network
   * thread lends its lines this way, in shared memory); the body handed out is then this buffer.
   */
  into?: Uint8Array;
}

/** Sends one request and resolves with its response once the headers are in. */
export type HttpTransport = (url: string, call: HttpCall) => Promise<HttpReply>;

/** A transport over a `fetch`-compatible function. */
export function fetchTransport(fetchLike: FetchLike): HttpTransport {
  return async (url, call) => {
    const res = await fetchLike(url, { method: call.method, headers: call.headers, signal: call.signal });
    const reader = res.body?.getReader();
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      headerEntries: () => {
        const entries: [string, string][] = [];
        res.headers.forEach((value, name) => {
          entries.push([name, value]);
        });
        return entries;
      },
      async read() {
        if (!reader) return undefined;
        const chunk = await reader.read();
        return chunk.done ? undefined : chunk.value;
      },
      async cancel() {
        await reader?.cancel();
      },
    };
  };
}

/** Sends a request with a module's `request` and its keep-alive agent. */
type Sender = (target: URL, options: RequestOptions) => ClientRequest;

/**
 * Connections kept open between requests, shared by every source of the process as `fetch` shares its
 * dispatcher: a query's requests to one host reuse sockets instead of a TCP (and TLS) handshake each.
 * node:http and node:https are loaded on first use (node:https alone costs 20-40 ms of start-up).
 */
const SENDERS = new Map<string, Promise<Sender>>();

function senderOf(protocol: string): Promise<Sender> {
  let sender = SENDERS.get(protocol);
  if (!sender) {
    sender = (protocol === "https:" ? import("node:https") : import("node:http")).then((m) => {
      const agent: Agent = new m.Agent({ keepAlive: true, scheduling: "lifo" });
      return (target, options) => m.request(target, { ...options, agent });
    });
    SENDERS.set(protocol, sender);
  }
  return sender;
}

/**
 * The default transport: node:http(s) with keep-alive agents. Measured (bench/http-client.ts) to cost
 * a fraction of the client CPU per range request that the global `fetch` does, which matters when a
 * query has a hundred requests in flight on one event loop.
 */
export function nodeTransport(): HttpTransport {
  return async (url, call) => {
    const target = new URL(url);
    const send = await senderOf(target.protocol);
    return new Promise<HttpReply>((resolve, reject) => {
      const { signal } = call;
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const req = send(target, { method: call.method, headers: call.headers });
      // The signal is followed by hand and nothing is destroyed with an error: a torn-down request or
      // response must not raise an error event after its reader has gone.
      let response: IncomingMessage | undefined;
      const onAbort = () => {
        if (response) response.destroy();
        else {
          req.destroy();
          reject(signal.reason);
        }
      };
      const done = () => signal.removeEventListener("abort", onAbort);
      signal.addEventListener("abort", onAbort, { once: true });
      // Errors after the response reach its reader (see replyOf); before it, they reject.
      req.on("error", (err) => {
        done();
        reject(err);
      });
      req.once("response", (res) => {
        response = res;
        resolve(replyOf(res, call.method, done));
      });
      req.end();
    });
  };
}

/** Bodies drained rather than cut when cancelled, bytes: cheaper than a new connection's handshake. */
const SHORT_BODY_BYTES = 64 * 1024;

/** A node:http response read piece by piece in paused mode (no copy, no stream adapter). */
function replyOf(res: IncomingMessage, method: HttpCall["method"], done: () => void): HttpReply {
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  res.on("readable", notify);
  res.once("end", () => {
    ended = true;
    done();
    notify();
  });
  res.on("error", (err) => {
    failure ??= err;
    notify();
  });
  res.once("close", () => {
    if (!ended && !res.complete) failure ??= Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    done();
    notify();
  });
  return {
    status: res.statusCode ?? 0,
    header(name) {
      const value = res.headers[name];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
    headerEntries() {
      return Object.entries(res.headers).flatMap(([name, value]): [string, string][] =>
        value === undefined ? [] : [[name, Array.isArray(value) ? value.join(", ") : value]],
      );
    },
    async read() {
      for (;;) {
        const chunk = res.read() as Buffer | null;
        if (chunk !== null) return chunk;
        if (failure) throw failure;
        if (ended) return undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async cancel() {
      if (ended) return;
      // A short body (an error page, a HEAD's none) is drained so its socket is reused; a long one is cut.
      const length = Number(res.headers["content-length"] ?? Number.POSITIVE_INFINITY);
      if (method === "HEAD" || length <= SHORT_BODY_BYTES) res.resume();
      else res.destroy();
    },
  };
}
