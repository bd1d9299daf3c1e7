/** One input of an indexing run, step by step: fingerprint, re-read check, identity, rows. */
import type { Fingerprint, OpenedSource, SourceOptions } from "../source/index.js";
import {
  fingerprintOf,
  openSource,
  type RecordedReads,
  withBlockCache,
  withReadRecording,
  withReadStats,
} from "../source/index.js";
import type { ByteSource } from "../source/types.js";
import type { StoreBatch } from "../store/store.js";
import { recordChunkChecksums } from "./checksums.js";
import { type DmrppMode, sidecarOptions } from "./dmrpp.js";
import { type GranuleIdentity, indexOpenedGranule, type OpenedGranule, openGranule } from "./granule.js";
import { type LinkModel, metadataReads } from "./read-cost.js";
import { chunkChange, type RecordedChunk } from "./verify.js";

/**
 * The steps of indexing one input, in the order the run takes them; the run decides between them
 * (unchanged, duplicate). Run here ({@link openGranuleJob}) or in a worker thread (pool.ts), with the
 * same results and errors.
 */
export interface GranuleJob {
  /** URL of the opened source (`file:` for paths). */
  readonly url: string;
  /** Size and ETag/mtime of the input. */
  fingerprint(): Promise<Fingerprint>;
  /** Why the input's recorded chunks changed (see `chunkChange`), or undefined when they did not. */
  chunkChange(chunks: readonly RecordedChunk[]): Promise<string | undefined>;
  /** Opens the granule and reads what identifies it. */
  identify(): Promise<GranuleIdentity>;
  /** The store rows of the identified granule, with the checksums of the chunks read whole. */
  index(opts: { h3Resolution: number; fingerprint: Fingerprint }): Promise<StoreBatch>;
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
  const sidecar = sidecarOptions(opts, sidecarStats);
  const read = { signal: opts.signal };
  let granule: OpenedGranule | undefined;
  let recorded: RecordedReads | undefined;
  return {
    url: source.url.href,
    fingerprint: () => fingerprintOf(opened, read),
    chunkChange: (chunks) => chunkChange(source, chunks, read),
    async identify() {
      const reads = metadataReads(source.url, await source.size(read), opts.link);
      // A remote granule's coordinate chunks are read through its metadata cache (in lines, they are
      // already there; in blocks, the holes the cost model reads through often hold them), unless its
      // sidecar is used, which needs no metadata read: then only the chunks are read. Only data reads
      // are recorded, for the chunk checksums; metadata goes through the HDF5 reader's own cache over
      // the unrecorded source, so its blocks are not taken for data reads.
      const cached = reads ? withBlockCache(source, reads.cache) : undefined;
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
        reads,
        onMetadata: (from) => {
          if (from === "sidecar") data = source;
        },
      });
      return granule.identity;
    },
    async index(o) {
      if (!granule || !recorded) throw new Error("a granule is indexed after it is identified");
      const batch = await indexOpenedGranule(granule, { ...o, signal: opts.signal });
      recordChunkChecksums(batch, recorded);
      return batch;
    },
    stats: async () => ({
      requests: stats.requests + sidecarStats.requests,
      bytes: stats.bytes + sidecarStats.bytes,
    }),
    close: () => opened.close(),
  };
}
