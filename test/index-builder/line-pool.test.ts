import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../../bench/lib/server.js";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { linePool, sharedLinePool } from "../../src/source/line-pool.js";
import { duckdb } from "../support/results.js";

/*
 * The whole-file lines of a granule indexed over HTTP go back to a pool once it is indexed, and the
 * next granules' responses are read into them. A row that kept a view of a line would then hold
 * another granule's bytes: the rows of a run that used lines again must equal those of granules
 * indexed one run each, where no line is used twice (the pool is emptied at the end of every run).
 */
describe("line buffers used again", () => {
  let dir: string;
  let urls: string[];
  let server: ServerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-line-pool-"));
    mkdirSync(join(dir, "www"));
    const files: string[] = [];
    for (const opts of demoGranuleSet().slice(0, 4)) {
      files.push(await writeSyntheticAtl06(join(dir, "www"), { ...opts, segmentsPerBeam: 12_000 }));
    }
    server = await startServerProcess(join(dir, "www"));
    urls = files.map((f) => new URL(basename(f), server.url).href);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The index's default reads bodies on the network thread into shared lines; `auto` on this thread.
  it.each([
    { client: "thread (default)", http: undefined, pool: sharedLinePool, other: linePool },
    { client: "auto", http: { client: "auto" as const }, pool: linePool, other: sharedLinePool },
  ])(
    "reads later granules into earlier granules' lines, and makes the same rows: client $client",
    async ({ client, http, pool, other }) => {
      // An uncapped link: the cost model reads granules of this size in whole-file lines.
      const opts = {
        concurrency: 1,
        jobs: 1,
        link: { bytesPerSecond: Number.POSITIVE_INFINITY },
        source: { http },
      };
      const before = pool.reused;
      const otherBefore = other.reused;
      const together = await index(urls, { ...opts, store: join(dir, client, "together") });
      expect(together.added).toHaveLength(4);
      // The granules indexed first give their lines back; the later ones' responses are read into them.
      expect(pool.reused).toBeGreaterThan(before);
      expect(other.reused).toBe(otherBefore);
      for (const url of urls) await index([url], { ...opts, store: join(dir, client, "apart") });

      const table = (store: string, name: string) =>
        `SELECT * FROM read_parquet('${join(dir, store)}/${name}/**/*.parquet', hive_partitioning = false)`;
      for (const name of ["chunks", "chunk_cells", "arrays", "granules"]) {
        const a = table(join(client, "together"), name);
        const b = table(join(client, "apart"), name);
        const [diff] = await duckdb(
          `SELECT (SELECT count(*) FROM (${a} EXCEPT ALL ${b}))::INTEGER AS a,
                (SELECT count(*) FROM (${b} EXCEPT ALL ${a}))::INTEGER AS b,
                (SELECT count(*) FROM (${a}))::INTEGER AS n`,
        );
        expect(diff, name).toEqual({ a: 0, b: 0, n: expect.any(Number) });
        expect(diff!.n, name).toBeGreaterThan(0);
      }
    },
  );
});
