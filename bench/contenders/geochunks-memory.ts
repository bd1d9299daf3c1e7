/**
 * geochunks-memory: the in-process `geochunks` query with its rows kept in memory as the result's
 * plain columns (`QueryResult.columns()`: typed arrays, no Arrow, no file), as H5Coro, no-index and
 * the download peers keep theirs (arrays in memory, no output written). Beside the `geochunks` row,
 * which writes the same rows to GeoParquet, it splits a query's time into the reads, decoding and
 * point tests every contender does and the GeoParquet file only geochunks writes.
 */
import { openStore } from "../../src/index.js";
import type { ResultColumns } from "../../src/result/columns.js";
import { digestKeys, rowKey } from "../lib/rows.js";
import type { Contender } from "./types.js";

/** Row keys of one batch of columns: its granule and beam (one value a chunk row) and segment ids. */
function keysOf(batch: ResultColumns, keys: string[]): void {
  const byName = new Map(batch.columns.map((c) => [c.name, c]));
  const constant = (name: string) => {
    const c = byName.get(name);
    if (!c || !("value" in c)) throw new Error(`geochunks-memory: no constant ${name} column`);
    return String(c.value);
  };
  const segments = byName.get("segment_id");
  if (!segments || !("values" in segments)) throw new Error("geochunks-memory: no segment_id values");
  const granule = constant("granule_id");
  const beam = constant("beam");
  for (let i = 0; i < batch.lat.length; i++) keys.push(rowKey(granule, beam, segments.values[i]!));
}

export const geochunksMemory: Contender = {
  name: "geochunks-memory",
  description:
    "the geochunks query with its rows kept in memory as plain columns (no file written), as the peers keep theirs",
  unavailable: async () => undefined,
  async prepare(ctx) {
    // One untimed query first, as for `geochunks`.
    const store = await openStore(ctx.storeDir);
    for await (const _ of store.query({ aoi: ctx.aoi.geometry }).columns());
  },
  async run(ctx) {
    const store = await openStore(ctx.storeDir);
    const result = store.query({ aoi: ctx.aoi.geometry });
    const batches: ResultColumns[] = [];
    for await (const batch of result.columns()) batches.push(batch);
    return {
      rows: async () => {
        const keys: string[] = [];
        for (const batch of batches) keysOf(batch, keys);
        return digestKeys(keys);
      },
      bytesMinimal: result.stats.bytes_minimal,
    };
  },
};
