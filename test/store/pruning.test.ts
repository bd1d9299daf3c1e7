import { copyFileSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { CHUNKS_ROW_GROUP_SIZE, mergeBatches } from "../../src/store/parts.js";
import { Store } from "../../src/store/store.js";
import { duckdb } from "../support/results.js";

let dir: string;
let part: string;

describe("bbox predicates prune row groups of the Hilbert-sorted chunks parts", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-prune-"));
    const random = seededRandom(7);
    const batches = Array.from({ length: 60 }, (_, g) => syntheticBatch(g, random, { cycle: 1 }));
    const store = await Store.open(join(dir, "store"), { create: true });
    await store.commit(mergeBatches(batches));
    part = store.files("chunks")[0]!;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("skips the row groups whose bbox statistics miss the query: corrupting them changes nothing", async () => {
    const groups = await duckdb(
      `SELECT row_group_id AS rg, path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi,
              coalesce(dictionary_page_offset, data_page_offset) AS start, total_compressed_size AS size
         FROM parquet_metadata('${part}')`,
    );
    const rowGroups = [...new Set(groups.map((g) => Number(g.rg)))];
    expect(rowGroups.length).toBeGreaterThanOrEqual(3);
    const stat = (rg: number, col: string) => {
      const g = groups.find((x) => Number(x.rg) === rg && x.col === `bbox, ${col}`)!;
      return [Number(g.lo), Number(g.hi)];
    };
    // A query box: the bbox of a chunk in the middle row group, shrunk.
    const [row] = await duckdb(
      `SELECT bbox FROM read_parquet('${part}') LIMIT 1 OFFSET ${CHUNKS_ROW_GROUP_SIZE + 100}`,
    );
    const b = row!.bbox as { entries: Record<string, number> };

    const { xmin, ymin, xmax, ymax } = b.entries as Record<string, number>;
    const [x1, y1, x2, y2] = [xmin!, ymin!, (xmin! + xmax!) / 2, (ymin! + ymax!) / 2];
    const where = `bbox.xmin <= ${x2} AND bbox.xmax >= ${x1} AND bbox.ymin <= ${y2} AND bbox.ymax >= ${y1}`;
    const prunable = rowGroups.filter((rg) => {
      const [xminLo] = stat(rg, "xmin");
      const [, xmaxHi] = stat(rg, "xmax");
      const [yminLo] = stat(rg, "ymin");
      const [, ymaxHi] = stat(rg, "ymax");
      return xminLo! > x2 || xmaxHi! < x1 || yminLo! > y2 || ymaxHi! < y1;
    });
    expect(prunable.length).toBeGreaterThan(0);
    const [expected] = await duckdb(`SELECT count(*) AS n FROM read_parquet('${part}') WHERE ${where}`);
    expect(Number(expected!.n)).toBeGreaterThan(0);

    const corrupted = join(dir, "corrupted.parquet");
    copyFileSync(part, corrupted);
    const fd = openSync(corrupted, "r+");
    for (const g of groups.filter((x) => prunable.includes(Number(x.rg)))) {
      writeSync(fd, Buffer.alloc(Number(g.size), 0xab), 0, Number(g.size), Number(g.start));
    }
    const [pruned] = await duckdb(`SELECT count(*) AS n FROM read_parquet('${corrupted}') WHERE ${where}`);
    expect(pruned!.n).toBe(expected!.n);
    // Sanity: the corruption is real; a query that must read those row groups fails.
    await expect(
      duckdb(`SELECT sum(bbox.xmin + row_count) FROM read_parquet('${corrupted}')`),
    ).rejects.toThrow();

    const plan = await duckdb(`EXPLAIN ANALYZE SELECT count(*) FROM read_parquet('${part}') WHERE ${where}`);
    const text = plan.map((p) => String(p.explain_value)).join("\n");
    expect(text).toMatch(/READ_PARQUET/);
    expect(text.replace(/[\s│]/g, "")).toMatch(/Filters:bbox\.xmin<=/);
  });
});
