/** `geochunks commit --store DIR` and `geochunks compact --store DIR`: store maintenance. */
import { addOptions, type Command, examples, type Io } from "../program.js";

const STORE = { flags: "--store <dir>", meaning: "the store folder", required: true, example: "--store idx" };

/** Adds `commit` to the program: makes every staged shard visible in one manifest swap. */
export function commitCommand(program: Command, io: Io): void {
  const command = program
    .command("commit")
    .description("publish every part set staged by `geochunks index --shard i/n` runs, in one manifest swap");
  addOptions(command, [STORE]);
  examples(command, ["geochunks commit --store idx"]);
  command.action(async (opts: { store: string }) => {
    const { Store } = await import("../../store/store.js");
    const report = await (await Store.open(opts.store)).commitStaged();
    io.out(
      `committed ${report.parts} staged part sets (${report.granules.length} granules) into ${opts.store}`,
    );
  });
}

/** Adds `compact` to the program: merges all part sets into one, removing orphaned files. */
export function compactCommand(program: Command, io: Io): void {
  const command = program
    .command("compact")
    .description("merge the store's part sets into one and remove files left by crashed writers");
  addOptions(command, [STORE]);
  examples(command, ["geochunks compact --store idx"]);
  command.action(async (opts: { store: string }) => {
    const { Store } = await import("../../store/store.js");
    const { before, after } = await (await Store.open(opts.store)).compact();
    io.out(`compacted ${opts.store}: ${before} part sets -> ${after}`);
  });
}
