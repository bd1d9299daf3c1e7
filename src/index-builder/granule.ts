/** One granule of any registered product -> the store rows that describe it (granule, arrays, chunks, chunk cells). */
import { InvalidHdf5Error, NotAGranuleError } from "../errors.js";
import { DmrppFile } from "../hdf5/dmrpp/index.js";
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import { type Hdf5OpenOptions, itemSize, ValueBufferPool } from "../hdf5/index.js";
import type { ChunkRef, DatasetInfo, DatasetValues, NumericArray } from "../hdf5/types.js";
import {
  datasetPath,
  detectProfile,
  type GranuleAttributes,
  type ProductProfile,
  registeredProfiles,
  rowGroupOf,
} from "../products/index.js";
import type { ByteSource } from "../source/types.js";
import { EMPTY_BBOX, unionBbox } from "../store/geo.js";
import type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "../store/schema.js";
import type { StoreBatch } from "../store/store.js";
import { wkbPolygon } from "../store/wkb.js";
import { openGranuleFile, type SidecarOptions } from "./dmrpp.js";
import { cellNeighbours, chunkGeometry, h3CellsOf, validLonLat } from "./geometry.js";
import { readHierarchy } from "./hierarchy.js";
import { blockReads, type MetadataReads, metadataReads } from "./read-cost.js";

/** Options for {@link indexGranule}. */
export interface IndexGranuleOptions {
  /** H3 resolution of the chunk cells. */
  h3Resolution: number;
  /** What identifies this version of the file: size in bytes, and ETag or mtime (ms). */
  fingerprint: { size: number; etag: string | null; mtime: number | null };
  /** Only this product (a registered profile's name); default: whatever the file's metadata says. */
  product?: string;
  signal?: AbortSignal;
  /**
   * The data is read through whole-file lines of this many bytes (a block cache): a beam's
   * coalesced coordinate reads are split at the lines' edges, so that each is served as a view of
   * its line rather than copied out of two.
   */
  lineBytes?: number;
  /**
   * Called with the file offset, stored size and XXH32 of each stored chunk the coordinates are
   * decoded from (taken on the inflate worker; see `readDatasetValues`), for the chunk checksums.
   */
  onStoredChecksum?: (offset: number, size: number, sum: number) => void;
}

/** What the reads of a beam's coordinate arrays take of {@link IndexGranuleOptions}. */
type CoordinateReads = Pick<IndexGranuleOptions, "signal" | "lineBytes" | "onStoredChecksum">;

/**
 * What makes a granule the granule it is, read from the file's own metadata and never from its
 * name by its product's profile: a renamed copy has the same identity, and two copies of one
 * granule share one store entry.
 */
export type GranuleIdentity = GranuleAttributes;

/** An opened granule: its file, product profile, identity and beams. */
export interface OpenedGranule {
  file: Hdf5Reader;
  profile: ProductProfile;
  identity: GranuleIdentity;
  beams: string[];
  /** URL of the source it was read from. */
  url: string;
  /**
   * Resolves once the reads started ahead while the granule was opened (a sidecar's coordinate
   * chunks) are done; absent when none were started.
   */
  readsAhead?: Promise<void>;
}

/** The input as messages name it: a path for local files, else the URL. */
function inputName(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/** Stored size of the datasets read through the metadata cache of a remote granule, bytes, at most. */
const SMALL_DATA_BYTES = 64 * 1024;

/** "ATL06", "ATL03 or ATL06", "ATL03, ATL06 or GEDI02_A": the products a file could have been. */
function productList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "known") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/**
 * Opens a granule, finds its product from its metadata (root `short_name`, else its group tree)
 * and reads what identifies it (a few small metadata reads, no coordinates).
 * @throws NotAGranuleError when the file is HDF5 but of no registered product (or not of
 * `opts.product`), or has none of its product's beam groups.
 * @throws InvalidHdf5Error when the file is not readable HDF5.
 * @throws RangeError when `opts.product` names no registered product.
 */
