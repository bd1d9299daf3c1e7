/**
 * Product profiles: everything the index builder, the store and the query know about one
 * trajectory product (ICESat-2 ATL03, ATL06, ATL08, GEDI L2A...), and the registry that finds the
 * profile of a file from its own metadata. Nothing outside `products/` names a product, a beam or
 * a dataset path: it asks the profile.
 */
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import type { NumericArray } from "../hdf5/types.js";

/** Options of the profile's reading functions. */
export interface ProfileReadOptions {
  signal?: AbortSignal;
}

/**
 * What identifies a granule and is stored in its `granules` row: the generic columns every
 * product fills as far as it has them, and the profile's own attributes.
 */
export interface GranuleAttributes {
  /**
   * The producer's granule id (its file name without extension), read from the file's metadata
   * and never from the input's name, so that a renamed copy is the same granule.
   */
  granule_id: string;
  /** Product name as the profile is registered, e.g. "ATL06", "GEDI02_A". */
  product: string;
  /** Release (ICESat-2 "006") or GEDI product version ("002"); "" when unknown. */
  release: string;
  /** Absolute orbit number (GEDI `O01964`, ICESat-2 `orbit_number`); null when the product has none or it was not read. */
  orbit: number | null;
  /** Ground track: ICESat-2 reference ground track (RGT, 1..1387), GEDI track `T05337`; null when unknown. */
  track: number | null;
  /** Repeat cycle (ICESat-2 cycle number); null for products without cycles (GEDI). */
  cycle: number | null;
  /** Granule part of an orbit: ICESat-2 region (1..14), GEDI sub-orbit granule (1..4); null when unknown. */
  region: number | null;
  /**
   * Product-specific attributes a query or a beam layout needs, e.g. `{ sc_orient: 0 }` for
   * ICESat-2; JSON-serialisable, stored as a JSON object.
   */
  attrs: Readonly<Record<string, string | number>>;
}

/** How one beam of a granule is laid out on the ground. */
export interface BeamLayout {
  /**
   * Class of the beam, one of the profile's {@link ProductProfile.beamKinds} ("strong"/"weak" for
   * ICESat-2, "full"/"coverage" for GEDI), or "" when unknown (an ICESat-2 yaw flip).
   */
  kind: string;
  /** Physical spot or laser number (ICESat-2 spot 1..6), or null when the product has none. */
  spot: number | null;
}

/** Arrow type of a result column. */
export type ColumnType =
  | "float64"
  | "float32"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "utf8";

/**
 * Which column of a 2-D (N, k) dataset a source reads: a fixed index, or one chosen per query from
 * the query's filter values (ATL03 `signal_conf_ph` at the `--srt` surface type's column).
 */
export type ColumnChoice = number | ((filters: Readonly<Record<string, FilterValue>>) => number);

/**
 * Where a result column's values come from. Dataset paths are relative to the beam's row group
 * ({@link ProductProfile.rows}), as `query --vars` takes them; `../` climbs to the beam group
 * (`../geolocation/segment_id` for ATL03).
 */
export type ColumnSource =
  /**
   * A row-rate dataset, one value per row; `column` picks one column of a 2-D (N, k) dataset
   * (without it, a 2-D dataset gives a list column when the result column has `list`).
   */
  | { kind: "dataset"; path: string; column?: ColumnChoice }
  /**
   * A dataset at the profile's parent rate ({@link ProductProfile.parent}), broadcast to every row
   * the parent row spans; `column` as for "dataset".
   */
  | { kind: "parent"; path: string; column?: ColumnChoice }
  /**
   * The sum of other sources, row by row, as float64 (ATL03 `x_atc` = the segment's
   * `segment_dist_x` + the photon's `dist_ph_along`); null where any of them is null.
   */
  | { kind: "sum"; of: readonly DatasetSource[] }
  /** The same value for every row of one beam of one granule (track id, RGT, spot...). */
  | {
      kind: "beam";
      value: (granule: GranuleAttributes, beam: string) => string | number | null;
    };

