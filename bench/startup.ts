/**
 * Query start-up as users feel it: the time from starting the installed command
 * (`node dist/cli/bin.js query ...`) to its first granule request (seen by the server), the CPU the process
 * spent until it sent that request (a preloaded module notes `process.cpuUsage()` when node:http sends its
 * first request or the plain-TCP reader opens its first connection; the command itself is not changed), the whole run's wall time and CPU (user + system,
 * from the kernel's accounting of the child), over the six demo granules behind the loopback range server.
 * CPU is what to compare on a shared machine; wall times move with the load. The main thread's own CPU to
 * the first request (Linux: its `/proc/self/task/PID/schedstat`) is given beside the process's, which
 * includes the GeoParquet writer thread started ahead on another core and V8's helper threads.
 *
 *   npm run build && npx tsx bench/startup.ts [--reps 5] [--latency 20] [--out parquet|csv] [--profile DIR]
 *     [--granules DIR] [--polygon AOI] [--bin dist/cli/bin.js[,OTHER/dist/cli/bin.js]]
 *
 * One more run, after the timed ones, logs every module file the command loads (module loader hooks,
 * which cost CPU of their own, hence a run apart) and reports the JavaScript loaded before the first
 * request: files and bytes, a figure the machine's load does not move.
 *
 * `--bin` runs another build of the command (an older checkout's, to compare; several are run in turn,
 * A, B, A, B..., each run apart with the same server and store); `--granules` and
 * `--polygon` query other granules (the real ones with a box over their tracks).
 *
 * With --profile, each run's first request is also printed as `first-request-hrtime-us`, on the clock of
 * the profile's sample times, to split the profile at the first request.
 */
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeModuleLog } from "../fixtures/modules/module-log.js";
import { startRangeServer } from "../fixtures/servers/range-server.js";
import { index } from "../src/index.js";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    latency: { type: "string", default: "20" },
    out: { type: "string", default: "parquet" },
    /** Write a CPU profile of each run into this folder (node --cpu-prof). */
    profile: { type: "string" },
    granules: { type: "string", default: ".cache/demo/granules" },
    /**
     * The command's entry file; several, comma-separated, are run in turn (A, B, A, B...) on the same
     * server and store, so that the machine's load moves all of them alike.
     */
    bin: { type: "string", default: "dist/cli/bin.js" },
    /** The AOI of the query. */
    polygon: { type: "string", default: "examples/greenland.geojson" },
  },
});
const root = join(process.cwd(), ".cache", "bench", "startup");
await mkdir(root, { recursive: true });
let firstRequest = 0;
const server = await startRangeServer({
  root: values.granules,
  fault: () => {
    // The fault hook sees every request: it marks the first one and serves it normally.
    firstRequest ||= performance.now();
    return undefined;
  },
});
const storeDir = join(root, "store");
await rm(storeDir, { recursive: true, force: true });
const names = (await readdir(values.granules)).filter((n) => n.endsWith(".h5")).sort();
if (names.length === 0) throw new Error(`${values.granules}: no granules (npm run demo makes them)`);
await index(
  names.map((n) => server.url + n),
  { store: storeDir, concurrency: 4 },
);
server.setLatency(Number(values.latency));

/** Preloaded into the command: prints the CPU used when the first HTTP request leaves. */
const PRELOAD = `data:text/javascript,${encodeURIComponent(`
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { syncBuiltinESMExports } from "node:module";
let seen = false;
// node:http's request, or the connection of the plain-TCP reader http: URLs are read with.
for (const [module, name] of [[http, "request"], [net, "connect"], [net, "createConnection"]]) {
  const send = module[name];
  module[name] = function (...args) {
    if (!seen) {
      seen = true;
      const u = process.cpuUsage();
      process.stderr.write("first-request-cpu " + (u.user + u.system) / 1000 + "\\n");
      // The main thread's own time on a CPU (ns), without the writer thread's and V8's helpers'.
      const onCpu = readFileSync("/proc/self/task/" + process.pid + "/schedstat", "utf8").split(" ")[0];
      process.stderr.write("first-request-main-cpu " + Number(onCpu) / 1e6 + "\\n");
      process.stderr.write("first-request-hrtime-us " + process.hrtime.bigint() / 1000n + "\\n");
    }
    return send.apply(this, args);
  };
}
syncBuiltinESMExports();
`)}`;

