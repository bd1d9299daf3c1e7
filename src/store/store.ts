/** A chunk-index store on local disk: Parquet part files made visible by one JSON manifest. */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { withStoreLock } from "./lock.js";
import {
  emptyManifest,
  type GranuleFingerprint,
  type Manifest,
  type PartSet,
  readManifest,
  STORE_TABLES,
  type StagedPartSet,
  type StoreTable,
  writeManifest,
} from "./manifest.js";
import { readParquetFile } from "./parquet.js";
import { mergeBatches, partitionKey, readPartSet, type StoreBatch, writePartSet } from "./parts.js";
import { arrayRows, chunkRows, granuleRows } from "./rows.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "./schema.js";

export { STORE_TABLES, type StoreTable } from "./manifest.js";
export type { StoreBatch } from "./parts.js";

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

/** Folder of part sets written by shard jobs and not yet committed. */
const STAGED_DIR = "staged";

/** What a commit changed. */
export interface CommitReport {
  /** Granules now visible that were not before, or were replaced. */
  granules: string[];
  /** Part sets made visible. */
  parts: number;
}

/** Which part files of a table hold rows of `product` (all of them when it is undefined or the table is not partitioned). */
function partitionFilter(table: StoreTable, product: string | undefined): (file: string) => boolean {
  if (product === undefined || table === "granules" || table === "arrays") return () => true;
  const dir = `${table}/${partitionKey("product", product)}/`;
  return (file) => file.startsWith(dir);
}

