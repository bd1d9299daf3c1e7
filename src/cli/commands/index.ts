/** `geochunks index <inputs...> --store DIR`: index granules into a store. */
import { indexGranules } from "../../index-builder/index.js";
import { list, parseCommand, required } from "../args.js";
import { SOURCE_FLAGS, SOURCE_USAGE, sourceOptionsFrom } from "../credentials.js";
import { UsageError } from "../errors.js";
import { expandInputs } from "../inputs.js";
import { progressReporter } from "../progress.js";

export const INDEX_USAGE =
  "geochunks index <inputs...> --store DIR [--product auto|ATL06] [--h3-res N] [--concurrency N] [--shard i/n] " +
  SOURCE_USAGE;

/** Runs `index`. */
export async function indexCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, {
    store: { type: "string" },
    product: { type: "string" },
    "h3-res": { type: "string" },
    concurrency: { type: "string" },
    shard: { type: "string" },
    quiet: { type: "boolean" },
    ...SOURCE_FLAGS,
  });
  const store = required(values.store, "--store DIR");
  if (positionals.length === 0) throw new UsageError(`no inputs; usage: ${INDEX_USAGE}`);
  const product = values.product ?? "auto";
  if (!["auto", "ATL06"].includes(product))
    throw new UsageError(`--product ${product} is not supported yet (ATL06 only)`);
  const h3Resolution = integerOption(values["h3-res"], "--h3-res", 0, 15);
  const concurrency = integerOption(values.concurrency, "--concurrency", 1, 256);
  const shard = shardOption(values.shard);
  const inputs = await expandInputs(list(positionals.join(",")) ?? []);
  if (inputs.length === 0) throw new UsageError("no granules found in the inputs");
  const progress = progressReporter(values.quiet ? undefined : process.stderr);
  const report = await indexGranules(inputs, {
    store,
    h3Resolution,
    concurrency,
    shard,
    beforeCommit: pauseBeforeCommit(),
    source: sourceOptionsFrom(values),
    onProgress: (e) => progress.update(e.done, e.total),
  });
  progress.done();
  const where = report.staged
    ? `staged in ${store} (run geochunks commit --store ${store} once every shard is done)`
    : `into ${store}`;
  const share = report.bytesTotal > 0 ? ((100 * report.bytesRead) / report.bytesTotal).toFixed(1) : "0";
  const perCoordinates =
    report.bytesCoordinates > 0 ? (report.bytesRead / report.bytesCoordinates).toFixed(2) : "-";
  out(
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
function shardOption(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new UsageError(`--shard ${value} is not i/n with 0 <= i < n`);
  return { index, count };
}

function integerOption(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} ${value} is not an integer in ${min}..${max}`);
  return n;
}
