/** Chunk selection in DuckDB: the query reads only index rows that can hold answer points. */
import type { BboxArray } from "./geo.js";
import { polygonCover } from "./h3.js";
import { checkRowCounts } from "./integrity.js";
import { arrayFromPlain, chunkFromPlain, granuleFromPlain } from "./rows.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "./schema.js";
import { sqlString, withConnection } from "./sql.js";
import type { Store } from "./store.js";

/** How candidate chunks are found; "auto" picks per query (see {@link chooseSelection}). */
export type SelectionMethod = "bbox" | "h3" | "auto";

/** Average H3 cell area by resolution, km² (resolutions 0-15). */
const CELL_AREA_KM2 = [
  4357449, 609788, 86801, 12393, 1770, 252.9, 36.13, 5.161, 0.7373, 0.1053, 0.01504, 0.002149, 0.000307,
  0.0000439, 0.00000627, 0.000000895,
];

/**
 * Most cells an H3 cover may have before "auto" falls back to bbox selection. Measured on a
 * 25 200-chunk store (bench/select.ts): the cover selected 1.2-30x fewer candidate chunks than
 * bbox pruning (tracks cross an AOI's bbox far more often than its cells) in similar or less time
 * for AOIs up to ~10 000 resolution-6 cells; beyond that computing and joining the cover grows.
 */
export const MAX_COVER_CELLS = 20_000;

/**
 * Most latitude, degrees, of a polygon the H3 cover handles: H3 polygons cannot contain a pole,
 * so AOI parts reaching closer to one (polar caps are closed along latitude +-90) select by bbox.
 */
export const COVER_MAX_LAT = 89;

/**
 * Whether a polygon with this bbox (degrees) can be covered with H3 cells: at most 180 degrees of
 * longitude (H3 reads wider edges as crossing the antimeridian) and off the poles.
 */
export function isCoverable([xmin, ymin, xmax, ymax]: BboxArray): boolean {
  return xmax - xmin <= 180 && ymax <= COVER_MAX_LAT && ymin >= -COVER_MAX_LAT;
}

/**
 * "h3" when the AOI's cover at `resolution` is small enough to join cheaply and every polygon can
 * be covered ({@link isCoverable}), else "bbox".
 */
export function chooseSelection(bboxes: readonly BboxArray[], resolution: number): "bbox" | "h3" {
  if (!bboxes.every(isCoverable)) return "bbox";
  let km2 = 0;
  for (const [xmin, ymin, xmax, ymax] of bboxes) {
    const midLat = ((ymin + ymax) / 2) * (Math.PI / 180);
    km2 += (xmax - xmin) * 111.32 * Math.cos(midLat) * (ymax - ymin) * 110.57;
  }
  return km2 / (CELL_AREA_KM2[resolution] ?? 1) <= MAX_COVER_CELLS ? "h3" : "bbox";
}

/** What a query asks of the index. */
export interface ChunkSelection {
  /** Bounding boxes of the AOI's polygons; a chunk is a candidate when its bbox meets any. */
  bboxes: BboxArray[];
  /** The AOI's polygons (rings of interleaved lon/lat), for the H3 cover. */
  polygons: readonly (readonly Float64Array[])[];
  /** Inclusive start, ns since the Unix epoch. */
  start?: bigint;
  /** Exclusive end, ns since the Unix epoch. */
  end?: bigint;
  /** Beam names and/or beam kinds ("strong", "weak", "full"...); all when empty. */
  beams?: string[];
  /** Beam kinds of the product: names in `beams` that select by kind rather than by beam name. */
  beamKinds?: readonly string[];
  /** Only this product's chunks (its partitions); all products when undefined. */
  product?: string;
  /** Candidate test. Default "auto". */
  method?: SelectionMethod;
}

/** Index rows a query needs: its candidate chunks, their granules and the arrays to decode them. */
export interface SelectedIndex {
  granules: GranuleRow[];
  chunks: ChunkRow[];
  arrays: ArrayRow[];
  /** The method that ran. */
  method: "bbox" | "h3";
  /** Cells of the AOI's H3 cover when the H3 method ran. */
  coverCells?: number;
}

const list = (files: string[]) => `[${files.map(sqlString).join(", ")}]`;

const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));

/** A TIMESTAMPTZ literal of microseconds since the Unix epoch, UTC. */
function timestampLiteral(micros: bigint): string {
  const ms = floorDiv(micros, 1000n);
  const iso = new Date(Number(ms)).toISOString(); // 2020-01-01T00:00:00.123Z
  const sub = (micros - ms * 1000n).toString().padStart(3, "0");
  return `TIMESTAMPTZ '${iso.slice(0, 23)}${sub}+00:00'`;
}

const boxPredicate = ([xmin, ymin, xmax, ymax]: BboxArray) =>
  `(bbox.xmin <= ${xmax} AND bbox.xmax >= ${xmin} AND bbox.ymin <= ${ymax} AND bbox.ymax >= ${ymin})`;

/**
 * The WHERE clause of the chunk query. With a cover, chunks near covered polygons must also have a
 * cell in it; polygons left out of the cover (`covered[i]` false) match by bbox alone.
 */
