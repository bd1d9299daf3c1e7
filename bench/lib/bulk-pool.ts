/**
 * The store scale benchmark's bulk builder (bench/store-scale.ts): the archive's distinct tracks
 * computed once as a pool of chunk rows held in columns (typed arrays over shared memory, so
 * worker threads read one copy), and one cycle's part set written from it in the store's layout.
 *
 * A cycle's rows are the pool's with the cycle's granule ids and times: the `chunks` and
 * `chunk_cells` columns are gathered from the pool's typed arrays (the refs computed from the
 * row's track, beam and chunk, as the row objects of {@link poolTrack} hold them) instead of built
 * from a row object per chunk and a BigInt per cell. {@link checkColumns} compares the files both
 * ways write, byte for byte.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  Table as ArrowTable,
  type Data,
  type DataType,
  type List,
  makeData,
  makeVector,
  type Struct,
  Utf8,
} from "apache-arrow";
import { bboxOf, footprintError } from "../../src/index-builder/geometry.js";
import { antimeridianRuns } from "../../src/index-builder/granule.js";
// The bulk writer splices column chunks of files the Arrow writer made; its files are checked
// against that writer's (the store's own encoder writes the same tables, test/store/part-tables.test.ts).
import {
  arraysParquetArrow as arraysParquet,
  chunksParquetArrow as chunksParquet,
  chunksTable,
  chunksTableParquet,
  granulesParquetArrow as granulesParquet,
} from "../../src/store/arrow-tables.js";
import type { Bbox } from "../../src/store/geo.js";
import { trackCells } from "../../src/store/h3.js";
import { HILBERT_BITS, hilbertKey } from "../../src/store/hilbert.js";
import {
  type Manifest,
  newPartId,
  type PartFileStats,
  type PartSet,
  publishedPart,
  STORE_VERSION,
} from "../../src/store/manifest.js";
import { parquetToTable, tableToParquet } from "../../src/store/parquet.js";
import {
  ARRAYS_PAGES,
  ARRAYS_ROW_GROUP_SIZE,
  CELLS_ROW_GROUP_SIZE,
  CHUNKS_TILE_MIN_ROWS,
  chunkFileName,
  chunkTileLevel,
  chunkTiles,
  partitionOf,
} from "../../src/store/parts.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "../../src/store/schema.js";
import { wkbLineString } from "../../src/store/wkb.js";
import { spliceColumns, spliceDictionaries } from "./parquet-splice.js";

const DEG = Math.PI / 180;
export const RGTS = 1387;
export const REGIONS = 14;
const BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
/** 14 chunk rows of 200 km per beam: a 1/14-orbit granule, as the real ones. */
const CHUNKS = 14;
/** Footprint vertices per chunk row: the indexer's FOOTPRINT_MAX_VERTICES. */
const VERTICES = 64;
/** Track samples per chunk row for the exact H3 cells (2 km apart). */
const CELL_SAMPLES = 100;
/** Rows whose bbox meets this box (lon/lat degrees) get their own H3 cells; see store-scale.ts. */
const EXACT_CELLS_BOX: [number, number, number, number] = [-50, 60, -40, 66];
const VARS = [
  "latitude",
  "longitude",
  "delta_time",
  "h_li",
  "h_li_sigma",
  "atl06_quality_summary",
  "segment_id",
];
export const H3_RESOLUTION = 6;

/** A pool row as a row object (the form the store's own writers take). */
export type PoolRow = Omit<ChunkRow, "granule_id" | "chunk_id" | "time_start" | "time_end">;

/** Points of beam `b` of pool track `p` along its orbit, `n` per chunk row, from chunk `c0` to `c1`. */
function trackPoints(p: number, b: number, n: number, c0: number, c1: number) {
  const rgt = p % RGTS;
  const region = Math.floor(p / RGTS) % REGIONS;
  const node = -180 + (rgt * 360) / RGTS;
  const u0 = 0.95 + (region * 2 * Math.PI) / REGIONS;
  const count = n * (c1 - c0);
  const lon = new Float64Array(count);
  const lat = new Float64Array(count);
  const inc = 92 * DEG;
  const offsetKm = (b >> 1) * 3.3 + (b & 1) * 0.09;
  const du = 200 / 6371 / n;
  for (let i = 0; i < count; i++) {
    const u = u0 + (c0 * n + i) * du;
    lat[i] = Math.asin(Math.sin(u) * Math.sin(inc)) / DEG;
    const l =
      node +
      Math.atan2(Math.sin(u) * Math.cos(inc), Math.cos(u)) / DEG +
      offsetKm / 111 / Math.max(0.1, Math.cos(lat[i]! * DEG));
    lon[i] = ((((l + 180) % 360) + 360) % 360) - 180;
  }
  return { lon, lat };
}

const meets = (b: Bbox, [x0, y0, x1, y1]: [number, number, number, number]) =>
  b.xmin <= x1 && b.xmax >= x0 && b.ymin <= y1 && b.ymax >= y0;

/** The refs of a pool row: the 7 variables' chunks, offsets and sizes from its track, beam and chunk. */
function refsOf(p: number, b: number, c: number, rowStart: number): ChunkRow["refs"] {
  const beam = BEAMS[b]!;
  return VARS.map((name, i) => ({
    path: `/${beam}/land_ice_segments/${name}`,
    chunk_start: c * 10000,
    col_start: 0,
    offset: 1e6 + c * 1e5 + i * 1e4 + b * 2e6,
    size: 9000 + ((rowStart + i) % 4000),
    filter_mask: 0,
    // The indexer records checksums of the coordinate chunks it reads.
    checksum: i < 3 ? (p * 7919 + c * 131 + i) >>> 0 : null,
  }));
}

/** One pool row with where it came from (track, beam, chunk) and its cell list's key. */
interface PoolEntry {
  row: PoolRow;
  b: number;
  c: number;
  cellKey: string;
}

/**
 * The chunk rows of pool track `p`: 6 beams x 14 chunk rows, split at the antimeridian. `donors`
 * holds the cells of RGT 1's rows by (region, beam, chunk, run): rows away from the AOIs carry them.
 */