export async function openGranule(
  source: ByteSource,
  opts: {
    product?: string;
    sidecar?: SidecarOptions;
    signal?: AbortSignal;
    metadataSource?: ByteSource;
    /** How the HDF5 metadata is read; default {@link metadataReads} of the source at the default link. */
    reads?: MetadataReads;
    /** Where a sidecar's spot check reads its metadata blocks when `reads` are lines; default `metadataSource`. */
    spotCheckSource?: ByteSource;
    /**
     * Told where the granule's metadata comes from, before any data is read: "sidecar" as soon as
     * one is parsed (its spot check still running), then "hdf5" if the check passes it over.
     */
    onMetadata?: (from: "sidecar" | "hdf5") => void;
  } = {},
): Promise<OpenedGranule> {
  const only = opts.product === undefined ? undefined : profileNamed(opts.product);
  const reads = opts.reads ?? metadataReads(source.url, await source.size(opts));
  // The metadata reads of a remote granule are not data reads of `source`: they go to `metadataSource`,
  // and so do the small datasets (identity, hierarchy values) whose bytes usually come with them.
  const remote = (cache: MetadataReads["cache"], from = opts.metadataSource): Hdf5OpenOptions => ({
    cache,
    metadataSource: from,
    smallDataBytes: SMALL_DATA_BYTES,
  });
  // A local file's metadata is read from the unrecorded source too: its blocks, batched as the reads
  // happen to come together, would otherwise give checksums to whichever other chunks they held, a
  // different set from one run to the next.
  const hdf5 = reads ? remote(reads.cache) : { metadataSource: opts.metadataSource };
  // A sidecar's spot check reads the metadata of two datasets: in blocks, never in lines.
  const spotCheck =
    reads?.kind === "lines"
      ? remote(blockReads().cache, opts.spotCheckSource ?? opts.metadataSource)
      : undefined;
  const opened = await openGranuleFile(source, {
    sidecar: opts.sidecar,
    signal: opts.signal,
    hdf5,
    spotCheck,
  });
  const first = opened.file;
  opts.onMetadata?.(first instanceof DmrppFile ? "sidecar" : "hdf5");
  // A sidecar's reader is read through while its spot check runs; what it found is kept only once the
  // check confirms the sidecar, else the granule is read again from its HDF5 metadata.
  const early = identified(first, source, only, opts).then(
    (granule) => {
      // The beams' coordinates are read through the sidecar while its check runs too: once the
      // check confirms it, the index finds them arriving (a granule the run then skips has read
      // them for nothing; one whose sidecar fails the check drops them).
      if (first instanceof DmrppFile && !granule.profile.parent) {
        const reads = granule.beams.map((beam) =>
          first.prefetch(coordinatePaths(granule.profile, beam), opts),
        );
        return { granule: { ...granule, readsAhead: Promise.all(reads).then(() => undefined) } };
      }
      return { granule };
    },
    (error: unknown) => ({ error }),
  );
  const file = await opened.checked;
  if (file === first) {
    const got = await early;
    if ("error" in got) throw got.error;
    return got.granule;
  }
  opts.onMetadata?.("hdf5");
  return identified(file, source, only, opts);
}

/** The product, beams and identity of a granule whose metadata `file` reads (see {@link openGranule}). */
async function identified(
  file: Hdf5Reader,
  source: ByteSource,
  only: ProductProfile | undefined,
  opts: { signal?: AbortSignal },
): Promise<OpenedGranule> {
  // The whole hierarchy is read for the granule row anyway: walking it now, concurrently, turns the
  // product's one-by-one lookups (beam groups, identity datasets) into reads already in flight.
  file.tree(opts).catch(() => undefined);
  const input = inputName(source.url);
  const found = await detectProfile(file, { only, signal: opts.signal });
  if (!found.profile) {
    const names = only ? [only.name] : registeredProfiles().map((p) => p.name);
    const article = /^[AEFHILMNORSX]/.test(names[0] ?? "") ? "an" : "a";
    throw new NotAGranuleError(
      input,
      `${input}: not ${article} ${productList(names)} granule (${found.reason})`,
    );
  }
  const { profile, beams, root } = found;
  let identity: GranuleIdentity;
  try {
    identity = await profile.readGranule(file, { root, beams, signal: opts.signal });
  } catch (error) {
    if (error instanceof InvalidHdf5Error) {
      const missing = await missingCoordinate(file, profile, beams, opts.signal);
      if (missing !== undefined) {
        throw new NotAGranuleError(
          input,
          `${input}: incomplete ${profile.name} granule (no dataset ${missing})`,
          { cause: error },
        );
      }
    }
    throw error;
  }
  return { file, profile, identity, beams, url: source.url.href };
}

/**
 * The first coordinate dataset (latitude, longitude, time) a found beam lacks, e.g. a beam group
 * of the product's layout holding none of its datasets; undefined when every beam has them.
 */
async function missingCoordinate(
  file: Hdf5Reader,
  profile: ProductProfile,
  beams: readonly string[],
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const { lat, lon, time } = profile.coordinates;
  for (const beam of beams) {
    for (const relative of [lat, lon, time]) {
      const path = datasetPath(profile, beam, relative);
      if ((await file.kindOf(path, { signal })) !== "dataset") return path;
    }
  }
  return undefined;
}

/** The registered profile called `name`. */
function profileNamed(name: string): ProductProfile {
  const profile = registeredProfiles().find((p) => p.name === name);
  if (!profile) {
    const names = registeredProfiles().map((p) => p.name);
    throw new RangeError(`product ${name} is not one of ${names.join(", ")}`);
  }
  return profile;
}

