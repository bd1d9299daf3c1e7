/** Messages between an indexing run and its worker threads (pool.ts, worker.ts). */
import type { SourceWarning } from "../source/http.js";
import type { SourceOptions } from "../source/index.js";
import type { DmrppMode } from "./dmrpp.js";
import type { LinkModel } from "./read-cost.js";

/** A step of a granule job, as {@link GranuleJob} names them; `ready` answers once the thread has loaded. */
export type JobStep =
  | "ready"
  | "open"
  | "fingerprint"
  | "chunkChange"
  | "identify"
  | "index"
  | "readsDone"
  | "stats"
  | "close";

/** One call to a worker thread. */
export interface JobRequest {
  /** Call id, echoed in the reply. */
  id: number;
  step: JobStep;
  /** The job the step belongs to (a number the run chose when it opened it). */
  job: number;
  /** The input to open (`open` only). */
  input?: string;
  /** The step's argument: recorded chunks (`chunkChange`), resolution and fingerprint (`index`). */
  arg?: unknown;
}

/** A worker thread's answer to one {@link JobRequest}, or a warning of one of its sources (id -1). */
export interface JobReply {
  id: number;
  value?: unknown;
  error?: SentError;
  warning?: SourceWarning;
  /** A warning about a granule (a stale sidecar passed over), id -1. */
  granuleWarning?: string;
}

/** What a worker thread starts with. */
export interface WorkerInit {
  product?: string;
  /** Source options without callbacks. */
  source?: SourceOptions;
  /** Send the sources' warnings (`http.onWarning`) back to the run. */
  warnings: boolean;
  /** When metadata comes from DMR++ sidecars (`IndexOptions.dmrpp`). */
  dmrpp?: DmrppMode;
  /** The link remote granules are read over (`IndexOptions.link`). */
  link?: LinkModel;
  /** Send granule warnings (`IndexOptions.onWarning`) back to the run. */
  granuleWarnings: boolean;
}

/** An error as it crosses threads: its name, message and own fields (status, url, code, dataset...). */
export interface SentError {
  name: string;
  message: string;
  fields: Record<string, unknown>;
  stack?: string;
}

/** An error in a form that survives `postMessage`; fields that cannot be cloned are left out. */
export function errorToMessage(err: unknown): SentError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err)) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
    try {
      fields[key] = structuredClone(value);
    } catch {
      // A field that cannot cross threads (a function, a handle) is dropped; the message keeps the story.
    }
  }
  return { name: err.name, message: err.message, fields, stack: err.stack };
}

/**
 * The error a worker thread sent, rebuilt with the same name, message and fields, so that callers
 * telling errors apart by name (`isGeochunksError`, exit codes) see what an error in this thread
 * would have shown.
 */
export function errorFromMessage(sent: SentError): Error {
  const err = new Error(sent.message);
  Object.assign(err, sent.fields);
  Object.defineProperty(err, "name", {
    value: sent.name,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  if (sent.stack) err.stack = sent.stack;
  return err;
}