function poolTrackEntries(p: number, donors: Map<string, bigint[]>): PoolEntry[] {
  const out: PoolEntry[] = [];
  const region = Math.floor(p / RGTS) % REGIONS;
  for (const [b, beam] of BEAMS.entries()) {
    // One more vertex than segments, so each chunk row's footprint ends where the next begins.
    const v = trackPoints(p, b, VERTICES - 1, 0, CHUNKS);
    for (let c = 0; c < CHUNKS; c++) {
      const first = c * (VERTICES - 1);
      const last = Math.min(v.lon.length, first + VERTICES);
      for (const [k, [s, e]] of antimeridianRuns(v.lon, first, last).entries()) {
        const bbox = bboxOf(v.lon, v.lat, s, e);
        const xy: number[] = [];
        for (let i = s; i < e; i++) xy.push(v.lon[i]!, v.lat[i]!);
        if (xy.length === 2) xy.push(xy[0]!, xy[1]!);
        let cellKey = `${region}/${b}/${c}/${k}`;
        let cells = donors.get(cellKey);
        if (!cells || meets(bbox, EXACT_CELLS_BOX)) {
          const t = trackPoints(p, b, CELL_SAMPLES, c, c + 1);
          cells = trackCells(t.lon, t.lat, 0, CELL_SAMPLES, H3_RESOLUTION);
          if (donors.has(cellKey)) cellKey = `${p}/${b}/${c}/${k}`;
          donors.set(cellKey, cells);
        }
        const row_start = c * 10000 + Math.round(((s - first) * 10000) / (VERTICES - 1));
        out.push({
          b,
          c,
          cellKey,
          row: {
            beam,
            beam_kind: b % 2 === 0 ? "strong" : "weak",
            row_start,
            row_count: Math.max(1, Math.round(((e - s) * 10000) / (VERTICES - 1))),
            parent_start: null,
            parent_count: null,
            bbox,
            geometry: wkbLineString(xy),
            footprint_error: footprintError(v.lon, v.lat, s, e),
            h3_cells: cells,
            refs: refsOf(p, b, c, row_start),
          },
        });
      }
    }
  }
  return out;
}

/** A typed array over shared memory that grows (by copying) as values are appended. */
class Growing<A extends Float64Array | Int32Array | Uint8Array | BigUint64Array> {
  array: A;
  length = 0;
  constructor(
    private readonly make: (sab: SharedArrayBuffer, n: number) => A,
    private readonly bytes: number,
    capacity: number,
  ) {
    this.array = make(new SharedArrayBuffer(capacity * bytes), capacity);
  }
  reserve(n: number): void {
    if (this.length + n <= this.array.length) return;
    const capacity = Math.max(this.length + n, Math.ceil(this.array.length * 1.5));
    const next = this.make(new SharedArrayBuffer(capacity * this.bytes), capacity);
    (next as Uint8Array).set(this.array as Uint8Array);
    this.array = next;
  }
  push(v: number | bigint): void {
    this.reserve(1);
    (this.array as unknown as (number | bigint)[])[this.length++] = v;
  }
  /** The values appended, over shared memory. */
  done(): A {
    return this.array.subarray(0, this.length) as A;
  }
}

/** The pool in columns: per chunk row and per track, over shared memory. */
export interface Pool {
  tracks: number;
  rows: number;
  /** First row of each track, and the row count at the end (tracks + 1). */
  trackStart: Int32Array;
  beam: Uint8Array;
  chunk: Uint8Array;
  rowStart: Int32Array;
  rowCount: Int32Array;
  /** xmin, ymin, xmax, ymax of each row. */
  bbox: Float64Array;
  /** Hilbert key of each row's bbox centre (parts.ts sorts and tiles by it). */
  key: Float64Array;
  footprintError: Float64Array;
  /** WKB footprints: bytes and offsets (rows + 1, float64 since they pass 2^31 bytes at 19 418 tracks). */
  geometry: Uint8Array;
  geometryOffsets: Float64Array;
  /** Each row's cell list, and the lists: their cells and offsets. */
  cellList: Int32Array;
  cells: BigUint64Array;
  /** Each cell's sort key: its 25 varying bits at resolution 6 (base cell and six digits). */
  cellKeys: Float64Array;
  cellOffsets: Int32Array;
  /** Each track's granule bbox (the union of its rows'). */
  trackBbox: Float64Array;
}

/** Computes the pool of `tracks` distinct tracks (see store-scale.ts), rows in columns. */
export function buildPool(tracks: number): Pool {
  const donors = new Map<string, bigint[]>();
  const listIds = new Map<string, number>();
  const rowsEstimate = tracks * BEAMS.length * CHUNKS + 1024;
  const f64 = (sab: SharedArrayBuffer, n: number) => new Float64Array(sab, 0, n);
  const i32 = (sab: SharedArrayBuffer, n: number) => new Int32Array(sab, 0, n);
  const u8 = (sab: SharedArrayBuffer, n: number) => new Uint8Array(sab, 0, n);
  const beam = new Growing(u8, 1, rowsEstimate);
  const chunk = new Growing(u8, 1, rowsEstimate);
  const rowStart = new Growing(i32, 4, rowsEstimate);
  const rowCount = new Growing(i32, 4, rowsEstimate);
  const bbox = new Growing(f64, 8, rowsEstimate * 4);
  const key = new Growing(f64, 8, rowsEstimate);
  const fpErr = new Growing(f64, 8, rowsEstimate);
  const geometry = new Growing(u8, 1, rowsEstimate * (9 + 16 * VERTICES));
  const geometryOffsets = new Growing(f64, 8, rowsEstimate + 1);
  const cellList = new Growing(i32, 4, rowsEstimate);
  const cells = new Growing((sab, n) => new BigUint64Array(sab, 0, n), 8, 1 << 20);
  const cellOffsets = new Growing(i32, 4, 1 << 14);
  const trackStart = new Int32Array(new SharedArrayBuffer((tracks + 1) * 4));
  const trackBbox = new Float64Array(new SharedArrayBuffer(tracks * 4 * 8));
  geometryOffsets.push(0);
  cellOffsets.push(0);
  for (let p = 0; p < tracks; p++) {
    trackStart[p] = beam.length;
    const tb = { xmin: 180, ymin: 90, xmax: -180, ymax: -90 };
    for (const { row, b, c, cellKey } of poolTrackEntries(p, donors)) {
      beam.push(b);
      chunk.push(c);
      rowStart.push(row.row_start);
      rowCount.push(row.row_count);
      const r = row.bbox;
      for (const v of [r.xmin, r.ymin, r.xmax, r.ymax]) bbox.push(v);
      key.push(hilbertKey((r.xmin + r.xmax) / 2, (r.ymin + r.ymax) / 2));
      fpErr.push(row.footprint_error);
      geometry.reserve(row.geometry.length);
      geometry.array.set(row.geometry, geometry.length);
      geometry.length += row.geometry.length;
      geometryOffsets.push(geometry.length);
      let list = listIds.get(cellKey);
      if (list === undefined) {
        list = listIds.size;
        listIds.set(cellKey, list);
        cells.reserve(row.h3_cells.length);
        for (const cell of row.h3_cells) cells.push(cell);
        cellOffsets.push(cells.length);
      }
      cellList.push(list);
      tb.xmin = Math.min(tb.xmin, r.xmin);
      tb.ymin = Math.min(tb.ymin, r.ymin);
      tb.xmax = Math.max(tb.xmax, r.xmax);
      tb.ymax = Math.max(tb.ymax, r.ymax);
    }
    trackBbox.set([tb.xmin, tb.ymin, tb.xmax, tb.ymax], p * 4);
  }
  trackStart[tracks] = beam.length;
  return {
    tracks,
    rows: beam.length,
    trackStart,
    beam: beam.done(),
    chunk: chunk.done(),
    rowStart: rowStart.done(),
    rowCount: rowCount.done(),
    bbox: bbox.done(),
    key: key.done(),
    footprintError: fpErr.done(),
    geometry: geometry.done(),
    geometryOffsets: geometryOffsets.done(),
    cellList: cellList.done(),
    cells: cells.done(),
    cellKeys: Float64Array.from(cells.done(), (c) => Number((c >> 27n) & 0x1ffffffn)),
    cellOffsets: cellOffsets.done(),
    trackBbox,
  };
}