/**
 * Reads a granule's metadata and its row-rate latitude, longitude and time arrays, and returns
 * the rows that index it: one chunk row per latitude chunk of each beam.
 * @throws NotAGranuleError when the file is HDF5 but of no registered product.
 * @throws InvalidHdf5Error when the file is not readable HDF5.
 */
export async function indexGranule(source: ByteSource, opts: IndexGranuleOptions): Promise<StoreBatch> {
  return indexOpenedGranule(await openGranule(source, opts), opts);
}

/** The store rows of a granule opened with {@link openGranule}. */
export async function indexOpenedGranule(g: OpenedGranule, opts: IndexGranuleOptions): Promise<StoreBatch> {
  const granuleId = g.identity.granule_id;
  const batch: StoreBatch = { granules: [], arrays: [], chunks: [], chunkCells: [] };
  // Each beam's rows are kept apart and joined in the order of the beams, not in the order their
  // reads come back: the same granule always gives the same rows in the same order (and so the same
  // part files).
  const beams = Promise.all(
    g.beams.map(async (beam) => {
      const { kind } = g.profile.beamLayout(beam, g.identity);
      const own: StoreBatch = { granules: [], arrays: [], chunks: [], chunkCells: [] };
      await indexBeam(g.file, { granuleId, beam, beamKind: kind, profile: g.profile }, own, opts);
      return own;
    }),
  ).then((perBeam) => {
    for (const own of perBeam) {
      for (const row of own.arrays) batch.arrays.push(row);
      for (const row of own.chunks) batch.chunks.push(row);
      for (const row of own.chunkCells) batch.chunkCells.push(row);
    }
    return new Set(batch.arrays.map((a) => a.path));
  });
  // The hierarchy and the bounding polygon are read while the beams are indexed, not after them.
  const [hierarchy, ring] = await inOrder(
    beams,
    readHierarchy(g.file, beams, opts),
    Promise.resolve(g.profile.boundingPolygon?.(g.file, opts)),
  );
  const row = granuleRow({ granule: g, batch, ring }, opts);
  batch.granules.push({ ...row, hierarchy: toJson(hierarchy) });
  return batch;
}

/**
 * Waits for all three and returns the last two; a failure is reported as if they had run one after
 * another (the first one's error first), so errors stay those of reading in sequence.
 */
async function inOrder<A, B, C>(a: Promise<A>, b: Promise<B>, c: Promise<C>): Promise<[B, C]> {
  const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
  for (const r of [ra, rb, rc]) if (r.status === "rejected") throw r.reason;
  return [(rb as PromiseFulfilledResult<B>).value, (rc as PromiseFulfilledResult<C>).value];
}

interface BeamContext {
  granuleId: string;
  beam: string;
  beamKind: string;
  profile: ProductProfile;
}

/** Dataset values as float64 (64-bit integer indexes such as ATL03 ph_index_beg stay exact up to 2^53). */
function float64Of(path: string, values: DatasetValues): Float64Array {
  if (values instanceof Float64Array) return values;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array)
    return Float64Array.from(values, Number);
  if (Array.isArray(values)) throw new NotAGranuleError(path, `${path}: expected a numeric array`);
  return Float64Array.from(values as Exclude<NumericArray, BigInt64Array | BigUint64Array>);
}

/**
 * The buffers of a beam's coordinate and parent-rate arrays, used again by the next beams and granules
 * of this thread. Fresh buffers cost the kernel's page faults and zeroing as the chunks are copied in
 * (16 MB per full-size ATL06 granule) and garbage collections started by their external memory. Each
 * beam gives its arrays back once its rows are made ({@link releaseArrays}); the rows hold none of
 * them (bboxes, footprints and cells are new values). In shared memory, so the inflate worker writes
 * each plain deflated chunk's values into them itself (hdf5/data.ts), not this thread: 16 MB of copies
 * per full-size granule off the thread that makes the rows.
 */
export const arrayBuffers = new ValueBufferPool({ shared: true });

/** Gives arrays read by {@link readManyFloat64} back, for a beam done with them and every view of them. */
function releaseArrays(...arrays: (Float64Array | undefined)[]): void {
  for (const a of arrays) if (a) arrayBuffers.give(a);
}

/**
 * Several datasets as float64, their chunks read together in coalesced requests, into buffers of
 * {@link arrayBuffers}: the caller gives them back with {@link releaseArrays} when done.
 */
async function readManyFloat64(
  file: Hdf5Reader,
  paths: readonly string[],
  opts: CoordinateReads & { rowsOf?: ReadonlyMap<string, readonly number[]> },
): Promise<Float64Array[]> {
  const values = await file.readMany(paths, {
    signal: opts.signal,
    boundary: opts.lineBytes,
    buffers: arrayBuffers,
    onStoredChecksum: opts.onStoredChecksum,
    rowsOf: opts.rowsOf,
  });
  return values.map((v, i) => {
    const f = float64Of(paths[i]!, v);
    // Converted: the values read are not needed any more.
    if (f !== v && ArrayBuffer.isView(v)) arrayBuffers.give(v);
    return f;
  });
}

