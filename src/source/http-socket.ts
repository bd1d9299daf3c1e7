/**
 * A small HTTP/1.1 client over plain TCP for range GETs: keep-alive connections per origin, status and
 * headers parsed by hand, Content-Length, chunked and read-to-close bodies. A 206 body with a
 * Content-Length is read by the kernel straight into the buffer handed to the caller (the socket's
 * `onread` buffer is the body itself), so a 4 MiB line costs no copy and no garbage of 64 KiB pieces;
 * everything else (error pages, whole objects, chunked bodies) comes out in copied pieces, as from
 * node:http. `onread` is a `net.Socket` option that TLS sockets do not take: https: stays on node:https.
 */
import type { Socket } from "node:net";
import { connect } from "node:net";
import { BodyPieces } from "./body-pieces.js";
import type { HttpCall, HttpReply, HttpTransport } from "./http-transport.js";
import { linePool } from "./line-pool.js";

/** Bytes of each connection's buffer for response heads and bodies read in pieces. */
const SCRATCH_BYTES = 64 * 1024;

/** Largest response head (status line and headers), bytes; node:http's default is 16 KiB. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Largest 206 body read in place, bytes; a longer one (a claimed length the caller did not ask for,
 * say) comes in pieces, and the HTTP source's length check fails it as soon as it passes the range.
 */
const MAX_IN_PLACE_BYTES = 1024 * 1024 * 1024;

/** Bodies drained rather than cut when cancelled, bytes: cheaper than a new connection's handshake. */
const SHORT_BODY_BYTES = 64 * 1024;

/** Idle connections kept open for later requests, per origin (scheme, host and port). */
const IDLE = new Map<string, Connection[]>();

/** An error as node's network layer reports it: a message and a system-like code. */
function netError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Header names and values that could split a request (CR, LF, NUL) are refused, as node:http does. */
const UNSAFE_HEADER = /[\r\n\0]/;

/**
 * The plain-TCP transport: one request at a time per connection, connections reused while the server
 * keeps them alive (`Connection: close`, HTTP/1.0 without keep-alive, a body read to the close, or a
 * `Keep-Alive: timeout` about to expire end them). A request whose reused connection turns out closed
 * before any byte of the answer is sent again once on a new connection, as the connection, not the
 * server, failed. Only http: URLs; anything else rejects.
 */
export function socketTransport(): HttpTransport {
  return async (url, call) => {
    const target = new URL(url);
    if (target.protocol !== "http:")
      throw new TypeError(`socket transport serves http: only, not ${target.protocol}`);
    call.signal.throwIfAborted();
    const head = requestHead(target, call);
    const origin = `${target.hostname}:${target.port || "80"}`;
    for (;;) {
      const reused = takeIdle(origin);
      const conn = reused ?? new Connection(target, origin);
      try {
        return await conn.send(head, call);
      } catch (err) {
        if (!(reused && err instanceof StaleConnection) || call.signal.aborted) {
          throw err instanceof StaleConnection ? err.cause : err;
        }
      }
    }
  };
}

/** The request line and headers of one call. */
function requestHead(target: URL, call: HttpCall): string {
  let head = `${call.method} ${target.pathname}${target.search} HTTP/1.1\r\n`;
  let host = false;
  let connection = false;
  for (const [name, value] of Object.entries(call.headers)) {
    if (UNSAFE_HEADER.test(name) || UNSAFE_HEADER.test(value) || name.includes(":")) {
      throw new TypeError(`invalid character in header ${JSON.stringify(name)}`);
    }
    const lower = name.toLowerCase();
    host ||= lower === "host";
    connection ||= lower === "connection";
    head += `${name}: ${value}\r\n`;
  }
  if (!host) head = head.replace("\r\n", `\r\nhost: ${target.host}\r\n`);
  if (!connection) head += "connection: keep-alive\r\n";
  return `${head}\r\n`;
}

/** The newest idle connection of an origin that is still usable (LIFO, as the node:http agent). */
function takeIdle(origin: string): Connection | undefined {
  const idle = IDLE.get(origin);
  while (idle && idle.length > 0) {
    const conn = idle.pop()!;
    if (conn.usable()) return conn;
    conn.destroy();
  }
  return undefined;
}