function whereClause(
  sel: ChunkSelection,
  cover: { cells: bigint[]; covered: boolean[] } | undefined,
  cellFiles: string[],
): string {
  const parts: string[] = [];
  if (cover) {
    const cells = cover.cells.length ? cover.cells.map((c) => `${c}::UBIGINT`).join(", ") : "NULL";
    const near = sel.bboxes.filter((_, i) => cover.covered[i]).map(boxPredicate);
    const rest = sel.bboxes.filter((_, i) => !cover.covered[i]).map(boxPredicate);
    const inCells = `chunk_id IN (SELECT chunk_id FROM read_parquet(${list(cellFiles)}) WHERE h3_cell IN (${cells}))`;
    const alternatives = [...(near.length ? [`((${near.join(" OR ")}) AND ${inCells})`] : []), ...rest];
    parts.push(`(${alternatives.join(" OR ")})`);
  } else {
    parts.push(`(${sel.bboxes.map(boxPredicate).join(" OR ") || "false"})`);
  }
  // Stored times are nanoseconds; DuckDB reads them truncated to microseconds, so round the
  // window outwards to whole microseconds to never drop a chunk that ends inside it.
  if (sel.start !== undefined) parts.push(`time_end >= ${timestampLiteral(floorDiv(sel.start, 1000n))}`);
  if (sel.end !== undefined) parts.push(`time_start < ${timestampLiteral(floorDiv(sel.end, 1000n) + 1n)}`);
  const beams = sel.beams ?? [];
  if (beams.length > 0) {
    const kinds = beams.filter((b) => sel.beamKinds?.includes(b));
    const names = beams.filter((b) => !kinds.includes(b));
    const alts = [`beam IN (${names.map(sqlString).join(", ") || "NULL"})`];
    if (kinds.length > 0) alts.push(`beam_kind IN (${kinds.map(sqlString).join(", ")})`);
    parts.push(`(${alts.join(" OR ")})`);
  }
  return parts.join(" AND ");
}

/**
 * Finds the candidate chunks of a query with DuckDB, pruning row groups by the `bbox` statistics
 * (and, with the H3 method, by the sorted `chunk_cells` table), then loads only their granules'
 * rows of `granules` and `arrays`.
 */
export async function selectChunks(store: Store, sel: ChunkSelection): Promise<SelectedIndex> {
  if (store.manifest.parts.length === 0) return { granules: [], chunks: [], arrays: [], method: "bbox" };
  const resolution = store.manifest.h3_resolution;
  const covered = sel.bboxes.map(isCoverable);
  const chosen =
    sel.method === "bbox" || sel.method === "h3" ? sel.method : chooseSelection(sel.bboxes, resolution);
  // Polygons H3 cannot express (polar caps, over 180 degrees wide) always select by bbox.
  const method = chosen === "h3" && covered.some(Boolean) ? "h3" : "bbox";
  const cover =
    method === "h3"
      ? {
          cells: polygonCover(
            sel.polygons.filter((_, i) => covered[i]),
            resolution,
          ),
          covered,
        }
      : undefined;
  return withConnection(async (db) => {
    const scope = { product: sel.product };
    const chunkFiles = await store.checkedFiles("chunks", scope);
    if (chunkFiles.length === 0)
      return { granules: [], chunks: [], arrays: [], method, coverCells: cover?.cells.length };
    const where = whereClause(sel, cover, await store.checkedFiles("chunk_cells", scope));
    const granuleFiles = await store.checkedFiles("granules");
    const arrayFiles = await store.checkedFiles("arrays");
    const cellFiles = method === "h3" ? store.files("chunk_cells", scope) : [];
    await checkRowCounts(db, store, [...chunkFiles, ...cellFiles, ...granuleFiles, ...arrayFiles]);
    const coverCells = cover?.cells.length;
    const chunks = (
      await db.runAndReadAll(
        // Every column but the cells: `ref_checksums` is absent from parts written before it.
        `SELECT * EXCLUDE (h3_cells) REPLACE (epoch_ns(time_start) AS time_start, epoch_ns(time_end) AS time_end,
                ST_AsWKB(geometry) AS geometry)
           FROM read_parquet(${list(chunkFiles)}, hive_partitioning = false, union_by_name = true) WHERE ${where}`,
      )
    )
      .getRowObjectsJS()
      .map((r) => chunkFromPlain(r as Record<string, unknown>));
    const ids = [...new Set(chunks.map((c) => c.granule_id))];
    if (ids.length === 0) return { granules: [], chunks, arrays: [], method, coverCells };
    const inIds = `granule_id IN (${ids.map(sqlString).join(", ")})`;
    const granules = (
      await db.runAndReadAll(
        `SELECT granule_id, url, size, etag, mtime, product, release, orbit, track, cycle, region, attrs,
                epoch_ns(time_start) AS time_start, epoch_ns(time_end) AS time_end, bbox
           FROM read_parquet(${list(granuleFiles)}) WHERE ${inIds}`,
      )
    )
      .getRowObjectsJS()
      .map((r) => granuleFromPlain(r as Record<string, unknown>));
    const arrays = (
      await db.runAndReadAll(
        `SELECT granule_id, path, dtype, shape, chunk_shape, filters, fill_value, attrs
           FROM read_parquet(${list(arrayFiles)}) WHERE ${inIds}`,
      )
    )
      .getRowObjectsJS()
      .map((r) => arrayFromPlain(r as Record<string, unknown>));
    return { granules, chunks, arrays, method, coverCells };
  });
}

/**
 * The element type (HDF5 dtype) of a dataset at any of `paths` in any granule of the store, or
 * undefined when no granule has one.
 */
export async function variableType(store: Store, paths: readonly string[]): Promise<string | undefined> {
  if (store.manifest.parts.length === 0 || paths.length === 0) return undefined;
  const files = await store.checkedFiles("arrays");
  return withConnection(async (db) => {
    const rows = (
      await db.runAndReadAll(
        `SELECT dtype FROM read_parquet(${list(files)})
          WHERE path IN (${paths.map(sqlString).join(", ")}) LIMIT 1`,
      )
    ).getRowObjectsJS();
    return rows.length > 0 ? String(rows[0]!.dtype) : undefined;
  });
}
