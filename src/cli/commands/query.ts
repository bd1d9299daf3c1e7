/** `geochunks query --store DIR --polygon AOI --out OUT`: a polygon subset as GeoParquet (or another format). */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { RecordBatch } from "apache-arrow";
import type { QueryResult } from "../../api.js";
import { InvalidAoiError } from "../../errors.js";
import {
  formatOf,
  OUTPUT_FORMATS,
  type OutputFormat,
  SEQUENTIAL_FORMATS,
  STDOUT,
} from "../../export/formats.js";
// Light (no writer, no S3 client): the upload settings are checked before the query starts.
import { isS3Output } from "../../export/s3-output.js";
import type { ByteSink } from "../../export/sink.js";
import { type FilterValue, type ProductProfile, registeredProfiles } from "../../products/index.js";
import type { ResultColumns } from "../../result/columns.js";
import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io, integerIn, list, oneOf } from "../program.js";
import { CACHE_OPTION, cacheDirOf } from "../store-location.js";

interface QueryFlags extends Record<string, unknown> {
  store: string;
  cacheDir?: string;
  polygon: string;
  out?: string;
  format?: string;
  crs?: string;
  start?: string;
  end?: string;
  beams?: string;
  vars?: string;
  select?: "auto" | "bbox" | "h3";
  product?: string;
  quality?: boolean;
  concurrency?: number;
  stats?: boolean;
  dryRun?: boolean;
  plot?: string;
}

/** Adds `query` to the program. */
export function queryCommand(program: Command, io: Io): void {
  const command = program
    .command("query")
    .description(
      `every point inside a polygon, time range and beams (${rowNouns()}), read from only the chunks that ` +
        "can hold one; rows ordered by granule, beam, time",
    );
  const profiles = registeredProfiles();
  const example = profiles[0]!;
  addOptions(command, [
    {
      flags: "--store <dir>",
      meaning:
        "the store made by `geochunks index`: a folder, or read-only s3://bucket/prefix or https://host/prefix",
      required: true,
      example: "--store idx",
    },
    {
      flags: "--polygon <aoi>",
      meaning:
        "area of interest: a GeoJSON file or text (Polygon, MultiPolygon, Feature, FeatureCollection), WKT, " +
        "or minx,miny,maxx,maxy in degrees; points inside by the even-odd rule, boundary inclusive",
      required: true,
      example: "--polygon -50,60,-40,70",
    },
    {
      flags: "--crs <crs>",
      meaning:
        "coordinate reference system of the AOI's coordinates: EPSG:4326/CRS84 (lon, lat degrees), " +
        "EPSG:3413 (NSIDC sea ice polar stereographic north) or EPSG:3031 (Antarctic polar stereographic), in metres; " +
        "a GeoJSON crs member says the same",
      default: "the GeoJSON crs member, else lon/lat degrees",
      example: "--crs EPSG:3413",
    },
    {
      flags: "--out <file>",
      meaning: `output file, format from its extension: ${OUTPUT_FORMATS.map((f) => f.extensions.join("|")).join(", ")}; its folder is created when missing; s3://bucket/key uploads it, streamed as the query runs (.fgb, .gpkg once written); - is standard output (with --format csv, geojson or geojsonl)`,
      default: "required unless --dry-run",
      example: "--out out/greenland.parquet",
    },
    {
      flags: "--format <name>",
      meaning: `output format whatever the extension: ${OUTPUT_FORMATS.map((f) => `${f.name} (${f.title})`).join(", ")}`,
      default: "from the --out extension",
      example: "--format geojsonl",
    },
    {
      flags: "--start <time>",
      meaning: "inclusive start of the time range, ISO 8601 (UTC unless an offset is given)",
      default: "no lower bound",
      example: "--start 2019-06-01",
    },
    {
      flags: "--end <time>",
      meaning: "exclusive end of the time range, ISO 8601",
      default: "no upper bound",
      example: "--end 2020-01-01T00:00:00Z",
    },
    {
      flags: "--product <name>",
      meaning: `product to query: ${profiles.map((p) => p.name).join(", ")}`,
      default: "the store's only product; required when it holds several",
      example: `--product ${example.name}`,
    },
    {
      flags: "--beams <list>",
      meaning: `beams by name (${beamNames(profiles)}) and/or kind (${[...new Set(profiles.flatMap((p) => p.beamKinds))].join(", ")})`,
      default: "all beams",
      example: `--beams ${[example.beams[0], example.beamKinds[0]].filter(Boolean).join(",")}`,
    },
    {
      flags: "--vars <list>",
      meaning: `extra row-rate variables, relative to the beam's row group (${rowGroups(profiles)}); a 2-D (N, k) variable is a list column, NAME:K its column K alone (as column NAMEK)`,
      default: "none",
      example: `--vars ${(example.exampleVars ?? [example.coordinates.time]).join(",")}`,
    },
    ...filterOptions(profiles),
    {
      flags: "--select <how>",
      meaning: "candidate chunk test in the index: h3 (the AOI's H3 cover), bbox, or auto",
      default: "auto",
      example: "--select bbox",
      parse: oneOf(["auto", "bbox", "h3"]),
    },
    {
      flags: "--concurrency <n>",
      meaning: "granules fetched and decoded at the same time at most (1..256)",
      default: "as many as 2 M candidate points",
      example: "--concurrency 8",
      parse: integerIn(1, 256),
    },
    {
      flags: "--stats",
      meaning: "print the query statistics (requests, bytes read, rows) as JSON",
      default: "one summary line",
      example: "--stats",
    },
    {
      flags: "--plot <picture>",
      meaning: "also draw the result as a map once written: .png, .svg or .html (see geochunks help plot)",
      default: "no picture",
      example: "--plot out/greenland.png",
    },
    {
      flags: "--dry-run",
      meaning: "print the read plan (chunks, ranges, bytes per granule) without reading any granule",
      default: "run the query",
      example: "--dry-run",
    },
    ...SOURCE_OPTIONS,
    CACHE_OPTION,
  ]);
  examples(command, [
    "geochunks query --store idx --polygon examples/greenland.geojson --out out/greenland.parquet --stats",
    "geochunks query --store idx --polygon -50,60,-40,70 --beams strong --start 2021-01-01 --out out/box.parquet",
    `geochunks query --store idx --product ${registeredProfiles()[0]!.name} --polygon -50,60,-40,70 --quality --out out/best.csv`,
    'geochunks query --store idx --polygon "POLYGON((-46 62,-44 62,-44 63,-46 63,-46 62))" --dry-run',
  ]);
  command.action((opts: QueryFlags) => runQuery(opts, io));
}

