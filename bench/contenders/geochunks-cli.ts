/**
 * geochunks as a user at a terminal runs it: the installed command (`node dist/cli/bin.js query ...`)
 * in a new process, over the same store and server as the in-process `geochunks` contender, timed from
 * spawning node to its exit. Start-up (node, the command's modules, the writer thread) is in the time,
 * which the in-process contender and the Python peers leave out: the two geochunks rows bracket what
 * a user feels, a library call in a long-running process and a one-off command.
 */
import { execFile } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parquetRowSet } from "./geochunks.js";
import type { Contender } from "./types.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "dist", "cli", "bin.js");

/** Newest modification time of the files under `dir`, ms. */
async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.max(t, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return t;
}

/**
 * Preloaded into the command (`node --import`): at exit, its main thread writes the process's CPU
 * (user + system of every thread, the writer thread's included, in microseconds) to the file
 * named by GEOCHUNKS_BENCH_CPU. The command itself is not changed.
 */
const CPU_PRELOAD = `data:text/javascript,${encodeURIComponent(`
import { writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
if (isMainThread) process.on("exit", () => {
  const u = process.cpuUsage();
  writeFileSync(process.env.GEOCHUNKS_BENCH_CPU, String(u.user + u.system));
});
`)}`;

/** Runs the command; its CPU seconds. Rejects with its standard error when it fails. */
function runCommand(args: string[], cpuFile: string): Promise<number> {
  const env = { ...process.env, GEOCHUNKS_BENCH_CPU: cpuFile };
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ["--import", CPU_PRELOAD, BIN, ...args],
      { encoding: "utf8", env },
      (err, _stdout, stderr) => {
        if (err) return fail(new Error(`geochunks ${args[0]} failed: ${stderr.trim() || err.message}`));
        readFile(cpuFile, "utf8").then((us) => done(Number(us) / 1e6), fail);
      },
    );
  });
}

export const geochunksCli: Contender = {
  name: "geochunks-cli",
  description:
    "the same query through the installed command (`geochunks query`), a new process per run: start-up included",
  async unavailable() {
    const built = await stat(BIN).catch(() => undefined);
    if (!built) return "dist/cli/bin.js is missing (npm run build)";
    // A command older than the sources would time other code than the in-process contender runs.
    if (built.mtimeMs < (await newest(join(ROOT, "src")))) return "dist/ is older than src/ (npm run build)";
    return undefined;
  },
  async prepare(ctx) {
    await writeFile(join(ctx.outDir, `${ctx.aoi.name}.geojson`), JSON.stringify(ctx.aoi.geometry));
  },
  async run(ctx) {
    const out = join(ctx.outDir, `geochunks-cli-${ctx.aoi.name}.parquet`);
    const polygon = join(ctx.outDir, `${ctx.aoi.name}.geojson`);
    const cpuFile = join(ctx.outDir, "geochunks-cli-cpu.txt");
    const cpuSeconds = await runCommand(
      ["query", "--store", ctx.storeDir, "--polygon", polygon, "--out", out],
      cpuFile,
    );
    return { cpuSeconds, rows: () => parquetRowSet(out) };
  },
};
