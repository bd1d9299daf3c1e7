/**
 * Main-thread CPU time of `parseDmrpp` per sidecar: each `.dmrpp` file of a directory parsed
 * `--reps` times per round, `--rounds` rounds after a warm-up, reporting the median and minimum CPU
 * milliseconds per document and MB/s. CPU is the main thread's (Linux `/proc/thread-self/stat`, in
 * clock ticks, hence rounds of many parses), so V8's background threads (concurrent marking and
 * sweeping) are not counted; elsewhere the whole process's. With `--before SRC` (a copy of an
 * older `src/`), the two parsers run alternately, round by round, after a full garbage collection
 * each (so one parser's garbage is not collected on the other's time), and their documents are
 * compared once for equality.
 *
 *   node --expose-gc --import tsx bench/dmrpp-parse.ts DIR [--rounds 15] [--reps 5] [--before SRC]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { parseDmrpp } from "../src/hdf5/dmrpp/index.js";

type Parse = typeof parseDmrpp;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "15" },
    reps: { type: "string", default: "5" },
    before: { type: "string" },
  },
});
const dir = positionals[0];
if (!dir) throw new Error("usage: bench/dmrpp-parse.ts DIR [--rounds 15] [--reps 5] [--before SRC]");
const texts = readdirSync(dir)
  .filter((f) => f.endsWith(".dmrpp"))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(join(dir, f), "utf8") }));
if (texts.length === 0) throw new Error(`no .dmrpp files in ${dir}`);
const chars = texts.reduce((n, t) => n + t.text.length, 0) / texts.length;

const parsers: { label: string; parse: Parse }[] = [{ label: "current", parse: parseDmrpp }];
if (values.before) {
  const old = (await import(resolve(values.before, "hdf5/dmrpp/index.ts"))) as { parseDmrpp: Parse };
  parsers.unshift({ label: "before", parse: old.parseDmrpp });
  for (const { name, text } of texts) {
    if (!isDeepStrictEqual(old.parseDmrpp(text, name), parseDmrpp(text, name))) {
      throw new Error(`${name}: the two parsers give different documents`);
    }
  }
}

const THREAD_STAT = "/proc/thread-self/stat";
const threadStat = existsSync(THREAD_STAT);
/** CPU ms of the main thread (Linux), else of the process. */
function cpuMs(): number {
  if (!threadStat) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
  const fields = readFileSync(THREAD_STAT, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
const TICKS_PER_SECOND = 100;

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) console.warn("run node with --expose-gc for rounds that start from a collected heap");
const reps = Number(values.reps);

/** Main-thread CPU ms and wall ms of one round, per document parse. */
function round(parse: Parse): { cpu: number; wall: number } {
  collect?.();
  const cpu = cpuMs();
  const wall = performance.now();
  for (let r = 0; r < reps; r++) for (const { name, text } of texts) parse(text, name);
  const n = reps * texts.length;
  return { cpu: (cpuMs() - cpu) / n, wall: (performance.now() - wall) / n };
}

const rounds = Number(values.rounds);
for (let i = 0; i < 3; i++) for (const p of parsers) round(p.parse);
const times = new Map(parsers.map((p) => [p.label, { cpu: [] as number[], wall: [] as number[] }]));
for (let i = 0; i < rounds; i++) {
  for (const p of parsers) {
    const { cpu, wall } = round(p.parse);
    times.get(p.label)!.cpu.push(cpu);
    times.get(p.label)!.wall.push(wall);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${texts.length} documents of ${(chars / 1e3).toFixed(0)} K characters (mean), ${rounds} rounds of ${reps} parses each, interleaved; load ${loadavg()[0]!.toFixed(2)}`,
);
for (const [label, { cpu, wall }] of times) {
  console.log(
    `${label.padEnd(8)} ${threadStat ? "main-thread" : "process"} CPU median ${median(cpu).toFixed(2)} ms per document (min ${Math.min(...cpu).toFixed(2)}), ${(chars / 1e3 / median(cpu)).toFixed(0)} M characters/s; wall median ${median(wall).toFixed(2)} ms`,
  );
}