/** A reused connection closed or reset before any byte of the answer came; `cause` is what happened. */
class StaleConnection extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** How a response's body is delimited. */
type Framing = "none" | "length" | "chunked" | "close";

/** One response being read on a connection. */
interface Exchange {
  call: HttpCall;
  resolve(reply: HttpReply): void;
  reject(err: unknown): void;
  /** Stops following the call's signal (the exchange is over). */
  release(): void;
  /** Response bytes seen, head included (0: the connection may have been stale). */
  seen: number;
  /** The head so far, when it spans reads. */
  head: Buffer | undefined;
  reply: SocketReply | undefined;
}

/** A keep-alive connection: one exchange at a time. */
class Connection {
  readonly #socket: Socket;
  readonly #origin: string;
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  #exchange: Exchange | undefined;
  #connected = false;
  #closed = false;
  #idleUntil = Number.POSITIVE_INFINITY;

  constructor(target: URL, origin: string) {
    this.#origin = origin;
    const host = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
    this.#socket = connect({
      host,
      port: Number(target.port || 80),
      onread: {
        buffer: () => this.#nextBuffer(),
        callback: (n, buf) => {
          this.#onRead(n, buf);
          return true;
        },
      },
    });
    this.#socket.setNoDelay(true);
    this.#socket.once("connect", () => {
      this.#connected = true;
    });
    this.#socket.on("error", (err) => this.#fail(err));
    this.#socket.on("end", () => this.#onEnd());
    this.#socket.once("close", () => this.#onEnd());
  }

  /** Whether an idle connection can take a request now. */
  usable(): boolean {
    return !this.#closed && !this.#socket.destroyed && Date.now() < this.#idleUntil;
  }

  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  /** Sends one request; resolves with the response once its head is in. */
  send(head: string, call: HttpCall): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      const { signal } = call;
      const onAbort = () => {
        this.destroy();
        if (exchange.reply) exchange.reply.fail(netError("aborted", "ECONNRESET"));
        else reject(signal.reason);
      };
      const exchange: Exchange = {
        call,
        resolve,
        reject,
        release: () => signal.removeEventListener("abort", onAbort),
        seen: 0,
        head: undefined,
        reply: undefined,
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#exchange = exchange;
      this.#socket.ref();
      this.#socket.write(head, "latin1");
    });
  }

  /** The buffer the next socket read goes into: the rest of a 206 body, else the scratch buffer. */
  #nextBuffer(): Uint8Array {
    const reply = this.#exchange?.reply;
    return reply?.direct() ?? this.#scratch;
  }

  #onRead(n: number, buf: Uint8Array): void {
    try {
      this.#read(n, buf);
    } catch (err) {
      // Nothing thrown here may escape into the socket's read loop: it fails this connection only.
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      this.destroy();
    }
  }

  #read(n: number, buf: Uint8Array): void {
    const exchange = this.#exchange;
    if (!exchange) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.destroy();
      return;
    }
    exchange.seen += n;
    exchange.call.progress?.();
    if (buf !== this.#scratch) {
      exchange.reply!.filled(n);
      this.#afterBody(exchange);
      return;
    }
    this.#take(exchange, this.#scratch.subarray(0, n));
  }

  /** Feeds response bytes read into the scratch buffer (valid only during this call). */
  #take(exchange: Exchange, bytes: Buffer): void {
    let rest = bytes;
    while (!exchange.reply) {
      const joined: Buffer = exchange.head ? Buffer.concat([exchange.head, rest]) : rest;
      const end = joined.indexOf("\r\n\r\n", 0, "latin1");
      if (end < 0) {
        if (joined.length > MAX_HEAD_BYTES) {
          this.#protocolError("response head too long");
          return;
        }
        exchange.head = Buffer.from(joined);
        return;
      }
      exchange.head = undefined;
      const parsed = parseHead(joined.toString("latin1", 0, end));
      rest = joined.subarray(end + 4);
      if (!parsed) {
        this.#protocolError("malformed response head");
        return;
      }
      // Informational answers (100 Continue and the like) precede the real one.
      if (parsed.status >= 100 && parsed.status < 200 && parsed.status !== 101) continue;
      const reply = new SocketReply(parsed, exchange.call, this);
      exchange.reply = reply;
      exchange.resolve(reply);
    }
    if (rest.length > 0) {
      if (!exchange.reply.push(rest)) {
        this.#protocolError("malformed body");
        return;
      }
    }
    this.#afterBody(exchange);
  }

  /** Once a body is complete: hands the connection back to the pool or closes it. */
  #afterBody(exchange: Exchange): void {
    const reply = exchange.reply;
    if (!reply?.complete) return;
    this.#exchange = undefined;
    exchange.release();
    if (!reply.reusable || this.#closed) {
      this.destroy();
      return;
    }
    this.#idleUntil =
      reply.keepAliveMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + reply.keepAliveMs;
    this.#socket.unref();
    let idle = IDLE.get(this.#origin);
    if (!idle) {
      idle = [];
      IDLE.set(this.#origin, idle);
    }
    idle.push(this);
  }

  /** Called by a reply when its reader gives up on the body. */
  abandon(reply: SocketReply): void {
    if (this.#exchange?.reply === reply) this.destroy();
  }

  #protocolError(what: string): void {
    this.#fail(netError(`${what} from ${this.#origin}`, "HPE_INVALID_RESPONSE"));
    this.destroy();
  }

  #onEnd(): void {
    const exchange = this.#exchange;
    if (exchange?.reply && !exchange.reply.complete && exchange.reply.framing === "close") {
      exchange.reply.finish();
      this.#afterBody(exchange);
      return;
    }
    this.#fail(netError(this.#connected ? "socket hang up" : "connection closed", "ECONNRESET"));
    this.destroy();
  }

  #fail(err: Error): void {
    this.#closed = true;
    const exchange = this.#exchange;
    if (!exchange) {
      // Closed while idle (the server's idle timeout): out of the pool at once.
      const idle = IDLE.get(this.#origin);
      const at = idle?.indexOf(this) ?? -1;
      if (at >= 0) idle!.splice(at, 1);
      return;
    }
    this.#exchange = undefined;
    exchange.release();
    if (exchange.reply) exchange.reply.fail(exchange.reply.complete ? err : aborted(err));
    else exchange.reject(exchange.seen === 0 && this.#connected ? new StaleConnection(err) : err);
  }
}