const CYCLE_NS = 91n * 86_400n * 10n ** 9n;
const START_NS = 1_538_352_000n * 10n ** 9n; // 2018-10-01, the first ATL06 cycle's start
const GRANULE_NS = (CYCLE_NS * 1000n) / BigInt(RGTS * REGIONS) / 1000n;
/** Nanoseconds per 20 m segment (along-track time of a chunk row's rows). */
const SEGMENT_NS = 2_857_000n;

/** The granule id of pool track `p` in `cycle`, in the producer's form (ATL06_<start>_<rgt><cycle><region>_006_01). */
export function granuleId(p: number, cycle: number, t0: bigint): string {
  const iso = new Date(Number(t0 / 1_000_000n)).toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const rgt = String((p % RGTS) + 1).padStart(4, "0");
  const region = String((Math.floor(p / RGTS) % REGIONS) + 1).padStart(2, "0");
  return `ATL06_${iso}_${rgt}${String(cycle).padStart(2, "0")}${region}_006_01`;
}

export const trackT0 = (p: number, cycle: number) =>
  START_NS + BigInt(cycle - 1) * CYCLE_NS + BigInt(p) * GRANULE_NS;

/** The granule row and array rows of pool track `p` in `cycle`. */
function granuleRows(pool: Pool, p: number, cycle: number) {
  const t0 = trackT0(p, cycle);
  const id = granuleId(p, cycle, t0);
  const b = pool.trackBbox;
  const granule: GranuleRow = {
    granule_id: id,
    url: `s3://archive/ATL06/006/${id}.h5`,
    size: 5e7,
    etag: `"${p.toString(16)}-${cycle}"`,
    mtime: null,
    product: "ATL06",
    release: "006",
    orbit: null,
    track: (p % RGTS) + 1,
    cycle,
    region: (Math.floor(p / RGTS) % REGIONS) + 1,
    attrs: { sc_orient: cycle % 2 },
    time_start: t0,
    time_end: t0 + GRANULE_NS,
    bbox: { xmin: b[p * 4]!, ymin: b[p * 4 + 1]!, xmax: b[p * 4 + 2]!, ymax: b[p * 4 + 3]! },
    geometry: new Uint8Array(),
  };
  const arrays: ArrayRow[] = [];
  for (const beam of BEAMS)
    for (const v of VARS)
      arrays.push({
        granule_id: id,
        path: `/${beam}/land_ice_segments/${v}`,
        dtype: v === "atl06_quality_summary" ? "|i1" : v === "segment_id" ? "<i4" : "<f8",
        shape: [140000],
        chunk_shape: [10000],
        filters: '[{"id":2,"name":"shuffle","params":[8]},{"id":1,"name":"deflate","params":[6]}]',
        fill_value: "3.4028234663852886e+38",
        attrs: '{"units":"meters"}',
      });
  return { granule, arrays };
}

/** Row objects of pool row `r` in `cycle` (the slow path, for {@link checkColumns}). */
function chunkRowOf(pool: Pool, p: number, r: number, cycle: number): ChunkRow {
  const t0 = trackT0(p, cycle);
  const id = granuleId(p, cycle, t0);
  const b = pool.beam[r]!;
  const start = BigInt(pool.rowStart[r]!) * SEGMENT_NS;
  const list = pool.cellList[r]!;
  return {
    chunk_id: `${id}/${BEAMS[b]}/${pool.rowStart[r]}`,
    granule_id: id,
    beam: BEAMS[b]!,
    beam_kind: b % 2 === 0 ? "strong" : "weak",
    row_start: pool.rowStart[r]!,
    row_count: pool.rowCount[r]!,
    parent_start: null,
    parent_count: null,
    time_start: t0 + start,
    time_end: t0 + start + BigInt(pool.rowCount[r]!) * SEGMENT_NS,
    bbox: {
      xmin: pool.bbox[r * 4]!,
      ymin: pool.bbox[r * 4 + 1]!,
      xmax: pool.bbox[r * 4 + 2]!,
      ymax: pool.bbox[r * 4 + 3]!,
    },
    geometry: pool.geometry.slice(pool.geometryOffsets[r]!, pool.geometryOffsets[r + 1]!),
    footprint_error: pool.footprintError[r]!,
    h3_cells: [...pool.cells.subarray(pool.cellOffsets[list]!, pool.cellOffsets[list + 1]!)],
    refs: refsOf(p, b, pool.chunk[r]!, pool.rowStart[r]!),
  };
}

const encoder = new TextEncoder();
/** The types of the `chunks` table's columns, by name, as schema.ts builds them. */
const CHUNK_TYPES = new Map(chunksTable([]).schema.fields.map((f) => [f.name, f.type]));
const type = (name: string) => CHUNK_TYPES.get(name)! as DataType;
/** Byte strings of the refs' paths, by beam and variable. */
const PATHS = BEAMS.map((beam) => VARS.map((v) => encoder.encode(`/${beam}/land_ice_segments/${v}`)));
const BEAM_BYTES = BEAMS.map((b) => encoder.encode(b));
const KIND_BYTES = ["strong", "weak"].map((k) => encoder.encode(k));