async function indexBeam(file: Hdf5Reader, ctx: BeamContext, batch: StoreBatch, opts: IndexGranuleOptions) {
  const { profile, beam } = ctx;
  const group = rowGroupOf(profile, beam);
  const latPath = datasetPath(profile, beam, profile.coordinates.lat);
  const prefix = profile.parent ? `/${beam}/` : `${group}/`;
  // The dataset listing and the beam's datasets' metadata are read while the coordinates are: their
  // rounds overlap instead of following one another. Issued together, so the reader's block cache
  // merges their metadata reads into few requests.
  const described = file
    .listDatasets(opts)
    .then((all) => Promise.all(all.filter((p) => p.startsWith(prefix)).map((p) => file.dataset(p, opts))));
  // A failure surfaces where it is awaited below; until then it must not go unhandled.
  described.catch(() => undefined);
  const parent = profile.parent ? await readParentRate(file, ctx, opts) : undefined;
  // Products whose parent rate locates its rows (ATL03) are placed from the parent rate's reference
  // points; a beam near the antimeridian falls back to every row's coordinates (exact there too).
  const located = parent && profile.parent?.locate ? await readLocations(file, ctx, parent, opts) : undefined;
  const coordinates = located ? undefined : await readCoordinates(file, ctx, opts);
  const infos = await described;
  const latInfo = infos.find((info) => info?.path === latPath);
  if (!latInfo) throw new NotAGranuleError(latPath, `no dataset ${latPath}`);
  const n = coordinates ? coordinates.lat.length : latInfo.shape[0]!;
  const inRows = (info: DatasetInfo) => info.path.startsWith(`${group}/`) && info.shape[0] === n;
  const inParent = (info: DatasetInfo) =>
    parent !== undefined && !info.path.startsWith(`${group}/`) && info.shape[0] === parent.ends.length;
  const indexed = infos.filter(
    (info): info is DatasetInfo => info !== undefined && (inRows(info) || inParent(info)),
  );
  const refs = await Promise.all(indexed.map((info) => file.chunkRefs(info.path, opts)));
  const datasets = indexed.map((info, i) => refWalk(info, refs[i]!, !inRows(info)));
  for (const { info } of datasets) batch.arrays.push(arrayRow(ctx.granuleId, info));
  // The coordinates' pieces and times are by chunk row of this step.
  const step = coordinates?.step ?? chunkRowsOf(latInfo, n);
  for (let chunkStart = 0; chunkStart < n; chunkStart += step) {
    const chunkEnd = Math.min(n, chunkStart + step);
    const span = parent ? parentSpan(parent, chunkStart, chunkEnd) : undefined;
    const refs: ChunkRefRow[] = [];
    for (const d of datasets) {
      if (d.parentRate) refsOverlapping(d, span!.start, span!.end, refs);
      else refsOverlapping(d, chunkStart, chunkEnd, refs);
    }
    const rows = located
      ? locatedChunkRows(
          ctx,
          { start: chunkStart, end: chunkEnd, span: span!, parent: parent!, located },
          opts,
        )
      : coordinateRows(ctx, coordinates!, chunkStart / step, opts.h3Resolution);
    for (const row of rows) {
      row.refs = refs;
      if (span) {
        // Each piece keeps the parent rows of the whole chunk row: its refs are the chunk row's too.
        row.parent_start = span.start;
        row.parent_count = span.end - span.start;
      }
      batch.chunks.push(row);
      for (const h3_cell of row.h3_cells) batch.chunkCells.push({ h3_cell, chunk_id: row.chunk_id });
    }
  }
  releaseArrays(coordinates?.lat, coordinates?.lon, coordinates?.time, coordinates?.heads, parent?.counts);
  releaseArrays(located?.lat, located?.lon, located?.time);
}

/** The chunk row `k` of a beam read by {@link readCoordinates}: one row per piece of it. */
function coordinateRows(ctx: BeamContext, c: Coordinates, k: number, h3Resolution: number): ChunkRow[] {
  const times: [number, number] | undefined = c.heads && [c.heads[k]!, c.heads[k + 1]!];
  return c.pieces[k]!.map(([start, end]) =>
    chunkRow(ctx, { start, end, lat: c.lat, lon: c.lon, time: c.time, times, h3Resolution }),
  );
}

/** Rows of a beam's chunk rows: its latitude's chunks' (or {@link CONTIGUOUS_CHUNK_ROWS} when not chunked). */
function chunkRowsOf(latInfo: DatasetInfo, n: number): number {
  return latInfo.chunkShape?.[0] ?? Math.min(n, CONTIGUOUS_CHUNK_ROWS);
}

