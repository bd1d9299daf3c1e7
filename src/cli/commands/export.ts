/** `geochunks export kerchunk|icechunk`: virtual stores of a store's granules, whole or under a polygon. */
import { registeredProfiles } from "../../products/index.js";
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io, integerIn, list, type OptionSpec } from "../program.js";
import { CACHE_OPTION, cacheDirOf, localStoreFolder } from "../store-location.js";
import { aoiText } from "./query.js";

interface SelectionFlags extends Record<string, unknown> {
  store: string;
  cacheDir?: string;
  polygon?: string;
  crs?: string;
  start?: string;
  end?: string;
  beams?: string;
  vars?: string;
  product?: string;
}

interface KerchunkFlags extends SelectionFlags {
  out: string;
  inlineThreshold?: number;
  recordSize?: number;
}

/** The options that choose what an export holds, shared by every export. */
function selectionOptions(): OptionSpec[] {
  const p = registeredProfiles()[0]!;
  return [
    {
      flags: "--store <dir>",
      meaning:
        "the store made by `geochunks index`: a folder, or read-only s3://bucket/prefix or https://host/prefix " +
        "(its part files are copied into the cache first)",
      required: true,
      example: "--store idx",
    },
    CACHE_OPTION,
    {
      flags: "--polygon <aoi>",
      meaning:
        "only the chunks of the chunk rows a query of this AOI would read (GeoJSON file or text, WKT, or " +
        "minx,miny,maxx,maxy); granules and beams without one are left out",
      default: "every chunk",
      example: "--polygon examples/greenland.geojson",
    },
    {
      flags: "--crs <crs>",
      meaning: "CRS of the AOI's coordinates: EPSG:4326, EPSG:3413 or EPSG:3031",
      default: "the GeoJSON crs member, else lon/lat degrees",
      example: "--crs EPSG:3413",
    },
    {
      flags: "--start <time>",
      meaning: "only chunk rows ending at or after this time, ISO 8601",
      default: "no lower bound",
      example: "--start 2019-06-01",
    },
    {
      flags: "--end <time>",
      meaning: "only chunk rows starting before this time, ISO 8601",
      default: "no upper bound",
      example: "--end 2020-01-01",
    },
    {
      flags: "--beams <list>",
      meaning: "only these beams (names or kinds: strong, weak)",
      default: "all beams",
      example: `--beams ${[p.beams[0], p.beamKinds[0]].filter(Boolean).join(",")}`,
    },
    {
      flags: "--vars <list>",
      meaning:
        "only these datasets of the beams (ends of their paths), plus the coordinates; metadata groups stay whole",
      default: "every dataset",
      example: `--vars ${(p.exampleVars ?? [p.coordinates.time]).join(",")}`,
    },
    {
      flags: "--product <name>",
      meaning: "only this product's granules",
      default: "every product",
      example: `--product ${p.name}`,
    },
  ];
}

/** Adds `export` and its subcommands to the program. */
export function exportCommand(program: Command, io: Io): void {
  const group = program
    .command("export")
    .description(
      "virtual stores of the indexed granules for zarr readers: kerchunk references (JSON or Parquet)",
    );
  const kerchunk = group
    .command("kerchunk")
    .description(
      "kerchunk references (version 1, zarr v2) of every group and dataset of each granule, one group per " +
        "granule id; with --polygon/--start/--end/--beams only the chunks under them",
    );
  addOptions(kerchunk, [
    ...selectionOptions(),
    {
      flags: "--out <path>",
      meaning: "output: a .json file, or a folder ending in .parq for kerchunk's Parquet layout",
      required: true,
      example: "--out refs.json",
    },
    {
      flags: "--inline-threshold <bytes>",
      meaning:
        "chunks of at most this many bytes are written inline (read from the granules once); 0 inlines none",
      default: "1024",
      example: "--inline-threshold 0",
      parse: integerIn(0, 1 << 30),
    },
    {
      flags: "--record-size <n>",
      meaning: "references per Parquet file of the Parquet layout",
      default: "10000",
      example: "--record-size 1000",
      parse: integerIn(1, 10_000_000),
    },
    ...SOURCE_OPTIONS,
  ]);
  examples(kerchunk, [
    "geochunks export kerchunk --store idx --out out/refs.json",
    "geochunks export kerchunk --store idx --polygon examples/greenland.geojson --out out/greenland.json",
    "geochunks export kerchunk --store idx --beams strong --out out/refs.parq",
  ]);
  kerchunk.action((opts: KerchunkFlags) => runKerchunk(opts, io));
  const icechunk = group
    .command("icechunk")
    .description(
      "commit the store's granules an Icechunk repository (spec version 2, virtual chunk references checked by " +
        "each granule's ETag or modification time) does not hold yet, as one new snapshot on main",
    );
  addOptions(icechunk, [
    ...selectionOptions(),
    {
      flags: "--repo <dir>",
      meaning: "the repository folder, or s3://bucket/prefix (created when missing)",
      required: true,
      example: "--repo out/repo.icechunk",
    },
    {
      flags: "--inline-threshold <bytes>",
      meaning: "chunks of at most this many bytes are stored inline in the manifest; 0 inlines none",
      default: "1024",
      example: "--inline-threshold 0",
      parse: integerIn(0, 1 << 30),
    },
    ...SOURCE_OPTIONS,
  ]);
  examples(icechunk, [
    "geochunks export icechunk --store idx --repo out/repo.icechunk",
    "geochunks export icechunk --store idx --polygon examples/greenland.geojson --repo out/greenland.icechunk",
  ]);
  icechunk.action((opts: IcechunkFlags) => runIcechunk(opts, io));
}