/** Utf8 data of byte strings given by a function writing row `i`'s bytes. */
function utf8Of(
  n: number,
  lengthOf: (i: number) => number,
  write: (i: number, out: Uint8Array, at: number) => void,
): Data<Utf8> {
  const valueOffsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) valueOffsets[i + 1] = valueOffsets[i]! + lengthOf(i);
  const data = new Uint8Array(valueOffsets[n]!);
  for (let i = 0; i < n; i++) write(i, data, valueOffsets[i]!);
  return makeData({ type: new Utf8(), length: n, valueOffsets, data });
}

/** A null column of `n` values of `t` (every bit of the validity bitmap cleared). */
function nulls(t: DataType, n: number, array: BigInt64Array | Int32Array): Data {
  const nullBitmap = new Uint8Array(Math.ceil(n / 8)).fill(0xff);
  for (let i = 0; i < n; i++) nullBitmap[i >> 3]! &= ~(1 << (i & 7));
  return makeData({ type: t, length: n, data: array, nullBitmap } as never);
}

/**
 * The columns of pool rows `rows` (in file order) of `cycle` that change from cycle to cycle (ids and
 * times; every other column depends on the pool row only), with their time range.
 */
function idColumnsOf(pool: Pool, rows: Int32Array, tracks: Int32Array, ids: Uint8Array[], cycle: number) {
  const n = rows.length;
  const chunkId = utf8Of(
    n,
    (i) =>
      ids[tracks[i]!]!.length +
      1 +
      BEAM_BYTES[pool.beam[rows[i]!]!]!.length +
      1 +
      String(pool.rowStart[rows[i]!]).length,
    (i, out, at) => {
      const r = rows[i]!;
      const id = ids[tracks[i]!]!;
      out.set(id, at);
      out.set(encoder.encode(`/${BEAMS[pool.beam[r]!]}/${pool.rowStart[r]}`), at + id.length);
    },
  );
  const granuleIdData = utf8Of(
    n,
    (i) => ids[tracks[i]!]!.length,
    (i, out, at) => out.set(ids[tracks[i]!]!, at),
  );
  const timeStart = new BigInt64Array(n);
  const timeEnd = new BigInt64Array(n);
  const t0s = new Map<number, bigint>();
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const p = tracks[i]!;
    let t0 = t0s.get(p);
    if (t0 === undefined) {
      t0 = trackT0(p, cycle);
      t0s.set(p, t0);
    }
    timeStart[i] = t0 + BigInt(pool.rowStart[r]!) * SEGMENT_NS;
    timeEnd[i] = timeStart[i]! + BigInt(pool.rowCount[r]!) * SEGMENT_NS;
  }
  let tMin = timeStart[0] ?? 0n;
  let tMax = timeEnd[0] ?? 0n;
  for (let i = 0; i < n; i++) {
    if (timeStart[i]! < tMin) tMin = timeStart[i]!;
    if (timeEnd[i]! > tMax) tMax = timeEnd[i]!;
  }
  const vec = (d: Data) => makeVector(d);
  const columns = {
    chunk_id: vec(chunkId),
    granule_id: vec(granuleIdData),
    time_start: vec(makeData({ type: type("time_start"), length: n, data: timeStart } as never)),
    time_end: vec(makeData({ type: type("time_end"), length: n, data: timeEnd } as never)),
  };
  return { chunkId, columns, time: [String(tMin), String(tMax)] as [string, string] };
}

/** The union of pool rows' bboxes. */
function bboxOfRows(pool: Pool, rows: Int32Array): Bbox {
  let xmin = 180;
  let ymin = 90;
  let xmax = -180;
  let ymax = -90;
  for (const r of rows) {
    xmin = Math.min(xmin, pool.bbox[r * 4]!);
    ymin = Math.min(ymin, pool.bbox[r * 4 + 1]!);
    xmax = Math.max(xmax, pool.bbox[r * 4 + 2]!);
    ymax = Math.max(ymax, pool.bbox[r * 4 + 3]!);
  }
  return { xmin, ymin, xmax, ymax };
}

