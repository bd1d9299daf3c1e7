/** Opening a granule through its DMR++ sidecar (`GRANULE.h5.dmrpp`), when there is a valid one. */
import { InvalidHdf5Error, isGeochunksError } from "../errors.js";
import { DmrppFile, parseDmrpp, verifyDmrpp } from "../hdf5/dmrpp/index.js";
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import { Hdf5File, type Hdf5OpenOptions } from "../hdf5/index.js";
import { type OpenedSource, openSource, type SourceOptions, withReadStats } from "../source/index.js";
import type { ReadStats } from "../source/stats.js";
import type { ByteSource } from "../source/types.js";

/**
 * When the index reads a granule's metadata from its DMR++ sidecar: `auto` when one exists beside
 * it and describes it (a missing one is passed over silently, an invalid or stale one with a
 * warning), `require` always (a granule without a valid sidecar is bad input), `off` never.
 */
export type DmrppMode = "auto" | "off" | "require";

/** How {@link openGranuleFile} finds and reads sidecars. */
export interface SidecarOptions {
  mode: DmrppMode;
  /** Reads a sidecar whole; undefined when it does not exist. */
  read(url: string, opts: { signal?: AbortSignal }): Promise<Uint8Array | undefined>;
  /** Told once per sidecar that is present but unusable in `auto` mode (the granule is then read without it). */
  onWarning?: (message: string) => void;
}

/** URL of a granule's sidecar: the granule's URL with `.dmrpp` appended, as NSIDC publishes them. */
export function sidecarUrl(granule: URL): string {
  return `${granule.href}.dmrpp`;
}

/** What {@link openGranuleFile} opens: a reader to start with and the one to keep. */
export interface OpenedGranuleFile {
  /** The sidecar's reader while its spot check runs (when there is a sidecar to check), else `checked`'s reader. */
  file: Hdf5Reader;
  /**
   * The reader to keep: `file` once the sidecar is found to describe this file, else the HDF5
   * reader (the sidecar missing, or passed over with a warning in `auto` mode).
   * @throws InvalidHdf5Error naming the sidecar in `require` mode when it is missing, invalid or stale;
   *   as {@link Hdf5File.open} when the granule is not readable HDF5.
   */
  checked: Promise<Hdf5Reader>;
}

/**
 * Opens a granule's metadata: from its sidecar when `sidecar` says so and the sidecar describes
 * this file (its chunks inside the file, and the chunk refs of two datasets equal to the file's own
 * chunk index), else with the HDF5 reader. The sidecar's reader is handed out as soon as the sidecar
 * is parsed, while its spot check reads the file's metadata (a few dependent rounds in blocks): the
 * caller reads through it meanwhile and keeps only what `checked` confirms.
 * @throws InvalidHdf5Error naming the sidecar in `require` mode when it is missing or does not parse;
 *   as {@link Hdf5File.open} when there is no sidecar and the granule is not readable HDF5.
 */
export async function openGranuleFile(
  source: ByteSource,
  opts: {
    sidecar?: SidecarOptions;
    signal?: AbortSignal;
    hdf5?: Hdf5OpenOptions;
    /**
     * How the HDF5 reader of the sidecar's spot check reads metadata, when not as `hdf5` (a granule
     * read in whole-file lines is spot-checked in small blocks). Then nothing is read from the granule
     * before the sidecar is (one round more without a sidecar), and the granule is opened with `hdf5`
     * only when the sidecar is not used. Default: `hdf5`, one reader for both, opened at once.
     */
    spotCheck?: Hdf5OpenOptions;
  },
): Promise<OpenedGranuleFile> {
  const sidecar = opts.sidecar;
  const hdf5 = () => Hdf5File.open(source, { ...opts.hdf5, signal: opts.signal });
  if (!sidecar || sidecar.mode === "off") return settled(await hdf5());
  const url = sidecarUrl(source.url);
  const name = displayName(url);
  // The HDF5 reader opens while the sidecar is read: the spot check needs it, and so does a fallback.
  // A spot-check reader of its own is opened only once there is a sidecar to check, and the granule's
  // reader only once there is none: its first line would read bytes a valid sidecar makes useless.
  const spotCheck = opts.spotCheck;
  const opened = spotCheck ? undefined : hdf5();
  opened?.catch(() => undefined);
  const withoutSidecar = async (problem: string): Promise<Hdf5Reader> => {
    if (sidecar.mode === "require") throw new InvalidHdf5Error(`${name}: ${problem}`);
    sidecar.onWarning?.(`${name}: ${problem}; indexed without it`);
    return opened ?? hdf5();
  };
  let doc: ReturnType<typeof parseDmrpp>;
  try {
    const bytes = await sidecar.read(url, opts);
    if (bytes === undefined) {
      if (sidecar.mode === "require")
        throw new InvalidHdf5Error(`${name}: no DMR++ sidecar (--dmrpp require)`);
      return settled(await (opened ?? hdf5()));
    }
    doc = parseDmrpp(new TextDecoder().decode(bytes), name);
  } catch (err) {
    if (!isSidecarProblem(err, name)) throw err;
    return settled(await withoutSidecar(problemOf(err, name)));
  }
  // A granule that is not readable HDF5 fails as such, whatever its sidecar says.
  const spotChecked = opened ?? Hdf5File.open(source, { ...spotCheck, signal: opts.signal });
  spotChecked.catch(() => undefined);
  const file = DmrppFile.open(source, doc, { fallback: () => spotChecked });
  const checked = (async (): Promise<Hdf5Reader> => {
    const reader = await spotChecked;
    let why: string | undefined;
    try {
      why = await verifyDmrpp(doc, { fileSize: await source.size(opts), hdf5: reader, signal: opts.signal });
    } catch (err) {
      if (!isSidecarProblem(err, name)) throw err;
      return withoutSidecar(problemOf(err, name));
    }
    return why === undefined ? file : withoutSidecar(`stale DMR++ sidecar: ${why}`);
  })();
  checked.catch(() => undefined);
  return { file, checked };
}

