/** One ATL06 granule -> the store rows that describe it (granule, arrays, chunks, chunk cells). */
import { NotAGranuleError } from "../errors.js";
import { Hdf5File } from "../hdf5/index.js";
import type { ChunkRef, DatasetInfo, NumericArray } from "../hdf5/types.js";
import {
  ATL06_BEAMS,
  ATL06_COORDINATES,
  beamLayout,
  deltaTimeToUnixNs,
  segmentGroup,
} from "../products/atl06.js";
import type { ByteSource } from "../source/types.js";
import { EMPTY_BBOX, unionBbox } from "../store/geo.js";
import type { ArrayRow, ChunkRefRow, ChunkRow, GranuleRow } from "../store/schema.js";
import type { StoreBatch } from "../store/store.js";
import { wkbPolygon } from "../store/wkb.js";
import { bboxOf, footprintError, footprintOf, h3CellsOf } from "./geometry.js";

/** Options for {@link indexGranule}. */
export interface IndexGranuleOptions {
  /** H3 resolution of the chunk cells. */
  h3Resolution: number;
  /** What identifies this version of the file: size in bytes, and ETag or mtime (ms). */
  fingerprint: { size: number; etag: string | null; mtime: number | null };
  signal?: AbortSignal;
}

/**
 * What makes a granule the granule it is, read from the file's own metadata and never from its
 * name: a renamed copy has the same identity, and two copies of one granule share one store entry.
 */
export interface GranuleIdentity {
  /**
   * The producer's granule id: `/METADATA/DatasetIdentification` `fileName` without its extension
   * (and without a subsetter's `processed_` prefix). A file without one gets
   * `ATL06_YYYYMMDDhhmmss_RRRRCCGG_RRR_VV` from its granule start time (`granule_start_utc`, else
   * `time_coverage_start`, else the first segment's time), RGT, cycle, region, release and version.
   */
  granule_id: string;
  /** Product short name, "ATL06". */
  product: string;
  /** Release, e.g. "006". */
  release: string;
  rgt: number;
  cycle: number;
  region: number;
}

/** An opened ATL06 granule: its file, identity, beams and spacecraft orientation. */
export interface OpenedGranule {
  file: Hdf5File;
  identity: GranuleIdentity;
  beams: string[];
  scOrient: number;
  /** URL of the source it was read from. */
  url: string;
}

/** The input as messages name it: a path for local files, else the URL. */
function inputName(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/**
 * Opens a granule and reads what identifies it (a few small metadata reads, no coordinates).
 * @throws NotAGranuleError when the file is HDF5 but another product or has no ATL06 beam groups.
 * @throws InvalidHdf5Error when the file is not readable HDF5.
 */
export async function openGranule(
  source: ByteSource,
  opts: { signal?: AbortSignal } = {},
): Promise<OpenedGranule> {
  const file = await Hdf5File.open(source, { signal: opts.signal });
  const input = inputName(source.url);
  const root = (await file.groupAttrs("/", opts)) ?? {};
  const product = text(root.short_name) ?? text(root.identifier_product_type);
  if (product !== undefined && product !== ATL06_PRODUCT) {
    throw new NotAGranuleError(input, `${input}: not an ATL06 granule (product ${product})`);
  }
  const beams: string[] = [];
  for (const beam of ATL06_BEAMS) {
    if ((await file.kindOf(segmentGroup(beam), opts)) === "group") beams.push(beam);
  }
  if (beams.length === 0) {
    throw new NotAGranuleError(input, `${input}: not an ATL06 granule (no /gt*/land_ice_segments group)`);
  }
  const identity = await readIdentity(file, root, beams[0]!, opts);
  const scOrient = (await readNumber(file, ["/orbit_info/sc_orient"], opts)) ?? 0;
  return { file, identity, beams, scOrient, url: source.url.href };
}

/**
 * Reads an ATL06 granule's metadata and its latitude, longitude and delta_time arrays, and returns
 * the rows that index it: one chunk row per latitude chunk of each beam.
 * @throws NotAGranuleError when the file is HDF5 but has no ATL06 beam groups.
 * @throws InvalidHdf5Error when the file is not readable HDF5.
 */
export async function indexGranule(source: ByteSource, opts: IndexGranuleOptions): Promise<StoreBatch> {
  return indexOpenedGranule(await openGranule(source, opts), opts);
}

/** The store rows of a granule opened with {@link openGranule}. */
export async function indexOpenedGranule(g: OpenedGranule, opts: IndexGranuleOptions): Promise<StoreBatch> {
  const granuleId = g.identity.granule_id;
  const batch: StoreBatch = { granules: [], arrays: [], chunks: [], chunkCells: [] };
  await Promise.all(
    g.beams.map((beam) => {
      const layout = beamLayout(beam, g.scOrient) ?? { spot: 0, strong: false };
      return indexBeam(g.file, { granuleId, beam, ...layout }, batch, opts);
    }),
  );
  batch.granules.push(await granuleRow(g.file, { granule: g, batch }, opts));
  return batch;
}

const ATL06_PRODUCT = "ATL06";

/** A string attribute or dataset value, trimmed; undefined when absent or empty. */
function text(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first !== "string") return undefined;
  const trimmed = first.replace(/\0+$/, "").trim();
  return trimmed === "" ? undefined : trimmed;
}

