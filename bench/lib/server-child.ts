/**
 * Child process running the loopback range server, so that serving bytes never shares an event loop or a
 * thread with the contender being timed. Driven over IPC by {@link startServerProcess}.
 *
 *   node --import tsx bench/lib/server-child.ts ROOT [BYTES_PER_SECOND] [JSON {linkBytesPerSecond, aliases}]
 */
import { startRangeServer } from "../../fixtures/servers/range-server.js";

interface Command {
  id: number;
  cmd: "latency" | "reset" | "stats" | "close";
  ms?: number;
}

const [root, bytesPerSecond, extra] = process.argv.slice(2);
const more = JSON.parse(extra ?? "{}") as { linkBytesPerSecond?: number; aliases?: [string, string][] };
const server = await startRangeServer({
  root: root!,
  bytesPerSecond: Number(bytesPerSecond) || undefined,
  linkBytesPerSecond: more.linkBytesPerSecond,
  aliases: more.aliases ? new Map(more.aliases) : undefined,
});
const send = (message: object) => process.send?.(message);
process.on("message", async (m: Command) => {
  if (m.cmd === "latency") server.setLatency(m.ms ?? 0);
  if (m.cmd === "reset") server.resetStats();
  const stats = { ...server.stats };
  if (m.cmd === "close") {
    await server.close();
    send({ id: m.id, stats });
    process.disconnect();
    return;
  }
  send({ id: m.id, stats });
});
send({ ready: server.url });
