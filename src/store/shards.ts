/**
 * Staged shards: the files shard jobs leave in `staged/`, and whether they make a whole run
 * that `commit` may publish.
 */
import { IncompleteShardsError } from "../errors.js";
import { newPartId, type ShardStamp, STORE_TABLES, type StagedPartSet, type StoreTable } from "./manifest.js";

/**
 * File name of a shard's staged set. It depends only on the shard and the count, so a retried
 * task (same index) replaces its own earlier set instead of adding a second one.
 */
export function stagedShardName(shard: ShardStamp): string {
  return `shard-${shard.index}-of-${shard.count}.json`;
}

/** A staged set of no rows: a shard whose share held nothing new still says it ran. */
export function emptyStagedSet(shard: ShardStamp): StagedPartSet {
  const files = Object.fromEntries(STORE_TABLES.map((t) => [t, [] as string[]])) as Record<
    StoreTable,
    string[]
  >;
  return { part: { id: newPartId(), files, granules: [] }, fingerprints: {}, shard };
}

/** What is wrong with a set of staged shards; `undefined` when they make one whole run. */
export interface ShardSetProblem {
  message: string;
  /** Shards (0-based) of `count` that no staged set holds. */
  missing: number[];
  count: number;
}

/**
 * Checks staged sets that record their shard (sets staged without one are not checked): all of
 * one run (same count, same input list) and every shard 0..count-1 present. Pure.
 */
export function shardSetProblem(sets: readonly StagedPartSet[]): ShardSetProblem | undefined {
  const stamps = sets.flatMap((s) => (s.shard ? [s.shard] : []));
  if (stamps.length === 0) return undefined;
  const runs = new Map<string, ShardStamp[]>();
  for (const s of stamps) {
    const key = `${s.count}/${s.inputs_sha256}`;
    runs.set(key, [...(runs.get(key) ?? []), s]);
  }
  if (runs.size > 1) {
    const described = [...runs.values()].map(
      (r) =>
        `shards ${r.map((s) => s.index).join(", ")} of ${r[0]!.count} over ${r[0]!.inputs} inputs ` +
        `(list sha256 ${r[0]!.inputs_sha256.slice(0, 12)})`,
    );
    return {
      message: `staged shards come from different runs: ${described.join("; ")}`,
      missing: [],
      count: Math.max(...stamps.map((s) => s.count)),
    };
  }
  const count = stamps[0]!.count;
  const have = new Set(stamps.map((s) => s.index));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !have.has(i));
  if (missing.length === 0) return undefined;
  const which = `${missing.length === 1 ? "shard" : "shards"} ${missing.join(", ")} of ${count}`;
  return { message: `${which} not staged`, missing, count };
}

/** The error for a shard set that is not whole, naming the store and what to do. */
export function incompleteShardsError(store: string, problem: ShardSetProblem): IncompleteShardsError {
  return new IncompleteShardsError(
    store,
    `${store}: incomplete shard set: ${problem.message}; nothing committed (run the missing shards again, ` +
      "or commit with --allow-incomplete)",
    { missing: problem.missing, count: problem.count },
  );
}
