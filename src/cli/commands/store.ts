/** `geochunks commit --store DIR` and `geochunks compact --store DIR`: store maintenance (local or `s3://`). */
import { InvalidArgumentError } from "commander";
import type { S3SourceOptions } from "../../source/s3.js";
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom } from "../credentials.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io, type OptionSpec } from "../program.js";

const STORE = {
  flags: "--store <dir>",
  meaning: "the store folder, or s3://bucket/prefix",
  required: true,
  example: "--store idx",
};

/** S3 options of a store location from the source flags (credentials, region, endpoint). */
function s3Of(opts: Record<string, unknown>): S3SourceOptions | undefined {
  return /^s3:\/\//i.test(String(opts.store)) ? sourceOptionsFrom(sourceFlagsOf(opts)).s3 : undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parser of a duration: a number and a unit (ms, s, m, h, d), e.g. `90s`, `2h`; returns ms. */
export function duration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!m) throw new InvalidArgumentError("not a duration such as 30s, 10m, 2h or 7d");
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** `--lock-timeout`: how long to wait for another writer. */
export const LOCK_TIMEOUT: OptionSpec = {
  flags: "--lock-timeout <duration>",
  meaning: "how long to wait for another writer of the store to finish before failing (exit 1)",
  default: "120s",
  example: "--lock-timeout 10m",
  parse: duration,
};

/** Adds `commit` to the program: makes every staged shard visible in one manifest swap. */
export function commitCommand(program: Command, io: Io): void {
  const command = program
    .command("commit")
    .description(
      "publish every part set staged by `geochunks index --shard i/n|auto` runs, in one manifest swap; " +
        "refused (exit 1, nothing published) while shards of the run are missing",
    );
  addOptions(command, [
    STORE,
    {
      flags: "--allow-incomplete",
      meaning: "publish what is staged even when shards of the run are missing or come from another run",
      default: "off: every shard 0..n-1 of one input list must be staged",
      example: "--allow-incomplete",
    },
    LOCK_TIMEOUT,
    ...SOURCE_OPTIONS,
  ]);
  examples(command, ["geochunks commit --store idx", "geochunks commit --store idx --allow-incomplete"]);
  command.action(async (opts: { store: string; lockTimeout?: number; allowIncomplete?: boolean }) => {
    const { Store } = await import("../../store/store.js");
    const s3 = s3Of(opts);
    // Shards staged under an S3 prefix create no manifest (a local store's shards do): the commit does.
    const store = await Store.open(opts.store, {
      lockTimeoutMs: opts.lockTimeout,
      s3,
      create: s3 !== undefined,
    });
    const report = await store.commitStaged({ allowIncomplete: opts.allowIncomplete });
    if (report.incomplete) io.err(`${opts.store}: committed an incomplete shard set: ${report.incomplete}`);
    io.out(
      `committed ${report.parts} staged part sets (${report.granules.length} granules) into ${opts.store}`,
    );
  });
}

interface CompactFlags {
  store: string;
  repair?: boolean;
  vacuum?: boolean;
  olderThan?: number;
  lockTimeout?: number;
}

/** Adds `compact` to the program: merges part sets (up to 65 536 chunk rows each), removing orphaned files. */
export function compactCommand(program: Command, io: Io): void {
  const command = program
    .command("compact")
    .description(
      "merge the store's part sets (consecutive ones, up to 65 536 chunk rows a set) and remove files left " +
        "by crashed writers; superseded parts stay for readers for an hour unless --vacuum",
    );
  addOptions(command, [
    STORE,
    {
      flags: "--repair",
      meaning:
        "first rebuild what `geochunks verify` finds broken: chunk_cells from the chunks, else drop the broken " +
        "part sets' granules so the next index adds them again",
      default: "off",
      example: "--repair",
    },
    {
      flags: "--vacuum",
      meaning: "also remove superseded (retired) part files now; readers still using them will fail",
      default: "off: kept for an hour",
      example: "--vacuum",
    },
    {
      flags: "--older-than <duration>",
      meaning: "with --vacuum, keep parts retired less than this long ago",
      default: "0s",
      example: "--older-than 10m",
      parse: duration,
    },
    LOCK_TIMEOUT,
    ...SOURCE_OPTIONS,
  ]);
  examples(command, [
    "geochunks compact --store idx",
    "geochunks compact --store idx --vacuum --older-than 10m",
  ]);
  command.action(async (opts: CompactFlags) => {
    if (opts.olderThan !== undefined && !opts.vacuum) throw new UsageError("--older-than needs --vacuum");
    const { Store } = await import("../../store/store.js");
    const store = await Store.open(opts.store, {
      lockTimeoutMs: opts.lockTimeout,
      s3: s3Of(opts as unknown as Record<string, unknown>),
    });
    if (opts.repair) {
      const report = await store.repair();
      for (const p of report.problems) io.err(`${p.file}: ${p.problem}`);
      io.out(
        `repaired ${opts.store}: ${report.problems.length} problems, ${report.rebuilt} part sets rebuilt, ` +
          `${report.dropped.length} granules dropped${report.dropped.length > 0 ? ` (index them again: ${report.dropped.join(", ")})` : ""}`,
      );
    }
    const { before, after, removed } = await store.compact({
      vacuum: opts.vacuum,
      olderThanMs: opts.olderThan,
    });
    const retired = store.manifest.retired?.length ?? 0;
    io.out(
      `compacted ${opts.store}: ${before} part sets -> ${after}; ${removed} retired part files removed, ` +
        `${retired} retired part sets kept for readers`,
    );
  });
}

/** Adds `verify` to the program: checks every part file and row of a store. */
export function verifyCommand(program: Command, io: Io): void {
  const command = program
    .command("verify")
    .description(
      "check a store: every part file's size, SHA-256 and row count against the manifest, its schema, and " +
        "that every row's granule is in the manifest; exit 1 when something is wrong",
    );
  addOptions(command, [STORE, ...SOURCE_OPTIONS]);
  examples(command, ["geochunks verify --store idx", "geochunks verify --store s3://bucket/idx"]);
  command.action(async (opts: { store: string }) => {
    const { Store } = await import("../../store/store.js");
    const { verifyStore } = await import("../../store/verify.js");
    const report = await verifyStore(await Store.open(opts.store, { s3: s3Of(opts) }));
    for (const p of report.problems) io.err(`${p.file}: ${p.problem}`);
    io.out(
      `verified ${opts.store}: ${report.files} part files, ${report.granules} granules, ${report.problems.length} problems` +
        (report.problems.length > 0
          ? `; geochunks compact --store ${opts.store} --repair rebuilds what it can`
          : ""),
    );
    if (report.problems.length > 0) io.exitCode = 1;
  });
}
