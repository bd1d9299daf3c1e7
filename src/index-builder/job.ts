/** One input of an indexing run, step by step: fingerprint, re-read check, identity, rows. */
import { signatureWithin } from "../hdf5/superblock.js";
import type { BlockCacheSource, Fingerprint, OpenedSource, SourceOptions } from "../source/index.js";
import {
  fingerprintOf,
  openSource,
  type RecordedReads,
  withBlockCache,
  withReadRecording,
  withReadStats,
} from "../source/index.js";
import type { Limiter } from "../source/limit.js";
import type { ByteSource } from "../source/types.js";
import type { StoreBatch } from "../store/store.js";
import { recordChunkChecksums } from "./checksums.js";
import { type DmrppMode, type SidecarOptions, sidecarOptions, sidecarUrl } from "./dmrpp.js";
import { type GranuleIdentity, indexOpenedGranule, type OpenedGranule, openGranule } from "./granule.js";
import { type LinkModel, type MetadataReads, metadataReads, REMOTE_METADATA_BLOCK } from "./read-cost.js";
import { chunkChange, type RecordedChunk } from "./verify.js";

/**
 * The steps of indexing one input, in the order the run takes them; the run decides between them
 * (unchanged, duplicate). Run here ({@link openGranuleJob}) or in a worker thread (pool.ts), with the
 * same results and errors.
 */
export interface GranuleJob {
  /** URL of the opened source (`file:` for paths). */
  readonly url: string;
  /**
   * Size and ETag/mtime of the input. `identifyNext`: the run will identify the granule whatever the
   * fingerprint (its URL is not in the store), so the reads that step needs first (its DMR++ sidecar)
   * start now, beside this one, not a round after it.
   */
  fingerprint(opts?: { identifyNext?: boolean }): Promise<Fingerprint>;
  /** Why the input's recorded chunks changed (see `chunkChange`), or undefined when they did not. */
  chunkChange(chunks: readonly RecordedChunk[]): Promise<string | undefined>;
  /** Opens the granule and reads what identifies it. */
  identify(): Promise<GranuleIdentity>;
  /** The store rows of the identified granule, with the checksums of the chunks read whole. */
  index(opts: { h3Resolution: number; fingerprint: Fingerprint }): Promise<StoreBatch>;
  /**
   * Resolves once the granule's reads are done: for a remote granule read in lines, once every line is
   * in memory (fetched ahead from when its metadata is known to come from the HDF5 file); for one read
   * through its sidecar, once its coordinate chunks are (read ahead while it is identified); otherwise
   * once it is indexed or closed. Never rejects. The run opens the next granule then, while this one is
   * still being indexed.
   */
  readsDone(): Promise<void>;
  /** Requests and bytes read so far. */
  stats(): Promise<{ requests: number; bytes: number }>;
  /** Releases the source (and the worker's copy of the job). */
  close(): Promise<void>;
}

/** Options of {@link openGranuleJob}. */
export interface GranuleJobOptions {
  /** Only this product; see `IndexOptions.product`. */
  product?: string;
  source?: SourceOptions;
  signal?: AbortSignal;
  /** When the granule's metadata comes from its DMR++ sidecar; see `IndexOptions.dmrpp`. */
  dmrpp?: DmrppMode;
  /** The link remote granules are read over, for the cost model of their metadata reads; default `DEFAULT_LINK`. */
  link?: LinkModel;
  /** Told when the granule is indexed in a way other than asked (a stale sidecar passed over). */
  onWarning?: (message: string) => void;
  /**
   * The limiter the lines fetched ahead of every granule of the run wait for (see {@link LINE_GATE}):
   * the granule opened first gets its lines first. Default: none, each granule fetches its own.
   */
  lineGate?: Limiter;
}

/**
 * A job run in this thread: opens the input's source (no request yet) and reads it as each step asks.
 * @throws SourceError (and the errors of `openSource`) when the input cannot be opened.
 */
