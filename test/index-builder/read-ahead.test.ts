import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../../bench/lib/server.js";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { PREFIX_BYTES } from "../../src/index-builder/job.js";
import { duckdb } from "../support/results.js";

/*
 * Remote granules read in whole-file lines: their lines are fetched ahead, the next granule is read
 * while earlier ones are indexed, and a granule's sidecar probe goes out with its fingerprint. Checked
 * from the requests a loopback server receives (arrival times), against the same store read locally.
 * The server runs in a process of its own, so that it notes a request when it arrives, not when the
 * index's thread next lets an event loop it shares run (which, under load, came after the granule
 * before was indexed: an order the code did not have).
 */

/** Wall-clock milliseconds, comparable with the server process's notes. */
const now = () => performance.timeOrigin + performance.now();

const LATENCY_MS = 40;

describe("reading remote granules ahead", () => {
  let dir: string;
  let files: string[];
  let server: ServerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-read-ahead-"));
    mkdirSync(join(dir, "www"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 3)) {
      files.push(await writeSyntheticAtl06(join(dir, "www"), { ...opts, segmentsPerBeam: 12_000 }));
    }
    server = await startServerProcess(join(dir, "www"), undefined, { log: true });
    await server.setLatency(LATENCY_MS);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens the next granule before the one read before it is indexed, each byte read once", async () => {
    const urls = files.map((f) => new URL(basename(f), server.url).href);
    const indexed = new Map<string, number>();
    const report = await index(urls, {
      store: join(dir, "http"),
      concurrency: 1,
      // An uncapped link: the cost model reads granules of this size in whole-file lines.
      link: { bytesPerSecond: Number.POSITIVE_INFINITY },
      onProgress: (p) => indexed.set(p.input, now()),
    });
    // Every request the server received: when, its method and path.
    const log = await server.requests();
    expect(report.added).toHaveLength(3);
    expect(report.requests).toBe(log.length);
    expect(report.requests / files.length).toBeLessThanOrEqual(30);
    // Lines fetched ahead and lines the metadata walk asks for are the same lines, fetched once; each
    // granule's first bytes once more, read in place of a HEAD (job.ts PREFIX_BYTES).
    expect(report.bytesRead).toBeLessThanOrEqual(report.bytesTotal + files.length * PREFIX_BYTES);
    expect(report.bytesTotal).toBe(files.reduce((n, f) => n + statSync(f).size, 0));

    const first = (name: string) => Math.min(...log.filter((r) => r.path.endsWith(name)).map((r) => r.at));
    for (let k = 0; k + 1 < files.length; k++) {
      // One granule at a time (concurrency 1), yet the next one's first request comes before this one is indexed.
      expect(first(`/${basename(files[k + 1]!)}`)).toBeLessThan(indexed.get(urls[k]!)!);
    }
    for (const f of files) {
      const name = basename(f);
      // The granule's first bytes, read in place of a HEAD (its size and ETag come with them).
      const head = log.find((r) => r.path === `/${name}` && r.range === `bytes=0-${PREFIX_BYTES - 1}`)!;
      const sidecar = log.find((r) => r.path === `/${name}.dmrpp`)!;
      // The sidecar probe goes out beside the first bytes' GET, not a round (its latency) after it.
      expect(Math.abs(sidecar.at - head.at)).toBeLessThan(LATENCY_MS / 2);
      // The first bytes held HDF5's signature: the lines go out in the round after them, the first and
      // the last not a round before the others.
      const lines = log.filter((r) => r.path === `/${name}` && r !== head).map((r) => r.at - head.at);
      expect(lines.length).toBeGreaterThan(2);
      expect(Math.min(...lines)).toBeGreaterThanOrEqual(LATENCY_MS * 0.9);
      expect(Math.max(...lines) - Math.min(...lines)).toBeLessThan(LATENCY_MS / 2);
    }
    expect(log.filter((r) => r.method === "HEAD")).toEqual([]);

    // The same chunk rows as the granules indexed from local files, one at a time.
    await index(files, { store: join(dir, "local"), concurrency: 1 });
    const rows = (store: string) =>
      `SELECT * EXCLUDE (ref_checksums) FROM read_parquet('${join(dir, store)}/chunks/**/*.parquet')`;
    const [diff] = await duckdb(
      `SELECT (SELECT count(*) FROM (${rows("http")} EXCEPT ALL ${rows("local")}))::INTEGER AS a,
              (SELECT count(*) FROM (${rows("local")} EXCEPT ALL ${rows("http")}))::INTEGER AS b,
              (SELECT count(*) FROM (${rows("http")}))::INTEGER AS n`,
    );
    expect(diff).toEqual({ a: 0, b: 0, n: expect.any(Number) });
    expect(diff!.n).toBeGreaterThan(0);
  });

  it("reads a few lines of a file that is not HDF5, not the whole file, and fails naming it", async () => {
    const size = 8 * 1024 * 1024;
    const junk = join(dir, "www", "ATL06_20200101000000_00000000_006_01.h5");
    writeFileSync(junk, randomBytes(size));
    const before = (await server.stats()).bytes;
    const report = await index([new URL(basename(junk), server.url).href], {
      store: join(dir, "junk"),
      link: { bytesPerSecond: Number.POSITIVE_INFINITY },
    }).catch((err: unknown) => err as Error);
    // The only input is bad: the run fails naming it.
    expect(report).toBeInstanceOf(Error);
    expect((report as Error).message).toMatch(
      /^no HDF5 signature found in http:.*\/ATL06_20200101000000_00000000_006_01\.h5/,
    );
    // Lines of a sixteenth of the file: its first bytes (no signature in them), then the first and
    // the last line fetched ahead, and the HDF5 reader's search for a signature (at 0, 512, 1024,
    // 2048... bytes) read four more; fetching every line ahead would have read all sixteen.
    await new Promise((done) => setTimeout(done, 3 * LATENCY_MS));
    expect((await server.stats()).bytes - before).toBeLessThanOrEqual((6 * size) / 16 + PREFIX_BYTES);
  });
});