/** A source that reads one dataset (not a per-beam value or a computed one): what filters read. */
export type DatasetSource = Extract<ColumnSource, { path: string }>;

/** The datasets a column source reads: itself, the inputs of a computed source, none for a per-beam value. */
export function sourceDatasets(source: ColumnSource): DatasetSource[] {
  if (source.kind === "beam") return [];
  if (source.kind === "sum") return [...source.of];
  return [source];
}

/** The column index a source's `column` names for a query's filter values; undefined when it names none. */
export function chosenColumn(
  column: ColumnChoice | undefined,
  filters: Readonly<Record<string, FilterValue>>,
): number | undefined {
  return typeof column === "function" ? column(filters) : column;
}

/** One column of a query result besides the shared ones. */
export interface ResultColumn {
  /** Column name in the result, e.g. "h_li", "track_id". */
  name: string;
  /** Arrow type; a dataset whose file type differs is converted (float32 lat/lon to float64). */
  type: ColumnType;
  /** Where the values come from. */
  source: ColumnSource;
  /**
   * Every element of a row of a 2-D (N, k) "dataset" source as one list of `type` per row (GEDI
   * `rh`, ATL08 `h_canopy_20m`); fill values are null elements. Default false (one value a row).
   */
  list?: boolean;
  /**
   * Arrow field metadata of the column for a query's filter values, e.g. which surface type an
   * ATL03 `signal_conf_ph` column is for; GeoParquet results keep it. Default none.
   */
  metadata?: (filters: Readonly<Record<string, FilterValue>>) => Record<string, string>;
  /**
   * Whether the column may hold nulls. Default: true for datasets (fill values become nulls),
   * false for per-beam values, whose function must then never return null.
   */
  nullable?: boolean;
}

/**
 * Columns every result has, whatever the product, filled by the query engine. `lat`, `lon` and
 * `time` always come first and `geometry` last; the profile places the others among its columns.
 */
export type SharedColumn = "granule_id" | "product" | "beam";

/** A value given to a filter: its text parsed by {@link ProfileFilter.parse}, or true for a flag. */
export type FilterValue = string | number | boolean;

/**
 * A quality predicate or other row filter the query offers for this product, e.g. ATL06
 * `quality` (atl06_quality_summary == 0) or ATL03 `cnf` (signal confidence at least N).
 */
export interface ProfileFilter {
  /** Query option name and CLI flag (`quality` is `--quality`, `cnf` is `--cnf <n>`). */
  name: string;
  /** One line for `--help`: what is kept. */
  description: string;
  /**
   * Placeholder of the CLI value (`<n>`, `<surface>`); absent for a flag that takes no value
   * (its value is then `true`).
   */
  placeholder?: string;
  /** A typical value for the help's example (`3`, `land_ice`); required with a placeholder. */
  example?: string;
  /**
   * Parses and checks the option's text, e.g. "3" to 3.
   * @throws InvalidQueryError naming the option and the accepted values.
   */
  parse?: (text: string) => FilterValue;
  /**
   * Datasets the filter reads for every row, given all filter values of the query (a filter may
   * depend on another, e.g. `cnf` on `surface`). Empty for a filter that only sets a parameter.
   */
  sources(values: Readonly<Record<string, FilterValue>>): readonly DatasetSource[];
  /**
   * Clears `keep[i]` for the rows the filter drops. `columns` holds the values of
   * {@link ProfileFilter.sources}, in order, for the rows of one chunk row; rows already dropped
   * may be skipped.
   */
  apply(
    values: Readonly<Record<string, FilterValue>>,
    columns: readonly NumericArray[],
    keep: Uint8Array,
  ): void;
}

/**
 * A coarser rate whose rows each span a run of consecutive rows of the row group: ATL03's 20 m
 * geolocation segments over photons. Datasets of that rate can be broadcast to rows
 * ({@link ColumnSource} "parent").
 */
