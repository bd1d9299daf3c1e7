/** `geochunks index <inputs...> --store DIR`: index granules into a store. */
import { indexGranules } from "../../index-builder/index.js";
import { list, parseCommand, required } from "../args.js";
import { UsageError } from "../errors.js";
import { expandInputs } from "../inputs.js";
import { progressReporter } from "../progress.js";

export const INDEX_USAGE =
  "geochunks index <inputs...> --store DIR [--product auto|ATL06] [--h3-res N] [--concurrency N]";

/** Runs `index`. */
export async function indexCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, {
    store: { type: "string" },
    product: { type: "string" },
    "h3-res": { type: "string" },
    concurrency: { type: "string" },
    quiet: { type: "boolean" },
  });
  const store = required(values.store, "--store DIR");
  if (positionals.length === 0) throw new UsageError(`no inputs; usage: ${INDEX_USAGE}`);
  const product = values.product ?? "auto";
  if (!["auto", "ATL06"].includes(product))
    throw new UsageError(`--product ${product} is not supported yet (ATL06 only)`);
  const h3Resolution = integerOption(values["h3-res"], "--h3-res", 0, 15);
  const concurrency = integerOption(values.concurrency, "--concurrency", 1, 256);
  const inputs = await expandInputs(list(positionals.join(",")) ?? []);
  if (inputs.length === 0) throw new UsageError("no granules found in the inputs");
  const progress = progressReporter(values.quiet ? undefined : process.stderr);
  const report = await indexGranules(inputs, {
    store,
    h3Resolution,
    concurrency,
    onProgress: (e) => progress.update(e.done, e.total),
  });
  progress.done();
  out(
    `indexed ${report.added.length} added, ${report.replaced.length} replaced, ${report.unchanged.length} unchanged ` +
      `granules (${report.chunks} chunks) into ${store} in ${report.seconds.toFixed(2)} s; ` +
      `read ${report.bytesRead} of ${report.bytesTotal} bytes in ${report.requests} requests`,
  );
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
