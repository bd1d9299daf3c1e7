/** `geochunks commit --store DIR` and `geochunks compact --store DIR`: store maintenance. */
import { Store } from "../../store/store.js";
import { parseCommand, required } from "../args.js";
import { UsageError } from "../errors.js";

export const COMMIT_USAGE = "geochunks commit --store DIR";
export const COMPACT_USAGE = "geochunks compact --store DIR";

/** Runs `commit`: makes every staged shard visible in one manifest swap. */
export async function commitCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, { store: { type: "string" } });
  if (positionals.length > 0) throw new UsageError(`usage: ${COMMIT_USAGE}`);
  const dir = required(values.store, "--store DIR");
  const report = await (await Store.open(dir)).commitStaged();
  out(`committed ${report.parts} staged part sets (${report.granules.length} granules) into ${dir}`);
}

/** Runs `compact`: merges all part sets into one, removing orphaned files. */
export async function compactCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, { store: { type: "string" } });
  if (positionals.length > 0) throw new UsageError(`usage: ${COMPACT_USAGE}`);
  const dir = required(values.store, "--store DIR");
  const { before, after } = await (await Store.open(dir)).compact();
  out(`compacted ${dir}: ${before} part sets -> ${after}`);
}