export interface ParentRate {
  /** Dataset of each parent row's first row (`../geolocation/ph_index_beg`), relative to the row group. */
  first: string;
  /** Dataset of each parent row's row count (`../geolocation/segment_ph_cnt`). */
  count: string;
  /** Index of the row group's first row in `first`: 1 for ATL03, where 0 means "no rows". */
  base: 0 | 1;
  /**
   * Where the parent rows lie, so the index can place its chunk rows from the parent rate instead of
   * reading every row's coordinates (ATL03: the 20 m segments' reference photons, about 1% of the
   * photon coordinates' bytes): each parent row's reference point and time, relative to the row
   * group, and how far any of its rows may be from it. Parent rows without rows are ignored.
   */
  locate?: ParentLocation;
}

/** Reference coordinates of a parent rate ({@link ParentRate.locate}). */
export interface ParentLocation {
  /** Latitude of each parent row's reference point (`../geolocation/reference_photon_lat`). */
  lat: string;
  lon: string;
  /** Time of each parent row's reference point, in the profile's time scale. */
  time: string;
  /** Largest distance from a row to its parent row's reference point, metres. */
  radius: number;
  /** Largest difference between a row's time and its parent row's reference time, seconds. */
  timeRadius: number;
}

/**
 * How times are counted: seconds since the product's epoch, converted to UTC. ICESat-2 and GEDI
 * both count GPS seconds from 2018-01-01T00:00:00Z.
 */
export interface TimeScale {
  /** Integer nanoseconds since the Unix epoch, UTC, of a stored time value (seconds since the epoch). */
  toUnixNs(value: number): bigint;
  /** The stored time value (seconds since the epoch) of a UTC date. */
  fromDate(date: Date): number;
}

/** How pictures of a result show this product (`geochunks plot`). */
export interface PlotHints {
  /** Result column that maps colour by default and profiles draw: the product's height ("h_li"). */
  height: string;
  /** Units of {@link PlotHints.height} when the result's metadata names none, e.g. "m". */
  units: string;
  /** Beams drawn in one profile panel (ICESat-2 beam pairs); default one panel per beam. */
  pairs?: readonly (readonly string[])[];
  /** Result column of the along-track distance in metres, when a query adds it with `--vars`. */
  alongTrack?: string;
  /** Prefix of a per-row class column profiles colour by (ATL03 signal confidence). */
  classes?: string;
}

