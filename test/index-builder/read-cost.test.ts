/**
 * How a remote granule's metadata is read: the cost model's choice (small blocks or whole-file lines)
 * for each link, and the requests and bytes each way costs over the loopback range server, pinned per
 * granule; a valid DMR++ sidecar reads no metadata lines, only the coordinate chunks. Every way gives
 * the rows of the local index (DuckDB reads the stores).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index } from "../../src/index.js";
import { PREFIX_BYTES } from "../../src/index-builder/job.js";
import {
  DEFAULT_LINK,
  metadataReads,
  readCosts,
  worthReadingGap,
} from "../../src/index-builder/read-cost.js";
import { ROOT, runCli } from "../support/cli.js";
import { pythonWith } from "../support/python.js";
import { duckdb } from "../support/results.js";

const FULL_SIZE = 68_186_352;
const url = new URL("https://data.example/ATL06.h5");

describe("the cost model", () => {
  it("reads holes that cost less than a request: more on a fast link, less on a slow one", () => {
    expect(worthReadingGap(DEFAULT_LINK)).toBe(176_666);
    expect(worthReadingGap({ ...DEFAULT_LINK, bytesPerSecond: 25e6 })).toBe(58_888);
    expect(worthReadingGap({ ...DEFAULT_LINK, bytesPerSecond: Number.POSITIVE_INFINITY })).toBe(529_999);
  });

  it("reads a full-size granule in blocks at 100 and 25 MB/s, in lines on an uncapped link", () => {
    const at = (bytesPerSecond: number) => metadataReads(url, FULL_SIZE, { ...DEFAULT_LINK, bytesPerSecond });
    expect(at(100e6)?.kind).toBe("blocks");
    expect(at(25e6)?.kind).toBe("blocks");
    expect(at(Number.POSITIVE_INFINITY)?.kind).toBe("lines");
    expect(at(Number.POSITIVE_INFINITY)?.cache).toEqual({
      blockSize: 4 * 1024 * 1024,
      maxGap: 0,
      readAhead: 0,
      maxRequest: 4 * 1024 * 1024,
    });
    // Lines cost about a quarter of the blocks' time with no cap, three times it at 25 MB/s.
    const uncapped = readCosts(FULL_SIZE, { ...DEFAULT_LINK, bytesPerSecond: Number.POSITIVE_INFINITY });
    expect(uncapped.lines).toBeLessThan(uncapped.blocks);
    const laptop = readCosts(FULL_SIZE, { ...DEFAULT_LINK, bytesPerSecond: 25e6 });
    expect(laptop.lines).toBeGreaterThan(2 * laptop.blocks);
  });

  it("keeps local files on the reader's defaults and never reads a file over 256 MiB in lines", () => {
    expect(metadataReads(new URL("file:///data/ATL06.h5"), FULL_SIZE)).toBeUndefined();
    const big = { ...DEFAULT_LINK, bytesPerSecond: Number.POSITIVE_INFINITY };
    expect(metadataReads(url, 400e6, big)?.kind).toBe("blocks");
  });
});

/** Rows of a store table that are in `a` and not in `b`, by DuckDB (columns in `drop` left out). */
async function rowsOnlyIn(a: string, b: string, table: string, drop: string[]): Promise<number> {
  const select = (store: string) =>
    `SELECT * ${drop.length > 0 ? `EXCLUDE (${drop.join(", ")})` : ""} FROM read_parquet('${store}/${table}/**/*.parquet')`;
  const [row] = await duckdb(`SELECT count(*)::INTEGER AS n FROM (${select(a)} EXCEPT ALL ${select(b)})`);
  return row!.n as number;
}

/** Both stores hold the same rows, but for where the granule was read from and the chunk checksums. */
async function expectLocalRows(local: string, remote: string) {
  const drop: Record<string, string[]> = { granules: ["url", "etag", "mtime"], chunks: ["ref_checksums"] };
  for (const table of ["granules", "arrays", "chunks", "chunk_cells"]) {
    expect(await rowsOnlyIn(local, remote, table, drop[table] ?? []), `${table} only local`).toBe(0);
    expect(await rowsOnlyIn(remote, local, table, drop[table] ?? []), `${table} only remote`).toBe(0);
  }
}

