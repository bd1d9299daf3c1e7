/** What every contender of the benchmark implements. */
import type { BenchAoi } from "../lib/aois.js";
import type { RowSet } from "../lib/rows.js";

/** One granule of the list given to every contender. */
export interface ListedGranule {
  granule_id: string;
  /** Its URL on the loopback range server. */
  url: string;
  /** The same file on disk (for untimed preparation only: reference building, the oracle). */
  file: string;
}

/** Everything a run needs. */
export interface RunContext {
  aoi: BenchAoi;
  /** The granules whose bounding polygon meets the AOI, the same for every contender. */
  listed: ListedGranule[];
  /** Every granule of the archive on the server (the index covers them all). */
  all: ListedGranule[];
  /** The geochunks store, built beforehand over the HTTP URLs of `all`. */
  storeDir: string;
  /** Scratch directory for outputs. */
  outDir: string;
  /** Granules processed at the same time, by every contender. */
  granuleConcurrency: number;
}

/** The answer of one timed run. */
export interface RunOutcome {
  /** Time measured by the contender itself (the Python peers exclude interpreter start-up); else the harness's wall time. */
  seconds?: number;
  /** The result's row set (computed after the clock stops). */
  rows(): Promise<RowSet>;
  /**
   * CPU seconds (user + system, every thread) of the process the contender ran in, when that is a
   * child of the harness (the installed command); else the harness's own CPU during the run.
   */
  cpuSeconds?: number;
  /** Stored size of the requested variables' chunks holding answer points (geochunks reports it). */
  bytesMinimal?: number;
  versions?: Record<string, string>;
}

export interface Contender {
  name: string;
  /** One line: what it does. */
  description: string;
  /** Tens of seconds per run: timed `slowReps` times instead of `reps`. */
  slow?: boolean;
  /** Why it cannot run here, or undefined. */
  unavailable(): Promise<string | undefined>;
  /** Untimed set-up for an AOI's run (reference files, ...). */
  prepare?(ctx: RunContext): Promise<void>;
  run(ctx: RunContext): Promise<RunOutcome>;
}
