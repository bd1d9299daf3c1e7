/**
 * Client CPU per range request of the HTTP source: the plain-TCP reader (`http-socket.ts`, the default
 * for http:), the node:http transport (keep-alive agent, the default for https:) and the global
 * `fetch`, over the loopback range server in its own process. CPU time does not depend on the
 * machine's load the way wall time does. `--size 4194304 --concurrency 4` measures index-build lines.
 *
 *   npx tsx bench/http-client.ts [--requests 2000] [--size 65536] [--concurrency 64] [--rounds 3]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openHttpSource } from "../src/source/http.js";
import { startServerProcess } from "./lib/server.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    size: { type: "string", default: "65536" },
    concurrency: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
  },
});
const requests = Number(values.requests);
const size = Number(values.size);
const concurrency = Number(values.concurrency);
const dir = join(process.cwd(), ".cache/bench/http-client");
await mkdir(dir, { recursive: true });
const fileSize = 16 * 1024 * 1024;
await writeFile(
  join(dir, "object.bin"),
  new Uint8Array(fileSize).map((_, i) => i & 0xff),
);
const server = await startServerProcess(dir);
const url = `${server.url}object.bin`;

async function measure(name: string, client: "auto" | "node", fetch?: typeof globalThis.fetch) {
  const source = await openHttpSource(url, { concurrency, fetch, client });
  const offsets = Array.from({ length: requests }, (_, i) => ((i * 7919) % (fileSize / size)) * size);
  const before = process.cpuUsage();
  const started = performance.now();
  await Promise.all(offsets.map((o) => source.read(o, size)));
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(before);
  const perRequest = (cpu.user + cpu.system) / 1000 / requests;
  console.log(
    `| ${name} | ${requests} | ${size} | ${concurrency} | ${perRequest.toFixed(3)} | ${(wall / 1000).toFixed(2)} |`,
  );
}

console.log("| client | requests | bytes each | in flight | client CPU ms / request | wall s |");
console.log("|---|---:|---:|---:|---:|---:|");
for (let round = 0; round < Number(values.rounds); round++) {
  await measure("socket reader (default for http:)", "auto");
  await measure("node:http keep-alive", "node");
  if (size <= 1024 * 1024) await measure("global fetch", "auto", (u, init) => fetch(u, init));
}
await server.close();
