/** `geochunks describe --store DIR [--json]`: what a store holds and which variables a query can ask for. */
import type { StoreSummary, VariableSummary } from "../../store/describe.js";
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { addOptions, type Command, examples, type Io } from "../program.js";
import { CACHE_OPTION, cacheDirOf, localStoreFolder, STORE_MEANING } from "../store-location.js";

/** Adds `describe` to the program. */
export function describeCommand(program: Command, io: Io): void {
  const command = program
    .command("describe")
    .description(
      "summarise a store: products, granules, time range, extent, beams, and every row-rate variable " +
        "`query --vars` can ask for, with its dtype, units and long name",
    );
  addOptions(command, [
    { flags: "--store <dir>", meaning: STORE_MEANING, required: true, example: "--store idx" },
    {
      flags: "--json",
      meaning: "print one JSON object; times also as integer nanoseconds in strings",
      default: "text",
      example: "--json",
    },
    ...SOURCE_OPTIONS,
    CACHE_OPTION,
  ]);
  examples(command, ["geochunks describe --store idx", "geochunks describe --store idx --json"]);
  command.action(async (opts: { store: string; json?: boolean; cacheDir?: string }) => {
    const { Store } = await import("../../store/store.js");
    const { describeStore } = await import("../../store/describe.js");
    const source = withWarnings(sourceOptionsFrom(sourceFlagsOf(opts)), io);
    const dir = await localStoreFolder(opts.store, { source, cacheDir: cacheDirOf(opts.cacheDir) });
    const summary = await describeStore(await Store.open(dir));
    io.out(opts.json ? JSON.stringify(summaryJson(summary)) : summaryText(summary).join("\n"));
  });
}

/** ISO 8601 UTC with nanoseconds: `2019-06-01T20:27:58.000000000Z`. */
export function isoNanos(ns: bigint): string {
  const ms = ns >= 0n ? ns / 1_000_000n : -((-ns + 999_999n) / 1_000_000n);
  const subMs = (ns - ms * 1_000_000n).toString().padStart(6, "0");
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${subMs}Z`;
}

/** The summary as JSON-ready values: times as ISO text and as integer nanoseconds in strings. */
export function summaryJson(s: StoreSummary): Record<string, unknown> {
  return {
    ...s,
    time: {
      start: isoNanos(s.time.start),
      end: isoNanos(s.time.end),
      start_ns: s.time.start.toString(),
      end_ns: s.time.end.toString(),
    },
  };
}

/** Numbers as runs: `1-5, 8, 10-12`. */
function runs(values: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    out.push(j > i ? `${values[i]}-${values[j]}` : String(values[i]));
    i = j + 1;
  }
  return out.join(", ");
}

/** Rows of cells padded into aligned columns (the last column unpadded). */
function table(rows: string[][], indent = "  "): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
  );
}

const degrees = (x: number) => (Number.isFinite(x) ? x.toFixed(6) : String(x));

/** The summary as lines of text. */
export function summaryText(s: StoreSummary): string[] {
  const products = s.products.map((p) => `${p.product} release ${p.release} (${p.granules})`).join(", ");
  const { xmin, ymin, xmax, ymax } = s.bbox;
  return [
    `store      ${s.store} (H3 resolution ${s.h3_resolution}, updated ${s.updated})`,
    `products   ${products}`,
    `granules   ${s.granules}`,
    `time       ${isoNanos(s.time.start)} .. ${isoNanos(s.time.end)}`,
    `bbox       ${[xmin, ymin, xmax, ymax].map(degrees).join(", ")} (west, south, east, north; degrees)`,
    `cycles     ${runs(s.cycles)}`,
    `tracks     ${runs(s.tracks)}`,
    ...(s.orbits.length > 0 ? [`orbits     ${runs(s.orbits)}`] : []),
    `chunks     ${s.chunks}`,
    `beams      ${s.beams.map((b) => b.beam).join(" ")}`,
    ...table([
      ["beam", "granules", "chunks", "rows"],
      ...s.beams.map((b) => [b.beam, String(b.granules), String(b.chunks), String(b.rows)]),
    ]),
    ...variableLines(s),
  ];
}

/** The variables table, one per product when the store holds several. */
function variableLines(s: StoreSummary): string[] {
  const products = [...new Set(s.variables.map((v) => v.product))];
  return products.flatMap((product) => {
    const variables = s.variables.filter((v) => v.product === product);
    const of = products.length > 1 ? ` of ${product}` : "";
    return [
      `variables  ${variables.length} per row${of}, for query --vars (* = in every result already)`,
      ...table([
        ["name", "dtype", "units", "long_name"],
        ...variables.map((v) => variableRow(v, s.granule_beams)),
      ]),
    ];
  });
}

function variableRow(v: VariableSummary, pairs: number): string[] {
  const missing = v.beams < pairs ? ` (only in ${v.beams} of ${pairs} granule beams)` : "";
  return [
    `${v.name}${v.default ? "*" : ""}`,
    v.dtypes.join(","),
    v.units ?? "-",
    `${v.long_name ?? "-"}${missing}`,
  ];
}