/** The `chunks` table of pool rows `rows` (in file order) of `cycle`, with each row's chunk id bytes. */
function chunkTableOf(pool: Pool, rows: Int32Array, tracks: Int32Array, ids: Uint8Array[], cycle: number) {
  const n = rows.length;
  const changing = idColumnsOf(pool, rows, tracks, ids, cycle);
  const beam = utf8Of(
    n,
    (i) => BEAM_BYTES[pool.beam[rows[i]!]!]!.length,
    (i, out, at) => out.set(BEAM_BYTES[pool.beam[rows[i]!]!]!, at),
  );
  const kind = utf8Of(
    n,
    (i) => KIND_BYTES[pool.beam[rows[i]!]! % 2]!.length,
    (i, out, at) => out.set(KIND_BYTES[pool.beam[rows[i]!]! % 2]!, at),
  );
  const rowStart = new BigInt64Array(n);
  const rowCount = new Int32Array(n);
  const box = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const fpErr = new Float64Array(n);
  let geomBytes = 0;
  let cellCount = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    geomBytes += pool.geometryOffsets[r + 1]! - pool.geometryOffsets[r]!;
    const list = pool.cellList[r]!;
    cellCount += pool.cellOffsets[list + 1]! - pool.cellOffsets[list]!;
  }
  const geomOffsets = new Int32Array(n + 1);
  const geom = new Uint8Array(geomBytes);
  const cellOffsets = new Int32Array(n + 1);
  const cells = new BigUint64Array(cellCount);
  const refCount = n * VARS.length;
  const refOffsets = new Int32Array(n + 1);
  const pathOffsets = new Int32Array(refCount + 1);
  const chunkStart = new BigInt64Array(refCount);
  const colStart = new Int32Array(refCount);
  const offset = new BigInt64Array(refCount);
  const size = new BigInt64Array(refCount);
  const filterMask = new Uint32Array(refCount);
  const checksum = new Uint32Array(refCount);
  const checksumValid = new Uint8Array(Math.ceil(refCount / 8)).fill(0xff);
  let pathBytes = 0;
  for (let i = 0; i < n; i++) for (const path of PATHS[pool.beam[rows[i]!]!]!) pathBytes += path.length;
  const paths = new Uint8Array(pathBytes);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const p = tracks[i]!;
    const start = pool.rowStart[r]!;
    rowStart[i] = BigInt(start);
    rowCount[i] = pool.rowCount[r]!;
    for (let k = 0; k < 4; k++) box[k]![i] = pool.bbox[r * 4 + k]!;
    fpErr[i] = pool.footprintError[r]!;
    const g0 = pool.geometryOffsets[r]!;
    const g1 = pool.geometryOffsets[r + 1]!;
    geom.set(pool.geometry.subarray(g0, g1), geomOffsets[i]!);
    geomOffsets[i + 1] = geomOffsets[i]! + (g1 - g0);
    const list = pool.cellList[r]!;
    const c0 = pool.cellOffsets[list]!;
    const c1 = pool.cellOffsets[list + 1]!;
    cells.set(pool.cells.subarray(c0, c1), cellOffsets[i]!);
    cellOffsets[i + 1] = cellOffsets[i]! + (c1 - c0);
    const b = pool.beam[r]!;
    const c = pool.chunk[r]!;
    refOffsets[i + 1] = refOffsets[i]! + VARS.length;
    for (let v = 0; v < VARS.length; v++) {
      const j = i * VARS.length + v;
      const path = PATHS[b]![v]!;
      paths.set(path, at);
      at += path.length;
      pathOffsets[j + 1] = at;
      chunkStart[j] = BigInt(c * 10000);
      offset[j] = BigInt(1e6 + c * 1e5 + v * 1e4 + b * 2e6);
      size[j] = BigInt(9000 + ((start + v) % 4000));
      if (v < 3) checksum[j] = (p * 7919 + c * 131 + v) >>> 0;
      else checksumValid[j >> 3]! &= ~(1 << (j & 7));
    }
  }
  const refsType = type("refs") as List<Struct>;
  const refStruct = refsType.children[0]!.type as Struct;
  const child = (k: number) => refStruct.children[k]!.type;
  const listChild = (name: string) => (type(name) as List).children[0]!.type;
  const bboxType = type("bbox") as Struct;
  const vec = (d: Data) => makeVector(d);
  const table = new ArrowTable({
    chunk_id: changing.columns.chunk_id,
    granule_id: changing.columns.granule_id,
    beam: vec(beam),
    beam_kind: vec(kind),
    row_start: vec(makeData({ type: type("row_start"), length: n, data: rowStart } as never)),
    row_count: vec(makeData({ type: type("row_count"), length: n, data: rowCount } as never)),
    parent_start: vec(nulls(type("parent_start"), n, new BigInt64Array(n))),
    parent_count: vec(nulls(type("parent_count"), n, new Int32Array(n))),
    time_start: changing.columns.time_start,
    time_end: changing.columns.time_end,
    bbox: vec(
      makeData({
        type: bboxType,
        length: n,
        children: box.map((a, k) =>
          makeData({ type: bboxType.children[k]!.type, length: n, data: a } as never),
        ),
      }),
    ),
    geometry: vec(
      makeData({ type: type("geometry"), length: n, valueOffsets: geomOffsets, data: geom } as never),
    ),
    footprint_error: vec(makeData({ type: type("footprint_error"), length: n, data: fpErr } as never)),
    h3_cells: vec(
      makeData({
        type: type("h3_cells"),
        length: n,
        valueOffsets: cellOffsets,
        child: makeData({ type: listChild("h3_cells"), length: cellCount, data: cells } as never),
      } as never),
    ),
    refs: vec(
      makeData({
        type: refsType,
        length: n,
        valueOffsets: refOffsets,
        child: makeData({
          type: refStruct,
          length: refCount,
          children: [
            makeData({ type: child(0), length: refCount, valueOffsets: pathOffsets, data: paths } as never),
            makeData({ type: child(1), length: refCount, data: chunkStart } as never),
            makeData({ type: child(2), length: refCount, data: colStart } as never),
            makeData({ type: child(3), length: refCount, data: offset } as never),
            makeData({ type: child(4), length: refCount, data: size } as never),
            makeData({ type: child(5), length: refCount, data: filterMask } as never),
          ],
        }),
      } as never),
    ),
    ref_checksums: vec(
      makeData({
        type: type("ref_checksums"),
        length: n,
        valueOffsets: refOffsets,
        child: makeData({
          type: listChild("ref_checksums"),
          length: refCount,
          data: checksum,
          nullBitmap: checksumValid,
        } as never),
      } as never),
    ),
  });
  return { table, bbox: bboxOfRows(pool, rows), time: changing.time, chunkId: changing.chunkId };
}

/**
 * The order of a file's `chunk_cells` rows: its rows' cells (row by row, each row's list in order)
 * sorted by cell, equal cells in that order (as the chunk ids of one file sort), by a stable radix
 * sort on each cell's 25 varying bits at resolution 6 (base cell and six digits; below them a
 * resolution-6 index holds only 7s). Returns each sorted entry's row (index into `rows`) and cell
 * (index into the pool's cells).
 */
function cellOrder(pool: Pool, rows: Int32Array): { owner: Int32Array; cell: Int32Array } {
  let n = 0;
  for (const r of rows) {
    const list = pool.cellList[r]!;
    n += pool.cellOffsets[list + 1]! - pool.cellOffsets[list]!;
  }
  let owner = new Int32Array(n);
  let cell = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < rows.length; i++) {
    const list = pool.cellList[rows[i]!]!;
    for (let c = pool.cellOffsets[list]!; c < pool.cellOffsets[list + 1]!; c++) {
      owner[k] = i;
      cell[k++] = c;
    }
  }
  const keys = pool.cellKeys;
  let nextOwner = new Int32Array(n);
  let nextCell = new Int32Array(n);
  for (const [shift, bits] of [
    [0, 13],
    [13, 12],
  ] as const) {
    const counts = new Int32Array((1 << bits) + 1);
    const mask = (1 << bits) - 1;
    for (let i = 0; i < n; i++) counts[((keys[cell[i]!]! >>> shift) & mask) + 1]!++;
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    for (let i = 0; i < n; i++) {
      const at = counts[(keys[cell[i]!]! >>> shift) & mask]!++;
      nextOwner[at] = owner[i]!;
      nextCell[at] = cell[i]!;
    }
    [owner, nextOwner] = [nextOwner, owner];
    [cell, nextCell] = [nextCell, cell];
  }
  return { owner, cell };
}

/** The chunk ids of sorted `chunk_cells` entries (see {@link cellOrder}): row `owner[k]`'s id for entry `k`. */
function cellChunkIds(chunkId: Data<Utf8>, owner: Int32Array): Data<Utf8> {
  const offsets = chunkId.valueOffsets;
  const bytes = chunkId.values;
  const n = owner.length;
  const valueOffsets = new Int32Array(n + 1);
  for (let k = 0; k < n; k++)
    valueOffsets[k + 1] = valueOffsets[k]! + offsets[owner[k]! + 1]! - offsets[owner[k]!]!;
  const data = new Uint8Array(valueOffsets[n]!);
  for (let k = 0, at = 0; k < n; k++)
    for (let b = offsets[owner[k]!]!; b < offsets[owner[k]! + 1]!; b++) data[at++] = bytes[b]!;
  return makeData({ type: new Utf8(), length: n, valueOffsets, data });
}

