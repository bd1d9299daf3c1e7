/** The range server in its own process (bench/lib/server-child.ts), driven over IPC. */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RangeServerStats } from "../../fixtures/servers/range-server.js";

/** The server's counters, with the CPU seconds (user + system) its process used since the last reset. */
export type ServerProcessStats = RangeServerStats & { cpuSeconds: number };

export interface ServerProcess {
  /** Base URL with a trailing slash. */
  url: string;
  setLatency(ms: number): Promise<void>;
  resetStats(): Promise<void>;
  stats(): Promise<ServerProcessStats>;
  /** Reads these files (under the root) into the server's memory before anything is timed. */
  preload(paths: readonly string[]): Promise<void>;
  /** The requests received so far (with the `log` option; empty without). */
  requests(): Promise<LoggedRequest[]>;
  close(): Promise<void>;
}

/** Link model and extra names of {@link startServerProcess}'s server (see `RangeServerOptions`). */
export interface ServerLinkOptions {
  /** Cap of the client's link shared by every response, bytes per second. */
  linkBytesPerSecond?: number;
  /** Extra names: request path to a file's path under the root. */
  aliases?: ReadonlyMap<string, string>;
  /** Bytes the server reads and sends at a time (see `RangeServerOptions.readChunkBytes`). */
  readChunkBytes?: number;
  /** Note every request as it arrives, for {@link ServerProcess.requests}. */
  log?: boolean;
  /** Bytes of files the server keeps in memory (`RangeServerOptions.memoryBytes`); default {@link SERVER_MEMORY_BYTES}. */
  memoryBytes?: number;
}

/** A request as the server process noted it: wall-clock milliseconds (`performance.timeOrigin + performance.now()`), method, path, Range header. */
export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  range?: string;
}

/**
 * Bytes an uncapped server reads and sends at a time unless told otherwise, for a file it does not
 * hold in memory (past {@link SERVER_MEMORY_BYTES}; a file it holds goes out in one write). The server runs on the
 * client's cores, where an object store's CPU would not be: at the range server's own default of
 * 16 KiB, serving five full-size granules whole cost it 1.6 s of CPU (about a third of the client's),
 * taken from whichever contender runs; at 256 KiB 0.5-0.7 s (measured at load 7-10). A capped server
 * (a per-response or link cap) keeps the finer 16 KiB pieces, which pace its responses.
 */
export const UNCAPPED_READ_CHUNK = 256 * 1024;

/**
 * Bytes of files the benchmark's server keeps in memory unless told otherwise: every granule of the
 * benchmarks (28 full-size ones are 1.9 GB). Serving a range from memory is one write to the socket; from
 * disk it was a file opened, read in pieces and closed per request, about 0.4 ms of the server's CPU
 * per request on the client's cores, where an object store's CPU would not be.
 */
export const SERVER_MEMORY_BYTES = 4 * 1024 ** 3;

export async function startServerProcess(
  root: string,
  bytesPerSecond?: number,
  more: ServerLinkOptions = {},
): Promise<ServerProcess> {
  const script = fileURLToPath(new URL("./server-child.ts", import.meta.url));
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const extra = JSON.stringify({
    linkBytesPerSecond: more.linkBytesPerSecond,
    aliases: more.aliases ? [...more.aliases] : undefined,
    readChunkBytes:
      more.readChunkBytes ?? (bytesPerSecond || more.linkBytesPerSecond ? undefined : UNCAPPED_READ_CHUNK),
    log: more.log,
    memoryBytes: more.memoryBytes ?? SERVER_MEMORY_BYTES,
  });
  const args = [root, String(bytesPerSecond ?? 0), extra];
  const child: ChildProcess = fork(script, args, { cwd, execArgv: ["--import", "tsx"], stdio: "inherit" });
  type Reply = { stats: ServerProcessStats; requests?: LoggedRequest[] };
  const waiting = new Map<number, (reply: Reply) => void>();
  let next = 0;
  const url = await new Promise<string>((done, fail) => {
    child.once("error", fail);
    child.once("exit", (code) => fail(new Error(`range server process exited with ${code}`)));
    child.on("message", (m: { ready?: string; id?: number } & Partial<Reply>) => {
      if (m.ready) done(m.ready);
      else if (m.id !== undefined) {
        waiting.get(m.id)?.({ stats: m.stats!, requests: m.requests });
        waiting.delete(m.id);
      }
    });
  });
  const call = (cmd: string, ms?: number, paths?: readonly string[]) =>
    new Promise<Reply>((done) => {
      const id = next++;
      waiting.set(id, done);
      child.send({ id, cmd, ms, paths });
    });
  return {
    url,
    setLatency: async (ms) => void (await call("latency", ms)),
    resetStats: async () => void (await call("reset")),
    preload: async (paths) => void (await call("preload", undefined, paths)),
    stats: async () => (await call("stats")).stats,
    requests: async () => (await call("log")).requests ?? [],
    async close() {
      child.removeAllListeners("exit");
      const exited = new Promise<void>((done) => child.once("exit", () => done()));
      await call("close");
      await exited;
    },
  };
}
