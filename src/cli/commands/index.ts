/** `geochunks index <inputs...> --store DIR`: index granules into a store. */

import { registeredProfiles } from "../../products/index.js";
import { type EngineShard, SHARDS_VARIABLE, shardFromEnvironment } from "../batch-engines.js";
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { UsageError } from "../errors.js";
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
import { LOCK_TIMEOUT } from "./store.js";

interface IndexFlags extends Record<string, unknown> {
  store: string;
  product?: string;
  h3Res?: number;
  lockTimeout?: number;
  concurrency?: number;
  jobs?: number;
  shard?: { index: number; count: number } | "auto";
  shards?: number;
  quiet?: boolean;
  strict?: boolean;
  verify?: boolean;
  dmrpp?: "auto" | "off" | "require";
  link?: number;
}

/** Adds `index` to the program. */
export function indexCommand(program: Command, io: Io): void {
  const command = program
    .command("index")
    .description(
      "index granules into a store (created when missing): every chunk's byte range, bbox, footprint, " +
        "H3 cells and time range. Unchanged granules are skipped, changed ones replaced; new rows become " +
        "visible in one atomic commit. An input that cannot be indexed (corrupt, not HDF5, another product, " +
        "missing) is skipped with its reason and the run ends with exit code 3; a copy of a granule already " +
        "indexed from another file (granules are told apart by their metadata, not their names) is skipped " +
        "with a note.",
    )
    .argument(
      "<inputs...>",
      'granules: files, folders, globs ("dir/*.h5"), http(s):// or s3:// URLs, or @list.txt (one per line)',
    );
  addOptions(command, [
    {
      flags: "--store <dir>",
      meaning: "the store folder, or s3://bucket/prefix (written with the S3 options below)",
      required: true,
      example: "--store idx",
    },
    {
      flags: "--product <name>",
      meaning:
        `product of the granules: auto (each file's own, from its metadata) or one of ${productNames().join(", ")} ` +
        "(only that product is indexed, others are skipped; a file whose metadata names no product is read as it)",
      default: "auto",
      example: `--product ${productNames()[0]}`,
      parse: oneOf(["auto", ...productNames()]),
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
      flags: "--jobs <n>",
      meaning:
        "threads that read granules and compute their rows (1..256; 1 reads in the main thread, which " +
        "always writes the store)",
      default: "one per 1.5 available cores, so 1 on 2 cores, with at least two inputs per thread",
      example: "--jobs 2",
      parse: integerIn(1, 256),
    },
    {
      flags: "--shard <i/n|auto>",
      meaning:
        "index only shard i (0-based) of n of the inputs (every n-th of the sorted list) and stage it for " +
        "`geochunks commit`; auto: i and n from the task's batch engine (Kubernetes JOB_COMPLETION_INDEX, " +
        "AWS_BATCH_JOB_ARRAY_INDEX and _SIZE, SLURM_ARRAY_TASK_ID, _MIN and _COUNT)",
      default: "all inputs, committed",
      example: "--shard auto",
      parse: shardOption,
    },
    {
      flags: "--shards <n>",
      meaning: `with --shard auto, the number of shards (needed on Kubernetes, or set ${SHARDS_VARIABLE})`,
      default: "the engine's array size",
      example: "--shards 16",
      parse: integerIn(1, 1_000_000),
    },
    {
      flags: "--strict",
      meaning: "any input that cannot be indexed fails the whole run (exit code 2) and nothing is written",
      default: "skip such inputs, index the others, exit code 3",
      example: "--strict",
    },
    {
      flags: "--verify",
      meaning:
        "also re-read the chunks whose checksums were recorded when indexing (latitude, longitude, time) of " +
        "granules whose size and mtime/ETag are unchanged, and re-index those whose bytes changed",
      default: "size and mtime/ETag only",
      example: "--verify",
    },
    {
      flags: "--dmrpp <mode>",
      meaning:
        "read each granule's metadata from its DMR++ sidecar (GRANULE.h5.dmrpp beside it, as NSIDC publishes " +
        "them), saving the HDF5 metadata requests: auto (when one exists and describes the granule; a stale " +
        "or invalid one is reported and passed over), require (a granule without a valid sidecar is skipped " +
        "as bad input) or off",
      default: "auto",
      example: "--dmrpp require",
      parse: oneOf(["auto", "off", "require"]),
    },
    {
      flags: "--link <MB/s>",
      meaning:
        "the client's link to remote granules, megabytes per second, or uncapped: on a fast link their HDF5 " +
        "metadata is read in a few whole-file lines, on a slower one in small blocks that skip the science data",
      default: "100 (a cloud VM; about 25 for a laptop)",
      example: "--link 25",
      parse: linkRate,
    },
    {
      flags: "--quiet",
      meaning: "no progress bar",
      default: "a progress bar on a terminal",
      example: "--quiet",
    },
    LOCK_TIMEOUT,
    ...SOURCE_OPTIONS,
  ]);
  examples(command, [
    'geochunks index ".cache/demo/granules/*.h5" --store idx',
    "geochunks index @granules.txt --store idx --concurrency 8",
    "geochunks index s3://bucket/granules/granule.h5 --store idx --anonymous",
    "geochunks index @granules.txt --store idx --shard auto   # in each task of an array job",
  ]);
  command.action((inputs: string[], opts: IndexFlags) => runIndex(inputs, opts, io));
}

