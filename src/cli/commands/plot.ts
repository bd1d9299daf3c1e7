/**
 * `geochunks plot RESULT --out map.png`: a map or along-track profiles of a query result; and
 * `geochunks plot --store DIR --polygon AOI --out plan.png`: the chunks a query would read.
 */
import { COLOUR_MAP_NAMES, DEFAULT_COLOUR_MAP } from "../../plot/colour-names.js";
import { registeredProfiles } from "../../products/index.js";
import type { Aoi } from "../../query/aoi.js";
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
import { aoiText } from "./query.js";

interface PlotFlags {
  out: string;
  profile?: boolean;
  color?: string;
  cmap?: string;
  range?: [number, number];
  polygon?: string;
  crs?: string;
  store?: string;
  start?: string;
  end?: string;
  product?: string;
  beams?: string;
  title?: string;
  width?: number;
  height?: number;
}

/** Parser of `--range lo,hi`. */
function rangeOf(value: string): [number, number] {
  const parts = value.split(",").map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[0]! >= parts[1]!)
    throw new InvalidArgumentError("not two increasing numbers lo,hi");
  return parts as [number, number];
}

/** Adds `plot` to the program. */
export function plotCommand(program: Command, io: Io): void {
  const command = program
    .command("plot")
    .description(
      "draw a query result (any output format) as a map or along-track profiles, or draw the chunks a " +
        "query would read (--store); PNG, SVG or an interactive HTML map",
    )
    .argument("[result]", "a query result file (.parquet, .gpkg, .fgb, .geojson, .geojsonl, .csv)");
  addOptions(command, [
    {
      flags: "--out <file>",
      meaning:
        "picture file, format from its extension: .png, .svg, or .html (maps: one page with pan, zoom and hover)",
      required: true,
      example: "--out out/greenland.png",
    },
    {
      flags: "--profile",
      meaning: "along-track profiles (height against distance, one panel per beam pair) instead of a map",
      default: "a map",
      example: "--profile",
    },
    {
      flags: "--color <column>",
      meaning: "variable that colours the map (and that profiles draw)",
      default: "the product's height",
      example: "--color cycle",
    },
    {
      flags: "--cmap <name>",
      meaning: `colour ramp: ${COLOUR_MAP_NAMES.join(", ")}`,
      default: DEFAULT_COLOUR_MAP,
      example: "--cmap cividis",
      parse: oneOf([...COLOUR_MAP_NAMES]),
    },
    {
      flags: "--range <lo,hi>",
      meaning: "value range of the colour ramp (profiles: of the height axis)",
      default: "2nd..98th percentile of the values",
      example: "--range 1000,3000",
      parse: rangeOf,
    },
    {
      flags: "--polygon <aoi>",
      meaning:
        "area of interest to outline on a map, as `query --polygon` takes it; with --store, the query to plan",
      default: "none (required with --store)",
      example: "--polygon examples/greenland.geojson",
    },
    {
      flags: "--crs <crs>",
      meaning: "CRS of the --polygon coordinates, as for `query --crs`",
      default: "lon/lat degrees",
      example: "--crs EPSG:3413",
    },
    {
      flags: "--store <dir>",
      meaning: "draw the plan of a query over this store instead of a result",
      default: "none",
      example: "--store idx",
    },
    {
      flags: "--start <time>",
      meaning: "with --store: inclusive start of the time range",
      default: "no bound",
      example: "--start 2019-06-01",
    },
    {
      flags: "--end <time>",
      meaning: "with --store: exclusive end of the time range",
      default: "no bound",
      example: "--end 2021-01-01",
    },
    {
      flags: "--product <name>",
      meaning: "with --store: the product to plan",
      default: "the store's only product",
      example: `--product ${registeredProfiles()[0]!.name}`,
    },
    {
      flags: "--beams <list>",
      meaning: "with --store: beams by name or kind",
      default: "all beams",
      example: "--beams strong",
    },
    {
      flags: "--title <text>",
      meaning: "title of the picture",
      default: "product and variable",
      example: '--title "Jakobshavn 2019"',
    },
    {
      flags: "--width <px>",
      meaning: "picture width in pixels (300..8000)",
      default: "1000",
      example: "--width 1600",
      parse: integerIn(300, 8000),
    },
    {
      flags: "--height <px>",
      meaning: "picture height in pixels (200..8000)",
      default: "760 (profiles: 90 + 190 per panel)",
      example: "--height 1200",
      parse: integerIn(200, 8000),
    },
  ]);
  examples(command, [
    "geochunks plot out/greenland.parquet --polygon examples/greenland.geojson --out out/greenland.png",
    "geochunks plot out/greenland.parquet --profile --out out/profile.png",
    "geochunks plot out/greenland.gpkg --color cycle --cmap magma --out out/cycles.svg",
    "geochunks plot out/greenland.parquet --out out/greenland.html",
    "geochunks plot --store idx --polygon examples/greenland.geojson --start 2020-01-01 --out out/plan.png",
  ]);
  command.action((result: string | undefined, opts: PlotFlags) => runPlot(result, opts, io));
}

