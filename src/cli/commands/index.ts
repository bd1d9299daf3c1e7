/** `geochunks index <inputs...> --store DIR`: index granules into a store. */
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom } from "../credentials.js";
import { UsageError } from "../errors.js";
import { expandInputs } from "../inputs.js";
import {
  addOptions,
  type Command,
  examples,
  InvalidArgumentError,
  type Io,
  integerIn,
  list,
  oneOf,
} from "../program.js";
import { progressReporter } from "../progress.js";

interface IndexFlags extends Record<string, unknown> {
  store: string;
  product?: string;
  h3Res?: number;
  concurrency?: number;
  shard?: { index: number; count: number };
  quiet?: boolean;
}

/** Adds `index` to the program. */
export function indexCommand(program: Command, io: Io): void {
  const command = program
    .command("index")
    .description(
      "index granules into a store (created when missing): every chunk's byte range, bbox, footprint, " +
        "H3 cells and time range. Unchanged granules are skipped, changed ones replaced; new rows become " +
        "visible in one atomic commit.",
    )
    .argument(
      "<inputs...>",
      'granules: files, folders, globs ("dir/*.h5"), http(s):// or s3:// URLs, or @list.txt (one per line)',
    );
  addOptions(command, [
    { flags: "--store <dir>", meaning: "the store folder", required: true, example: "--store idx" },
    {
      flags: "--product <name>",
      meaning: "product of the granules: auto (from each file's metadata) or ATL06",
      default: "auto",
      example: "--product ATL06",
      parse: oneOf(["auto", "ATL06"]),
    },
    {
      flags: "--h3-res <n>",
      meaning: "H3 resolution of the chunk cells of a new store (0..15; an existing store keeps its own)",
      default: "6",
      example: "--h3-res 7",
      parse: integerIn(0, 15),
    },
    {
      flags: "--concurrency <n>",
      meaning: "granules read at the same time (1..256)",
      default: "4",
      example: "--concurrency 8",
      parse: integerIn(1, 256),
    },
    {
      flags: "--shard <i/n>",
      meaning:
        "index only shard i (0-based) of n of the inputs and stage it; `geochunks commit` publishes all shards",
      default: "all inputs, committed",
      example: "--shard 0/4",
      parse: shardOption,
    },
    {
      flags: "--quiet",
      meaning: "no progress bar",
      default: "a progress bar on a terminal",
      example: "--quiet",
    },
    ...SOURCE_OPTIONS,
  ]);
  examples(command, [
    'geochunks index ".cache/demo/granules/*.h5" --store idx',
    "geochunks index @granules.txt --store idx --concurrency 8",
    "geochunks index s3://bucket/atl06/ATL06_20190601202758_10330303_006_01.h5 --store idx --anonymous",
  ]);
  command.action((inputs: string[], opts: IndexFlags) => runIndex(inputs, opts, io));
}

async function runIndex(positionals: string[], values: IndexFlags, io: Io): Promise<void> {
  const store = values.store;
  const inputs = await expandInputs(list(positionals.join(",")) ?? []);
  if (inputs.length === 0) throw new UsageError(`no granules found in ${positionals.join(" ")}`);
  const progress = progressReporter(values.quiet ? undefined : process.stderr);
  const { indexGranules } = await import("../../index-builder/index.js");
  const report = await indexGranules(inputs, {
    store,
    h3Resolution: values.h3Res,
    concurrency: values.concurrency,
    shard: values.shard,
    beforeCommit: pauseBeforeCommit(),
    source: sourceOptionsFrom(sourceFlagsOf(values)),
    onProgress: (e) => progress.update(e.done, e.total),
  });
  progress.done();
  const where = report.staged
    ? `staged in ${store} (run geochunks commit --store ${store} once every shard is done)`
    : `into ${store}`;
  const share = report.bytesTotal > 0 ? ((100 * report.bytesRead) / report.bytesTotal).toFixed(1) : "0";
  const perCoordinates =
    report.bytesCoordinates > 0 ? (report.bytesRead / report.bytesCoordinates).toFixed(2) : "-";
  io.out(
    `indexed ${report.added.length} added, ${report.replaced.length} replaced, ${report.unchanged.length} unchanged ` +
      `granules (${report.chunks} chunks) ${where} in ${report.seconds.toFixed(2)} s; read ${report.bytesRead} bytes ` +
      `in ${report.requests} requests (${share}% of ${report.bytesTotal} bytes; ${perCoordinates} x the lat/lon/time chunks)`,
  );
}

/**
 * GEOCHUNKS_PAUSE_BEFORE_COMMIT_MS holds a run between writing its part files and swapping the
 * manifest, so crash-consistency tests can kill it exactly there.
 */
function pauseBeforeCommit(): (() => Promise<void>) | undefined {
  const ms = Number(process.env.GEOCHUNKS_PAUSE_BEFORE_COMMIT_MS ?? "");
  if (!(ms > 0)) return undefined;
  return async () => {
    process.stderr.write("geochunks: parts written, pausing before commit\n");
    await new Promise((r) => setTimeout(r, ms));
  };
}

/** `--shard i/n`: shard i (0-based) of n. */
function shardOption(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new InvalidArgumentError("not i/n with 0 <= i < n");
  return { index, count };
}