/** Parser of `--link`: megabytes per second (more than 0), or `uncapped`; bytes per second. */
function linkRate(value: string): number {
  if (value === "uncapped") return Number.POSITIVE_INFINITY;
  const mb = Number(value);
  if (value.trim() === "" || !Number.isFinite(mb) || mb <= 0)
    throw new InvalidArgumentError("not a rate in MB/s above 0, nor uncapped");
  return mb * 1e6;
}

/** Names `--product` takes besides auto. */
function productNames(): string[] {
  return registeredProfiles().map((p) => p.name);
}

async function runIndex(positionals: string[], values: IndexFlags, io: Io): Promise<void> {
  const store = values.store;
  const shard = shardOf(values);
  const { expandInputs } = await import("../inputs.js");
  const inputs = await expandInputs(list(positionals.join(",")) ?? []);
  if (inputs.length === 0) throw new UsageError(`no granules found in ${positionals.join(" ")}`);
  const progress = progressReporter(values.quiet ? undefined : process.stderr);
  const { indexGranules } = await import("../../index-builder/index.js");
  const skipped: { input: string; reason: string }[] = [];
  let total = 0;
  let report: Awaited<ReturnType<typeof indexGranules>>;
  try {
    report = await indexGranules(inputs, {
      store,
      h3Resolution: values.h3Res,
      product: values.product === "auto" ? undefined : values.product,
      concurrency: values.concurrency,
      jobs: values.jobs,
      shard,
      strict: values.strict ?? false,
      verify: values.verify ?? false,
      dmrpp: values.dmrpp ?? "auto",
      link: values.link === undefined ? undefined : { bytesPerSecond: values.link },
      onWarning: (message) => io.err(`warning: ${message}`),
      beforeCommit: pauseBeforeCommit(),
      lockTimeoutMs: values.lockTimeout,
      source: withWarnings(sourceOptionsFrom(sourceFlagsOf(values)), io),
      onProgress: (e) => {
        total = e.total;
        if (e.status === "skipped") skipped.push({ input: e.input, reason: e.reason ?? "" });
        progress.update(e.done, e.total);
      },
    });
  } catch (err) {
    progress.done();
    // Every one of several inputs was bad: list them all, then fail; one bad input is its own error.
    if (!values.strict && total > 1 && skipped.length === total) {
      for (const s of inInputOrder(skipped, inputs)) io.err(`${s.input}: skipped: ${s.reason}`);
      throw new UsageError(`no granule indexed: all ${total} inputs were skipped; nothing written`);
    }
    throw err;
  }
  progress.done();
  for (const c of report.changed) {
    io.err(`${c.input}: changed since it was indexed, size and mtime kept (${c.reason}); re-indexing it`);
  }
  for (const s of report.skipped) io.err(`${s.input}: skipped: ${s.reason}`);
  for (const d of report.duplicates) io.err(`${d.input}: skipped: same granule as ${d.sameAs}`);
  const where = shard
    ? `staged as shard ${shard.index} of ${shard.count}${"engine" in shard ? ` (${shard.from.join(", ")})` : ""} ` +
      `in ${store} (run geochunks commit --store ${store} once every shard is done)`
    : `into ${store}`;
  const share = report.bytesTotal > 0 ? ((100 * report.bytesRead) / report.bytesTotal).toFixed(1) : "0";
  const perCoordinates =
    report.bytesCoordinates > 0 ? (report.bytesRead / report.bytesCoordinates).toFixed(2) : "-";
  const notes = [
    report.skipped.length > 0 ? `${report.skipped.length} skipped` : "",
    report.duplicates.length > 0
      ? `${report.duplicates.length} duplicate${report.duplicates.length === 1 ? "" : "s"}`
      : "",
  ].filter(Boolean);
  io.out(
    `indexed ${report.added.length} added, ${report.replaced.length} replaced, ${report.unchanged.length} unchanged ` +
      `granules (${report.chunks} chunks)${notes.length > 0 ? `, ${notes.join(", ")}` : ""} ${where} in ` +
      `${report.seconds.toFixed(2)} s; read ${report.bytesRead} bytes ` +
      `in ${report.requests} requests (${share}% of ${report.bytesTotal} bytes; ${perCoordinates} x the lat/lon/time chunks)`,
  );
  // Some inputs could not be indexed: the good ones are committed, and the exit code says so.
  // A duplicate is not an error: the granule is indexed, from the other file.
  if (report.skipped.length > 0) io.exitCode = EXIT_SKIPPED;
}

/** Exit code of a run that indexed what it could but skipped some inputs. */
const EXIT_SKIPPED = 3;

function inInputOrder<T extends { input: string }>(items: T[], inputs: readonly string[]): T[] {
  return [...items].sort((a, b) => inputs.indexOf(a.input) - inputs.indexOf(b.input));
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

/** The shard this run indexes: `--shard i/n`, or `--shard auto` read from the batch engine's variables. */
function shardOf(values: IndexFlags): { index: number; count: number } | EngineShard | undefined {
  if (values.shards !== undefined && values.shard !== "auto")
    throw new UsageError("--shards goes with --shard auto (--shard i/n names the count itself)");
  return values.shard === "auto"
    ? shardFromEnvironment(process.env, { shards: values.shards })
    : values.shard;
}

/** `--shard i/n`: shard i (0-based) of n; or `auto`. */
function shardOption(value: string): { index: number; count: number } | "auto" {
  if (value === "auto") return value;
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new InvalidArgumentError("not i/n with 0 <= i < n, nor auto");
  return { index, count };
}