/** "ATL06 land-ice segments": what a result row is, per product. */
function rowNouns(): string {
  return registeredProfiles()
    .map((p) => `${p.name} ${p.rowNoun[1]}`)
    .join(", ");
}

/** Beam names of the products: "ATL06: gt1l, ..." when several products differ. */
function beamNames(profiles: readonly ProductProfile[]): string {
  const lists = [...new Set(profiles.map((p) => p.beams.join(", ")))];
  if (lists.length === 1) return lists[0]!;
  return profiles.map((p) => `${p.name}: ${p.beams.join(", ")}`).join("; ");
}

/** Each product's row group, e.g. "ATL06: land_ice_segments". */
function rowGroups(profiles: readonly ProductProfile[]): string {
  return profiles.map((p) => `${p.name}: ${p.rows || "the beam group"}`).join("; ");
}

/**
 * One option per filter name of the products: `--quality` for every product that has a quality
 * filter, `--cnf <n>`... for the one that offers it. The meaning names each product's rule.
 */
function filterOptions(profiles: readonly ProductProfile[]) {
  const names = [...new Set(profiles.flatMap((p) => p.filters.map((f) => f.name)))];
  return names.map((name) => {
    const offering = profiles.flatMap((p) => p.filters.filter((f) => f.name === name).map((f) => ({ p, f })));
    const first = offering[0]!.f;
    const meaning = offering.map(({ p, f }) =>
      offering.length > 1 ? `${p.name}: ${f.description}` : f.description,
    );
    const flags = first.placeholder ? `--${name} ${first.placeholder}` : `--${name}`;
    const example = first.placeholder
      ? `--${name} ${first.example ?? first.placeholder.replace(/[<>]/g, "")}`
      : `--${name}`;
    return {
      flags,
      meaning: `${meaning.join("; ")}${offering.length < profiles.length ? ` (${offering.map((o) => o.p.name).join(", ")} only)` : ""}`,
      default: first.placeholder ? "no filter" : "all rows",
      example,
    };
  });
}

