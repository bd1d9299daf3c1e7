import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import type { PartSet } from "../../src/store/manifest.js";
import { localPartEncoder, PartEncoderState } from "../../src/store/part-encoder.js";
import { loadPartEncoding, mergeBatches, type StoreBatch, writePartSet } from "../../src/store/parts.js";
import { Store } from "../../src/store/store.js";
import { ROOT } from "../support/cli.js";
import { duckdb } from "../support/results.js";

/*
 * Part files encoded ahead, as inputs' rows come (part-encoder.ts), must be the files writePartSet
 * encodes from the merged batch, byte for byte, whatever the order the inputs came in, which early
 * encodes ran, and which inputs the run leaves out at the end.
 */

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "geochunks-part-encoder-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const MONTH_NS = 31n * 86_400n * 10n ** 9n;

/** Input `g`'s rows: granules in three months (so partitions of one to three granules), with arrays rows. */
function inputBatch(g: number): StoreBatch {
  const batch = syntheticBatch(g, seededRandom(100 + g));
  const granule = batch.granules[0]!;
  granule.time_start = BigInt(g % 3) * MONTH_NS + 10n ** 9n;
  granule.time_end = granule.time_start + 10n ** 9n;
  batch.arrays = Array.from({ length: 20 + g }, (_, k) => ({
    granule_id: granule.granule_id,
    path: `/gt${1 + (k % 3)}l/land_ice_segments/v${k}`,
    dtype: "<f8",
    shape: [60_000 + g],
    chunk_shape: k % 5 === 0 ? null : [10_000],
    filters: "[]",
    fill_value: "null",
    attrs: JSON.stringify({ k }),
  }));
  return batch;
}

const inputs = Array.from({ length: 7 }, (_, g) => inputBatch(g));

/** Every file of a written part set (name without the set's id) and its bytes, and its stats. */
function written(dir: string, part: PartSet) {
  const norm = (f: string) => f.replace(part.id, "ID");
  const files = Object.values(part.files)
    .flat()
    .map((f) => [norm(f), readFileSync(join(dir, f)).toString("base64")]);
  const stats = Object.entries(part.stats ?? {}).map(([f, s]) => [norm(f), s]);
  return { files, stats, granules: part.granules };
}

async function reference(indices: readonly number[]) {
  const dir = tempDir();
  const part = await writePartSet(dir, mergeBatches(indices.map((i) => inputs[i]!)));
  part.settle();
  return written(dir, part);
}

async function fromEncoded(indices: readonly number[], files: Parameters<typeof writePartSet>[2]) {
  const dir = tempDir();
  const part = await writePartSet(dir, mergeBatches(indices.map((i) => inputs[i]!)), files);
  part.settle();
  return written(dir, part);
}

await loadPartEncoding();

