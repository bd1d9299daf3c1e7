/**
 * A chunk-index store, in a local folder or under an S3 prefix: Parquet part files made visible by
 * one JSON manifest. Where the files live is behind a {@link StoreBackend} (backend.ts); the commit
 * logic here (rebase, retire, expire) is the same for both.
 */
import { mkdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { StoreBusyError, StoreError } from "../errors.js";
import { backoffDelay, sleep } from "../source/retry.js";
import type { S3SourceOptions } from "../source/s3.js";
import {
  isS3Location,
  LocalStoreBackend,
  type ManifestRead,
  type NamedStagedSet,
  openStoreBackend,
  type StoreBackend,
} from "./backend.js";
import { readFingerprints } from "./fingerprints.js";
import {
  type GranuleIdCache,
  mayHoldAny,
  partGranuleIds,
  rememberGranuleIds,
  sortedIds,
} from "./granule-ids.js";
import { noStoreError } from "./local-reader.js";
import { DEFAULT_LOCK_TIMEOUT_MS, withStoreLock } from "./lock.js";
import {
  currentManifest,
  emptyManifest,
  type GranuleFingerprint,
  listedGranules,
  type Manifest,
  manifestProducts,
  type PartFileStats,
  type PartSet,
  partGranuleCount,
  publishedPart,
  type RetiredPart,
  readManifest,
  type ShardStamp,
  STORE_TABLES,
  STORE_VERSION,
  type StagedPartSet,
  type StoreTable,
  writeManifest,
} from "./manifest.js";
import { checkPartFile } from "./part-check.js";
import {
  type EncodedPartSet,
  mergeBatches,
  partitionKey,
  readPartSet,
  removeCreatedFolders,
  type StoreBatch,
  type WrittenPartSet,
  writePartSet,
} from "./parts.js";
import { arrayRows, chunkRows, granuleRows } from "./rows.js";
import type { ArrayRow, ChunkRow, GranuleRow } from "./schema.js";
import { emptyStagedSet, incompleteShardsError, shardSetProblem, stagedShardName } from "./shards.js";
import type { StoreProblem, VerifyReport } from "./verify.js";

export { STORE_TABLES, type StoreTable } from "./manifest.js";
export type { StoreBatch } from "./parts.js";

/** Options for {@link Store.open}. */
export interface OpenStoreOptions {
  /** Create the directory and an empty manifest when missing. Default false. */
  create?: boolean;
  /** H3 resolution recorded in a newly created store. Default {@link DEFAULT_H3_RESOLUTION}. */
  h3Resolution?: number;
  /** How long a commit waits for another writer's lock (ms). Default {@link DEFAULT_LOCK_TIMEOUT_MS}. */
  lockTimeoutMs?: number;
  /**
   * How long retired part files are kept for readers of older manifests, and how old a part file no
   * manifest lists must be before a writer of an S3 store removes it (ms). Default {@link DEFAULT_RETIRED_GRACE_MS}.
   */
  retiredGraceMs?: number;
  /** Region, endpoint and credentials of an `s3://bucket/prefix` store. */
  s3?: S3SourceOptions;
  /**
   * Floor of chunk rows per occupied Hilbert tile by which a written part set picks the tile level
   * of each partition (parts.ts `chunkTileLevel`). Default `CHUNKS_TILE_MIN_ROWS` of parts.ts;
   * tests lower it to read tiled stores (0 always splits at the deepest level).
   */
  chunkTileMinRows?: number;
  /**
   * Granule ids of part sets already read (by part-set id), such as those `readFingerprints` records,
   * so that a commit's rebase does not read them again. Default: none; the handle reads what it needs.
   */
  granuleIds?: GranuleIdCache;
}

/**
 * Times a commit to an S3 store is computed again after another writer published first, before it
 * fails with {@link StoreBusyError}. Each lost race means another commit landed, so ten losses in a
 * row take ten other commits within the backoff (up to seconds): a store busier than that wants
 * shards (`index --shard`, one `commit`) rather than racing writers.
 */
export const MAX_COMMIT_ATTEMPTS = 10;

/**
 * Default time retired part files stay on disk: one hour. A query pins the manifest it opened and
 * reads the store's part files only while selecting candidates (seconds), and `sql` only while
 * its statement runs, so an hour covers any reader by orders of magnitude while the disk holds at
 * most an hour of superseded parts. (Delta Lake keeps 7 days and Iceberg 5 because they offer time
 * travel; this store does not.) `compact --vacuum` removes them sooner; a reader that outlives the
 * grace period gets an error naming the missing part and saying to reopen the store.
 */
export const DEFAULT_RETIRED_GRACE_MS = 3_600_000;

/** What {@link Store.repair} found and did. */
export interface RepairReport {
  problems: StoreProblem[];
  /** Part sets rewritten with rebuilt `chunk_cells`. */
  rebuilt: number;
  /** Granules dropped from the manifest (their rows were in broken files): index them again. */
  dropped: string[];
}

/** Options for {@link Store.compact}. */
export interface CompactOptions {
  /** Also remove retired part files now, those retired at least `olderThanMs` ago (default 0: all). */
  vacuum?: boolean;
  /** With `vacuum`: keep parts retired less than this long ago (ms). Default 0. */
  olderThanMs?: number;
  /**
   * Chunk rows one rewritten part set holds at most, unless a single old set holds more. Default
   * {@link COMPACT_GROUP_ROWS}.
   */
  groupRows?: number;
}

/**
 * Chunk rows compaction merges into one part set at most: consecutive part sets are rewritten
 * together up to this many, so compaction holds one group's rows at a time, not the store's. Read
 * back as objects, a chunk row (its refs, cells and footprint) took about 10 KB of memory: a month of
 * daily appends (538 290 rows) merged whole ran out of Node's heap, at 7.4 GB of memory.
 */
export const COMPACT_GROUP_ROWS = 65_536;

/** Chunk rows taken for a granule of a part set written before file stats were recorded (an ATL06 granule has 66). */
const GRANULE_CHUNK_ROWS = 64;

/** Chunk rows of a part set: its `chunks` files' rows from its stats, else {@link GRANULE_CHUNK_ROWS} a granule. */
function partChunkRows(p: Readonly<PartSet>): number {
  const counted = p.files.chunks.map((f) => p.stats?.[f]?.rows);
  if (counted.every((n) => n !== undefined)) return counted.reduce((a, b) => a + b, 0);
  return partGranuleCount(p) * GRANULE_CHUNK_ROWS;
}

/**
 * `parts` in order, cut into runs of consecutive sets of at most `limit` chunk rows together (a set
 * larger than that alone in its run).
 */
export function compactGroups(parts: readonly PartSet[], limit: number): PartSet[][] {
  const groups: PartSet[][] = [];
  let rows = 0;
  for (const part of parts) {
    const n = partChunkRows(part);
    const last = groups[groups.length - 1];
    if (last && rows + n <= limit) {
      last.push(part);
      rows += n;
    } else {
      groups.push([part]);
      rows = n;
    }
  }
  return groups;
}

/**
 * Default H3 resolution of chunk cells: resolution 6 cells (~36 km², edge ~3.2 km) hold a 10 000-segment
 * (200 km) chunk in about 60-70 cells, and still separate tracks a few km apart.
 */
export const DEFAULT_H3_RESOLUTION = 6;

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
  /** The store's folder, or its `s3://bucket/prefix`. */
  readonly dir: string;
  #manifest: Manifest;
  #opts: OpenStoreOptions;
  readonly #backend: StoreBackend;
  /** Granule ids of part sets met so far (a version 5 manifest does not list them). */
  readonly #ids: GranuleIdCache;

  private constructor(dir: string, manifest: Manifest, opts: OpenStoreOptions, backend?: StoreBackend) {
    this.dir = dir;
    this.#manifest = manifest;
    this.#opts = opts;
    this.#backend = backend ?? new LocalStoreBackend(dir, opts.lockTimeoutMs);
    this.#ids = opts.granuleIds ?? new Map();
  }

  #lock<T>(fn: () => Promise<T>): Promise<T> {
    return this.#backend.exclusive(fn);
  }

  /** Opens a store under an S3 prefix for writing; a new one is created by its first commit. */
  static async #openS3(location: string, opts: OpenStoreOptions): Promise<Store> {
    const backend = await openStoreBackend(location, { s3: opts.s3 });
    const { manifest } = await backend.readManifest();
    if (manifest) return new Store(backend.location, manifest, opts, backend);
    if (!opts.create) throw new StoreError(location, `${location}: no manifest.json: no such store`);
    return new Store(
      backend.location,
      emptyManifest(opts.h3Resolution ?? DEFAULT_H3_RESOLUTION),
      opts,
      backend,
    );
  }

  /**
   * Opens the store in `dir`.
   * @throws StoreError when there is no store there (and `create` is false) or it is not a geochunks store.
   */
  static async open(dir: string, opts: OpenStoreOptions = {}): Promise<Store> {
    if (isS3Location(dir)) return Store.#openS3(dir, opts);
    const manifest = await readManifest(dir);
    if (manifest) return new Store(dir, manifest, opts);
    if (!opts.create) throw await noStoreError(dir);
    await mkdir(dir, { recursive: true });
    const created = await withStoreLock(
      dir,
      async () => {
        const raced = await readManifest(dir);
        if (raced) return raced;
        const fresh = emptyManifest(opts.h3Resolution ?? DEFAULT_H3_RESOLUTION);
        await writeManifest(dir, fresh);
        return fresh;
      },
      { timeoutMs: opts.lockTimeoutMs },
    );
    return new Store(dir, created, opts);
  }

  /**
   * A read handle on the local store in `dir` at a manifest snapshot already read (the one a
   * {@link StoreReader} holds), so a query selecting with DuckDB sees the same commit as the rest of it.
   */
  static atSnapshot(dir: string, manifest: Readonly<Manifest>): Store {
    return new Store(dir, manifest as Manifest, {});
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

  /**
   * {@link Store.files}, each checked to be there (a cheap `stat`), so a reader never runs on a
   * part that a later commit retired and a vacuum removed.
   * @throws StoreError naming the first missing part file.
   */
  async checkedFiles(table: StoreTable, opts: { product?: string } = {}): Promise<string[]> {
    const files = this.files(table, opts);
    // Checked together; the first bad file in manifest order is the one reported.
    const checks = await Promise.allSettled(files.map((f) => this.checkFile(f)));
    const failed = checks.find((c) => c.status === "rejected");
    if (failed) throw failed.reason;
    return files;
  }

  /** What the manifest records of the part file at `path` (absolute), when it records it. */
  fileStats(path: string): PartFileStats | undefined {
    const rel = relative(this.dir, path).split(sep).join("/");
    for (const p of this.#manifest.parts) {
      const s = p.stats?.[rel];
      if (s) return s;
    }
    return undefined;
  }

  /**
   * Checks that the part file at `path` (absolute) is there with the size the manifest records.
   * @throws StoreError naming the file: missing (saying when a later commit retired it), or resized.
   */
  async checkFile(path: string): Promise<void> {
    await checkPartFile(this.dir, this.#manifest, path);
  }

  /** Products of the visible granules, sorted by name. */
  products(): string[] {
    return manifestProducts(this.#manifest);
  }

  /**
   * Every visible granule's fingerprint (url, size, ETag/mtime, product, part set), by granule id:
   * read from the `granules` files' small columns (a version 3 manifest lists them itself). For
   * writers; a query never needs them all.
   */
  async fingerprints(): Promise<Map<string, GranuleFingerprint>> {
    try {
      return await readFingerprints(this.#backend, this.#manifest, this.#ids);
    } finally {
      await this.#backend.release();
    }
  }

  /**
   * The granule ids of part set `part` where they are known without reading it: listed by the
   * manifest (versions 3 and 4), or met by this handle before (written, or read from its files).
   */
  knownGranuleIds(part: Readonly<PartSet>): readonly string[] | undefined {
    return part.granules ?? this.#ids.get(part.id);
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
    return Promise.all(
      (await this.checkedFiles(table)).map(async (f) => {
        // Arrow and the Parquet library load here, not with the store: an index run writes without them.
        const { readParquetFile } = await import("./parquet.js");
        const t = await readParquetFile(f).catch((err: unknown) => {
          throw new StoreError(this.dir, `${f}: part file is not readable Parquet (${firstLine(err)})`, {
            cause: err,
          });
        });
        const want = this.fileStats(f);
        if (want && t.numRows !== want.rows) throw rowCountError(this.dir, f, t.numRows, want.rows);
        return t;
      }),
    );
  }

  /**
   * Makes `batch` visible, replacing earlier rows of its granules and of those in `replace`. Part
   * files are written first (uploaded, on S3), then the manifest is re-read, rebased and published
   * atomically: holding the store lock (local), or by conditional writes, computed again on the
   * winner's manifest after a lost race (S3). A crash leaves the store as before or as after, and
   * concurrent writers land without losing each other's granules. `beforeSwap` runs between the two steps.
   * `encoded`: the batch's part files encoded ahead (part-encoder.ts), written as they are.
   * @throws StoreBusyError when the lock stays held by a live writer too long, or an S3 commit loses
   *   {@link MAX_COMMIT_ATTEMPTS} races in a row.
   */
  async commit(
    batch: StoreBatch,
    opts: { replace?: string[]; beforeSwap?: () => Promise<void>; encoded?: EncodedPartSet } = {},
  ): Promise<CommitReport> {
    try {
      const staged = batch.granules.length > 0 ? [await this.#writeStaged(batch, opts.encoded)] : [];
      try {
        await this.#backend.upload(staged.map((s) => s.part));
        await opts.beforeSwap?.();
        return await this.#apply(staged, opts.replace ?? []);
      } catch (err) {
        // A failed run removes the parts it wrote, unless its manifest swap happened.
        await this.#discard(staged.map((s) => s.part));
        throw err;
      }
    } finally {
      await this.#backend.release();
    }
  }

  /** Removes written part sets that the published manifest does not list. */
  async #discard(parts: readonly PartSet[]): Promise<void> {
    if (parts.length === 0) return;
    const disk = await this.#backend.readManifest().catch(() => undefined);
    const listed = new Set(disk?.manifest?.parts.map((p) => p.id) ?? []);
    const files = parts
      .filter((p) => !listed.has(p.id))
      .flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t]));
    await this.#backend.remove(files);
    const unlisted = parts.filter((p) => !listed.has(p.id)) as Partial<WrittenPartSet>[];
    await removeCreatedFolders(unlisted.flatMap((p) => p.folders ?? []));
    for (const p of parts) (p as Partial<WrittenPartSet>).settle?.();
  }

  /**
   * Writes `batch` as a staged part set (`staged/<id>.json`), invisible to readers until
   * {@link Store.commitStaged}: what each shard job of a parallel indexing run does. With `shard`,
   * the set records it and is `staged/shard-<index>-of-<count>.json`, written even when `batch` is
   * empty; a retried task of the same shard replaces its earlier set, whose part files the next
   * commit's clean-up removes (docs/design/batch.md). `encoded` as for {@link Store.commit}.
   */
  async stage(
    batch: StoreBatch,
    opts: { shard?: ShardStamp; encoded?: EncodedPartSet } = {},
  ): Promise<PartSet> {
    try {
      const staged =
        opts.shard && batch.granules.length === 0
          ? emptyStagedSet(opts.shard)
          : {
              ...(await this.#writeStaged(batch, opts.encoded)),
              ...(opts.shard ? { shard: opts.shard } : {}),
            };
      const name = opts.shard ? stagedShardName(opts.shard) : `${staged.part.id}.json`;
      try {
        if (listedGranules(staged.part).length > 0) await this.#backend.upload([staged.part]);
        await this.#backend.writeStaged(name, staged);
      } catch (err) {
        await this.#discard([staged.part]);
        throw err;
      }
      (staged.part as Partial<WrittenPartSet>).settle?.();
      return staged.part;
    } finally {
      await this.#backend.release();
    }
  }

  /**
   * Makes every staged part set visible in one manifest swap (later stages win for a granule).
   * Staged shards must make one whole run (every shard of the count, one input list) unless
   * `allowIncomplete`; the report's `incomplete` says what was missing then.
   * @throws IncompleteShardsError naming the missing shards; nothing is committed.
   */
  async commitStaged(
    opts: { allowIncomplete?: boolean } = {},
  ): Promise<CommitReport & { incomplete?: string }> {
    try {
      const staged = await this.#backend.readStaged();
      // A commit killed after publishing, before removing every staged set it published, leaves some
      // of them: they are published already, and their run was complete when it was committed.
      const done = publishedRuns(staged, (await this.#backend.readManifest()).manifest);
      const problem = shardSetProblem(
        staged.filter((f) => !(f.set.shard && done.has(shardRun(f.set.shard)))).map((f) => f.set),
      );
      if (problem && !opts.allowIncomplete) throw incompleteShardsError(this.#backend.location, problem);
      const report = await this.#apply(
        staged.map((f) => f.set).filter((set) => partGranuleCount(set.part) > 0),
        [],
      );
      // Empty sets first: while a published set is left, a rerun after a kill here knows its run was committed.
      const empty = staged.filter((f) => partGranuleCount(f.set.part) === 0);
      await this.#backend.removeStaged(empty);
      await this.#backend.removeStaged(staged.filter((f) => !empty.includes(f)));
      return problem ? { ...report, incomplete: problem.message } : report;
    } finally {
      await this.#backend.release();
    }
  }

  /**
   * Rewrites the visible rows as few part sets (each partitioned by product and month): consecutive
   * sets merged up to `groupRows` chunk rows a set, one group in memory at a time; retires the old
   * parts, and removes files crashed writers left. With `vacuum`, also removes retired parts now.
   * Query results do not change.
   */
  async compact(opts: CompactOptions = {}): Promise<{ before: number; after: number; removed: number }> {
    let before = 0;
    let expired: RetiredPart[] = [];
    const grace = opts.vacuum ? (opts.olderThanMs ?? 0) : this.#grace();
    try {
      const next = await this.#transact(
        async (disk, written) => {
          before = disk.parts.length;
          let next = disk;
          const groups = compactGroups(disk.parts, opts.groupRows ?? COMPACT_GROUP_ROWS);
          if (groups.some((g) => g.length > 1)) {
            const parts: PartSet[] = [];
            const replaced: PartSet[] = [];
            for (const group of groups) {
              // A set alone in its group stays as it is.
              if (group.length === 1) {
                parts.push(group[0]!);
                continue;
              }
              await this.#backend.fetch(group);
              const rows = mergeBatches(
                await Promise.all(group.map((p) => readPartSet(this.#backend.dir, p, () => true))),
              );
              const part = await writePartSet(this.#backend.dir, rows, {
                tileMinRows: this.#opts.chunkTileMinRows,
              });
              written.push(part);
              parts.push(part);
              replaced.push(...group);
            }
            next = {
              ...disk,
              parts,
              retired: [...(disk.retired ?? []), ...replaced.map((p) => retire(p))],
            };
          }
          const split = expire(next.retired ?? [], grace);
          expired = split.expired;
          if (next === disk && expired.length === 0) return undefined;
          return { ...next, retired: split.kept };
        },
        {
          tidy: async (published) => {
            await this.#removeFiles(expired.flatMap((r) => r.files));
            await this.#removeStale(published);
          },
        },
      );
      this.#manifest = next;
      const removed = expired.flatMap((r) => r.files).length;
      return { before, after: next.parts.length, removed };
    } finally {
      await this.#backend.release();
    }
  }

  /**
   * The whole of one file of the store (path relative to it), read from the store itself: the local
   * folder, or the object on S3.
   * @throws an error whose `code` is `ENOENT` (local) or `NoSuchKey` (S3) when the file is missing.
   */
  readPart(file: string): Promise<Uint8Array> {
    return this.#backend.readFile(file);
  }

  /** How messages name a file of the store (path relative to it): its path, or its `s3://` URL. */
  locate(file: string): string {
    return this.#backend.locate(file);
  }

  /**
   * Rebuilds what {@link verifyStore} finds broken: a part set whose only broken files are
   * `chunk_cells` is rewritten with its cells rebuilt from the chunks' `h3_cells`; any other broken
   * part set is dropped, and its granules leave the manifest, so the next `index` of them indexes
   * them again. Broken parts are retired like any replaced part. Published like any commit: holding
   * the lock (local), or by conditional writes, verified and rebuilt again after a lost race (S3).
   */
  async repair(): Promise<RepairReport> {
    let report: RepairReport = { problems: [], rebuilt: 0, dropped: [] };
    try {
      this.#manifest = await this.#transact(async (disk, written) => {
        const { verifyStore } = await import("./verify.js");
        const found = await verifyStore(this, disk);
        const { next, rebuilt, dropped } = await this.#rebuild(disk, found, written);
        report = { problems: found.problems, rebuilt, dropped: dropped.sort() };
        return next;
      });
      return report;
    } finally {
      await this.#backend.release();
    }
  }

  /**
   * The manifest {@link Store.repair} publishes for `disk` and the problems found in it (undefined
   * when nothing is broken), with the part sets it rewrites pushed onto `written`.
   */
  async #rebuild(disk: Manifest, found: VerifyReport, written: WrittenPartSet[]) {
    const problems = found.problems;
    const brokenParts = new Map<string, Set<StoreTable>>();
    for (const p of problems) {
      if (p.part === undefined) continue;
      const tables = brokenParts.get(p.part) ?? new Set<StoreTable>();
      tables.add(p.table!);
      brokenParts.set(p.part, tables);
    }
    const next: Manifest = structuredClone(disk);
    const dropped: string[] = [];
    let rebuilt = 0;
    const retiring: PartSet[] = [];
    for (const [id, tables] of brokenParts) {
      const i = next.parts.findIndex((p) => p.id === id);
      const part = next.parts[i]!;
      retiring.push(part);
      if (tables.size === 1 && tables.has("chunk_cells")) {
        // readPartSet makes the cells from the chunks: the broken cells files are not read.
        await this.#backend.fetch([part]);
        const rows = await readPartSet(this.#backend.dir, part, () => true);
        const fresh = await writePartSet(this.#backend.dir, rows, {
          tileMinRows: this.#opts.chunkTileMinRows,
        });
        written.push(fresh);
        next.parts[i] = fresh;
        rebuilt++;
      } else {
        next.parts.splice(i, 1);
        // Ids the manifest or this handle knew, else those verify found in the set's readable files.
        dropped.push(...(this.knownGranuleIds(part) ?? found.granuleIds.get(part.id) ?? []));
      }
    }
    for (const p of problems) {
      // A manifest granule without a row in an intact part: drop it too, to be indexed again.
      const m = /^granule (\S+) has no row/.exec(p.problem);
      const holder = m ? next.parts.find((part) => this.knownGranuleIds(part)?.includes(m[1]!)) : undefined;
      if (m && holder) {
        // Listed again without it; publishing records the shorter list's count and range.
        holder.granules = this.knownGranuleIds(holder)!.filter((g) => g !== m[1]);
        dropped.push(m[1]!);
      }
    }
    if (brokenParts.size === 0 && dropped.length === 0) return { next: undefined, rebuilt, dropped };
    next.retired = [...(next.retired ?? []), ...retiring.map((p) => retire(p))];
    return { next, rebuilt, dropped };
  }

  #grace(): number {
    return this.#opts.retiredGraceMs ?? DEFAULT_RETIRED_GRACE_MS;
  }

  /**
   * Computes a new manifest from the published one with `build` (which pushes the part sets it
   * writes onto `written`; undefined: nothing to publish) and publishes it, with the parts of
   * `extra` made visible too. Holding the lock (local) this happens once; on S3 a lost race discards
   * what `build` wrote and computes again on the winner's manifest, after a jittered backoff.
   * `tidy` runs after publishing, still holding the lock (where there is one).
   * @returns the manifest now published.
   */
  async #transact(
    build: (current: Manifest, written: WrittenPartSet[]) => Promise<Manifest | undefined>,
    opts: { extra?: readonly PartSet[]; tidy?: (published: Manifest) => Promise<void> } = {},
  ): Promise<Manifest> {
    const extra = opts.extra ?? [];
    return this.#lock(async () => {
      for (let attempt = 1; ; attempt++) {
        const base = await this.#backend.readManifest();
        // Built on this version's form: a version 3 manifest's fingerprints are dropped (the
        // granules table holds them), its part sets name their products, and a version 3 or 4
        // manifest's granule lists are kept here, not in the manifest (version 5).
        rememberGranuleIds(this.#ids, base.manifest?.parts ?? []);
        const current = currentManifest(base.manifest ?? emptyManifest(this.#manifest.h3_resolution));
        const written: WrittenPartSet[] = [];
        let published = false;
        try {
          let next = await build(current, written);
          // A store written before (version 3) is published in this version's form by any commit
          // or compact, even one that changes nothing else.
          if (!next && base.manifest && base.manifest.version !== STORE_VERSION) next = current;
          if (!next) {
            published = true;
            await opts.tidy?.(current);
            return current;
          }
          published = await this.#swap(next, [...written, ...(extra as WrittenPartSet[])], base);
          if (published) {
            await opts.tidy?.(next);
            return next;
          }
        } finally {
          if (!published) await this.#discard(written);
        }
        if (attempt >= MAX_COMMIT_ATTEMPTS) {
          throw new StoreBusyError(
            this.dir,
            `${this.dir}: other writers published first ${attempt} times in a row; try again, or index in shards and commit once`,
          );
        }
        await sleep(backoffDelay(attempt - 1));
      }
    });
  }

  /**
   * Publishes `next` as the manifest (one more generation) if `base` is still the published one,
   * settling the part sets it now lists. False when another writer published first (S3 only).
   */
  async #swap(next: Manifest, written: readonly WrittenPartSet[], base: ManifestRead): Promise<boolean> {
    next.updated = new Date().toISOString();
    next.generation = (next.generation ?? 0) + 1;
    // Sets that list their granules (written now, staged, or relisted by a repair) are published
    // with their count and id range only; their lists stay known to this handle.
    rememberGranuleIds(this.#ids, next.parts);
    next.parts = next.parts.map(publishedPart);
    // From here on the parts belong to the store: an interrupt must not remove them.
    for (const w of written) (w as Partial<WrittenPartSet>).settle?.();
    return this.#backend.publish(next, base, written);
  }

  async #removeFiles(files: readonly string[]): Promise<number> {
    await this.#backend.remove(files);
    return files.length;
  }

  async #writeStaged(batch: StoreBatch, encoded?: EncodedPartSet): Promise<StagedPartSet> {
    const part = await writePartSet(this.#backend.dir, batch, {
      tileMinRows: this.#opts.chunkTileMinRows,
      encoded: encodedFor(batch, encoded, this.#opts.chunkTileMinRows),
    });
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
    let expired: RetiredPart[] = [];
    let applied = staged;
    const next = await this.#transact(
      async (base, written) => {
        // A set some commit published already (a rerun after a kill, or a concurrent commit of the
        // same staged sets) is not applied again: its parts may have been compacted and retired since.
        const seen = new Set([...base.parts.map((p) => p.id), ...(base.retired ?? []).map((r) => r.id)]);
        const fresh = staged.filter((s) => !seen.has(s.part.id));
        applied = fresh;
        if (fresh.length === 0 && replace.length === 0) return undefined;
        const obsolete: PartSet[] = [];
        let current = base;
        for (const [i, s] of fresh.entries()) {
          const dropped = new Set([...listedGranules(s.part), ...(i === 0 ? replace : [])]);
          current = await this.#rebase(current, dropped, obsolete, written);
          current.parts.push(s.part);
        }
        if (fresh.length === 0) current = await this.#rebase(current, new Set(replace), obsolete, written);
        const live = new Set(current.parts.map((p) => p.id));
        const retiring = obsolete.filter((p) => !live.has(p.id)).map((p) => retire(p));
        const split = expire([...(current.retired ?? []), ...retiring], this.#grace());
        expired = split.expired;
        current.retired = split.kept;
        return current;
      },
      {
        extra: staged.map((s) => s.part),
        // A local writer tidies after crashed writers on every commit (a folder listing); on S3
        // that is a LIST of the whole store, left to `compact`.
        tidy: async (published) => {
          if (!this.#backend.optimistic) await this.#removeStale(published).catch(() => undefined);
        },
      },
    );
    this.#manifest = next;
    await this.#removeFiles(expired.flatMap((r) => r.files));
    return { granules: applied.flatMap((s) => listedGranules(s.part)), parts: applied.length };
  }

  /**
   * A copy of `m` without the rows of `dropped`: parts holding them are rewritten without them. Only
   * the part sets whose granule id range can hold one of them have their ids read (granule-ids.ts).
   */
  async #rebase(
    m: Manifest,
    dropped: Set<string>,
    obsolete: PartSet[],
    written: WrittenPartSet[],
  ): Promise<Manifest> {
    const parts: PartSet[] = [];
    const sorted = sortedIds(dropped);
    for (const part of m.parts) {
      if (
        !mayHoldAny(part, sorted) ||
        !(await partGranuleIds(this.#backend, part, this.#ids)).some((g) => dropped.has(g))
      ) {
        parts.push(part);
        continue;
      }
      obsolete.push(part);
      await this.#backend.fetch([part]);
      const rest = await readPartSet(this.#backend.dir, part, (id) => !dropped.has(id));
      if (rest.granules.length === 0) continue;
      const rewritten = await writePartSet(this.#backend.dir, rest, {
        tileMinRows: this.#opts.chunkTileMinRows,
      });
      written.push(rewritten);
      parts.push(rewritten);
    }
    return { ...m, parts };
  }

  /**
   * Removes what crashed or interrupted writers left (run holding the lock, when there is one): part
   * files no manifest entry, retired entry or staged set refers to, unless their writer may still
   * be writing them, and temporaries of dead processes.
   */
  async #removeStale(m: Manifest): Promise<void> {
    const keep = new Set(m.parts.flatMap((p) => STORE_TABLES.flatMap((t) => p.files[t])));
    for (const r of m.retired ?? []) for (const f of r.files) keep.add(f);
    for (const { set } of await this.#backend.readStaged()) {
      for (const t of STORE_TABLES) for (const f of set.part.files[t]) keep.add(f);
    }
    await this.#backend.removeStale(keep, this.#grace());
  }
}