/** Filter values from the parsed flags: each filter of any product that was given, parsed by its product's parser. */
function filterValues(values: QueryFlags): Record<string, FilterValue> {
  const out: Record<string, FilterValue> = {};
  for (const filter of registeredProfiles().flatMap((p) => p.filters)) {
    if (filter.name === "quality" || out[filter.name] !== undefined) continue;
    const key = filter.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const given = values[key];
    if (given === undefined) continue;
    out[filter.name] =
      typeof given === "string" && filter.parse ? filter.parse(given) : (given as FilterValue);
  }
  return out;
}

const INLINE_AOI = /^\s*([{[]|[A-Za-z]+\s*\(|-?[\d.]+(e[+-]?\d+)?\s*,)/i;

/** The AOI text: the file's contents when the argument names a file, else the argument itself. */
export async function aoiText(arg: string): Promise<{ text: string; source: string }> {
  if (existsSync(arg)) {
    if (statSync(arg).isDirectory()) throw new InvalidAoiError(`${arg}: is a folder, not an AOI file`);
    return { text: await readFile(arg, "utf8"), source: arg };
  }
  // Not a file: inline GeoJSON, WKT or a bbox; anything else was meant as a file name.
  if (arg.trim() === "")
    throw new InvalidAoiError(
      "--polygon: is empty, expected a GeoJSON or WKT file or text, or minx,miny,maxx,maxy",
    );
  if (!INLINE_AOI.test(arg)) throw new InvalidAoiError(`${arg}: no such file`);
  return { text: arg, source: "--polygon" };
}

async function runQuery(values: QueryFlags, io: Io): Promise<void> {
  const { text, source } = await aoiText(values.polygon);
  const dryRun = values.dryRun ?? false;
  if (!dryRun && values.out === undefined) throw new UsageError("missing --out FILE (or --dry-run)");
  if (values.plot !== undefined) await checkPlot(values);
  // An unknown extension is refused before any work is done.
  const format = values.out === undefined ? undefined : formatOf(values.out, values.format);
  // So is a bad upload setting, with nothing read or uploaded.
  const upload = uploadSettingsFor(values.out);
  // The engine loads only when a query runs, so help and argument errors answer at once.
  const { openStore, toAoi } = await import("../../api.js");
  const aoi = toAoi(text, source, { crs: values.crs });
  const sourceOptions = withWarnings(sourceOptionsFrom(sourceFlagsOf(values)), io);
  const store = await openStore(values.store, {
    source: sourceOptions,
    cacheDir: cacheDirOf(values.cacheDir),
  });
  const result = store.query({
    aoi,
    start: values.start,
    end: values.end,
    beams: list(values.beams),
    vars: list(values.vars),
    selection: values.select ?? "auto",
    product: values.product,
    quality: values.quality ?? false,
    filters: filterValues(values),
    granuleConcurrency: values.concurrency,
    source: sourceOptions,
  });
  if (dryRun) {
    const plan = await result.plan();
    for (const g of plan.granules) {
      const bytes = g.ranges.reduce((s, r) => s + r.length, 0);
      io.out(`${g.granule.granule_id}: ${g.chunks.length} chunks, ${g.ranges.length} ranges, ${bytes} bytes`);
    }
    io.out(
      JSON.stringify({
        granules: plan.granules.length,
        chunks_candidate: plan.chunksCandidate,
        requests: plan.requests,
        bytes: plan.bytes,
      }),
    );
    return;
  }
  // The query starts (selection, plan, every granule's first round of requests) before the writer's
  // libraries load, so their loading overlaps the first round's latency instead of preceding it.
  // A GeoParquet file is encoded on the writer thread, which builds the Arrow batches from the plain
  // columns sent to it: this thread loads no apache-arrow (docs/design/startup.md).
  const started =
    format === "parquet" && values.out !== STDOUT
      ? { columns: startedEarly(result.columns()) }
      : { batches: startedEarly<RecordBatch>(result) };
  try {
    await writeQuery(values, io, result, started, { format, upload });
  } finally {
    await (started.columns ?? started.batches)!.close();
  }
}

/** Writes the started query to `--out` (a file, standard output or S3), draws `--plot`, prints the summary. */
async function writeQuery(
  values: QueryFlags,
  io: Io,
  result: QueryResult,
  started: { batches?: StartedIterable<RecordBatch>; columns?: StartedIterable<ResultColumns> },
  output: { format: OutputFormat | undefined; upload: UploadSettings | undefined },
): Promise<void> {
  const { batches, columns } = started;
  const outPath = values.out!;
  const { format, upload } = output;
  // The writer loads while the query's first round is in flight. The empty result's schema (it loads
  // apache-arrow) is built only when the result turns out to have no rows; a writer takes the
  // schema of the first batch otherwise.
  const writers = import("../../export/formats.js");
  const known = format ?? formatOf(outPath, values.format);
  // A GeoParquet writer thread starts now, on the other core, while the query selects and plans:
  // started after the first request instead, it made the first request 40-100 ms sooner and the
  // whole run 2-8% longer, its start-up then on the way of the rows (docs/design/startup.md).
  const warmed = outPath === STDOUT ? undefined : writers.then((w) => w.warmWriter(known)).catch(() => {});
  const columnWriter = columns && import("../../export/geoparquet-columns.js");
  const first = await (batches ?? columns)!.first();
  // The write takes the thread started ahead, not one of its own beside it.
  await warmed;
  const schema = batches && (first.done ? await result.schema() : (first.value as RecordBatch).schema);
  const { writeResult, writeResultToSink } = await writers;
  // With the rows on standard output, the summary goes to standard error.
  const say = outPath === STDOUT ? io.err : io.out;
  const bbox = result.aoi.bbox;
  const write = async (target: string | ByteSink) => {
    if (columnWriter) {
      const { writeGeoParquetColumns } = await columnWriter;
      return writeGeoParquetColumns(columns!, target, { bbox, emptySchema: () => result.schema() });
    }
    return typeof target === "string"
      ? writeResult(batches!, target, { format, bbox, emptySchema: schema })
      : writeResultToSink(batches!, target, { format: known, bbox, emptySchema: schema });
  };
  const writeAndPlot = async (path: string) => {
    const rows = await write(path);
    if (values.plot !== undefined) {
      // Drawn before the summary, so that --stats keeps its JSON on the last line.
      const { plotResult } = await import("../../plot/index.js");
      const drawn = await plotResult(path, { out: values.plot, aoi: result.aoi });
      say(`drew ${drawn.rows} rows as ${drawn.marks} marks to ${values.plot}`);
    }
    return rows;
  };
  const rows = upload
    ? await writeQueryToS3(outPath, values, upload, known, {
        toFile: writeAndPlot,
        stream: (sink) => write(sink),
      })
    : await writeAndPlot(outPath);
  for (const warning of result.stats.warnings ?? []) io.err(`warning: ${warning}`);
  if (values.stats) say(JSON.stringify(result.stats));
  else if (outPath !== STDOUT) say(`wrote ${rows} rows to ${outPath}`);
}

/**
 * Writes `--out s3://...`: a format written front to back streams into the upload while the query runs
 * (`writers.stream`); FlatGeobuf, GeoPackage and a result that `--plot` reads back go through a
 * temporary local file (`writers.toFile`), uploaded once complete.
 */
async function writeQueryToS3(
  url: string,
  values: QueryFlags,
  upload: UploadSettings,
  format: OutputFormat,
  writers: { toFile: (path: string) => Promise<number>; stream: (sink: ByteSink) => Promise<number> },
): Promise<number> {
  const { streamToS3, writeToS3 } = await import("../../export/s3-output.js");
  const opts = { s3: sourceOptionsFrom(sourceFlagsOf(values)).s3, ...upload };
  const streamed = SEQUENTIAL_FORMATS.has(format) && values.plot === undefined;
  return streamed ? streamToS3(url, writers.stream, opts) : writeToS3(url, writers.toFile, opts);
}

/** Part size (bytes) and parts in flight of an `--out s3://` upload; undefined: the defaults. */
interface UploadSettings {
  partBytes?: number;
  partsInFlight?: number;
}

/**
 * The upload settings of `--out` from the environment when it is an `s3://` URL, else undefined.
 * @throws UsageError for a bad `GEOCHUNKS_S3_PART_MIB` or `GEOCHUNKS_S3_PARTS_IN_FLIGHT`.
 */
function uploadSettingsFor(out: string | undefined): UploadSettings | undefined {
  if (out === undefined || !isS3Output(out)) return undefined;
  return {
    partBytes: partBytesFromEnvironment(process.env),
    partsInFlight: partsInFlightFromEnvironment(process.env),
  };
}

/**
 * `GEOCHUNKS_S3_PARTS_IN_FLIGHT`: the parts of an `--out s3://` multipart upload sent at once at most
 * (as the AWS CLI's `max_concurrent_requests`), 1 to 64. Unset: the default (4).
 * @throws UsageError for another value.
 */
export function partsInFlightFromEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.GEOCHUNKS_S3_PARTS_IN_FLIGHT;
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`GEOCHUNKS_S3_PARTS_IN_FLIGHT=${text}: not a number of parts from 1 to 64`);
  return n;
}

/**
 * `GEOCHUNKS_S3_PART_MIB`: the part size of `--out s3://` multipart uploads, in MiB (as the AWS CLI's
 * `multipart_chunksize`); S3 takes 5 to 5120. Unset: the default (8 MiB).
 * @throws UsageError for another value.
 */
export function partBytesFromEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.GEOCHUNKS_S3_PART_MIB;
  if (text === undefined || text === "") return undefined;
  const mib = Number(text);
  if (!Number.isInteger(mib) || mib < 5 || mib > 5120)
    throw new UsageError(`GEOCHUNKS_S3_PART_MIB=${text}: not a part size in MiB from 5 to 5120`);
  return mib * 1024 * 1024;
}

