/**
 * Chunk selection in DuckDB: the query reads only index rows that can hold answer points. Queries
 * select in TypeScript (select-parquet.ts) with identical results; this path is kept as its
 * reference (tested equal) and for `--select-engine duckdb`.
 */

import { join, relative } from "node:path";
import type { BboxArray } from "./geo.js";
import { checkRowCounts } from "./integrity.js";
import { arrayFromPlain, chunkFromPlain, granuleFromPlain } from "./rows.js";
import { fileMayMatch } from "./select-parquet.js";
import {
  type ChunkSelection,
  microsecondWindow,
  type SelectedIndex,
  type SelectionCover,
  selectionPlan,
} from "./selection.js";
import { sqlString, withConnection } from "./sql.js";
import type { Store } from "./store.js";

export {
  type ChunkSelection,
  COVER_MAX_LAT,
  chooseSelection,
  isCoverable,
  MAX_COVER_CELLS,
  type SelectedIndex,
  type SelectionMethod,
} from "./selection.js";

/** The `chunks` file (absolute path) whose cells a `chunk_cells` file holds: the same name under `chunks/`. */
const chunksFileOf = (dir: string, cellFile: string) =>
  join(dir, "chunks", relative(join(dir, "chunk_cells"), cellFile));

/** The `path` condition of the array rows a selection asks for ({@link ChunkSelection.arrayPaths}). */
const inPaths = (paths: readonly string[] | undefined) =>
  paths === undefined ? "" : ` AND path IN (${paths.map(sqlString).join(", ") || "NULL"})`;

const list = (files: string[]) => `[${files.map(sqlString).join(", ")}]`;

/** A TIMESTAMPTZ literal of microseconds since the Unix epoch, UTC. */
function timestampLiteral(micros: bigint): string {
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
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
function whereClause(sel: ChunkSelection, cover: SelectionCover | undefined, cellFiles: string[]): string {
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
  const { startUs, endUs } = microsecondWindow(sel);
  if (startUs !== undefined) parts.push(`time_end >= ${timestampLiteral(startUs)}`);
  if (endUs !== undefined) parts.push(`time_start < ${timestampLiteral(endUs)}`);
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

type Connection = Parameters<Parameters<typeof withConnection>[0]>[0];

/** Rows of the `chunks` files that meet `where` (the files' row counts checked first). */
async function countRows(db: Connection, store: Store, files: string[], where: string): Promise<number> {
  await checkRowCounts(db, store, files);
  const rows = (
    await db.runAndReadAll(
      `SELECT count(*) AS n FROM read_parquet(${list(files)}, hive_partitioning = false, union_by_name = true) WHERE ${where}`,
    )
  ).getRowObjectsJS();
  return Number(rows[0]!.n);
}

/**
 * Finds the candidate chunks of a query with DuckDB, pruning row groups by the `bbox` statistics
 * (and, with the H3 method, by the sorted `chunk_cells` table), then loads only their granules'
 * rows of `granules` and `arrays`.
 */
export async function selectChunks(store: Store, sel: ChunkSelection): Promise<SelectedIndex> {
  if (store.manifest.parts.length === 0) return { granules: [], chunks: [], arrays: [], method: "bbox" };
  return withConnection(async (db) => {
    const scope = { product: sel.product };
    const allChunkFiles = store.files("chunks", scope);
    // Files whose recorded bbox and time range cannot match are not read (nor their cells).
    const chunkFiles = await store
      .checkedFiles("chunks", scope)
      .then((files) => files.filter((f) => fileMayMatch(store.fileStats(f), sel)));
    const { method, cover } = await selectionPlan(sel, store.manifest.h3_resolution, {
      bboxRows: async () =>
        chunkFiles.length === 0 ? 0 : countRows(db, store, chunkFiles, whereClause(sel, undefined, [])),
    });
    if (chunkFiles.length === 0)
      return { granules: [], chunks: [], arrays: [], method, coverCells: cover?.cells.length };
    const skipped = new Set(allChunkFiles.filter((f) => !chunkFiles.includes(f)));
    const cellsOfKept = (files: string[]) => files.filter((f) => !skipped.has(chunksFileOf(store.dir, f)));
    const where = whereClause(sel, cover, cellsOfKept(await store.checkedFiles("chunk_cells", scope)));
    const granuleFiles = await store.checkedFiles("granules");
    const arrayFiles = await store.checkedFiles("arrays");
    const cellFiles = method === "h3" ? cellsOfKept(store.files("chunk_cells", scope)) : [];
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
           FROM read_parquet(${list(arrayFiles)}) WHERE ${inIds}${inPaths(sel.arrayPaths)}`,
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
