/** A chunk-index store on local disk: Parquet part files made visible by one JSON manifest. */
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { EMPTY_BBOX, geoMetadata, unionBbox } from "./geo.js";
import {
  emptyManifest,
  type Manifest,
  newPartId,
  type PartSet,
  readManifest,
  writeManifest,
} from "./manifest.js";
import { readParquetFile, tableToParquet } from "./parquet.js";
import { arrayRows, chunkRows, granuleRows } from "./rows.js";
import {
  type ArrayRow,
  arraysTable,
  type ChunkCellRow,
  type ChunkRow,
  chunkCellsTable,
  chunksTable,
  type GranuleRow,
  granulesTable,
} from "./schema.js";

/** The four tables of a store. */
export const STORE_TABLES = ["granules", "arrays", "chunks", "chunk_cells"] as const;
/** A table name of the store. */
export type StoreTable = (typeof STORE_TABLES)[number];

/** Rows of some granules, to be committed together. */
export interface StoreBatch {
  granules: GranuleRow[];
  arrays: ArrayRow[];
  chunks: ChunkRow[];
  chunkCells: ChunkCellRow[];
}

/** Options for {@link Store.open}. */
export interface OpenStoreOptions {
  /** Create the directory and an empty manifest when missing. Default false. */
  create?: boolean;
  /** H3 resolution recorded in a newly created store. Default {@link DEFAULT_H3_RESOLUTION}. */
  h3Resolution?: number;
}

/**
 * Default H3 resolution of chunk cells: resolution 6 cells (~36 km², edge ~3.2 km) hold a 10 000-segment
 * (200 km) chunk in about 60-70 cells, and still separate tracks a few km apart.
 */
export const DEFAULT_H3_RESOLUTION = 6;

/** An open store. Reads see the manifest as it was when opened (a snapshot). */
export class Store {
  readonly dir: string;
  #manifest: Manifest;

  private constructor(dir: string, manifest: Manifest) {
    this.dir = dir;
    this.#manifest = manifest;
  }

  /**
   * Opens the store in `dir`.
   * @throws StoreError when there is no store there (and `create` is false) or it is not a geochunks store.
   */
  static async open(dir: string, opts: OpenStoreOptions = {}): Promise<Store> {
    const manifest = await readManifest(dir);
    if (manifest) return new Store(dir, manifest);
    if (!opts.create) {
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      throw new StoreError(
        dir,
        `${dir}: ${exists ? "no manifest.json: not a geochunks store" : "no such store"}`,
      );
    }
    await mkdir(dir, { recursive: true });
    const fresh = emptyManifest(opts.h3Resolution ?? DEFAULT_H3_RESOLUTION);
    await writeManifest(dir, fresh);
    return new Store(dir, fresh);
  }

  /** The manifest snapshot this handle reads. */
  get manifest(): Readonly<Manifest> {
    return this.#manifest;
  }

  /** Absolute paths of the visible part files of a table. */
  files(table: StoreTable): string[] {
    return this.#manifest.parts.map((p) => join(this.dir, p.files[table]));
  }

