/** One `index` run of the compiled package in a plain Node child process (bench/lib/index-child.mjs). */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** What {@link indexInChild} is asked: the `index` options a benchmark sets. */
export interface ChildIndexArgs {
  inputs: string[];
  store: string;
  concurrency?: number;
  jobs?: number;
  /** The link told to the index's cost model; `bytesPerSecond: null` for an uncapped link. */
  link?: { latencyMs: number; bytesPerSecond: number | null };
  /** Absolute path of another build's `dist` directory to run instead of this package's. */
  dist?: string;
}

/** Where the child runs: `cpus` is a CPU list for `taskset -c` (e.g. "0": one core), else any core. */
export interface ChildPlacement {
  cpus?: string;
}

/** What bench/lib/index-child.mjs prints of its run. */
export interface ChildIndexReport {
  seconds: number;
  cpuSeconds: number;
  /** Seconds from the last granule read to the end (the store written). */
  writeSeconds: number;
  requests: number;
  bytesRead: number;
  chunks: number;
  /** The calling thread's garbage collections over the run. */
  gc: { scavenges: number; markCompacts: number; ms: number };
  /** Minor page faults of the process over the run. */
  minorFaults: number;
  /** Peak resident memory of the child process, bytes. */
  maxRssBytes: number;
}

/**
 * Runs `index` from the compiled package (build it first) in a plain Node child process, as users run
 * it: in a benchmark's own process, run under the TypeScript loader, every module an index worker
 * thread loads would go through the loader's hooks (a worker inherits `--import`), which users never pay.
 */
export async function indexInChild(
  args: ChildIndexArgs,
  placement: ChildPlacement = {},
): Promise<ChildIndexReport> {
  const script = fileURLToPath(new URL("./index-child.mjs", import.meta.url));
  const node = [process.execPath, script, JSON.stringify(args)];
  // On the listed cores only: Node then sees them alone (os.availableParallelism follows the affinity).
  const [command, ...rest] = placement.cpus === undefined ? node : ["taskset", "-c", placement.cpus, ...node];
  const { stdout } = await run(command!, rest, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildIndexReport;
}
