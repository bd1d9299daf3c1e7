/**
 * CPU of the query command's main thread and of its whole process, for two builds alternated (A, B,
 * A, B...): a preload notes, as the process exits, the main thread's user+system time (Linux
 * /proc/self/task/PID/stat) and process.cpuUsage() (every thread: the writer thread, V8's and libuv's).
 *
 *   npm run build && npx tsx bench/thread-cpu.ts --bin OLD/dist/cli/bin.js,dist/cli/bin.js \
 *     --store .cache/demo/store --polygon examples/greenland.geojson [--reps 7] [--out parquet]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    bin: { type: "string", default: "dist/cli/bin.js" },
    store: { type: "string", default: ".cache/demo/store" },
    polygon: { type: "string", default: "examples/greenland.geojson" },
    reps: { type: "string", default: "7" },
    out: { type: "string", default: "parquet" },
  },
});

const dir = mkdtempSync(join(tmpdir(), "thread-cpu-"));
const log = join(dir, "cpu.txt");
const preload = join(dir, "preload.mjs");
writeFileSync(
  preload,
  `import { appendFileSync, readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
if (isMainThread) {
  const t0 = performance.now();
  process.on("exit", () => {
    const fields = readFileSync("/proc/self/task/" + process.pid + "/stat", "utf8").split(") ")[1].split(" ");
    const tick = 100; // clock ticks a second (getconf CLK_TCK)
    const main = ((Number(fields[11]) + Number(fields[12])) / tick) * 1000;
    const u = process.cpuUsage();
    appendFileSync(${JSON.stringify(log)}, JSON.stringify({ main, process: (u.user + u.system) / 1000, wall: performance.now() - t0 }) + "\\n");
  });
}
`,
);

const bins = values.bin.split(",");
const runs: Record<string, { main: number; process: number; wall: number }[]> = {};
const loads: number[] = [];
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (const bin of bins) {
    writeFileSync(log, "");
    loads.push(loadavg()[0]!);
    execFileSync(process.execPath, [
      "--import",
      preload,
      bin,
      "query",
      "--store",
      values.store,
      "--polygon",
      values.polygon,
      "--out",
      join(dir, `out.${values.out}`),
    ]);
    runs[bin] ??= [];
    runs[bin].push(JSON.parse(readFileSync(log, "utf8").trim()));
    rmSync(join(dir, `out.${values.out}`), { force: true });
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}, ${values.reps} runs each, alternated`,
);
console.log("| build | main thread CPU ms | process CPU ms | wall ms |");
console.log("|---|---|---|---|");
for (const bin of bins) {
  const r = runs[bin]!;
  const row = [r.map((x) => x.main), r.map((x) => x.process), r.map((x) => x.wall)].map(
    (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`,
  );
  console.log(`| ${bin} | ${row.join(" | ")} |`);
}
