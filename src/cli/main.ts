/** The `geochunks` command: the program, one-line errors, exit codes. `bin.ts` runs it. */
import { CommanderError } from "commander";
import { errorLine, exitCodeOf, UsageError } from "./errors.js";
import { Command, type Io, packageVersion } from "./program.js";

/** Adds one command to the program. */
type AddCommand = (program: Command, io: Io) => void;

/**
 * Every command by name, in the order the help lists them, each module loaded when the program
 * needs it: a run of one command reads, compiles and builds only that one (the others' options, help
 * texts and code are about 42 kB of the bundle's entry file; docs/design/startup.md).
 */
const COMMANDS: readonly (readonly [string, () => Promise<AddCommand>])[] = [
  ["inspect", async () => (await import("./commands/inspect.js")).inspectCommand],
  ["cat", async () => (await import("./commands/cat.js")).catCommand],
  ["index", async () => (await import("./commands/index.js")).indexCommand],
  ["query", async () => (await import("./commands/query.js")).queryCommand],
  ["sql", async () => (await import("./commands/sql.js")).sqlCommand],
  ["describe", async () => (await import("./commands/describe.js")).describeCommand],
  ["plot", async () => (await import("./commands/plot.js")).plotCommand],
  ["export", async () => (await import("./commands/export.js")).exportCommand],
  ["stac", async () => (await import("./commands/stac.js")).stacCommand],
  ["commit", async () => (await import("./commands/store.js")).commitCommand],
  ["compact", async () => (await import("./commands/store.js")).compactCommand],
  ["verify", async () => (await import("./commands/store.js")).verifyCommand],
];

/**
 * The program writing to `io`, with the command `only` when given, else with every command (the
 * help, the version, a misspelt command). Commander errors are thrown, never exit.
 */
export async function buildProgram(io: Io, only?: string): Promise<Command> {
  const program = new Command("geochunks")
    .description(
      "Query NASA ICESat-2 HDF5 granules by place and time without copying them: index their chunks " +
        "into a GeoParquet store, then read only the chunks under a polygon.",
    )
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, helpWidth: 100 })
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, "")),
      writeErr: (text) => io.err(text.replace(/\n$/, "")),
      // Errors are printed once, as one line, by main().
      outputError: () => undefined,
    });
  program.addHelpText(
    "after",
    "\nExit codes: 0 ok, 1 runtime failure, 2 bad arguments or bad input, 3 some inputs skipped.\n" +
      "Run `geochunks help <command>` for a command's options, defaults and examples.\n",
  );
  const wanted = COMMANDS.filter(([name]) => only === undefined || name === only);
  for (const add of await Promise.all(wanted.map(([, load]) => load()))) add(program, io);
  return program;
}

const stdio: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Edit distance of two short words (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The name of `names` closest to `word`, when it is close enough to be a likely misspelling. */
function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length * 0.4)) + 1;
  for (const name of names) {
    const d = distance(word.toLowerCase(), name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Runs the command line `argv` (without node and script), throwing what a command throws. */
export async function runCommand(argv: string[], io: Io = stdio): Promise<number> {
  // A command named first is the one that runs; anything else (help, --version, a misspelt
  // command) needs every command.
  const only = COMMANDS.some(([name]) => name === argv[0]) ? argv[0] : undefined;
  const program = await buildProgram(io, only);
  if (argv[0] === "help" && argv[1] !== undefined) {
    const names = program.commands.map((c) => c.name());
    // Commander would print the general help for an unknown name; say what is wrong instead.
    if (!names.includes(argv[1])) {
      const near = closest(argv[1], names);
      const hint = near ? ` (did you mean ${near}?)` : "";
      throw new UsageError(`help: unknown command '${argv[1]}'${hint}; commands are ${names.join(", ")}`);
    }
  }
  await program.parseAsync(argv, { from: "user" });
  return io.exitCode ?? 0;
}

/** The one-line message of a commander error: "unknown option '--polgon' (did you mean --polygon?)". */
function commanderLine(err: CommanderError): string {
  return err.message
    .replace(/^error: /, "")
    .replace(" is invalid. ", " is invalid: ")
    .split("\n")
    .map((l) => l.trim().replace(/^\(Did you mean/, "(did you mean"))
    .filter(Boolean)
    .join(" ");
}

/** Runs the command line `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  out: (text: string) => void = stdio.out,
  err: (text: string) => void = stdio.err,
): Promise<number> {
  try {
    return await runCommand(argv, { out, err });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      // `help [command]` exits 0; `geochunks` alone printed the help to stderr and is a usage error.
      if (e.code === "commander.help") return e.exitCode === 0 ? 0 : 2;
      err(`geochunks: ${commanderLine(e)}`);
      return 2;
    }
    err(errorLine(e));
    if (process.env.GEOCHUNKS_DEBUG) err(String((e as Error).stack));
    return exitCodeOf(e);
  }
}