describe("a remote granule's reads, per granule, over the loopback server", () => {
  let dir: string;
  let file: string;
  let size: number;
  let coordinateBytes: number;
  let sidecarBytes: number;
  let plain: RangeServer;
  let withSidecar: RangeServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-read-cost-"));
    for (const sub of ["www", "sidecar"]) mkdirSync(join(dir, sub));
    file = await writeSyntheticAtl06(join(dir, "www"), { ...demoGranuleSet()[0]!, segmentsPerBeam: 12_000 });
    size = statSync(file).size;
    const copy = join(dir, "sidecar", basename(file));
    copyFileSync(file, copy);
    const made = spawnSync(pythonWith(["h5py"]), [join(ROOT, "fixtures/dmrpp/make_dmrpp.py"), copy], {
      encoding: "utf8",
    });
    expect(made.stderr).toBe("");
    sidecarBytes = statSync(`${copy}.dmrpp`).size;
    const local = await index([file], { store: join(dir, "local"), dmrpp: "off" });
    expect(local.added).toHaveLength(1);
    // The stored bytes of every latitude, longitude and delta_time chunk, from the local index.
    const [row] = await duckdb(
      `SELECT sum(size)::BIGINT AS bytes FROM (SELECT DISTINCT r.path, r.offset, r.size FROM (
         SELECT unnest(refs) AS r FROM read_parquet('${join(dir, "local")}/chunks/**/*.parquet'))
        WHERE r.path LIKE '%/latitude' OR r.path LIKE '%/longitude' OR r.path LIKE '%/delta_time')`,
    );
    coordinateBytes = Number(row!.bytes);
    plain = await startRangeServer({ root: join(dir, "www") });
    withSidecar = await startRangeServer({ root: join(dir, "sidecar") });
  });
  afterAll(async () => {
    await plain?.close();
    await withSidecar?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (server: RangeServer, name: string, bytesPerSecond: number, client?: "node") => {
    server.resetStats();
    const report = await index([new URL(basename(file), server.url).href], {
      store: join(dir, name),
      jobs: 1,
      link: { bytesPerSecond },
      source: client ? { http: { client } } : undefined,
    });
    expect(report.added).toHaveLength(1);
    expect(server.stats.requests).toBe(report.requests);
    await expectLocalRows(join(dir, "local"), join(dir, name));
    return report;
  };

  // This 8.3 MB granule (12 000 segments per beam) keeps its metadata close together: holes of the
  // cost model's size join most of it. A full-size granule (68 MB) reads 16-17 MB in about 240
  // requests in blocks (bench/index-build.ts, docs/design/index-build.md).
  it("on the default link: each byte at most once, but the first bytes", async () => {
    const report = await run(plain, "blocks", DEFAULT_LINK.bytesPerSecond);
    expect(report.requests).toBeLessThanOrEqual(60);
    // The granule's first bytes, read in place of a HEAD, again in the first line when the cost model
    // chooses lines (a block of its own when it chooses blocks: not read again).
    expect(report.bytesRead).toBeLessThanOrEqual(size + PREFIX_BYTES);
    expect(report.bytesRead).toBeGreaterThan(coordinateBytes);
  });

  it("in lines (an uncapped link): at most 30 requests, each byte once", async () => {
    const report = await run(plain, "lines", Number.POSITIVE_INFINITY);
    expect(report.requests).toBeLessThanOrEqual(30);
    // And the superblock and root group in blocks, read for a sidecar's spot check while it is looked for.
    expect(report.bytesRead).toBeLessThanOrEqual(size + 64 * 1024);
  });

  it("in lines, through node:http as through the plain-TCP reader: the same requests, bytes and rows", async () => {
    const socket = await run(plain, "lines-socket", Number.POSITIVE_INFINITY);
    const socketServed = { ...plain.stats };
    const node = await run(plain, "lines-node", Number.POSITIVE_INFINITY, "node");
    expect([socket.requests, socket.bytesRead]).toEqual([node.requests, node.bytesRead]);
    expect([socketServed.requests, socketServed.bytes]).toEqual([plain.stats.requests, plain.stats.bytes]);
  });

  it("through the command line: --link picks lines or blocks; a bad rate is one line and exit 2", async () => {
    const at = new URL(basename(file), plain.url).href;
    const requests = async (link: string) => {
      plain.resetStats();
      const r = await runCli(["index", at, "--store", join(dir, `cli-${link}`), "--link", link, "--quiet"]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(Number(/ in (\d+) requests/.exec(r.stdout)?.[1])).toBe(plain.stats.requests);
      return { requests: plain.stats.requests, bytes: plain.stats.bytes };
    };
    const uncapped = await requests("uncapped");
    expect(uncapped.requests).toBeLessThanOrEqual(30);
    const laptop = await requests("25");
    expect(laptop.requests).toBeGreaterThan(uncapped.requests);
    expect(laptop.bytes).toBeLessThan(uncapped.bytes);
    expect(laptop.requests).toBeLessThanOrEqual(110);
    expect(laptop.bytes).toBeLessThanOrEqual(0.95 * size);
    await expectLocalRows(join(dir, "local"), join(dir, "cli-25"));
    const bad = await runCli(["index", at, "--store", join(dir, "cli-bad"), "--link", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/--link/);
  });

  it("with a valid sidecar, either way: the coordinate chunks and little else, no metadata lines", async () => {
    for (const [name, bytesPerSecond] of [
      ["sidecar-blocks", DEFAULT_LINK.bytesPerSecond],
      ["sidecar-lines", Number.POSITIVE_INFINITY],
    ] as const) {
      const report = await run(withSidecar, name, bytesPerSecond);
      // The sidecar (size and body), the spot check of two chunk indexes, the small datasets in two
      // coalesced reads and the coordinate blocks of six beams: 21 requests.
      expect(report.requests, name).toBeLessThanOrEqual(24);
      // Besides the sidecar and the coordinate chunks: the spot check's blocks and the small datasets.
      expect(report.bytesRead, name).toBeLessThanOrEqual(coordinateBytes + sidecarBytes + 192 * 1024);
      expect(report.bytesRead, name).toBeLessThan(0.25 * size);
    }
  });
});
