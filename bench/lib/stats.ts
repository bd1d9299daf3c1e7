/** Small numeric helpers and the machine description recorded with every result. */
import { execFileSync } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { PYTHON } from "./python.js";

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `run` `reps` times (at least once), one after another, and returns the run of median seconds
 * (the upper one of an even count), with whatever else it measured.
 */
export async function medianRun<T extends { seconds: number }>(
  reps: number,
  run: () => Promise<T>,
): Promise<T> {
  const runs: T[] = [];
  for (let rep = 0; rep < Math.max(1, reps); rep++) runs.push(await run());
  runs.sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor(runs.length / 2)]!;
}

/**
 * Runs each of `runs` `reps` times (at least once), interleaved (A, B, C, A, B, C...), and returns the
 * run of median seconds of each, as {@link medianRun} would: contenders compared by their ratio then
 * meet the same drifts of the machine's speed, not one of them the start of a run and the other its end.
 * `warmUps` rounds of the same, first, are not kept: on this machine the first runs after a minute
 * idle took 30-45 % more CPU for the same work, the next ones less and less (docs/design/index-build.md).
 */
export async function interleavedMedians<T extends { seconds: number }>(
  reps: number,
  runs: readonly (() => Promise<T>)[],
  warmUps = 0,
): Promise<T[]> {
  for (let rep = 0; rep < warmUps; rep++) for (const run of runs) await run();
  const results: T[][] = runs.map(() => []);
  for (let rep = 0; rep < Math.max(1, reps); rep++) {
    for (let i = 0; i < runs.length; i++) results[i]!.push(await runs[i]!());
  }
  return results.map((r) => {
    r.sort((a, b) => a.seconds - b.seconds);
    return r[Math.floor(r.length / 2)]!;
  });
}

/** Total size of the files under `dir`, bytes. */
export async function dirSize(dir: string): Promise<number> {
  let sum = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, String(name)));
    if (info.isFile()) sum += info.size;
  }
  return sum;
}

/** What the machine is and how busy it is now. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  freeMemoryBytes: number;
  loadAverage: number[];
  node: string;
  platform: string;
  python?: string;
}

export function machineInfo(): MachineInfo {
  let python: string | undefined;
  try {
    python = `${execFileSync(PYTHON, ["--version"], { encoding: "utf8" }).trim()} (${PYTHON})`;
  } catch {
    python = undefined;
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    python,
  };
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