export async function openGranuleJob(input: string, opts: GranuleJobOptions): Promise<GranuleJob> {
  const opened: OpenedSource = await openSource(input, opts.source);
  const { source, stats } = withReadStats(opened);
  // The sidecar's requests count as the granule's.
  const sidecarStats = { requests: 0, bytes: 0 };
  const read = { signal: opts.signal };
  const sidecar = withEarlyRead(sidecarOptions(opts, sidecarStats), sidecarUrl(source.url), read);
  let granule: OpenedGranule | undefined;
  let recorded: RecordedReads | undefined;
  // The size of the lines the granule's data is read through, when it is (see IndexGranuleOptions.lineBytes).
  let lineBytes: number | undefined;
  // Set once the granule's rows are made: its lines may then go to the line pool when it is closed.
  let indexed = false;
  let readsDone!: () => void;
  const reads = new Promise<void>((resolve) => {
    readsDone = resolve;
  });
  // Stops fetching lines ahead once the job is closed (a granule found bad, or done).
  const closing = new AbortController();
  const ahead = { signal: opts.signal ? AbortSignal.any([opts.signal, closing.signal]) : closing.signal };
  // How the metadata is read (from the file's size) and the cache that reads it, made once.
  let plan: Promise<ReadPlan> | undefined;
  // The granule's first bytes, when they were read in place of a HEAD (see `fingerprint`).
  let first: Uint8Array | undefined;
  const planned = (): Promise<ReadPlan> => {
    plan ??= source.size(read).then((size) => {
      const how = metadataReads(source.url, size, opts.link);
      // A remote granule's coordinate chunks are read through its metadata cache (in lines, they are
      // already there; in blocks, the holes the cost model reads through often hold them), unless its
      // sidecar is used, which needs no metadata read: then only the chunks are read.
      const cached = how ? withBlockCache(source, how.cache) : undefined;
      // In blocks, the first bytes are the first block: the HDF5 reader's first round is not sent.
      if (first) cached?.hold(0, first);
      return { size, reads: how, cached };
    });
    return plan;
  };
  // Lines read the whole file anyway (the cost model chose them for that): fetched ahead, so the
  // file's bytes arrive at the link's pace, not a dependent round at a time. First the first and last
  // lines, once the granule is known to have no sidecar; the others once the HDF5 reader has opened
  // the file: something that is not HDF5 (an error page, a truncated download) costs those two and
  // the lines the reader's search for a signature reads, not the whole file.
  let fetching: "ends" | "all" | undefined;
  const fetchAhead = ({ size, reads: how, cached }: ReadPlan, which: "ends" | "all") => {
    if (fetching === "all" || fetching === which || !cached || how?.kind !== "lines") return;
    fetching = which;
    const order = lineOrder(Math.ceil(size / (how.cache.blockSize ?? size)));
    if (which === "ends") void cached.prefetch(order.slice(0, 2), 2, ahead);
    else void cached.prefetch(order, LINES_AHEAD, { ...ahead, gate: opts.lineGate }).then(readsDone);
  };
  return {
    url: source.url.href,
    async fingerprint(o) {
      // A granule the run will identify whatever its fingerprint has its first bytes read in place of
      // the HEAD that fingerprinted it (the answer's size, ETag and Last-Modified are the same): the
      // same round, and then the HDF5 signature is known before the rest of the file is fetched.
      if (o?.identifyNext) {
        sidecar.start();
        first = await opened.readPrefix?.(PREFIX_BYTES, read);
      }
      const fingerprint = await fingerprintOf(opened, read);
      // Without a sidecar (known when its request comes back), the lines are fetched from then on: all
      // of them at once when the first bytes showed HDF5's signature, else the first and last, and the
      // others once the HDF5 reader has opened the file.
      if (o?.identifyNext) {
        const which = first && signatureWithin(first) ? "all" : "ends";
        void Promise.all([planned(), sidecar.absent()]).then(
          ([p, absent]) => absent && fetchAhead(p, which),
          () => undefined,
        );
      }
      return fingerprint;
    },
    chunkChange: (chunks) => chunkChange(source, chunks, read),
    async identify() {
      const p = await planned();
      const { reads: how, cached } = p;
      // Only data reads are recorded, for the chunk checksums; metadata goes through the HDF5 reader's
      // own cache over the unrecorded source, so its blocks are not taken for data reads.
      let data: ByteSource = cached ?? source;
      const switched: ByteSource = {
        url: source.url,
        size: (o) => source.size(o),
        read: (offset, length, o) => data.read(offset, length, o),
      };
      const recording = withReadRecording(switched);
      recorded = recording.recorded;
      granule = await openGranule(recording.source, {
        ...read,
        product: opts.product,
        sidecar,
        metadataSource: cached ?? source,
        spotCheckSource: source,
        reads: how,
        // The sidecar's reader reads chunks straight from the file; the HDF5 reader's (also after a
        // sidecar its spot check passed over) go through the metadata cache.
        onMetadata: (from) => {
          data = from === "sidecar" ? source : (cached ?? source);
          lineBytes = data === cached && how?.kind === "lines" ? how.cache.blockSize : undefined;
          if (from === "hdf5") fetchAhead(p, "all");
        },
      });
      // A granule read through its sidecar has its reads done once its coordinates are in.
      void granule.readsAhead?.then(readsDone);
      return granule.identity;
    },
    async index(o) {
      if (!granule || !recorded) throw new Error("a granule is indexed after it is identified");
      try {
        const batch = await indexOpenedGranule(granule, {
          ...o,
          signal: opts.signal,
          lineBytes,
          // The coordinate chunks' checksums come from the inflate worker, which copies them anyway.
          onStoredChecksum: recorded.remember,
        });
        recordChunkChecksums(batch, recorded);
        indexed = true;
        return batch;
      } finally {
        readsDone();
      }
    },
    readsDone: () => reads,
    stats: async () => ({
      requests: stats.requests + sidecarStats.requests,
      bytes: stats.bytes + sidecarStats.bytes,
    }),
    close: () => {
      closing.abort();
      readsDone();
      // The lines of a granule indexed whole go to the next granules' responses: nothing of this job
      // reads them any more, and its rows hold none of their bytes (a granule closed early, skipped or
      // failed, may still have reads of them under way, so its lines are left to the collector).
      if (indexed)
        void plan?.then(
          (p) => p.cached?.release(),
          () => undefined,
        );
      return opened.close();
    },
  };
}