  /** All granule rows. */
  async granules(): Promise<GranuleRow[]> {
    return (await this.#readAll("granules")).flatMap(granuleRows);
  }

  /** All array rows. */
  async arrays(): Promise<ArrayRow[]> {
    return (await this.#readAll("arrays")).flatMap(arrayRows);
  }

  /** All chunk rows. */
  async chunks(): Promise<ChunkRow[]> {
    return (await this.#readAll("chunks")).flatMap(chunkRows);
  }

  async #readAll(table: StoreTable) {
    return Promise.all(this.files(table).map((f) => readParquetFile(f)));
  }

  /**
   * Makes `batch` visible, replacing earlier rows of the granules in `replace` (and of any granule
   * in the batch). Part files are written first, then the manifest is swapped atomically: a crash
   * leaves the store as before or as after.
   * @throws StoreError when another writer committed since this handle was opened.
   */
  async commit(batch: StoreBatch, opts: { replace?: string[] } = {}): Promise<void> {
    const onDisk = await readManifest(this.dir);
    if (onDisk && onDisk.updated !== this.#manifest.updated) {
      throw new StoreError(
        this.dir,
        `${this.dir}: store changed by another writer since it was opened; retry`,
      );
    }
    const dropped = new Set([...(opts.replace ?? []), ...batch.granules.map((g) => g.granule_id)]);
    const kept: PartSet[] = [];
    const rewritten: PartSet[] = [];
    const obsolete: PartSet[] = [];
    for (const part of this.#manifest.parts) {
      if (!part.granules.some((g) => dropped.has(g))) {
        kept.push(part);
        continue;
      }
      obsolete.push(part);
      const rest = await this.#partRows(part, (id) => !dropped.has(id));
      if (rest.granules.length > 0) rewritten.push(await writePartSet(this.dir, rest));
    }
    const added = batch.granules.length > 0 ? [await writePartSet(this.dir, batch)] : [];
    const next: Manifest = {
      ...this.#manifest,
      updated: new Date().toISOString(),
      parts: [...kept, ...rewritten, ...added],
      granules: Object.fromEntries(
        Object.entries(this.#manifest.granules).filter(([id]) => !dropped.has(id)),
      ),
    };
    for (const part of rewritten) {
      for (const id of part.granules) next.granules[id] = { ...this.#manifest.granules[id]!, part: part.id };
    }
    for (const g of batch.granules) {
      next.granules[g.granule_id] = {
        url: g.url,
        size: g.size,
        etag: g.etag,
        mtime: g.mtime,
        part: added[0]!.id,
      };
    }
    await writeManifest(this.dir, next);
    this.#manifest = next;
    await Promise.all(
      obsolete.flatMap((p) => Object.values(p.files).map((f) => rm(join(this.dir, f), { force: true }))),
    );
  }

  async #partRows(part: PartSet, keep: (granuleId: string) => boolean): Promise<StoreBatch> {
    const read = (t: StoreTable) => readParquetFile(join(this.dir, part.files[t]));
    const chunks = chunkRows(await read("chunks")).filter((r) => keep(r.granule_id));
    const chunkIds = new Set(chunks.map((c) => c.chunk_id));
    const cells = (await read("chunk_cells")).toArray().map((r) => ({
      h3_cell: r.h3_cell as bigint,
      chunk_id: r.chunk_id as string,
    }));
    return {
      granules: granuleRows(await read("granules")).filter((r) => keep(r.granule_id)),
      arrays: arrayRows(await read("arrays")).filter((r) => keep(r.granule_id)),
      chunks,
      chunkCells: cells.filter((c) => chunkIds.has(c.chunk_id)),
    };
  }
}

/** Sort key that keeps nearby chunks together, so bbox statistics of row groups prune well. */
function spatialOrder(a: ChunkRow, b: ChunkRow): number {
  return Math.floor(a.bbox.ymin) - Math.floor(b.bbox.ymin) || a.bbox.xmin - b.bbox.xmin;
}

async function writeParquetAtomic(dir: string, file: string, bytes: Uint8Array): Promise<void> {
  const target = join(dir, file);
  await mkdir(join(target, ".."), { recursive: true });
  await writeFile(`${target}.tmp`, bytes);
  await rename(`${target}.tmp`, target);
}

async function writePartSet(dir: string, batch: StoreBatch): Promise<PartSet> {
  const id = newPartId();
  const files = {
    granules: `granules/part-${id}.parquet`,
    arrays: `arrays/part-${id}.parquet`,
    chunks: `chunks/part-${id}.parquet`,
    chunk_cells: `chunk_cells/part-${id}.parquet`,
  };
  const chunks = [...batch.chunks].sort(spatialOrder);
  const chunkBbox = chunks.reduce((acc, c) => unionBbox(acc, c.bbox), EMPTY_BBOX);
  const granuleBbox = batch.granules.reduce((acc, g) => unionBbox(acc, g.bbox), EMPTY_BBOX);
  const asArray = (b: typeof EMPTY_BBOX) =>
    [b.xmin, b.ymin, b.xmax, b.ymax] as [number, number, number, number];
  await writeParquetAtomic(
    dir,
    files.granules,
    tableToParquet(granulesTable(batch.granules), {
      metadata: {
        geo: geoMetadata({ geometryTypes: ["Polygon"], bbox: asArray(granuleBbox), covering: "bbox" }),
      },
    }),
  );
  await writeParquetAtomic(dir, files.arrays, tableToParquet(arraysTable(batch.arrays)));
  await writeParquetAtomic(
    dir,
    files.chunks,
    tableToParquet(chunksTable(chunks), {
      metadata: {
        geo: geoMetadata({
          geometryTypes: ["LineString", "MultiLineString"],
          bbox: asArray(chunkBbox),
          covering: "bbox",
        }),
      },
      rowGroupSize: 4096,
    }),
  );
  await writeParquetAtomic(dir, files.chunk_cells, tableToParquet(chunkCellsTable(batch.chunkCells)));
  return { id, files, granules: batch.granules.map((g) => g.granule_id) };
}