/** One run of the command: ms to the first request, CPU ms then, ms in all, CPU ms (user, system). */
function runOnce(bin: string): Promise<{
  first: number;
  firstCpu: number;
  firstMainCpu: number;
  wall: number;
  user: number;
  system: number;
}> {
  const out = join(root, `out.${values.out}`);
  const args = [bin, "query", "--store", storeDir, "--polygon", values.polygon, "--out", out];
  firstRequest = 0;
  const t0 = performance.now();
  // /usr/bin/time reports the child's own CPU, whatever else runs on the machine.
  const profile = values.profile
    ? ["--cpu-prof", "--cpu-prof-interval", "250", "--cpu-prof-dir", values.profile]
    : [];
  const node = [process.execPath, "--import", PRELOAD, ...profile];
  const child = spawn("/usr/bin/time", ["-f", "%U %S", ...node, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  return new Promise((done, fail) => {
    child.on("exit", (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return fail(new Error(`query exited with ${code}: ${err}`));
      const [user, system] = err.trim().split("\n").pop()!.split(" ").map(Number);
      if (values.profile) console.log(/first-request-hrtime-us \d+/.exec(err)?.[0]);
      const firstCpu = Number(/first-request-cpu ([\d.]+)/.exec(err)?.[1] ?? Number.NaN);
      const firstMainCpu = Number(/first-request-main-cpu ([\d.]+)/.exec(err)?.[1] ?? Number.NaN);
      done({
        first: firstRequest - t0,
        firstCpu,
        firstMainCpu,
        wall,
        user: user! * 1000,
        system: system! * 1000,
      });
    });
  });
}

/** The module files the command loads before its first request: how many, and their bytes. */
async function modulesBeforeFirstRequest(bin: string): Promise<{ files: number; bytes: number }> {
  const { log, preload } = writeModuleLog(root);
  const out = join(root, `out.${values.out}`);
  const args = [bin, "query", "--store", storeDir, "--polygon", values.polygon, "--out", out];
  const child = spawn(process.execPath, ["--import", preload, ...args], { stdio: "ignore" });
  const code = await new Promise((done) => child.on("exit", done));
  if (code !== 0) throw new Error(`query exited with ${code} in the module run`);
  const lines = (await readFile(log, "utf8")).split("\n");
  const first = lines.indexOf("FIRST-REQUEST");
  if (first < 0) throw new Error("the module run made no request");
  const files = lines.slice(0, first).filter((l) => l.startsWith("file:"));
  let bytes = 0;
  for (const url of files) bytes += statSync(fileURLToPath(url)).size;
  return { files: files.length, bytes };
}

const bins = values.bin.split(",");
const loadBefore = loadavg()[0]!;
const rows = new Map(bins.map((bin) => [bin, [] as Awaited<ReturnType<typeof runOnce>>[]]));
for (let i = 0; i < Number(values.reps); i++) for (const bin of bins) rows.get(bin)!.push(await runOnce(bin));
const modules = new Map<string, { files: number; bytes: number }>();
for (const bin of bins) modules.set(bin, await modulesBeforeFirstRequest(bin));
await server.close();
console.log(`load average ${loadBefore.toFixed(1)} before the runs, ${loadavg()[0]!.toFixed(1)} after`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  "| command | CPU to first request ms | main thread's | to first request ms | CPU ms (user + system) | wall ms | runs | JavaScript before the first request |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---|");
for (const bin of bins) {
  const rs = rows.get(bin)!;
  const m = modules.get(bin)!;
  console.log(
    `| ${bin} | ${median(rs.map((r) => r.firstCpu)).toFixed(0)} | ${median(rs.map((r) => r.firstMainCpu)).toFixed(0)} | ${median(rs.map((r) => r.first)).toFixed(0)} | ${median(rs.map((r) => r.user + r.system)).toFixed(0)} | ${median(rs.map((r) => r.wall)).toFixed(0)} | ${rs.length} | ${m.files} files, ${(m.bytes / 1000).toFixed(0)} kB |`,
  );
}
for (const bin of bins)
  for (const r of rows.get(bin)!)
    console.log(
      `  ${bin}: CPU to first ${r.firstCpu.toFixed(0)} ms (main thread ${r.firstMainCpu.toFixed(0)} ms), first at ${r.first.toFixed(0)} ms, user ${r.user.toFixed(0)} ms, system ${r.system.toFixed(0)} ms, wall ${r.wall.toFixed(0)} ms`,
    );