/**
 * Bytes read first from a new remote granule, in one request that costs the link what the HEAD did:
 * every place its superblock may start up to 8 KiB (hdf5/superblock.ts `signatureOffsets`), and the
 * first of the blocks its metadata is read in when the cost model chooses blocks.
 */
export const PREFIX_BYTES = REMOTE_METADATA_BLOCK;

/**
 * Sidecar options whose read of `url` can be started before the granule is opened ({@link start}),
 * and is then not read again. Any other read goes through as asked.
 */
function withEarlyRead(
  options: SidecarOptions,
  url: string,
  read: { signal?: AbortSignal },
): SidecarOptions & { start(): void; absent(): Promise<boolean> } {
  let early: Promise<Uint8Array | undefined> | undefined;
  const start = () => {
    if (early || options.mode === "off") return;
    early = options.read(url, read);
    early.catch(() => undefined);
  };
  return {
    ...options,
    start,
    /** True once the early read found no sidecar (or none is looked for); false if it found one or failed. */
    absent: async () =>
      options.mode === "off" ||
      (options.mode === "auto" && early !== undefined && (await early.catch(() => null)) === undefined),
    read: (asked, o) => (asked === url && early ? early : options.read(asked, o)),
  };
}

/** How a granule's metadata is read: its size, the cost model's choice and the cache that reads it. */
interface ReadPlan {
  size: number;
  reads: MetadataReads | undefined;
  cached: BlockCacheSource | undefined;
}

/**
 * Lines of a granule fetched ahead at once: as many as the HTTP source sends at once (16), so a
 * granule's lines (16 or 17) go out in one wave and its reads take about one round trip plus the
 * transfer; the metadata walk's reads of lines not yet fetched share the same lines' requests. With 8,
 * the second wave went out only once the event loop, busy indexing the granules before, took the first
 * wave's answers: 230 ms later on small synthetic granules (about 3 MB) at 40 ms.
 */
export const LINES_AHEAD = 16;

/**
 * Lines fetched ahead at once by all the granules of a run (a thread's), first come, first served
 * (`GranuleJobOptions.lineGate`). Without it, the 4 granules read at once each fetched their 15 other
 * lines together and shared the link: on 6 full-size granules over loopback at 20 ms, every line of
 * the first 4 arrived between 0.4 and 0.6 s, and the metadata walks, which need a few of them in turn,
 * waited (the main thread idle 0.1-0.5 s). Served in order, the first granule's lines are in after a
 * quarter of that, and it is indexed while the others arrive.
 */
export const LINE_GATE = 16;

/**
 * The order lines are fetched ahead: the first (superblock, root group) and the last (where the
 * library leaves metadata written last), then front to back.
 */
export function lineOrder(lines: number): number[] {
  const order = [0];
  if (lines > 1) order.push(lines - 1);
  for (let k = 1; k < lines - 1; k++) order.push(k);
  return order;
}
