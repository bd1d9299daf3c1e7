/**
 * A remote granule with a DMR++ sidecar: the sidecar is read with one GET that goes out beside the
 * granule's HEAD (no HEAD of its own first), and the sidecar's spot check (the file's own metadata of
 * two datasets, read in small blocks) runs while the granule's identity and coordinates are read
 * through the sidecar, not before. Checked from the requests a loopback server receives, with rows equal to a local index.
 * The server runs in a process of its own, so that it notes a request when it arrives, not when the
 * index's thread lets an event loop it shares run.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../../bench/lib/server.js";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { PREFIX_BYTES } from "../../src/index-builder/job.js";
import { ROOT } from "../support/cli.js";
import { pythonWith } from "../support/python.js";
import { duckdb } from "../support/results.js";

const LATENCY_MS = 30;
/** The spot check's metadata blocks (blockReads: 16 KiB, aligned). */
const BLOCK = 16 * 1024;
/** Wall-clock milliseconds, comparable with the server process's notes. */
const now = () => performance.timeOrigin + performance.now();

describe("a granule with a sidecar, over a loopback server", () => {
  let dir: string;
  let file: string;
  let second: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-sidecar-rounds-"));
    mkdirSync(join(dir, "www"));
    file = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, segmentsPerBeam: 12_000 });
    second = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[1]!, segmentsPerBeam: 12_000 });
    const served = [file, second].map((f) => join(dir, "www", basename(f)));
    copyFileSync(file, served[0]!);
    copyFileSync(second, served[1]!);
    const made = spawnSync(pythonWith(["h5py"]), [join(ROOT, "fixtures/dmrpp/make_dmrpp.py"), ...served], {
      encoding: "utf8",
    });
    expect(made.stderr).toBe("");
    server = await startServerProcess(join(dir, "www"), undefined, { log: true });
    await server.setLatency(LATENCY_MS);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the sidecar in one GET beside the granule's first bytes and spot-checks it while the identity and coordinates are read", async () => {
    const url = new URL(basename(file), server.url).href;
    const report = await index([url], {
      store: join(dir, "http"),
      // An uncapped link: without the sidecar the granule would be read in whole-file lines.
      link: { bytesPerSecond: Number.POSITIVE_INFINITY },
    });
    expect(report.added).toHaveLength(1);
    const log = await server.requests();
    expect(report.requests).toBe(log.length);

    const sidecar = log.filter((r) => r.path.endsWith(".dmrpp"));
    expect(sidecar.map((r) => [r.method, r.range])).toEqual([["GET", "bytes=0-"]]);
    // The granule's first bytes, read in place of a HEAD (its size and ETag come with them).
    expect(log.filter((r) => r.method === "HEAD")).toEqual([]);
    const head = log.find((r) => r.path.endsWith(".h5") && r.range === `bytes=0-${PREFIX_BYTES - 1}`);
    expect(head).toBeDefined();
    // Sent together: neither waited for the other's answer.
    expect(Math.abs(sidecar[0]!.at - head!.at)).toBeLessThan(LATENCY_MS / 2);

    // Reads of the granule: the spot check's aligned 16 KiB blocks, and the reads through the sidecar
    // (small datasets and coordinate chunks, at the offsets the sidecar gives).
    const ranges = log
      .filter((r) => r.method === "GET" && r.path.endsWith(".h5"))
      .map((r) => {
        const [start, end] = /bytes=(\d+)-(\d+)/
          .exec(r.range ?? "")!
          .slice(1)
          .map(Number) as [number, number];
        // A block starts on a block boundary; the file's last one is shorter.
        return { at: r.at, start, end, block: start % BLOCK === 0 && end - start + 1 <= BLOCK };
      });
    const lastBlock = Math.max(...ranges.filter((r) => r.block).map((r) => r.at));
    const firstThroughSidecar = Math.min(...ranges.filter((r) => !r.block).map((r) => r.at));
    expect(Number.isFinite(lastBlock) && Number.isFinite(firstThroughSidecar)).toBe(true);
    expect(firstThroughSidecar).toBeLessThan(lastBlock);

    // The same rows as a local index of the same file (but for where it was read from and checksums).
    await index([file], { store: join(dir, "local"), dmrpp: "off" });
    // The coordinates are read through the sidecar while the check runs too: a read holding a
    // latitude, longitude or delta_time chunk (where the local index says they lie) goes out before
    // the spot check's last block.
    const coordinates = await duckdb(
      `SELECT DISTINCT r.offset::BIGINT AS o, r.size::BIGINT AS n FROM (
         SELECT unnest(refs) AS r FROM read_parquet('${join(dir, "local")}/chunks/**/*.parquet'))
        WHERE r.path LIKE '%/latitude' OR r.path LIKE '%/longitude' OR r.path LIKE '%/delta_time'`,
    );
    expect(coordinates.length).toBeGreaterThan(0);
    const holdsCoordinates = (r: { start: number; end: number }) =>
      coordinates.some((c) => Number(c.o) >= r.start && Number(c.o) + Number(c.n) - 1 <= r.end);
    const firstCoordinates = Math.min(...ranges.filter(holdsCoordinates).map((r) => r.at));
    expect(firstCoordinates).toBeLessThan(lastBlock);
    const select = (store: string, table: string, drop: string) =>
      `SELECT * EXCLUDE (${drop}) FROM read_parquet('${join(dir, store)}/${table}/**/*.parquet')`;
    for (const [table, drop] of [
      ["granules", "url, etag, mtime"],
      ["chunks", "ref_checksums"],
    ] as const) {
      for (const [a, b] of [
        ["local", "http"],
        ["http", "local"],
      ]) {
        const [row] = await duckdb(
          `SELECT count(*)::INTEGER AS n FROM (${select(a, table, drop)} EXCEPT ALL ${select(b, table, drop)})`,
        );
        expect(row!.n, `${table} only in ${a}`).toBe(0);
      }
    }
  });

  it("opens the next granule once one read through its sidecar has its coordinates in, not once it is indexed", async () => {
    const urls = [file, second].map((f) => new URL(basename(f), server.url).href);
    const indexed = new Map<string, number>();
    const earlier = (await server.requests()).length;
    const report = await index(urls, {
      store: join(dir, "two"),
      concurrency: 1,
      link: { bytesPerSecond: Number.POSITIVE_INFINITY },
      onProgress: (p) => indexed.set(p.input, now()),
    });
    expect(report.added).toHaveLength(2);
    const log = (await server.requests()).slice(earlier);
    const firstRequest = Math.min(...log.filter((r) => r.path.includes(basename(second))).map((r) => r.at));
    // One granule at a time (concurrency 1), yet the second one's first request comes before the first is indexed.
    expect(firstRequest).toBeLessThan(indexed.get(urls[0]!)!);
  });
});
