/**
 * Shares of a sharded indexing run: which inputs each of n tasks indexes, and a digest of the
 * input list so that `commit` can tell whether staged shards come from one run.
 */
import { createHash } from "node:crypto";
import type { ShardStamp } from "../store/manifest.js";

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The list every task splits: the inputs without repeats, sorted by code unit (no locale), so
 * tasks given the same inputs in any order agree.
 */
export function shardList(inputs: readonly string[]): string[] {
  return [...new Set(inputs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The inputs of shard `index` of `count`: every `count`-th input of the sorted list, starting at
 * `index`. Shares are disjoint, cover the list, and differ in size by at most one input.
 * @example
 * shareOf(["c.h5", "a.h5", "b.h5"], { index: 1, count: 2 }); // ["b.h5"]
 */
export function shareOf(inputs: readonly string[], shard: Shard): string[] {
  return shardList(inputs).filter((_, i) => i % shard.count === shard.index);
}

/** SHA-256 (hex) of the sorted input list, one input a line: equal for tasks given the same inputs. */
export function inputListDigest(inputs: readonly string[]): string {
  const hash = createHash("sha256");
  for (const input of shardList(inputs)) hash.update(`${input}\n`);
  return hash.digest("hex");
}

/** What a shard's staged set records about its run: shard, count, and the input list. */
export function shardStamp(inputs: readonly string[], shard: Shard): ShardStamp {
  return {
    index: shard.index,
    count: shard.count,
    inputs: shardList(inputs).length,
    inputs_sha256: inputListDigest(inputs),
  };
}