/**
 * The dictionaries of a `chunk_cells` file's `chunk_id` column, as a file of that column alone
 * whose row group `g` holds the distinct ids of the file's row group `g` in the order they first
 * appear there, repeated at the end to the longest group's length (repeats change neither the
 * dictionary nor the statistics): what parquet-splice.ts `spliceDictionaries` takes.
 */
function cellDictionaries(chunkId: Data<Utf8>, owners: Owners): Uint8Array {
  const table = new ArrowTable({ chunk_id: makeVector(cellChunkIds(chunkId, owners.padded)) });
  return tableToParquet(table, { rowGroupSize: owners.width });
}

/**
 * The rows whose ids {@link cellDictionaries} writes: each row group's distinct owners (indices into
 * the file's rows) in the order they first appear, repeated at the end to the longest group's length.
 */
function dictionaryOwners(owner: Int32Array, rows: number): Owners {
  const groups = Math.ceil(owner.length / CELLS_ROW_GROUP_SIZE);
  const seen = new Int32Array(rows).fill(-1);
  const firsts: Int32Array[] = [];
  const list = new Int32Array(Math.min(CELLS_ROW_GROUP_SIZE, owner.length));
  let width = 1;
  for (let g = 0; g < groups; g++) {
    let n = 0;
    for (let k = g * CELLS_ROW_GROUP_SIZE; k < Math.min(owner.length, (g + 1) * CELLS_ROW_GROUP_SIZE); k++) {
      const o = owner[k]!;
      if (seen[o] === g) continue;
      seen[o] = g;
      list[n++] = o;
    }
    firsts.push(list.slice(0, n));
    width = Math.max(width, n);
  }
  const padded = new Int32Array(groups * width);
  for (const [g, first] of firsts.entries()) {
    padded.set(first, g * width);
    padded.fill(first[first.length - 1]!, g * width + first.length, (g + 1) * width);
  }
  return { padded, width };
}

/** The `chunk_cells` table of a file's rows, sorted by cell: the same rows as `chunkCellsTable` (schema.ts) from typed arrays. */
function cellsTableOf(pool: Pool, chunkId: Data<Utf8>, order: { owner: Int32Array; cell: Int32Array }) {
  const cells = new BigUint64Array(order.cell.length);
  for (let k = 0; k < cells.length; k++) cells[k] = pool.cells[order.cell[k]!]!;
  return new ArrowTable({
    h3_cell: makeVector(cells),
    chunk_id: makeVector(cellChunkIds(chunkId, order.owner)),
  });
}

/** The columns of a cycle's files that change from cycle to cycle (see {@link idColumnsOf}). */
const CHANGING = { chunks: ["chunk_id", "granule_id", "time_start", "time_end"], arrays: ["granule_id"] };

/** A `chunk_cells` file's bytes (the writer settings of parts.ts `writePartSet`). */
const cellsParquet = (table: ArrowTable) => tableToParquet(table, { rowGroupSize: CELLS_ROW_GROUP_SIZE });

/** An `arrays` file's bytes from its table (the writer settings of parts.ts `arraysParquet`). */
const arraysTableParquet = (table: ArrowTable) =>
  tableToParquet(table, {
    rowGroupSize: ARRAYS_ROW_GROUP_SIZE,
    statisticsColumns: ["granule_id", "path"],
    ...ARRAYS_PAGES,
  });

/** The rows {@link cellDictionaries} writes (see {@link dictionaryOwners}). */
interface Owners {
  padded: Int32Array;
  width: number;
}

/** A tile's files of another cycle (same rows), with their `chunk_cells` row count and, if known, dictionary owners. */
interface Template {
  chunks: Uint8Array;
  cells: Uint8Array;
  cellRows: number;
  owners?: Owners;
}

/** A tile's `chunks` and `chunk_cells` files of one cycle. */
interface TileFiles {
  chunks: Uint8Array;
  cells: Uint8Array;
  cellRows: number;
  bbox: Bbox;
  time: [string, string];
}

/**
 * Encodes a tile's `chunks` and `chunk_cells` files of `cycle`: every column from the pool, or,
 * given `template` (the files of the same pool rows in another cycle), only the columns that change
 * from cycle to cycle, spliced into the template's other column chunks (parquet-splice.ts).
 */
function encodeTile(
  pool: Pool,
  rows: Int32Array,
  tracks: Int32Array,
  ids: Uint8Array[],
  cycle: number,
  template?: Template,
): TileFiles & { owners: Owners } {
  if (!template) {
    const order = cellOrder(pool, rows);
    const built = chunkTableOf(pool, rows, tracks, ids, cycle);
    return {
      chunks: chunksTableParquet(built.table, built.bbox),
      cells: cellsParquet(cellsTableOf(pool, built.chunkId, order)),
      cellRows: order.owner.length,
      bbox: built.bbox,
      time: built.time,
      owners: dictionaryOwners(order.owner, rows.length),
    };
  }
  const changing = idColumnsOf(pool, rows, tracks, ids, cycle);
  const bbox = bboxOfRows(pool, rows);
  const chunks = spliceColumns(
    template.chunks,
    chunksTableParquet(new ArrowTable(changing.columns), bbox),
    CHANGING.chunks,
  );
  const owners = template.owners ?? dictionaryOwners(cellOrder(pool, rows).owner, rows.length);
  const cells = spliceDictionaries(template.cells, cellDictionaries(changing.chunkId, owners), "chunk_id");
  return { chunks, cells, cellRows: template.cellRows, bbox, time: changing.time, owners };
}

/** The `arrays` file of a cycle's granules; given `template` (another cycle's), by splicing its granule ids. */
function arraysFile(arrays: readonly ArrayRow[], template?: Uint8Array): Uint8Array {
  if (!template) return arraysParquet(arrays);
  // arraysParquet's order: by granule id, each granule's rows in their order.
  const sorted = [...arrays].sort((a, b) =>
    a.granule_id < b.granule_id ? -1 : a.granule_id > b.granule_id ? 1 : 0,
  );
  const bytes = sorted.map((a) => encoder.encode(a.granule_id));
  const ids = utf8Of(
    bytes.length,
    (i) => bytes[i]!.length,
    (i, out, at) => out.set(bytes[i]!, at),
  );
  return spliceColumns(
    template,
    arraysTableParquet(new ArrowTable({ granule_id: makeVector(ids) })),
    CHANGING.arrays,
  );
}

/** A key of a file's pool rows (in file order). */
const rowsKey = (rows: Int32Array) =>
  createHash("sha256")
    .update(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength))
    .digest("hex");