/** A beam's coordinates, read by {@link readCoordinates}. */
interface Coordinates {
  lat: Float64Array;
  lon: Float64Array;
  /** Every row's time, or undefined when `heads` holds the times the rows need. */
  time: Float64Array | undefined;
  /** The time of each chunk row's first row, then of the beam's last row (a product with sorted times). */
  heads: Float64Array | undefined;
  /** Rows of a chunk row ({@link chunkRowsOf}). */
  step: number;
  /** Each chunk row's pieces: its rows cut where the track crosses the antimeridian. */
  pieces: [number, number][][];
}

/**
 * A beam's latitude, longitude and time, their chunks read together (a beam's coordinate chunks usually
 * lie in one block of the file: one request, not one each). For a product whose times are sorted
 * (`ProductProfile.timeSorted`) only the times of each chunk row's first row and of the beam's last row
 * are decoded (`rowsOf`: the start of each time chunk inflated, not all of it), unless they are out
 * of order or a chunk row is cut at the antimeridian: then every row's, in a second read.
 */
async function readCoordinates(
  file: Hdf5Reader,
  ctx: BeamContext,
  opts: CoordinateReads,
): Promise<Coordinates> {
  const paths = coordinatePaths(ctx.profile, ctx.beam);
  const heads = ctx.profile.timeSorted ? await headRows(file, paths, opts) : undefined;
  const reads = heads ? { ...opts, rowsOf: new Map([[paths[2]!, heads.rows]]) } : opts;
  const [lat, lon, time] = (await readManyFloat64(file, paths, reads)) as [
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const step = heads?.step ?? chunkRowsOf((await file.dataset(paths[0]!, opts))!, lat.length);
  const pieces: [number, number][][] = [];
  for (let start = 0; start < lat.length; start += step) {
    pieces.push(antimeridianRuns(lon, start, Math.min(lat.length, start + step)));
  }
  if (!heads) return { lat, lon, time, heads: undefined, step, pieces };
  if (ascending(time) && pieces.every((p) => p.length === 1))
    return { lat, lon, time: undefined, heads: time, step, pieces };
  const [all] = await readManyFloat64(file, [paths[2]!], opts);
  return { lat, lon, time: all, heads: undefined, step, pieces };
}

/**
 * The rows whose times a beam with sorted times needs: each chunk row's first, then the beam's last;
 * undefined when the latitude and time are not one-dimensional arrays of the same rows.
 */
async function headRows(
  file: Hdf5Reader,
  paths: readonly string[],
  opts: CoordinateReads,
): Promise<{ step: number; rows: number[] } | undefined> {
  const [latInfo, timeInfo] = await Promise.all([
    file.dataset(paths[0]!, opts),
    file.dataset(paths[2]!, opts),
  ]);
  const n = latInfo?.shape[0] ?? 0;
  if (!latInfo || !timeInfo || latInfo.shape.length !== 1 || timeInfo.shape.length !== 1) return undefined;
  if (timeInfo.shape[0] !== n || n === 0) return undefined;
  const step = chunkRowsOf(latInfo, n);
  const rows: number[] = [];
  for (let row = 0; row < n; row += step) rows.push(row);
  rows.push(n - 1);
  return { step, rows };
}

/** True when every value is a number no smaller than the one before it. */
function ascending(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i]! >= (i > 0 ? values[i - 1]! : Number.NEGATIVE_INFINITY))) return false;
  }
  return true;
}

/** The latitude, longitude and time datasets of a beam, in that order. */
function coordinatePaths(profile: ProductProfile, beam: string): string[] {
  const { lat, lon, time } = profile.coordinates;
  return [lat, lon, time].map((v) => datasetPath(profile, beam, v));
}

/** A parent rate's reference points (NaN for parent rows without rows) and how far rows may be from them. */
interface Locations {
  lat: Float64Array;
  lon: Float64Array;
  time: Float64Array;
  /** Largest latitude offset of a row from its reference point, degrees. */
  dLat: number;
  /** Largest longitude offset at the beam's highest latitude, degrees. */
  dLon: number;
  /** Largest time offset, seconds. */
  dTime: number;
}

/** Metres per degree of latitude, at its smallest (the equator), so offsets in degrees are upper bounds. */
const METRES_PER_DEGREE = 110_574;

/**
 * Reads a beam's parent-rate reference points ({@link ProductProfile.parent} `locate`), or undefined
 * when the beam comes within their radius of the antimeridian or a pole (where a longitude offset
 * has no useful bound) or a parent row with rows has no usable reference point: the beam is then
 * placed from every row's coordinates.
 */
async function readLocations(
  file: Hdf5Reader,
  ctx: BeamContext,
  parent: ParentRows,
  opts: CoordinateReads,
): Promise<Locations | undefined> {
  const locate = ctx.profile.parent!.locate!;
  const path = (p: string) => datasetPath(ctx.profile, ctx.beam, p);
  const [lat, lon, time] = (await readManyFloat64(
    file,
    [locate.lat, locate.lon, locate.time].map(path),
    opts,
  )) as [Float64Array, Float64Array, Float64Array];
  const located = locationsOf(locate, parent, lat, lon, time);
  if (!located) releaseArrays(lat, lon, time);
  return located;
}

