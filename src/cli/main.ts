#!/usr/bin/env node
/** The `geochunks` command: argument dispatch, one-line errors, exit codes. */
import { pathToFileURL } from "node:url";
import { CAT_USAGE, catCommand } from "./commands/cat.js";
import { INDEX_USAGE, indexCommand } from "./commands/index.js";
import { INSPECT_USAGE, inspectCommand } from "./commands/inspect.js";
import { QUERY_USAGE, queryCommand } from "./commands/query.js";
import { SQL_USAGE, sqlCommand } from "./commands/sql.js";
import { COMMIT_USAGE, COMPACT_USAGE, commitCommand, compactCommand } from "./commands/store.js";
import { errorLine, exitCodeOf, UsageError } from "./errors.js";

const COMMANDS: Record<string, (argv: string[], out: (text: string) => void) => Promise<void>> = {
  inspect: inspectCommand,
  cat: catCommand,
  index: indexCommand,
  query: queryCommand,
  sql: sqlCommand,
  commit: commitCommand,
  compact: compactCommand,
};

/** Usage text of the command. */
export const USAGE = [
  "usage:",
  ...[INSPECT_USAGE, CAT_USAGE, INDEX_USAGE, QUERY_USAGE, SQL_USAGE, COMMIT_USAGE, COMPACT_USAGE].map(
    (u) => `  ${u}`,
  ),
].join("\n");

/** Runs the command line `argv` (without node and script); returns the exit code. */
export async function main(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command ${name}\n${USAGE}`);
    await command(rest, out);
    return 0;
  } catch (err) {
    process.stderr.write(`${errorLine(err)}\n`);
    if (process.env.GEOCHUNKS_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return exitCodeOf(err);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await main(process.argv.slice(2));
}