/** An async iterable whose first item is already asked for, and a way to stop it when it is never read. */
interface StartedIterable<T> extends AsyncIterable<T> {
  /** The first step, without taking it: the reader still gets it. */
  first(): Promise<IteratorResult<T>>;
  /** Ends the source's iteration unless a reader has taken it over (then the reader's loop ends it). */
  close(): Promise<void>;
}

/**
 * `source` with its first `next()` called now, so its work starts before anyone reads it; iterable
 * once. A failure of that first step surfaces when the reader gets to it.
 */
export function startedEarly<T>(source: AsyncIterable<T>): StartedIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  const first = iterator.next();
  // Handled when read; until then a failure must not count as unhandled.
  first.catch(() => undefined);
  let taken = false;
  return {
    first: () => first,
    async *[Symbol.asyncIterator]() {
      taken = true;
      let step = await first;
      try {
        while (!step.done) {
          yield step.value;
          step = await iterator.next();
        }
      } finally {
        if (!step.done) await iterator.return?.();
      }
    },
    async close() {
      if (taken) return;
      taken = true;
      await first.catch(() => undefined);
      await iterator.return?.();
    },
  };
}

/** `--plot` needs a result file to read back and a picture extension, checked before the query runs. */
async function checkPlot(values: QueryFlags): Promise<void> {
  if (values.dryRun) throw new UsageError("--plot draws a result; it cannot go with --dry-run");
  if (values.out === STDOUT) throw new UsageError("--plot needs --out FILE, not standard output");
  const { pictureFormatOf } = await import("../../plot/write.js");
  pictureFormatOf(values.plot!);
}