/** The reference points read by {@link readLocations}, or undefined when they cannot place the beam. */
function locationsOf(
  locate: NonNullable<NonNullable<ProductProfile["parent"]>["locate"]>,
  parent: ParentRows,
  lat: Float64Array,
  lon: Float64Array,
  time: Float64Array,
): Locations | undefined {
  if (lat.length !== parent.counts.length || lon.length !== lat.length || time.length !== lat.length) {
    return undefined;
  }
  const dLat = locate.radius / METRES_PER_DEGREE;
  let highest = 0;
  for (let k = 0; k < lat.length; k++) {
    if (parent.counts[k]! > 0) {
      // A parent row with rows but no usable reference point: place the beam from its rows.
      if (!validLonLat(lon[k]!, lat[k]!) || !Number.isFinite(time[k]!)) return undefined;
      highest = Math.max(highest, Math.abs(lat[k]!));
    } else {
      lat[k] = Number.NaN;
      lon[k] = Number.NaN;
      time[k] = Number.NaN;
    }
  }
  const edge = highest + dLat;
  if (edge >= 89) return undefined;
  const dLon = dLat / Math.cos((edge * Math.PI) / 180);
  for (let k = 0; k < lon.length; k++) if (Math.abs(lon[k]!) > 180 - dLon) return undefined;
  return { lat, lon, time, dLat, dLon, dTime: locate.timeRadius };
}

/**
 * Chunk rows [start, end) placed from the reference points of the parent rows that span them: the
 * bbox and time range widened by the radius, the footprint line through the reference points with
 * its error widened by the radius, and the H3 cells of the reference points with their neighbours
 * (a row may lie in the next cell). Split where the reference track crosses the antimeridian.
 */
function locatedChunkRows(
  ctx: BeamContext,
  a: {
    start: number;
    end: number;
    span: { start: number; end: number };
    parent: ParentRows;
    located: Locations;
  },
  opts: IndexGranuleOptions,
): ChunkRow[] {
  const { lat, lon, time, dLat, dLon, dTime } = a.located;
  const firstRow = (k: number) => a.parent.ends[k]! - a.parent.counts[k]!;
  const out: ChunkRow[] = [];
  for (const [k0, k1] of antimeridianRuns(lon, a.span.start, a.span.end)) {
    const start = k0 === a.span.start ? a.start : Math.max(a.start, firstRow(k0));
    const end = k1 === a.span.end ? a.end : Math.min(a.end, firstRow(k1));
    if (end <= start) continue;
    let tmin = Number.POSITIVE_INFINITY;
    let tmax = Number.NEGATIVE_INFINITY;
    for (let k = k0; k < k1; k++) {
      const t = time[k]!;
      if (t < tmin) tmin = t;
      if (t > tmax) tmax = t;
    }
    const footprint = chunkGeometry(lon, lat, k0, k1);
    const box = footprint.bbox;
    const bbox = Number.isFinite(box.xmin)
      ? {
          xmin: Math.max(-180, box.xmin - dLon),
          ymin: Math.max(-90, box.ymin - dLat),
          xmax: Math.min(180, box.xmax + dLon),
          ymax: Math.min(90, box.ymax + dLat),
        }
      : box;
    const cells = new Set<bigint>();
    for (const cell of h3CellsOf(lon, lat, k0, k1, opts.h3Resolution)) {
      for (const near of cellNeighbours(cell)) cells.add(near);
    }
    out.push({
      chunk_id: `${ctx.granuleId}/${ctx.beam}/${start}`,
      granule_id: ctx.granuleId,
      beam: ctx.beam,
      beam_kind: ctx.beamKind,
      row_start: start,
      row_count: end - start,
      parent_start: null,
      parent_count: null,
      time_start: ctx.profile.time.toUnixNs(tmin - dTime),
      time_end: ctx.profile.time.toUnixNs(tmax + dTime),
      bbox,
      geometry: footprint.geometry,
      footprint_error: footprint.error + Math.hypot(dLat, dLon),
      h3_cells: [...cells].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
      refs: [],
    });
  }
  return out;
}

/**
 * Splits rows [start, end) where the track crosses the antimeridian (a longitude jump over 180
 * degrees), so that no chunk row's bbox spans the whole longitude range: such a row would match
 * every query and widen the statistics of its row group. The pieces share their stored chunks.
 */
export function antimeridianRuns(lon: Float64Array, start: number, end: number): [number, number][] {
  const runs: [number, number][] = [];
  let runStart = start;
  for (;;) {
    const cut = nextCrossing(lon, runStart, end);
    if (cut >= end) break;
    runs.push([runStart, cut]);
    runStart = cut;
  }
  if (end > runStart) runs.push([runStart, end]);
  return runs;
}

