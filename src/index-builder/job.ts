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
import type { StoreBatch } from "../store/store.js";
import { recordChunkChecksums } from "./checksums.js";
import { type DmrppMode, sidecarOptions } from "./dmrpp.js";
import {
  type GranuleIdentity,
  indexOpenedGranule,
  metadataLines,
  type OpenedGranule,
  openGranule,
} from "./granule.js";
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
      // A remote granule is read in metadata lines (see metadataLines): its data reads (the coordinate
      // chunks) are served from the same lines, and only they are recorded for the chunk checksums.
      const lines = metadataLines(source.url, await source.size(read));
      const through = lines ? withBlockCache(source, lines) : source;
      const recording = withReadRecording(through);
      recorded = recording.recorded;
      granule = await openGranule(recording.source, {
        ...read,
        product: opts.product,
        sidecar,
        metadataSource: through,
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