/** node:http's error for a response cut short. */
function aborted(cause: Error): Error {
  return Object.assign(new Error("aborted"), { code: "ECONNRESET", cause });
}

interface Head {
  status: number;
  version: string;
  headers: Map<string, string>;
}

/** Parses a response head (status line and header lines, without the final blank line). */
function parseHead(text: string): Head | undefined {
  const lines = text.split("\r\n");
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return { status: Number(m[2]), version: m[1]!, headers };
}

/** One response: its head, and its body as one buffer (206 with a length) or as copied pieces. */
class SocketReply implements HttpReply {
  readonly status: number;
  readonly framing: Framing;
  readonly reusable: boolean;
  readonly keepAliveMs: number | undefined;
  complete = false;
  readonly #headers: Map<string, string>;
  readonly #conn: Connection;
  /** Body bytes still to come (length framing) or of the current chunk (chunked). */
  #left = 0;
  /** The body read in place (206 with a length). */
  #body: Uint8Array | undefined;
  #at = 0;
  readonly #pieces = new BodyPieces();
  #cancelled = false;
  /** Chunked framing: the chunk-size line so far, and where the decoder is. */
  #line = "";
  #state: "size" | "data" | "data-end" | "trailer" = "size";

  constructor(head: Head, call: HttpCall, conn: Connection) {
    const method = call.method;
    this.status = head.status;
    this.#headers = head.headers;
    this.#conn = conn;
    const te = head.headers.get("transfer-encoding");
    const cl = head.headers.get("content-length");
    const connection = head.headers.get("connection")?.toLowerCase() ?? "";
    if (method === "HEAD" || head.status === 204 || head.status === 304) this.framing = "none";
    else if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) this.framing = "chunked";
    else if (cl !== undefined && /^\d+$/.test(cl)) {
      this.framing = "length";
      this.#left = Number(cl);
    } else this.framing = "close";
    const keepAlive =
      head.version === "1.1" ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    this.reusable = keepAlive && this.framing !== "close";
    const timeout = /\btimeout=(\d+)/i.exec(head.headers.get("keep-alive") ?? "")?.[1];
    // A second's margin, so a connection is not taken just as the server closes it.
    this.keepAliveMs = timeout === undefined ? undefined : Math.max(0, Number(timeout) * 1000 - 1000);
    if (this.framing === "none" || (this.framing === "length" && this.#left === 0)) {
      this.complete = true;
      this.#pieces.end();
    } else if (this.framing === "length" && head.status === 206 && this.#left <= MAX_IN_PLACE_BYTES) {
      // The caller's buffer when it has the body's length, else one from the line pool, where the index
      // gives its lines back (uninitialised memory is fine: the body is handed out only once every byte
      // has been written).
      this.#body = call.into?.length === this.#left ? call.into : linePool.take(this.#left);
    }
  }