/** A dataset's values, or undefined when the file has no dataset at `path` (optional metadata). */
async function readOptional(file: Hdf5File, path: string, opts: { signal?: AbortSignal }) {
  if ((await file.kindOf(path, opts)) !== "dataset") return undefined;
  return file.read(path, opts);
}

/** The first value of the first of `paths` the file has, as a number. */
async function readNumber(file: Hdf5File, paths: string[], opts: { signal?: AbortSignal }) {
  for (const path of paths) {
    const first = (await readOptional(file, path, opts))?.[0];
    const n = typeof first === "bigint" ? Number(first) : typeof first === "string" ? Number(first) : first;
    if (typeof n === "number" && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** The first value of the first of `paths` the file has, as text. */
async function readText(file: Hdf5File, paths: string[], opts: { signal?: AbortSignal }) {
  for (const path of paths) {
    const value = text(await readOptional(file, path, opts));
    if (value !== undefined) return value;
  }
  return undefined;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** `YYYYMMDDhhmmss` of an ISO 8601 UTC time, or undefined when it is not one. */
function stamp(iso: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso ?? "");
  return m ? m.slice(1).join("") : undefined;
}

async function readIdentity(
  file: Hdf5File,
  root: Record<string, unknown>,
  firstBeam: string,
  opts: { signal?: AbortSignal },
): Promise<GranuleIdentity> {
  const release = (await readText(file, ["/ancillary_data/release"], opts)) ?? "";
  const rgt = (await readNumber(file, ["/orbit_info/rgt", "/ancillary_data/start_rgt"], opts)) ?? 0;
  const cycle =
    (await readNumber(file, ["/orbit_info/cycle_number", "/ancillary_data/start_cycle"], opts)) ?? 0;
  const region = (await readNumber(file, ["/ancillary_data/start_region"], opts)) ?? 0;
  const dataset = await file.groupAttrs("/METADATA/DatasetIdentification", opts);
  const producer = text(dataset?.fileName)
    ?.split("/")
    .pop()
    ?.replace(/\.(h5|hdf5|he5|nc)$/i, "")
    .replace(/^processed_/, "");
  const identity = { product: ATL06_PRODUCT, release, rgt, cycle, region };
  if (producer) return { granule_id: producer, ...identity };
  // No producer id: built from the fields it stands for.
  const version = (await readText(file, ["/ancillary_data/version"], opts)) ?? "00";
  let start =
    stamp(await readText(file, ["/ancillary_data/granule_start_utc"], opts)) ??
    stamp(text(root.time_coverage_start));
  if (start === undefined) {
    // Stripped of its time metadata: the first segment's time, which no rename changes either.
    const path = `${segmentGroup(firstBeam)}/${ATL06_COORDINATES.time}`;
    const first = (await file.readSlice(path, 0, 1, opts))[0];
    if (typeof first === "number" && Number.isFinite(first)) {
      start = stamp(new Date(Number(deltaTimeToUnixNs(first) / 1_000_000n)).toISOString());
    }
  }
  const track = `${pad(rgt, 4)}${pad(cycle, 2)}${pad(region, 2)}`;
  const granule_id = `${ATL06_PRODUCT}_${start ?? "00000000000000"}_${track}_${release || "000"}_${version}`;
  return { granule_id, ...identity };
}

interface BeamContext {
  granuleId: string;
  beam: string;
  spot: number;
  strong: boolean;
}

async function readFloat64(
  file: Hdf5File,
  path: string,
  opts: { signal?: AbortSignal },
): Promise<Float64Array> {
  const values = await file.read(path, opts);
  if (values instanceof Float64Array) return values;
  if (Array.isArray(values) || values instanceof BigInt64Array || values instanceof BigUint64Array) {
    throw new NotAGranuleError(path, `${path}: expected a numeric array`);
  }
  return Float64Array.from(values as Exclude<NumericArray, BigInt64Array | BigUint64Array>);
}

async function indexBeam(file: Hdf5File, ctx: BeamContext, batch: StoreBatch, opts: IndexGranuleOptions) {
  const group = segmentGroup(ctx.beam);
  const lat = await readFloat64(file, `${group}/${ATL06_COORDINATES.lat}`, opts);
  const lon = await readFloat64(file, `${group}/${ATL06_COORDINATES.lon}`, opts);
  const time = await readFloat64(file, `${group}/${ATL06_COORDINATES.time}`, opts);
  const n = lat.length;
  const paths = (await file.listDatasets(opts)).filter((p) => p.startsWith(`${group}/`));
  // Issued together so the reader's block cache merges their metadata reads into few requests.
  const infos = await Promise.all(paths.map((p) => file.dataset(p, opts)));
  const perSegment = infos.filter((info): info is DatasetInfo => info !== undefined && info.shape[0] === n);
  const refs = await Promise.all(perSegment.map((info) => file.chunkRefs(info.path, opts)));
  const datasets = perSegment.map((info, i) => ({ info, refs: refs[i]! }));
  for (const { info } of datasets) batch.arrays.push(arrayRow(ctx.granuleId, info));
  const latInfo = datasets.find((d) => d.info.path.endsWith(`/${ATL06_COORDINATES.lat}`))!.info;
  const step = latInfo.chunkShape?.[0] ?? n;
  for (let chunkStart = 0; chunkStart < n; chunkStart += step) {
    const refs = datasets.flatMap((d) =>
      refsOverlapping(d.info, d.refs, chunkStart, Math.min(n, chunkStart + step)),
    );
    for (const [start, end] of antimeridianRuns(lon, chunkStart, Math.min(n, chunkStart + step))) {
      const row = chunkRow(ctx, { start, end, lat, lon, time, h3Resolution: opts.h3Resolution });
      row.refs = refs;
      batch.chunks.push(row);
      for (const h3_cell of row.h3_cells) batch.chunkCells.push({ h3_cell, chunk_id: row.chunk_id });
    }
  }
}

/**
 * Splits rows [start, end) where the track crosses the antimeridian (a longitude jump over 180
 * degrees), so that no chunk row's bbox spans the whole longitude range: such a row would match
 * every query and widen the statistics of its row group. The pieces share their stored chunks.
 */
export function antimeridianRuns(lon: Float64Array, start: number, end: number): [number, number][] {
  const runs: [number, number][] = [];
  let runStart = start;
  let prev = Number.NaN;
  for (let i = start; i < end; i++) {
    const x = lon[i]!;
    if (!(x >= -180 && x <= 180)) continue;
    if (Math.abs(x - prev) > 180) {
      runs.push([runStart, i]);
      runStart = i;
    }
    prev = x;
  }
  runs.push([runStart, end]);
  return runs.filter(([a, b]) => b > a);
}

function refsOverlapping(info: DatasetInfo, refs: ChunkRef[], start: number, end: number): ChunkRefRow[] {
  const rows = info.chunkShape?.[0] ?? info.shape[0] ?? 0;
  return refs
    .filter((r) => r.coords[0]! < end && r.coords[0]! + rows > start)
    .map((r) => ({
      path: info.path,
      chunk_start: r.coords[0]!,
      offset: r.offset,
      size: r.size,
      filter_mask: r.filterMask,
    }));
}

interface ChunkArrays {
  start: number;
  end: number;
  lat: Float64Array;
  lon: Float64Array;
  time: Float64Array;
  h3Resolution: number;
}

function chunkRow(ctx: BeamContext, a: ChunkArrays): ChunkRow {
  let tmin = Number.POSITIVE_INFINITY;
  let tmax = Number.NEGATIVE_INFINITY;
  for (let i = a.start; i < a.end; i++) {
    const t = a.time[i]!;
    if (t < tmin) tmin = t;
    if (t > tmax) tmax = t;
  }
  return {
    chunk_id: `${ctx.granuleId}/${ctx.beam}/${a.start}`,
    granule_id: ctx.granuleId,
    beam: ctx.beam,
    spot: ctx.spot,
    strong: ctx.strong,
    row_start: a.start,
    row_count: a.end - a.start,
    time_start: deltaTimeToUnixNs(tmin),
    time_end: deltaTimeToUnixNs(tmax),
    bbox: bboxOf(a.lon, a.lat, a.start, a.end),
    geometry: footprintOf(a.lon, a.lat, a.start, a.end),
    footprint_error: footprintError(a.lon, a.lat, a.start, a.end),
    h3_cells: h3CellsOf(a.lon, a.lat, a.start, a.end, a.h3Resolution),
    refs: [],
  };
}

/** JSON that survives bigint and non-finite numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  );
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
}

async function granuleRow(
  file: Hdf5File,
  ctx: GranuleContext,
  opts: IndexGranuleOptions,
): Promise<GranuleRow> {
  const chunks = ctx.batch.chunks;
  const bbox = chunks.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  const times = chunks.flatMap((c) => [c.time_start, c.time_end]);
  const { identity } = ctx.granule;
  return {
    granule_id: identity.granule_id,
    url: ctx.granule.url,
    size: opts.fingerprint.size,
    etag: opts.fingerprint.etag,
    mtime: opts.fingerprint.mtime,
    product: identity.product,
    release: identity.release,
    rgt: identity.rgt,
    cycle: identity.cycle,
    region: identity.region,
    sc_orient: ctx.granule.scOrient,
    time_start: times.reduce((a, b) => (b < a ? b : a), times[0] ?? 0n),
    time_end: times.reduce((a, b) => (b > a ? b : a), times[0] ?? 0n),
    bbox,
    geometry: await boundingPolygon(file, bbox, opts),
  };
}

/** The granule's `orbit_info/bounding_polygon_*` as WKB, or its bbox when the file has none. */
async function boundingPolygon(
  file: Hdf5File,
  bbox: GranuleRow["bbox"],
  opts: { signal?: AbortSignal },
): Promise<Uint8Array> {
  const lat = await readOptional(file, "/orbit_info/bounding_polygon_lat1", opts);
  const lon = await readOptional(file, "/orbit_info/bounding_polygon_lon1", opts);
  if (
    lat instanceof Float64Array &&
    lon instanceof Float64Array &&
    lat.length >= 4 &&
    lat.length === lon.length
  ) {
    const ring: number[] = [];
    for (let i = 0; i < lat.length; i++) ring.push(lon[i]!, lat[i]!);
    if (ring[0] !== ring[ring.length - 2] || ring[1] !== ring[ring.length - 1]) ring.push(ring[0]!, ring[1]!);
    return wkbPolygon([ring]);
  }
  const { xmin, ymin, xmax, ymax } = bbox;
  return wkbPolygon([[xmin, ymin, xmax, ymin, xmax, ymax, xmin, ymax, xmin, ymin]]);
}