/** Everything geochunks knows about one trajectory product. */
export interface ProductProfile {
  /** Registered name, used in the store's `product` column and `--product`: "ATL06", "GEDI02_A". */
  name: string;
  /** One line naming the product, e.g. "ICESat-2 ATL06 Land Ice Height". */
  title: string;
  /**
   * Values of the root `short_name` (or `identifier_product_type`) attribute that mean this
   * product, e.g. ["ATL06"], ["GEDI_L2A", "GEDI02_A"]. A file whose attribute names none of the
   * registered products is not indexed.
   */
  shortNames: readonly string[];
  /** What one result row is, singular and plural, for messages and help: ["segment", "segments"]. */
  rowNoun: readonly [string, string];
  /** Every beam group name the product may have, in product order (`gt1l`..., `BEAM0000`...). */
  beams: readonly string[];
  /** Classes a beam may belong to, accepted by `--beams` besides beam names ("strong", "weak"). */
  beamKinds: readonly string[];
  /**
   * Path of a beam group's row group relative to the beam group: the group of the row-rate
   * datasets the index covers ("land_ice_segments", "heights", "land_segments"; "" for GEDI,
   * whose shots sit in the beam group itself).
   */
  rows: string;
  /**
   * Row-rate datasets, relative to the row group, that locate every row: `lat` and `lon` (degrees)
   * and `time` (seconds in {@link ProductProfile.time}). The index builder reads them whole for
   * chunk bboxes, footprints, H3 cells and time ranges; the query reads them first for every
   * candidate chunk row, and the rest only where points fall inside the AOI.
   */
  coordinates: { readonly lat: string; readonly lon: string; readonly time: string };
  /** The time scale of {@link ProductProfile.coordinates} `time`. */
  time: TimeScale;
  /**
   * True when `time` never decreases along a beam's rows (rows written in the order they were
   * measured). The index then inflates only the start of each time chunk: it reads each chunk row's
   * first time and the beam's last, and records a chunk row's time range as its first row's time to
   * the next chunk row's first (the beam's last time for the last row): a range that holds every row's
   * time, exact at the beam's ends. It reads the whole array instead where those times are out of
   * order or a chunk row is split at the antimeridian. Default false: exact ranges from every row.
   */
  timeSorted?: boolean;
  /** A coarser rate broadcast to rows (ATL03 segments over photons); absent when there is none. */
  parent?: ParentRate;
  /**
   * Float values the product writes for "no data" in float datasets whether or not a `_FillValue`
   * attribute says so (ICESat-2 3.4028235e38 and 1.7976931348623157e308, GEDI L2A -9999): null in
   * results, like `_FillValue` values. Default none.
   */
  noData?: readonly number[];
  /**
   * Result columns after `lat`, `lon`, `time` and before any `--vars` columns and `geometry`, in
   * order; must include each {@link SharedColumn} once.
   */
  columns: readonly (ResultColumn | SharedColumn)[];
  /** Filters the query offers for this product. */
  filters: readonly ProfileFilter[];
  /** A few `--vars` names of this product for help texts, e.g. ["ground_track/x_atc"]; optional. */
  exampleVars?: readonly string[];
  /** How pictures show the product's results; absent: the first numeric column, one panel per beam. */
  plot?: PlotHints;
  /**
   * Beam groups of `file` that hold this product's row group, in product order; empty when the
   * file has none (then it is not a granule of this product).
   */
  findBeams(file: Hdf5Reader, opts?: ProfileReadOptions): Promise<string[]>;
  /**
   * Reads what identifies the granule (a few small metadata reads, no coordinates).
   * @param ctx.root the file's root attributes, already read for detection.
   * @param ctx.beams the beams {@link ProductProfile.findBeams} found, at least one.
   */
  readGranule(
    file: Hdf5Reader,
    ctx: { root: Readonly<Record<string, unknown>>; beams: readonly string[] } & ProfileReadOptions,
  ): Promise<GranuleAttributes>;
  /**
   * The granule's bounding polygon from its metadata, as one closed ring of interleaved lon/lat
   * degrees; undefined when the file has none (the store then uses the bbox of its chunk rows).
   */
  boundingPolygon?(file: Hdf5Reader, opts?: ProfileReadOptions): Promise<number[] | undefined>;
  /** Class and spot of a beam in a granule (ICESat-2: from the spacecraft orientation). */
  beamLayout(beam: string, granule: GranuleAttributes): BeamLayout;
  /** Track id of a beam of a granule, as results show it (ATL06: `RRRRCCGG_beam`). */
  trackId(granule: GranuleAttributes, beam: string): string;
}

/** Registered profiles by name. */
const registry = new Map<string, ProductProfile>();

/**
 * Registers a product profile; called once by each product's module.
 * @throws Error when another profile has the same name or claims one of its short names.
 */
export function registerProfile(profile: ProductProfile): void {
  for (const other of registry.values()) {
    const shared = profile.shortNames.filter((s) => other.shortNames.includes(s));
    if (other.name === profile.name || shared.length > 0) {
      throw new Error(`product profile ${profile.name} clashes with ${other.name} (${shared.join(", ")})`);
    }
  }
  registry.set(profile.name, profile);
}