describe("part files encoded ahead", () => {
  it("are writePartSet's files, byte for byte, in every order and with inputs left out", async () => {
    const all = [0, 1, 2, 3, 4, 5, 6];
    const cases = [
      // Inputs in order, every early encode run after each.
      { order: all, ahead: "each", keep: all },
      // Out of order, early encodes after some, input 4 (month 1, with 1 and 7) left out at the end.
      { order: [3, 6, 0, 4, 1, 5, 2], ahead: "some", keep: [0, 1, 2, 3, 5, 6] },
      // No early encode at all.
      { order: [6, 5, 4, 3, 2, 1, 0], ahead: "none", keep: [1, 2, 6] },
    ] as const;
    for (const c of cases) {
      const state = new PartEncoderState();
      for (const [k, i] of c.order.entries()) {
        state.add(i, structuredClone(inputs[i]!));
        if (c.ahead === "each" || (c.ahead === "some" && k % 2 === 1)) while (state.encodeAhead());
      }
      const set = state.finish(c.keep);
      expect(set.tileMinRows).toBeUndefined();
      const got = await fromEncoded(c.keep, { encoded: set.files });
      const want = await reference(c.keep);
      expect(got.files.length, c.order.join()).toBe(2 + 2 * 3);
      expect(got).toEqual(want);
    }
  });

  it("encodes each file group again only once its rows have doubled, and finishes with what is left", () => {
    const state = new PartEncoderState();
    const rows = () => state.encodes.rows;
    // Inputs 0, 3, 6 are month 0; 1, 4 month 1; 2, 5 month 2.
    for (const i of [0, 1, 2, 3, 4, 5, 6]) {
      state.add(i, inputs[i]!);
      while (state.encodeAhead());
    }
    const chunkRows = (i: number) => inputs[i]!.chunks.length;
    const arrayRows = (n: number) => inputs.slice(0, n).reduce((s, b) => s + b.arrays.length, 0);
    // Month 0: encoded at 1 input and at 2 (doubled), not at 3 (1.5x); months 1 and 2 at 1 and 2.
    // Granules: at 1, 2 and 4 inputs; arrays as their rows doubled (about the same inputs).
    const before = rows();
    expect(state.encodes.groups).toBeGreaterThanOrEqual(2 + 2 + 2 + 3 + 3);
    state.finish([0, 1, 2, 3, 4, 5, 6]);
    const finished = rows() - before;
    // Left for the end: month 0 (3 inputs), granules (7 rows) and arrays (all rows); months 1 and 2 reused.
    expect(finished).toBe(chunkRows(0) + chunkRows(3) + chunkRows(6) + 7 + arrayRows(7));
    // Early encodes cost at most twice the final encode of each group.
    const total = 3 * chunkRows(0) + 7 + arrayRows(7);
    expect(rows()).toBeLessThanOrEqual(3 * total + 3 * 2 * chunkRows(0));
  });

  it("encoded ahead between the run's work (localPartEncoder), the store writes the files it hands back", async () => {
    const encoder = localPartEncoder();
    try {
      // Input 3's cells in another order than its chunks': the same files.
      const reordered = { ...inputs[3]!, chunkCells: [...inputs[3]!.chunkCells].reverse() };
      for (const i of [2, 0, 1, 3, 4, 5, 6]) encoder.add(i, i === 3 ? reordered : inputs[i]!);
      const keep = [0, 1, 2, 3, 4, 6];
      const set = await encoder.finish(keep);
      expect(set?.files.length).toBe(2 + 2 * 3);
      const got = await fromEncoded(keep, { encoded: set!.files });
      expect(got).toEqual(await reference(keep));
      // Through a store's commit; DuckDB reads the rows back.
      const dir = tempDir();
      const store = await Store.open(dir, { create: true });
      const batch = mergeBatches(keep.map((i) => inputs[i]!));
      await store.commit(batch, { encoded: set });
      const [row] = await duckdb(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT chunk_id)::INTEGER AS ids FROM read_parquet('${dir}/chunks/**/*.parquet')`,
      );
      expect(row).toEqual({ n: batch.chunks.length, ids: batch.chunks.length });
      expect(written(dir, store.manifest.parts[0]!).files).toEqual(got.files.map(([f, b]) => [f, b]));
    } finally {
      await encoder.close();
    }
  });

  it("the compiled package's encoder hands back the same files, also after encoding ahead", async () => {
    const compiled = pathToFileURL(join(ROOT, "dist/store/part-encoder.js")).href;
    const { localPartEncoder: compiledEncoder } = (await import(
      compiled
    )) as typeof import("../../src/store/part-encoder.js");
    const encoder = compiledEncoder();
    try {
      for (const i of [0, 1, 2]) {
        encoder.add(i, inputs[i]!);
        // A few turns of the event loop: groups are encoded ahead between them.
        for (let k = 0; k < 3; k++) await new Promise((done) => setImmediate(done));
      }
      const set = await encoder.finish([0, 1, 2]);
      expect(set, "the compiled thread failed").toBeDefined();
      expect(await fromEncoded([0, 1, 2], { encoded: set!.files })).toEqual(await reference([0, 1, 2]));
    } finally {
      await encoder.close();
    }
  });

  it("a staged set (index --shard) writes the files handed to it, committed as staged", async () => {
    const state = new PartEncoderState();
    for (const i of [4, 5, 6]) state.add(i, inputs[i]!);
    const set = state.finish([4, 5, 6]);
    const dir = tempDir();
    const store = await Store.open(dir, { create: true });
    const staged = await store.stage(mergeBatches([4, 5, 6].map((i) => inputs[i]!)), { encoded: set });
    const want = await reference([4, 5, 6]);
    const got = written(dir, staged);
    expect({ files: got.files, stats: got.stats }).toEqual({ files: want.files, stats: want.stats });
    expect(await store.commitStaged()).toMatchObject({ parts: 1 });
  });

  it("a set encoded for other rows or another tile floor is not written: the store encodes the batch", async () => {
    const state = new PartEncoderState(0);
    for (const i of [0, 1, 2]) state.add(i, inputs[i]!);
    const tiled = state.finish([0, 1, 2]);
    const dir = tempDir();
    const store = await Store.open(dir, { create: true });
    const batch = mergeBatches([0, 1].map((i) => inputs[i]!));
    await store.commit(batch, { encoded: tiled });
    const { files, stats } = written(dir, store.manifest.parts[0]!);
    const want = await reference([0, 1]);
    expect({ files, stats }).toEqual({ files: want.files, stats: want.stats });
  });

  it("an encode that failed ahead answers undefined, and the run encodes itself", async () => {
    const encoder = localPartEncoder();
    encoder.add(0, inputs[0]!);
    // A row that cannot be encoded (a bbox that is not a struct) fails the encodes ahead and finish.
    encoder.add(1, { ...inputs[1]!, granules: [{ ...inputs[1]!.granules[0]!, bbox: null as never }] });
    for (let k = 0; k < 5; k++) await new Promise((done) => setImmediate(done));
    expect(await encoder.finish([0, 1])).toBeUndefined();
    await encoder.close();
  });
});