/** A file pair a cycle wrote (paths in the store), with its `chunk_cells` row count. */
export interface Written {
  chunks: string;
  cells: string;
  cellRows: number;
}

/**
 * Files written before, by store and rows: a later cycle's files of the same rows are spliced from
 * them (their other columns are the same). Threads learn of each other's through
 * {@link takeWritten} and {@link addWritten}.
 */
const written = new Map<string, Written>();
/** The first `arrays` file of each store (every cycle's holds the same rows, in the same order). */
const arraysWritten = new Map<string, string>();
/** Entries of {@link written} and {@link arraysWritten} not yet taken by {@link takeWritten}. */
const fresh = { tiles: new Map<string, Written>(), arrays: new Map<string, string>() };
/** Dictionary owners of the files this thread wrote or spliced, by the key of {@link written}. */
const ownersOf = new Map<string, Owners>();

/** Files written before, as threads pass them to each other. */
export interface WrittenFiles {
  tiles: [string, Written][];
  arrays: [string, string][];
}

/** The files written since the last call (to pass to other threads). */
export function takeWritten(): WrittenFiles {
  const out = { tiles: [...fresh.tiles], arrays: [...fresh.arrays] };
  fresh.tiles.clear();
  fresh.arrays.clear();
  return out;
}

/** Files other threads wrote, now complete. */
export function addWritten(files: WrittenFiles): void {
  for (const [key, w] of files.tiles) if (!written.has(key)) written.set(key, w);
  for (const [dir, file] of files.arrays) if (!arraysWritten.has(dir)) arraysWritten.set(dir, file);
}

/** What {@link writeCycle} did: files encoded whole and spliced. */
export const cycleCounts = { whole: 0, spliced: 0 };

/** The tracks of each month partition of a cycle's granules, in track order (first seen first). */
function partitions(granules: readonly GranuleRow[]) {
  const byPartition = new Map<string, number[]>();
  for (const [p, g] of granules.entries()) {
    const key = partitionOf(g);
    const list = byPartition.get(key) ?? [];
    list.push(p);
    byPartition.set(key, list);
  }
  return byPartition;
}

/**
 * A partition's pool rows (with their tracks) sorted along the Hilbert curve and cut into files
 * exactly as parts.ts `chunkTiles` cuts row objects: one file at level 0, else one per occupied tile
 * of the level `chunkTileLevel` picks for `minRows`.
 */
function tilesOf(pool: Pool, tracks: readonly number[], minRows: number) {
  const rows: number[] = [];
  const owners: number[] = [];
  for (const p of tracks)
    for (let r = pool.trackStart[p]!; r < pool.trackStart[p + 1]!; r++) {
      rows.push(r);
      owners.push(p);
    }
  const order = rows.map((_, i) => i).sort((a, b) => pool.key[rows[a]!]! - pool.key[rows[b]!]! || a - b);
  const sortedRows = Int32Array.from(order, (i) => rows[i]!);
  const sortedTracks = Int32Array.from(order, (i) => owners[i]!);
  const level = chunkTileLevel(
    Float64Array.from(sortedRows, (r) => pool.key[r]!),
    minRows,
  );
  if (level === 0) return [{ tile: undefined, rows: sortedRows, tracks: sortedTracks }];
  const shift = 4 ** (HILBERT_BITS - level);
  const out: { tile: number | undefined; rows: Int32Array; tracks: Int32Array }[] = [];
  let start = 0;
  for (let i = 1; i <= sortedRows.length; i++) {
    const tile = Math.floor(pool.key[sortedRows[start]!]! / shift);
    if (i < sortedRows.length && Math.floor(pool.key[sortedRows[i]!]! / shift) === tile) continue;
    out.push({ tile, rows: sortedRows.subarray(start, i), tracks: sortedTracks.subarray(start, i) });
    start = i;
  }
  return out;
}

/**
 * Writes one cycle's part set into `storeDir` in the store's layout; returns it (ready for the
 * manifest). Files of rows written before (by any thread that told this one, {@link addWritten})
 * are spliced from those unless `splice` is false.
 */