/** The first line of an error's message. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}

/** The error for a part file whose row count differs from the manifest's. */
export function rowCountError(dir: string, path: string, rows: number, want: number): StoreError {
  return new StoreError(
    dir,
    `${path}: part file holds ${rows} rows but the manifest records ${want}: it was replaced by another file; ` +
      `run geochunks verify --store ${dir}`,
  );
}

/** The runs (count and input list) of staged shard sets that `published` lists or has retired. */
function publishedRuns(staged: readonly NamedStagedSet[], published: Manifest | undefined): Set<string> {
  const seen = new Set([
    ...(published?.parts ?? []).map((p) => p.id),
    ...(published?.retired ?? []).map((r) => r.id),
  ]);
  return new Set(
    staged.flatMap(({ set }) => (set.shard && seen.has(set.part.id) ? [shardRun(set.shard)] : [])),
  );
}

/** What identifies a run of shards: their count and the digest of their input list. */
function shardRun(shard: ShardStamp): string {
  return `${shard.count}/${shard.inputs_sha256}`;
}

/**
 * `encoded`'s files when they were split by the store's tile floor and hold the batch's rows (as many
 * of each table), else undefined: the writer then encodes the batch itself.
 */
function encodedFor(
  batch: StoreBatch,
  encoded: EncodedPartSet | undefined,
  tileMinRows: number | undefined,
): EncodedPartSet["files"] | undefined {
  if (!encoded || encoded.tileMinRows !== tileMinRows) return undefined;
  const rows = (t: StoreTable) => encoded.files.reduce((n, f) => n + (f.table === t ? f.rows : 0), 0);
  const whole =
    rows("granules") === batch.granules.length &&
    rows("arrays") === batch.arrays.length &&
    rows("chunks") === batch.chunks.length &&
    rows("chunk_cells") === batch.chunkCells.length;
  return whole ? encoded.files : undefined;
}

/** A part set as retired now. */
function retire(p: PartSet): RetiredPart {
  return { id: p.id, files: STORE_TABLES.flatMap((t) => p.files[t]), retired: new Date().toISOString() };
}

/** Splits retired parts into those still within `graceMs` and those past it. */
function expire(retired: readonly RetiredPart[], graceMs: number) {
  const now = Date.now();
  const expired = retired.filter((r) => now - Date.parse(r.retired) >= graceMs);
  return { kept: retired.filter((r) => !expired.includes(r)), expired };
}