async function runPlot(result: string | undefined, opts: PlotFlags, io: Io): Promise<void> {
  if (result !== undefined && opts.store !== undefined)
    throw new UsageError("plot: give a result file or --store DIR, not both");
  if (result === undefined && opts.store === undefined)
    throw new UsageError(
      "plot: missing the result file (or --store DIR with --polygon); see geochunks help plot",
    );
  if (opts.store !== undefined) return runPlan(opts.store, opts, io);
  const planOnly = (["start", "end", "product", "beams"] as const).find((k) => opts[k] !== undefined);
  if (planOnly) throw new UsageError(`plot: --${planOnly} plans a query and goes with --store DIR`);
  const { pictureFormatOf, plotResult } = await import("../../plot/index.js");
  pictureFormatOf(opts.out, opts.profile ? ["png", "svg"] : ["png", "svg", "html"]);
  const report = await plotResult(result!, {
    out: opts.out,
    profile: opts.profile,
    color: opts.color,
    cmap: opts.cmap,
    range: opts.range,
    aoi: opts.polygon === undefined ? undefined : await aoiOf(opts.polygon, opts.crs),
    title: opts.title,
    width: opts.width,
    height: opts.height,
  });
  io.out(`drew ${report.rows} rows as ${report.marks} marks to ${opts.out} (${report.layout})`);
}

/** `plot --store DIR --polygon AOI`: the picture of a query plan. */
async function runPlan(store: string, opts: PlotFlags, io: Io): Promise<void> {
  if (opts.polygon === undefined)
    throw new UsageError("plot --store: missing --polygon AOI, the query to plan");
  if (opts.profile) throw new UsageError("plot --store: --profile needs a result file, not a store");
  const { pictureFormatOf, plotPlan } = await import("../../plot/index.js");
  pictureFormatOf(opts.out, ["png", "svg"]);
  const report = await plotPlan(store, {
    out: opts.out,
    aoi: await aoiOf(opts.polygon, opts.crs),
    start: dateOf(opts.start, "--start"),
    end: dateOf(opts.end, "--end"),
    product: opts.product,
    beams: list(opts.beams),
    width: opts.width,
    height: opts.height,
  });
  io.out(
    `drew the plan to ${opts.out}: ${report.chunks_read} chunk rows read of ${report.drawn} near the AOI, ${report.requests} requests, ${report.bytes} bytes`,
  );
}

/** The AOI of `--polygon` (a file or inline text) in the CRS `--crs` names. */
async function aoiOf(polygon: string, crs: string | undefined): Promise<Aoi> {
  const { toAoi } = await import("../../api.js");
  const { text, source } = await aoiText(polygon);
  return toAoi(text, source, { crs });
}

/** A time option as a Date. */
function dateOf(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${flag} ${value} is not an ISO 8601 time`);
  return date;
}