export async function writeCycle(
  pool: Pool,
  cycle: number,
  storeDir: string,
  { splice = true }: { splice?: boolean } = {},
): Promise<PartSet> {
  const granules: GranuleRow[] = [];
  const arrays: ArrayRow[] = [];
  for (let p = 0; p < pool.tracks; p++) {
    const g = granuleRows(pool, p, cycle);
    granules.push(g.granule);
    arrays.push(...g.arrays);
  }
  const ids = granules.map((g) => encoder.encode(g.granule_id));
  const id = newPartId();
  const part: PartSet = {
    id,
    files: { granules: [], arrays: [], chunks: [], chunk_cells: [] },
    granules: granules.map((g) => g.granule_id),
    products: ["ATL06"],
    stats: {},
  };
  const put = async (file: string, bytes: Uint8Array, rows: number, extra: Partial<PartFileStats> = {}) => {
    await mkdir(dirname(join(storeDir, file)), { recursive: true });
    await writeFile(join(storeDir, file), bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    part.stats![file] = { bytes: bytes.length, rows, sha256, ...extra };
  };
  const gfile = `granules/part-${id}.parquet`;
  await put(gfile, granulesParquet(granules), granules.length);
  part.files.granules.push(gfile);
  const afile = `arrays/part-${id}.parquet`;
  const arraysFrom = splice ? arraysWritten.get(storeDir) : undefined;
  await put(
    afile,
    arraysFile(arrays, arraysFrom === undefined ? undefined : await readFile(join(storeDir, arraysFrom))),
    arrays.length,
  );
  if (!arraysWritten.has(storeDir)) {
    arraysWritten.set(storeDir, afile);
    fresh.arrays.set(storeDir, afile);
  }
  part.files.arrays.push(afile);
  arrays.length = 0;
  for (const [partition, tracks] of partitions(granules)) {
    for (const tiled of tilesOf(pool, tracks, CHUNKS_TILE_MIN_ROWS)) {
      const key = `${storeDir}\n${rowsKey(tiled.rows)}`;
      const before = splice ? written.get(key) : undefined;
      const template = before && {
        chunks: await readFile(join(storeDir, before.chunks)),
        cells: await readFile(join(storeDir, before.cells)),
        cellRows: before.cellRows,
        owners: ownersOf.get(key),
      };
      const files = encodeTile(pool, tiled.rows, tiled.tracks, ids, cycle, template);
      ownersOf.set(key, files.owners);
      cycleCounts[template ? "spliced" : "whole"]++;
      const cfile = chunkFileName("chunks", partition, id, tiled.tile);
      await put(cfile, files.chunks, tiled.rows.length, {
        bbox: [files.bbox.xmin, files.bbox.ymin, files.bbox.xmax, files.bbox.ymax],
        time: files.time,
      });
      part.files.chunks.push(cfile);
      const hfile = chunkFileName("chunk_cells", partition, id, tiled.tile);
      await put(hfile, files.cells, files.cellRows);
      part.files.chunk_cells.push(hfile);
      if (!written.has(key)) {
        written.set(key, { chunks: cfile, cells: hfile, cellRows: files.cellRows });
        fresh.tiles.set(key, written.get(key)!);
      }
    }
  }
  return part;
}

/**
 * Checks the column path against the store's own writers on `tracks` pool tracks of cycles `cycle`
 * and `cycle + 1`: the `chunks` file of their rows from row objects (parts.ts `chunksParquet`,
 * tiled by `chunkTiles`) must equal, byte for byte, the file gathered from the columns, and the
 * next cycle's file spliced from it; so must the `arrays` files against parts.ts `arraysParquet`;
 * and the `chunk_cells` rows must be those of `chunkCellsTable` (cell, then chunk id).
 * @throws Error naming the first difference.
 */
export function checkColumns(pool: Pool, cycle: number, tracks: number): void {
  const list = Array.from({ length: Math.min(tracks, pool.tracks) }, (_, p) => p);
  const fast = tilesOf(pool, list, 8);
  const before = new Map<number, Template>();
  let arraysBefore: Uint8Array | undefined;
  for (const c of [cycle, cycle + 1]) {
    const objects: ChunkRow[] = [];
    for (const p of list)
      for (let r = pool.trackStart[p]!; r < pool.trackStart[p + 1]!; r++)
        objects.push(chunkRowOf(pool, p, r, c));
    const slow = chunkTiles(objects, 8);
    if (slow.length !== fast.length)
      throw new Error(`bulk builder: ${fast.length} tiles, the store's writer cuts ${slow.length}`);
    const ids = list.map((p) => encoder.encode(granuleId(p, c, trackT0(p, c))));
    const how = c === cycle ? "gathered" : "spliced";
    for (const [k, s] of slow.entries()) {
      const template = before.get(k);
      const f = encodeTile(pool, fast[k]!.rows, fast[k]!.tracks, ids, c, template);
      before.set(k, f);
      if (template) {
        // Without the first file's dictionary owners, as a template another thread wrote comes.
        const fromDisk = encodeTile(pool, fast[k]!.rows, fast[k]!.tracks, ids, c, {
          ...template,
          owners: undefined,
        });
        if (Buffer.compare(fromDisk.cells, f.cells) !== 0)
          throw new Error(`bulk builder: chunk_cells of tile ${s.tile} depend on the template's owners`);
      }
      if (Buffer.compare(chunksParquet(s.rows), f.chunks) !== 0)
        throw new Error(`bulk builder: ${how} chunks file of tile ${s.tile} differs from the store writer's`);
      if (c !== cycle) {
        const whole = encodeTile(pool, fast[k]!.rows, fast[k]!.tracks, ids, c);
        if (Buffer.compare(whole.cells, f.cells) !== 0)
          throw new Error(
            `bulk builder: spliced chunk_cells file of tile ${s.tile} differs from the whole one`,
          );
      }
      const pairs = s.rows.flatMap((row) => row.h3_cells.map((cell) => [cell, row.chunk_id] as const));
      const got = parquetToTable(f.cells)
        .toArray()
        .map((row) => [row.h3_cell as bigint, row.chunk_id as string] as const);
      // Sorted by cell; rows of one cell in any order (the store's writer orders them by chunk id).
      const sortedByCell = got.every((g, i) => i === 0 || got[i - 1]![0] <= g[0]);
      const order = (x: readonly [bigint, string], y: readonly [bigint, string]) =>
        x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1].localeCompare(y[1]);
      pairs.sort(order);
      const mine = [...got].sort(order);
      const key = (x: readonly (bigint | string)[]) => x.join(" ");
      const same =
        sortedByCell && mine.length === pairs.length && mine.every((g, i) => key(g) === key(pairs[i]!));
      if (!same)
        throw new Error(
          `bulk builder: ${how} chunk_cells rows of tile ${s.tile} differ from the store writer's`,
        );
    }
    const arrays = list.flatMap((p) => granuleRows(pool, p, c).arrays);
    const a = arraysFile(arrays, arraysBefore);
    if (Buffer.compare(arraysParquet(arrays), a) !== 0)
      throw new Error(`bulk builder: ${how} arrays file differs from the store writer's`);
    arraysBefore = a;
  }
}

/**
 * A manifest of the archive's shape, for measuring what parsing it costs without writing its part
 * files: `cycles` part sets of `tracks` granules (their real ids, recorded as this version
 * publishes them: a count and an id range), each with a `granules` and an `arrays` file and, per
 * month partition, a `chunks` and a `chunk_cells` file per Hilbert tile (`tiles` of them), each
 * file's stats copied from `like` (a real file's: sizes, rows, SHA-256, and for `chunks` files a
 * bbox and time range).
 */
export function archiveManifest(
  base: Manifest,
  cycles: number,
  tracks: number,
  tiles: number,
  like: { chunks: PartFileStats; other: PartFileStats },
): Manifest {
  const parts: PartSet[] = [];
  for (let cycle = 1; cycle <= cycles; cycle++) {
    const id = newPartId();
    const granules: string[] = [];
    const months = new Set<string>();
    for (let p = 0; p < tracks; p++) {
      const t0 = trackT0(p, cycle);
      granules.push(granuleId(p, cycle, t0));
      months.add(partitionOf({ product: "ATL06", time_start: t0 } as GranuleRow));
    }
    const part: PartSet = {
      id,
      files: {
        granules: [`granules/part-${id}.parquet`],
        arrays: [`arrays/part-${id}.parquet`],
        chunks: [],
        chunk_cells: [],
      },
      granules,
      products: ["ATL06"],
      stats: {},
    };
    part.stats![part.files.granules[0]!] = { ...like.other };
    part.stats![part.files.arrays[0]!] = { ...like.other };
    for (const month of months)
      for (let t = 0; t < tiles; t++) {
        const c = chunkFileName("chunks", month, id, t);
        const h = chunkFileName("chunk_cells", month, id, t);
        part.files.chunks.push(c);
        part.files.chunk_cells.push(h);
        part.stats![c] = { ...like.chunks };
        part.stats![h] = { ...like.other };
      }
    parts.push(publishedPart(part));
  }
  return { ...base, version: STORE_VERSION, parts, generation: cycles };
}
