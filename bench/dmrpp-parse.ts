/**
 * Main-thread CPU time of `parseDmrpp` per sidecar. Each `.dmrpp` file of a directory is parsed
 * `--reps` times per round, `--rounds` rounds after a warm-up, in a child process of its own; with
 * `--before SRC` (a copy of an older `src/`) the processes of the two parsers alternate (A B B A
 * ...), `--processes` of each, so neither shares a heap or a JIT with the other, and their
 * documents are first compared for equality. CPU is the main thread's (Linux
 * `/proc/thread-self/stat`, in clock ticks, hence rounds of many parses), so V8's background
 * threads (concurrent marking and sweeping) are not counted; elsewhere the whole process's. Each
 * round starts after a full garbage collection. Reports the median and minimum milliseconds per
 * document over all rounds.
 *
 * `--cold`: each process parses every document once, without warm-up and with the V8 settings of
 * the `geochunks` command (src/cli/v8-flags.ts), as `geochunks index` meets its sidecars: the time
 * of those parses per document, one figure per process (default 8 processes per parser).
 *
 *   npx tsx bench/dmrpp-parse.ts DIR [--before SRC] [--processes 4] [--rounds 8] [--reps 5] [--cold]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";

type Parse = (text: string, what: string) => unknown;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    before: { type: "string" },
    processes: { type: "string" },
    rounds: { type: "string", default: "8" },
    reps: { type: "string", default: "5" },
    cold: { type: "boolean", default: false },
    /** Internal: run the rounds of the parser under this `src/` and print them as JSON. */
    child: { type: "string" },
  },
});
const dir = positionals[0];
if (!dir)
  throw new Error("usage: bench/dmrpp-parse.ts DIR [--before SRC] [--processes 4] [--rounds 8] [--reps 5]");
const current = fileURLToPath(new URL("../src", import.meta.url));

async function parserOf(src: string): Promise<Parse> {
  return ((await import(resolve(src, "hdf5/dmrpp/index.ts"))) as { parseDmrpp: Parse }).parseDmrpp;
}

function documents(): { name: string; text: string }[] {
  const texts = readdirSync(dir!)
    .filter((f) => f.endsWith(".dmrpp"))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir!, f), "utf8") }));
  if (texts.length === 0) throw new Error(`no .dmrpp files in ${dir}`);
  return texts;
}

const THREAD_STAT = "/proc/thread-self/stat";
const TICKS_PER_SECOND = 100;

/** CPU ms of the main thread (Linux), else of the process. */
function cpuMs(): number {
  if (!existsSync(THREAD_STAT)) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  // Fields after the command name (in parentheses): utime and stime are the 12th and 13th.
  const fields = readFileSync(THREAD_STAT, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

if (values.child && values.cold) {
  await import(resolve(values.child, "cli/v8-flags.ts"));
  const parse = await parserOf(values.child);
  const texts = documents();
  const cpu = cpuMs();
  const wall = performance.now();
  for (const { name, text } of texts) parse(text, name);
  const n = texts.length;
  console.log(JSON.stringify([{ cpu: (cpuMs() - cpu) / n, wall: (performance.now() - wall) / n }]));
} else if (values.child) {
  const parse = await parserOf(values.child);
  const texts = documents();
  const collect = (globalThis as { gc?: () => void }).gc;
  const reps = Number(values.reps);
  const round = () => {
    collect?.();
    const cpu = cpuMs();
    const wall = performance.now();
    for (let r = 0; r < reps; r++) for (const { name, text } of texts) parse(text, name);
    const n = reps * texts.length;
    return { cpu: (cpuMs() - cpu) / n, wall: (performance.now() - wall) / n };
  };
  for (let i = 0; i < 3; i++) round();
  console.log(JSON.stringify(Array.from({ length: Number(values.rounds) }, round)));
} else {
  const texts = documents();
  const parsers = [{ label: "current", src: current }];
  if (values.before) {
    parsers.unshift({ label: "before", src: resolve(values.before) });
    const [old, mine] = [await parserOf(values.before), await parserOf(current)];
    for (const { name, text } of texts) {
      if (!isDeepStrictEqual(old(text, name), mine(text, name))) {
        throw new Error(`${name}: the two parsers give different documents`);
      }
    }
  }
  const script = fileURLToPath(import.meta.url);
  const times = new Map(parsers.map((p) => [p.label, { cpu: [] as number[], wall: [] as number[] }]));
  const loads: number[] = [];
  const processes = Number(values.processes ?? (values.cold ? 8 : 4));
  for (let k = 0; k < processes; k++) {
    for (const p of k % 2 === 0 ? parsers : [...parsers].reverse()) {
      const args = ["--expose-gc", "--import", "tsx", script, dir, "--child", p.src];
      args.push("--rounds", values.rounds!, "--reps", values.reps!, ...(values.cold ? ["--cold"] : []));
      const rounds = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })) as {
        cpu: number;
        wall: number;
      }[];
      for (const r of rounds) {
        times.get(p.label)!.cpu.push(r.cpu);
        times.get(p.label)!.wall.push(r.wall);
      }
      loads.push(loadavg()[0]!);
    }
  }
  const chars = texts.reduce((n, t) => n + t.text.length, 0) / texts.length;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `${texts.length} documents of ${(chars / 1e3).toFixed(0)} K characters (mean); ${processes} processes per parser, alternated, ${values.cold ? "each parsing every document once, cold" : `each ${values.rounds} rounds of ${values.reps} parses of every document after a warm-up`}; load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
  );
  const which = existsSync(THREAD_STAT) ? "main-thread" : "process";
  for (const [label, { cpu, wall }] of times) {
    console.log(
      `${label.padEnd(8)} ${which} CPU median ${median(cpu).toFixed(2)} ms per document (min ${Math.min(...cpu).toFixed(2)}), ${(chars / 1e3 / median(cpu)).toFixed(0)} M characters/s; wall median ${median(wall).toFixed(2)} ms`,
    );
  }
}