  header(name: string): string | null {
    return this.#headers.get(name) ?? null;
  }

  headerEntries(): [string, string][] {
    return [...this.#headers];
  }

  /** The rest of an in-place body, for the next socket read; undefined when reading into scratch. */
  direct(): Uint8Array | undefined {
    if (!this.#body || this.complete) return undefined;
    return this.#body.subarray(this.#at);
  }

  /** `n` bytes were read straight into the body. */
  filled(n: number): void {
    this.#at += n;
    this.#left -= n;
    if (this.#left === 0) this.finish();
  }

  /** Takes body bytes read into scratch (copied before returning); false on a malformed chunked body. */
  push(bytes: Uint8Array): boolean {
    if (this.complete) return false;
    if (this.framing === "chunked") return this.#chunked(bytes);
    if (this.framing === "length" && bytes.length > this.#left) return false;
    if (this.#body) {
      this.#body.set(bytes, this.#at);
      this.#at += bytes.length;
    } else if (!this.#cancelled) this.#pieces.push(new Uint8Array(bytes));
    if (this.framing === "length") {
      this.#left -= bytes.length;
      if (this.#left === 0) this.finish();
    }
    return true;
  }

  #chunked(bytes: Uint8Array): boolean {
    let i = 0;
    while (i < bytes.length) {
      if (this.#state === "data") {
        const n = Math.min(this.#left, bytes.length - i);
        if (!this.#cancelled) this.#pieces.push(new Uint8Array(bytes.subarray(i, i + n)));
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = "data-end";
        continue;
      }
      const nl = bytes.indexOf(10, i);
      const end = nl < 0 ? bytes.length : nl;
      this.#line += Buffer.from(bytes.buffer, bytes.byteOffset + i, end - i).toString("latin1");
      if (this.#line.length > 4096) return false;
      i = end;
      if (nl < 0) break;
      i += 1;
      const line = this.#line.replace(/\r$/, "");
      this.#line = "";
      if (this.#state === "data-end") {
        if (line !== "") return false;
        this.#state = "size";
      } else if (this.#state === "size") {
        const m = /^([0-9a-fA-F]{1,12})(?:\s*;.*)?$/.exec(line.trim());
        if (!m) return false;
        this.#left = Number.parseInt(m[1]!, 16);
        this.#state = this.#left === 0 ? "trailer" : "data";
      } else if (line === "") {
        // The blank line after the (ignored) trailer fields ends the body.
        if (i < bytes.length) return false;
        this.finish();
        return true;
      }
    }
    return true;
  }

  finish(): void {
    this.complete = true;
    if (this.#body && !this.#cancelled) this.#pieces.push(this.#body);
    this.#body = undefined;
    this.#pieces.end();
  }

  fail(err: Error): void {
    this.#body = undefined;
    this.#pieces.fail(err);
  }

  read(): Promise<Uint8Array | undefined> {
    return this.#pieces.read();
  }

  async cancel(): Promise<void> {
    if (this.complete || this.#cancelled) return;
    this.#cancelled = true;
    this.#pieces.drop();
    // A short body (an error page, a HEAD's none) is drained so its connection is reused; a long one is cut.
    const short = this.framing === "length" && this.#left <= SHORT_BODY_BYTES;
    if (!short) this.#conn.abandon(this);
  }
}