/**
 * The first row in [from, end) whose valid longitude jumps more than 180 degrees from the valid one
 * before it in [from, end), or `end` (a cut's own row starts the next search: it has no jump from
 * itself). A loop of its own that only returns: the compiled loop of the single function it replaces
 * (entered mid-call after its first calls) fell out into code that had never run when it was
 * compiled, and was thrown away on 264 of the 396 chunk rows of 6 full-size granules.
 */
function nextCrossing(lon: Float64Array, from: number, end: number): number {
  let prev = Number.NaN;
  for (let i = from; i < end; i++) {
    const x = lon[i]!;
    if (x >= -180 && x <= 180) {
      if (Math.abs(x - prev) > 180) return i;
      prev = x;
    }
  }
  return end;
}

/**
 * Rows of a chunk row when the latitude dataset is contiguous (some subsetters write GEDI files so):
 * the chunk rows of a 10 000-row chunked latitude, about 200 km of ATL06 segments or 600 km of
 * GEDI shots.
 */
export const CONTIGUOUS_CHUNK_ROWS = 10_000;

/** A beam's parent rate: where each parent row's rows end, cumulated so that it never decreases. */
interface ParentRows {
  /** Row index (0-based, exclusive) where parent row k's rows end; empty parent rows end where the previous one did. */
  ends: Float64Array;
  counts: Float64Array;
}

/** Reads the parent rate's first-row and row-count datasets of a beam. */
async function readParentRate(
  file: Hdf5Reader,
  ctx: BeamContext,
  opts: CoordinateReads,
): Promise<ParentRows> {
  const parent = ctx.profile.parent!;
  const [first, counts] = (await readManyFloat64(
    file,
    [parent.first, parent.count].map((p) => datasetPath(ctx.profile, ctx.beam, p)),
    opts,
  )) as [Float64Array, Float64Array];
  const ends = new Float64Array(first.length);
  let end = 0;
  for (let k = 0; k < first.length; k++) {
    if (counts[k]! > 0) end = Math.max(end, first[k]! - parent.base + counts[k]!);
    ends[k] = end;
  }
  releaseArrays(first);
  return { ends, counts };
}

/** The parent rows [start, end) whose rows meet rows [from, to): two binary searches over the cumulated ends. */
export function parentSpan(parent: ParentRows, from: number, to: number): { start: number; end: number } {
  const { ends, counts } = parent;
  // First parent row whose rows end after `from`; then first one whose rows begin at or after `to`.
  const start = lowerBound(ends.length, (k) => ends[k]! > from);
  const end = lowerBound(ends.length, (k) => ends[k]! - counts[k]! >= to);
  return { start, end: Math.max(start, end) };
}