/** Every registered profile, by name. */
export function registeredProfiles(): ProductProfile[] {
  // By character codes, not localeCompare: its first call in a process sets up ICU's collator (about
  // 6 ms of CPU), and the command lists the profiles in its help as it starts.
  return [...registry.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The profile registered as `name` or claiming it as a short name; undefined when none. */
export function findProfile(name: string): ProductProfile | undefined {
  return registry.get(name) ?? [...registry.values()].find((p) => p.shortNames.includes(name));
}

/** A string attribute value, trimmed of padding; undefined when absent or empty. */
export function attrText(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== "string") return undefined;
  const trimmed = first.replace(/\0+$/, "").trim();
  return trimmed === "" ? undefined : trimmed;
}

/** What {@link detectProfile} found. */
export type Detection =
  /** The file is a granule of `profile`, with these beams. */
  | { profile: ProductProfile; beams: string[]; root: Record<string, unknown> }
  /**
   * No registered profile fits: `shortName` is what the file says it is (when it says), and
   * `reason` says why it is not a granule, e.g. "product ATL07" or "no /gt*\/land_ice_segments group".
   */
  | { profile: undefined; shortName: string | undefined; reason: string; root: Record<string, unknown> };

/**
 * Finds the product of an open file from its own metadata: the root `short_name` (else
 * `identifier_product_type`) attribute when present, else the group tree (the first registered
 * profile, by name, that finds beams). With `only`, that profile is the only candidate: a file
 * whose short name names another product does not fit, and one without a short name is tried
 * against it alone.
 */
export async function detectProfile(
  file: Hdf5Reader,
  opts: { only?: ProductProfile } & ProfileReadOptions = {},
): Promise<Detection> {
  const root: Record<string, unknown> = (await file.groupAttrs("/", opts)) ?? {};
  const shortName = attrText(root.short_name) ?? attrText(root.identifier_product_type);
  const candidates = opts.only ? [opts.only] : registeredProfiles();
  if (shortName !== undefined) {
    const profile = candidates.find((p) => p.shortNames.includes(shortName) || p.name === shortName);
    if (!profile) return { profile: undefined, shortName, reason: `product ${shortName}`, root };
    const beams = await profile.findBeams(file, opts);
    if (beams.length > 0) return { profile, beams, root };
    return { profile: undefined, shortName, reason: noBeams(profile), root };
  }
  for (const profile of candidates) {
    const beams = await profile.findBeams(file, opts);
    if (beams.length > 0) return { profile, beams, root };
  }
  return { profile: undefined, shortName, reason: candidates.map(noBeams).join(", "), root };
}

/** "no /gt*\/land_ice_segments group": what a file lacks to be a granule of `profile`. */
function noBeams(profile: ProductProfile): string {
  return `no ${beamPattern(profile)}${profile.rows ? `/${profile.rows}` : ""} group`;
}

/** The profile's beam names as one glob, e.g. "/gt*", "/BEAM*". */
function beamPattern(profile: ProductProfile): string {
  const names = profile.beams;
  let prefix = names[0] ?? "";
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return names.length > 1 ? `/${prefix}*` : `/${prefix}`;
}

/** Absolute path of a beam's row group, e.g. `/gt1l/land_ice_segments`, `/BEAM0000`. */
export function rowGroupOf(profile: ProductProfile, beam: string): string {
  return profile.rows ? `/${beam}/${profile.rows}` : `/${beam}`;
}

/**
 * Absolute path of a dataset given relative to a beam's row group (as profiles and `--vars`
 * name them); `..` components climb towards the beam group.
 * @example datasetPath(ATL03, "gt1l", "../geolocation/segment_id") // "/gt1l/geolocation/segment_id"
 */
export function datasetPath(profile: ProductProfile, beam: string, relative: string): string {
  const parts = rowGroupOf(profile, beam).split("/").filter(Boolean);
  for (const part of relative.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** The column names of a profile's result, shared ones included, in order (`lat`... `geometry`). */
export function resultColumnNames(profile: ProductProfile): string[] {
  const names = profile.columns.map((c) => (typeof c === "string" ? c : c.name));
  return ["lat", "lon", "time", ...names, "geometry"];
}

/**
 * Dataset paths of a profile's first beam, for examples in help texts: its first dataset column
 * (else its latitude) and its time coordinate, e.g. `/gt1l/land_ice_segments/h_li`.
 */
export function exampleDatasets(profile: ProductProfile): { variable: string; time: string } {
  const beam = profile.beams[0]!;
  const column = profile.columns.find((c) => typeof c !== "string" && c.source.kind === "dataset");
  const variable =
    column && typeof column !== "string" && "path" in column.source
      ? column.source.path
      : profile.coordinates.lat;
  return {
    variable: datasetPath(profile, beam, variable),
    time: datasetPath(profile, beam, profile.coordinates.time),
  };
}
