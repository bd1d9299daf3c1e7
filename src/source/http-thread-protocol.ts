/** Messages between the calling thread and the network thread (http-thread.ts, http-thread-worker.ts). */
import { type BearerTokenOptions, withBearerToken } from "./earthdata.js";
import { socketTransport } from "./http-socket.js";
import { fetchTransport, type HttpCall, type HttpTransport, nodeTransport } from "./http-transport.js";

/** A request as the network thread gets it. */
export interface ThreadRequest {
  type: "request";
  id: number;
  url: string;
  method: HttpCall["method"];
  headers: Record<string, string>;
  /** `node`: node:http(s) for http: URLs too (`HttpSourceOptions.client`). */
  client: "auto" | "node";
  /** Sent through the global `fetch` with this token (`HttpSourceOptions.bearer`). */
  bearer: BearerTokenOptions | undefined;
  /** Shared memory the body may be read into (see `HttpCall.into`). */
  into: Uint8Array | undefined;
}

/** Stops a request (`abort`) or drops the rest of its body (`cancel`). */
export interface ThreadStop {
  type: "abort" | "cancel";
  id: number;
}

/** What the network thread sends back; `end` and `error` are a request's last message. */
export type ThreadMessage =
  | { type: "head"; id: number; status: number; headers: [string, string][] }
  | { type: "piece"; id: number; bytes: Uint8Array }
  | { type: "progress"; id: number }
  /** `inPlace`: the whole body was written into the request's `into`. */
  | { type: "end"; id: number; inPlace: boolean }
  | { type: "error"; id: number; error: SentError };

/** An error as it crosses threads: its message and system-like code, and its cause's. */
export interface SentError {
  message: string;
  code?: string;
  cause?: { message: string; code?: string };
}

export function sendableError(err: unknown): SentError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = codeOf(e);
  const cause = e.cause instanceof Error ? { message: e.cause.message, code: codeOf(e.cause) } : undefined;
  return { message: e.message, code, cause };
}

function codeOf(err: Error): string | undefined {
  return "code" in err && typeof err.code === "string" ? err.code : undefined;
}

export function receivedError(sent: SentError): Error {
  const cause = sent.cause && Object.assign(new Error(sent.cause.message), { code: sent.cause.code });
  return Object.assign(new Error(sent.message, cause ? { cause } : undefined), { code: sent.code });
}

/**
 * How a request is sent on whichever thread sends it: `fetch` with the token when a bearer token is
 * set, the plain-TCP reader for http: (unless `client` is `node`), node:http(s) else. The readers
 * keep their connections per thread, so a transport made per request costs a closure.
 */
export function transportFor(
  url: string,
  client: "auto" | "node",
  bearer: BearerTokenOptions | undefined,
): HttpTransport {
  if (bearer) return fetchTransport(withBearerToken(bearer));
  return url.startsWith("http:") && client !== "node" ? socketTransport() : nodeTransport();
}