/** The first index in [0, n) where `test` holds (it holds for every later index), or n. */
function lowerBound(n: number, test: (k: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (test(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * A dataset's stored chunks as the chunk rows take them, window after window: `next` is the first
 * chunk that may still meet a window, when the chunks come in row order (as the readers list them)
 * and the windows' starts never decrease (as the chunk rows and their parent spans go).
 */
interface RefWalk {
  info: DatasetInfo;
  refs: ChunkRef[];
  parentRate: boolean;
  /** Chunks are in ascending order of their first row. */
  inRowOrder: boolean;
  next: number;
  lastStart: number;
}

function refWalk(info: DatasetInfo, refs: ChunkRef[], parentRate: boolean): RefWalk {
  let inRowOrder = true;
  for (let k = 1; k < refs.length && inRowOrder; k++)
    inRowOrder = refs[k]!.coords[0]! >= refs[k - 1]!.coords[0]!;
  return { info, refs, parentRate, inRowOrder, next: 0, lastStart: 0 };
}

/**
 * Adds to `out` the stored chunks of a dataset that hold rows [start, end), in the order of its
 * chunks. A contiguous dataset has one stored block: its rows [start, end) are cut out of it as one
 * ref (raw bytes, no filter). Chunks in row order are walked from where the last window left them
 * rather than all tested for every window.
 */
function refsOverlapping(walk: RefWalk, start: number, end: number, out: ChunkRefRow[]): void {
  const { info, refs } = walk;
  if (info.layout === "contiguous") {
    const block = refs[0];
    if (!block || end <= start) return;
    const rowBytes = itemSize(info.dtype) * info.shape.slice(1).reduce((a, b) => a * b, 1);
    const size = (end - start) * rowBytes;
    out.push({
      path: info.path,
      chunk_start: start,
      col_start: 0,
      offset: block.offset + start * rowBytes,
      size,
      filter_mask: 0,
    });
    return;
  }
  const rows = info.chunkShape?.[0] ?? info.shape[0] ?? 0;
  let k = 0;
  if (walk.inRowOrder && start >= walk.lastStart) {
    // Chunks ending at or before `start` end before every later window too.
    k = walk.next;
    while (k < refs.length && refs[k]!.coords[0]! + rows <= start) k++;
    walk.next = k;
    walk.lastStart = start;
  }
  for (; k < refs.length; k++) {
    const r = refs[k]!;
    const first = r.coords[0]!;
    if (walk.inRowOrder && first >= end) break;
    if (first < end && first + rows > start) {
      out.push({
        path: info.path,
        chunk_start: first,
        col_start: r.coords[1] ?? 0,
        offset: r.offset,
        size: r.size,
        filter_mask: r.filterMask,
      });
    }
  }
}

interface ChunkArrays {
  start: number;
  end: number;
  lat: Float64Array;
  lon: Float64Array;
  /** Every row's time, or undefined when `times` is given. */
  time: Float64Array | undefined;
  /** The chunk row's first time and the next chunk row's first (the beam's last for the last one). */
  times?: [number, number] | undefined;
  h3Resolution: number;
}

function chunkRow(ctx: BeamContext, a: ChunkArrays): ChunkRow {
  let [tmin, tmax] = a.times ?? [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  if (!a.times) {
    const time = a.time!;
    for (let i = a.start; i < a.end; i++) {
      const t = time[i]!;
      if (t < tmin) tmin = t;
      if (t > tmax) tmax = t;
    }
  }
  const footprint = chunkGeometry(a.lon, a.lat, a.start, a.end);
  return {
    chunk_id: `${ctx.granuleId}/${ctx.beam}/${a.start}`,
    granule_id: ctx.granuleId,
    beam: ctx.beam,
    beam_kind: ctx.beamKind,
    row_start: a.start,
    row_count: a.end - a.start,
    parent_start: null,
    parent_count: null,
    time_start: ctx.profile.time.toUnixNs(tmin),
    time_end: ctx.profile.time.toUnixNs(tmax),
    bbox: footprint.bbox,
    geometry: footprint.geometry,
    footprint_error: footprint.error,
    h3_cells: h3CellsOf(a.lon, a.lat, a.start, a.end, a.h3Resolution),
    refs: [],
  };
}

/**
 * JSON that survives bigint and non-finite numbers. Values holding neither (nearly all: attributes,
 * filters, the hierarchy) are written without the replacer, which JSON.stringify calls for every
 * key and value, after a walk that finds none: the same text at a fraction of the CPU.
 */
export function toJson(value: unknown): string {
  return plainJson(value, 0) ? JSON.stringify(value) : JSON.stringify(value, jsonReplacer);
}

function jsonReplacer(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

/** Deepest nesting {@link plainJson} walks; deeper values take the replacer. */
const PLAIN_JSON_DEPTH = 64;

/**
 * True when JSON.stringify writes `value` as {@link jsonReplacer} would have it: no bigint and no
 * non-finite number anywhere, and no `toJSON` method (whose result the replacer would see).
 */
function plainJson(value: unknown, depth: number): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value === "bigint") return false;
  if (typeof value !== "object" || value === null) return true;
  if (depth > PLAIN_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!plainJson(value[i], depth + 1)) return false;
    return true;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (Object.hasOwn(record, key) && !plainJson(record[key], depth + 1)) return false;
  }
  return true;
}

function arrayRow(granuleId: string, info: DatasetInfo): ArrayRow {
  return {
    granule_id: granuleId,
    path: info.path,
    dtype: info.dtype,
    shape: info.shape,
    chunk_shape: info.chunkShape,
    filters: toJson(info.filters),
    fill_value: toJson(info.fillValue),
    attrs: toJson(info.attrs),
  };
}

interface GranuleContext {
  granule: OpenedGranule;
  batch: StoreBatch;
  /** The granule's bounding polygon from its metadata (closed ring, lon/lat), if it has one. */
  ring: number[] | undefined;
}

function granuleRow(ctx: GranuleContext, opts: IndexGranuleOptions): GranuleRow {
  const chunks = ctx.batch.chunks;
  const bbox = chunks.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  const times = chunks.flatMap((c) => [c.time_start, c.time_end]);
  const { identity } = ctx.granule;
  const ring = ctx.ring;
  return {
    ...identity,
    url: ctx.granule.url,
    size: opts.fingerprint.size,
    etag: opts.fingerprint.etag,
    mtime: opts.fingerprint.mtime,
    time_start: times.reduce((a, b) => (b < a ? b : a), times[0] ?? 0n),
    time_end: times.reduce((a, b) => (b > a ? b : a), times[0] ?? 0n),
    bbox,
    geometry: ring ? wkbPolygon([ring]) : bboxPolygon(bbox),
  };
}

/** The bbox as a WKB Polygon, for granules whose metadata has no bounding polygon. */
function bboxPolygon({ xmin, ymin, xmax, ymax }: GranuleRow["bbox"]): Uint8Array {
  return wkbPolygon([[xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax, xmin, ymin]]);
}