/** A reader that is the one to keep from the start (no sidecar check pending). */
function settled(file: Hdf5Reader): OpenedGranuleFile {
  return { file, checked: Promise.resolve(file) };
}

/** A sidecar failure's message without the sidecar's name in front. */
function problemOf(err: unknown, name: string): string {
  const message = (err as Error).message;
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

/**
 * True for failures of the sidecar itself: a document that does not parse (an InvalidHdf5Error
 * naming it) or a sidecar that cannot be read (a SourceError for its URL, after the source's own
 * retries). Failures of the granule propagate as they would without a sidecar.
 */
function isSidecarProblem(err: unknown, name: string): boolean {
  if (isGeochunksError(err, "InvalidHdf5Error")) return (err as Error).message.startsWith(`${name}: `);
  if (isGeochunksError(err, "SourceError")) return (err as Error & { url: string }).url.endsWith(".dmrpp");
  return false;
}

/**
 * Statuses that mean "no sidecar": not found, gone, and forbidden (object stores answer 403 for a
 * missing key to a reader without list permission).
 */
const MISSING_STATUSES = new Set([403, 404, 410]);

/**
 * A {@link SidecarOptions.read} over {@link openSource}: the sidecar's size and bytes, their requests
 * counted in `stats` (the granule's read statistics); a 403, 404 or 410 or a missing file means
 * "no sidecar".
 */
export function sourceSidecarReader(
  source: SourceOptions | undefined,
  stats: ReadStats,
): SidecarOptions["read"] {
  return async (url, opts) => {
    let opened: OpenedSource | undefined;
    try {
      opened = await openSource(url, source);
      const counted = withReadStats(opened);
      try {
        // One request where the source can (HTTP, S3: an open-ended range), not a size probe and a read.
        if (opened.readAll) return await opened.readAll(opts);
        return await counted.source.read(0, await counted.source.size(opts), opts);
      } finally {
        stats.requests += counted.stats.requests;
        stats.bytes += counted.stats.bytes;
      }
    } catch (err) {
      if (
        isGeochunksError(err, "SourceError") &&
        MISSING_STATUSES.has((err as Error & { status: number }).status)
      ) {
        return undefined;
      }
      throw err;
    } finally {
      await opened?.close();
    }
  };
}

/**
 * The sidecar options of an index run: its DMR++ mode (default `auto`), sidecars read with its
 * source options and counted in the granule's `stats`, warnings to its `onWarning`.
 */
export function sidecarOptions(
  run: { dmrpp?: DmrppMode; source?: SourceOptions; onWarning?: (message: string) => void },
  stats: ReadStats,
): SidecarOptions {
  return {
    mode: run.dmrpp ?? "auto",
    read: sourceSidecarReader(run.source, stats),
    onWarning: run.onWarning,
  };
}

/** How messages name a sidecar: a path for local files, else the URL. */
function displayName(url: string): string {
  return url.startsWith("file:") ? decodeURIComponent(new URL(url).pathname) : url;
}
