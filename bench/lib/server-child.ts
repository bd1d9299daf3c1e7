/**
 * Child process running the loopback range server, so that serving bytes never shares an event loop or a
 * thread with the contender being timed. Driven over IPC by {@link startServerProcess}.
 *
 *   node --import tsx bench/lib/server-child.ts ROOT [BYTES_PER_SECOND] [JSON {linkBytesPerSecond, aliases, readChunkBytes, log, memoryBytes}]
 *
 * With `log`, every request is noted as it arrives (wall-clock milliseconds, `performance.timeOrigin`
 * plus `performance.now()`, comparable with another process's; its method, path and Range header), and the `log`
 * command returns the notes.
 */
import { startRangeServer } from "../../fixtures/servers/range-server.js";

interface Command {
  id: number;
  cmd: "latency" | "reset" | "stats" | "close" | "log" | "preload";
  ms?: number;
  paths?: string[];
}

const [root, bytesPerSecond, extra] = process.argv.slice(2);
const more = JSON.parse(extra ?? "{}") as {
  linkBytesPerSecond?: number;
  aliases?: [string, string][];
  readChunkBytes?: number;
  log?: boolean;
  memoryBytes?: number;
};
const requests: { at: number; method: string; path: string; range?: string }[] = [];
const server = await startRangeServer({
  root: root!,
  bytesPerSecond: Number(bytesPerSecond) || undefined,
  linkBytesPerSecond: more.linkBytesPerSecond,
  aliases: more.aliases ? new Map(more.aliases) : undefined,
  readChunkBytes: more.readChunkBytes,
  memoryBytes: more.memoryBytes,
  fault: more.log
    ? (req) => {
        const at = performance.timeOrigin + performance.now();
        const path = decodeURIComponent(req.url ?? "");
        requests.push({ at, method: req.method ?? "", path, range: req.headers.range });
        return undefined;
      }
    : undefined,
});
let cpuFrom = process.cpuUsage();
const send = (message: object) => process.send?.(message);
process.on("message", async (m: Command) => {
  if (m.cmd === "latency") server.setLatency(m.ms ?? 0);
  if (m.cmd === "preload") await server.preload(m.paths ?? []);
  if (m.cmd === "reset") {
    server.resetStats();
    cpuFrom = process.cpuUsage();
  }
  // The server's own CPU since the last reset: on a machine of few cores it competes with the contender.
  const used = process.cpuUsage(cpuFrom);
  const stats = { ...server.stats, cpuSeconds: (used.user + used.system) / 1e6 };
  if (m.cmd === "log") {
    send({ id: m.id, stats, requests });
    return;
  }
  if (m.cmd === "close") {
    await server.close();
    send({ id: m.id, stats });
    process.disconnect();
    return;
  }
  send({ id: m.id, stats });
});
send({ ready: server.url });