/** An open store. Reads see the manifest as it was when opened or last committed (a snapshot). */
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
    const created = await withStoreLock(dir, async () => {
      const raced = await readManifest(dir);
      if (raced) return raced;
      const fresh = emptyManifest(opts.h3Resolution ?? DEFAULT_H3_RESOLUTION);
      await writeManifest(dir, fresh);
      return fresh;
    });
    return new Store(dir, created);
  }

  /** The manifest snapshot this handle reads. */
  get manifest(): Readonly<Manifest> {
    return this.#manifest;
  }

  /**
   * Absolute paths of the visible part files of a table; with `product`, only the `chunks` and
   * `chunk_cells` partitions of that product (the `granules` and `arrays` parts are not partitioned).
   */
  files(table: StoreTable, opts: { product?: string } = {}): string[] {
    const keep = partitionFilter(table, opts.product);
    return this.#manifest.parts.flatMap((p) => p.files[table].filter(keep).map((f) => join(this.dir, f)));
  }

  /** Products of the visible granules, sorted by name. */
  products(): string[] {
    return [...new Set(Object.values(this.#manifest.granules).map((g) => g.product))].sort();
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
   * Makes `batch` visible, replacing earlier rows of its granules and of those in `replace`. Part
   * files are written first, then, holding the store lock, the manifest is re-read, rebased and
   * swapped atomically: a crash leaves the store as before or as after, and concurrent writers
   * take turns without losing each other's granules. `beforeSwap` runs between the two steps.
   * @throws StoreError when the lock stays held by a live writer too long.
   */
  async commit(
    batch: StoreBatch,
    opts: { replace?: string[]; beforeSwap?: () => Promise<void> } = {},
  ): Promise<CommitReport> {
    const staged = batch.granules.length > 0 ? [await this.#writeStaged(batch)] : [];
    await opts.beforeSwap?.();
    return this.#apply(staged, opts.replace ?? []);
  }

  /**
   * Writes `batch` as a staged part set (`staged/<id>.json`), invisible to readers until
   * {@link Store.commitStaged}: what each shard job of a parallel indexing run does.
   */
  async stage(batch: StoreBatch): Promise<PartSet> {
    const staged = await this.#writeStaged(batch);
    const path = join(this.dir, STAGED_DIR, `${staged.part.id}.json`);
    await mkdir(join(this.dir, STAGED_DIR), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(staged));
    await rename(`${path}.tmp`, path);
    return staged.part;
  }

  /** Makes every staged part set visible in one manifest swap (later stages win for a granule). */
  async commitStaged(): Promise<CommitReport> {
    const dir = join(this.dir, STAGED_DIR);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort();
    const staged = await Promise.all(
      names.map(async (n) => JSON.parse(await readFile(join(dir, n), "utf8")) as StagedPartSet),
    );
    const report = await this.#apply(staged, []);
    await Promise.all(names.map((n) => rm(join(dir, n), { force: true })));
    return report;
  }

  /**
   * Rewrites all visible rows as one part set (per product and month partition) and removes the old parts and
   * any orphaned files a crashed writer left. Query results do not change.
   */
  async compact(): Promise<{ before: number; after: number }> {
    return withStoreLock(this.dir, async () => {
      const disk = (await readManifest(this.dir))!;
      const before = disk.parts.length;
      if (before <= 1) {
        this.#manifest = disk;
        await this.#removeOrphans(disk);
        return { before, after: before };
      }
      const rows = mergeBatches(
        await Promise.all(disk.parts.map((p) => readPartSet(this.dir, p, () => true))),
      );
      const part = await writePartSet(this.dir, rows);
      const next: Manifest = {
        ...disk,
        updated: new Date().toISOString(),
        parts: [part],
        granules: Object.fromEntries(
          Object.entries(disk.granules).map(([id, g]) => [id, { ...g, part: part.id }]),
        ),
      };
      await writeManifest(this.dir, next);
      this.#manifest = next;
      await this.#removeOrphans(next);
      return { before, after: 1 };
    });
  }

  async #writeStaged(batch: StoreBatch): Promise<StagedPartSet> {
    const part = await writePartSet(this.dir, batch);
    const fingerprints = Object.fromEntries(
      batch.granules.map((g) => [
        g.granule_id,
        { url: g.url, size: g.size, etag: g.etag, mtime: g.mtime, product: g.product },
      ]),
    );
    return { part, fingerprints };
  }

  async #apply(staged: StagedPartSet[], replace: string[]): Promise<CommitReport> {
    if (staged.length === 0 && replace.length === 0) return { granules: [], parts: 0 };
    const obsolete: PartSet[] = [];
    const next = await withStoreLock(this.dir, async () => {
      let current = (await readManifest(this.dir)) ?? this.#manifest;
      for (const [i, s] of staged.entries()) {
        const dropped = new Set([...s.part.granules, ...(i === 0 ? replace : [])]);
        current = await this.#rebase(current, dropped, obsolete);
        current.parts.push(s.part);
        for (const [id, f] of Object.entries(s.fingerprints))
          current.granules[id] = { ...f, part: s.part.id };
      }
      if (staged.length === 0) current = await this.#rebase(current, new Set(replace), obsolete);
      current.updated = new Date().toISOString();
      await writeManifest(this.dir, current);
      return current;
    });
    this.#manifest = next;
    const live = new Set(next.parts.map((p) => p.id));
    const files = obsolete
      .filter((p) => !live.has(p.id))
      .flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t]));
    await Promise.all(files.map((f) => rm(join(this.dir, f), { force: true })));
    return { granules: staged.flatMap((s) => s.part.granules), parts: staged.length };
  }

  /** A copy of `m` without the rows of `dropped`: parts holding them are rewritten without them. */
  async #rebase(m: Manifest, dropped: Set<string>, obsolete: PartSet[]): Promise<Manifest> {
    const parts: PartSet[] = [];
    const granules: Record<string, GranuleFingerprint> = {};
    for (const [id, g] of Object.entries(m.granules)) if (!dropped.has(id)) granules[id] = g;
    for (const part of m.parts) {
      if (!part.granules.some((g) => dropped.has(g))) {
        parts.push(part);
        continue;
      }
      obsolete.push(part);
      const rest = await readPartSet(this.dir, part, (id) => !dropped.has(id));
      if (rest.granules.length === 0) continue;
      const rewritten = await writePartSet(this.dir, rest);
      parts.push(rewritten);
      for (const id of rewritten.granules) granules[id] = { ...granules[id]!, part: rewritten.id };
    }
    return { ...m, parts, granules };
  }

  /** Deletes part files no manifest entry or staged set refers to (left by crashed writers). */
  async #removeOrphans(m: Manifest): Promise<void> {
    const live = new Set(m.parts.flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t])));
    const stagedDir = join(this.dir, STAGED_DIR);
    for (const name of await readdir(stagedDir).catch(() => [] as string[])) {
      const s = JSON.parse(await readFile(join(stagedDir, name), "utf8")) as StagedPartSet;
      for (const t of STORE_TABLES) for (const f of s.part.files[t]) live.add(f);
    }
    for (const table of STORE_TABLES) {
      const entries = await readdir(join(this.dir, table), { recursive: true }).catch(() => [] as string[]);
      for (const rel of entries) {
        const file = `${table}/${String(rel)}`;
        if (!file.endsWith(".parquet") && !file.endsWith(".tmp")) continue;
        if (!live.has(file)) await rm(join(this.dir, file), { force: true });
      }
    }
  }
}