interface IcechunkFlags extends SelectionFlags {
  repo: string;
  inlineThreshold?: number;
}

async function runIcechunk(values: IcechunkFlags, io: Io): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(values.repo) && !/^s3:\/\//i.test(values.repo))
    throw new UsageError(`${values.repo}: --repo must be a local folder or s3://bucket/prefix`);
  const selection = await selectionOf(values);
  const { exportIcechunk } = await import("../../api-exports.js");
  const source = withWarnings(sourceOptionsFrom(sourceFlagsOf(values)), io);
  const store = await localStoreFolder(values.store, { source, cacheDir: cacheDirOf(values.cacheDir) });
  const commit = await exportIcechunk(store, {
    ...selection,
    repo: values.repo,
    inlineThreshold: values.inlineThreshold,
    source,
  });
  for (const s of commit.skipped) io.err(`warning: ${s}`);
  if (commit.granules.length === 0)
    io.out(`${values.repo}: nothing to add; main is at snapshot ${commit.snapshot}`);
  else
    io.out(
      `committed snapshot ${commit.snapshot} to ${values.repo}: ${commit.granules.length} granules, ${commit.chunks} chunk references`,
    );
}

/** The output kind of `--out`, refusing anything else. */
function kerchunkLayout(out: string): "json" | "parquet" {
  if (/\.json$/i.test(out)) return "json";
  if (/\.parq(uet)?\/?$/i.test(out)) return "parquet";
  throw new UsageError(
    `${out}: kerchunk output must end in .json (one file) or .parq (Parquet layout folder)`,
  );
}

async function selectionOf(values: SelectionFlags) {
  const { toAoi } = await import("../../api.js");
  const aoi = values.polygon === undefined ? undefined : await aoiText(values.polygon);
  return {
    aoi: aoi === undefined ? undefined : toAoi(aoi.text, aoi.source, { crs: values.crs }),
    start: values.start,
    end: values.end,
    beams: list(values.beams),
    vars: list(values.vars),
    product: values.product,
  };
}

async function runKerchunk(values: KerchunkFlags, io: Io): Promise<void> {
  kerchunkLayout(values.out);
  const selection = await selectionOf(values);
  const { exportKerchunk } = await import("../../api-exports.js");
  const source = withWarnings(sourceOptionsFrom(sourceFlagsOf(values)), io);
  const store = await localStoreFolder(values.store, { source, cacheDir: cacheDirOf(values.cacheDir) });
  const report = await exportKerchunk(store, {
    ...selection,
    out: values.out,
    inlineThreshold: values.inlineThreshold,
    recordSize: values.recordSize,
    source,
  });
  for (const s of report.skipped) io.err(`warning: ${s}`);
  if (report.partial.length > 0)
    io.err(
      `warning: ${report.partial.length} granules were indexed by an older geochunks: only their indexed arrays are exported (${report.partial.join(", ")})`,
    );
  io.out(
    `wrote ${report.granules} granules, ${report.arrays} arrays, ${report.chunks} chunks (${report.inlined} inline) to ${report.out} (${report.bytes} bytes)`,
  );
}
