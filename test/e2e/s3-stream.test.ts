/**
 * Query outputs streamed to S3 while the query runs (`query --out s3://...` in a format written front
 * to back), through the real command line against s3rver on loopback. The granules are on the same
 * server, so its request log (arrival order) orders the granule reads and the part uploads: a part goes
 * up before the query's last granule is read. The test server's write hook holds parts, to count
 * how many the command line has in flight, or fails one, as a failing server would. The query runs
 * with `--concurrency 1`, so the granules are read one after the other.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { SEQUENTIAL_FORMATS, writeResult, writeResultToSink } from "../../src/export/formats.js";
import { index, openStore } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { BIN, type CliRun, ROOT, runCli } from "../support/cli.js";
import { boxPolygon, duckdb } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey, type WriteHook } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIASTREAMTEST", secretAccessKey: "stream-test-secret-0123456789" };
const MiB = 1024 * 1024;
const PART_MIB = 5;
const PART_BYTES = PART_MIB * MiB;
/** Parts in flight the command line is told to keep at most. */
const IN_FLIGHT = 2;
/** Every row of the granules. */
const EVERYWHERE = "-50,55,-40,70";
/** A small box over the granules: a result under one part. */
const BOX = JSON.stringify(boxPolygon(-45.2, 62.75, -44.8, 62.8));
/** Rows per beam of the granules: the CSV of all three is several parts, their GeoParquet under one. */
const SEGMENTS_PER_BEAM = 4_500;
/**
 * Row-rate variables of the synthetic ATL06 beams whose values vary from row to row: with them the
 * GeoParquet of all three granules (81 000 rows, past the writer thread's THREAD_MIN_ROWS) is 5.6 MB,
 * over one part (S3's smallest, 5 MiB), so it streams as a multipart upload of two parts. More parts
 * would take more rows or variables, and seconds more of CI time.
 */
const VARYING_VARS = [
  "fit_statistics/dh_fit_dx",
  "fit_statistics/dh_fit_dx_sigma",
  "fit_statistics/dh_fit_dy",
  "fit_statistics/h_mean",
  "fit_statistics/h_rms_misfit",
  "fit_statistics/h_robust_sprd",
  "fit_statistics/snr",
  "fit_statistics/snr_significance",
  "fit_statistics/w_surface_window_final",
  "geophysical/bsnow_h",
  "geophysical/dac",
  "geophysical/r_eff",
  "geophysical/solar_elevation",
  "geophysical/tide_ocean",
];

let dir: string;
let server: S3TestServer;
let s3: S3Objects;
let store: string;
let granulePaths: string[];
/** The local file of the query of every row, as CSV. */
let allCsv: Buffer;
/** Object path of the granule the query reads last. */
let lastGranule: string;

/** The command line's environment; its TMPDIR does not exist unless `tmp` is given: a streamed output needs no local disk. */
function env(tmp = join(dir, "no-such-tmp")): Record<string, string> {
  return {
    HOME: dir,
    TMPDIR: tmp,
    GEOCHUNKS_S3_PART_MIB: String(PART_MIB),
    GEOCHUNKS_S3_PARTS_IN_FLIGHT: String(IN_FLIGHT),
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
  };
}

function query(polygon: string, out: string): string[] {
  return ["query", "--store", store, "--polygon", polygon, "--concurrency", "1", "--out", out];
}

function cli(args: string[], tmp?: string): Promise<CliRun> {
  return runCli(args, { onlyEnv: true, env: env(tmp) });
}

/** The same query written to a local file through the library. */
async function localResult(
  polygon: string,
  name: string,
  opts: { vars?: string[]; granuleConcurrency?: number } = {},
): Promise<Buffer> {
  const aoi = polygon;
  const source = { s3: { endpoint: server.endpoint, credentials: KEY } };
  const { vars, granuleConcurrency = 1 } = opts;
  const result = (await openStore(store)).query({ aoi, source, granuleConcurrency, vars });
  const path = join(dir, "local", name);
  await writeResult(result, path, { bbox: result.aoi.bbox, emptySchema: await result.schema() });
  return readFileSync(path);
}

/** The requests of the server's log from `from` on, as "METHOD path?query". */
function log(from: number): string[] {
  return server.seen.slice(from).map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ""}`);
}

/** Index in `lines` of the first request for each granule (its object path), in reading order. */
function firstReads(lines: string[]): { path: string; at: number }[] {
  const paths = granulePaths.map((p) => `/granules/${basename(p)}`);
  return paths
    .map((path) => ({ path, at: lines.findIndex((l) => l.startsWith(`GET ${path}`)) }))
    .sort((a, b) => a.at - b.at);
}

/**
 * Holds the reads of the granule the query reads last until `until` resolves (or 30 s passed, so an
 * output that is not streamed fails the test instead of hanging it), and records in `events` each
 * time one of them is answered.
 */
function holdLastGranule(until: Promise<void>, events: string[]): void {
  server.onRead(async (req) => {
    if (req.path !== lastGranule) return;
    await Promise.race([until, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
    events.push("last granule read");
  });
}

/** A promise and the function resolving it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A hook holding the parts of `key` (a path) until `IN_FLIGHT` are held or the last one came, counting
 * the most held; `onPart` is called as each arrives.
 */
function holdParts(key: string, lastPart: number, onPart: (partNumber: number) => void) {
  const held: (() => void)[] = [];
  let outstanding = 0;
  const counts = { most: 0, parts: 0 };
  const hook: WriteHook = async (req) => {
    if (req.path !== key || !req.params.has("partNumber")) return undefined;
    if (req.phase === "after") {
      outstanding -= 1;
      return undefined;
    }
    outstanding += 1;
    counts.parts += 1;
    onPart(Number(req.params.get("partNumber")));
    counts.most = Math.max(counts.most, outstanding);
    const released = new Promise<void>((resolve) => held.push(resolve));
    if (outstanding >= IN_FLIGHT || Number(req.params.get("partNumber")) === lastPart) {
      for (const release of held.splice(0)) release();
    }
    await released;
    return undefined;
  };
  return { hook, counts };
}

describe("query outputs streamed to S3", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-s3-stream-"));
    server = await startS3Server({ buckets: ["granules", "results"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY });
    mkdirSync(join(dir, "g"));
    granulePaths = [];
    for (const opts of demoGranuleSet().slice(0, 3)) {
      const path = await writeSyntheticAtl06(join(dir, "g"), { ...opts, segmentsPerBeam: SEGMENTS_PER_BEAM });
      await server.put("granules", basename(path), readFileSync(path));
      granulePaths.push(path);
    }
    store = join(dir, "store");
    const urls = granulePaths.map((p) => `s3://granules/${basename(p)}`);
    await index(urls, { store, source: { s3: { endpoint: server.endpoint, credentials: KEY } } });
    const from = server.seen.length;
    allCsv = await localResult(EVERYWHERE, "all.csv");
    lastGranule = firstReads(log(from)).at(-1)!.path;
  }, 120_000);
  afterEach(() => {
    server.onRead(undefined);
    server.onWrite(undefined);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads CSV parts while the query still reads granules, at most the set number in flight, completing last; the object equals the local file", async () => {
    const expected = allCsv;
    const lastPart = Math.ceil(expected.length / PART_BYTES);
    expect(lastPart).toBeGreaterThanOrEqual(3);
    const key = "/results/stream/all.csv";
    const events: string[] = [];
    const partOne = signal();
    const { hook, counts } = holdParts(key, lastPart, (n) => {
      events.push(`part ${n}`);
      if (n === 1) partOne.resolve();
    });
    const from = server.seen.length;
    server.onWrite(hook);
    holdLastGranule(partOne.promise, events);
    const run = await cli(query(EVERYWHERE, `s3:/${key}`));
    const rows = expected.toString("utf8").split("\n").length - 2;
    expect([run.code, run.stderr, run.stdout]).toEqual([0, "", `wrote ${rows} rows to s3:/${key}\n`]);
    expect(Buffer.from((await s3.get(`s3:/${key}`))!.body).equals(expected)).toBe(true);

    // The first part arrived while the last granule's reads were held: before it was read.
    expect(events[0]).toBe("part 1");
    expect(events).toContain("last granule read");
    const lines = log(from);
    const reads = firstReads(lines);
    expect(reads.map((r) => r.path).at(-1)).toBe(lastGranule);
    expect(lines.findIndex((l) => l.startsWith(`PUT ${key}?partNumber=1&`))).toBeGreaterThan(reads[0]!.at);
    // Exactly the set number of parts were in flight at the most; every part once; completion last.
    expect(counts).toEqual({ most: IN_FLIGHT, parts: lastPart });
    const mine = lines.filter((l) => l.startsWith(`POST ${key}`) || l.startsWith(`PUT ${key}`));
    expect(mine[0]).toBe(`POST ${key}?uploads=`);
    expect(mine.at(-1)).toMatch(new RegExp(`^POST ${key}\\?uploadId=[0-9a-f]+$`));
    expect(mine).toHaveLength(lastPart + 2);
    expect(await server.pendingUploads("results")).toEqual([]);
    expect(() => statSync(join(dir, "no-such-tmp"))).toThrow(/ENOENT/);
  }, 60_000);

  it("streams GeoParquet byte for byte as written locally, as one PUT when under a part; FlatGeobuf goes through a temporary file", async () => {
    const expected = await localResult(EVERYWHERE, "all.parquet");
    expect(expected.length).toBeLessThan(PART_BYTES);
    const from = server.seen.length;
    const run = await cli(query(EVERYWHERE, "s3://results/stream/all.parquet"));
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(log(from).filter((l) => l.includes("/results/stream/all.parquet"))).toEqual([
      "PUT /results/stream/all.parquet",
    ]);
    expect(Buffer.from((await s3.get("s3://results/stream/all.parquet"))!.body).equals(expected)).toBe(true);
    expect(() => statSync(join(dir, "no-such-tmp"))).toThrow(/ENOENT/);

    // FlatGeobuf rewrites its header at the end: it needs a temporary folder, left empty.
    const tmp = mkdtempSync(join(dir, "tmp-"));
    const small = await localResult(BOX, "box.fgb");
    const at = server.seen.length;
    const box = await cli(query(BOX, "s3://results/stream/box.fgb"), tmp);
    expect([box.code, box.stderr]).toEqual([0, ""]);
    expect(log(at).filter((l) => l.includes("/results/stream/box.fgb"))).toEqual([
      "PUT /results/stream/box.fgb",
    ]);
    expect(Buffer.from((await s3.get("s3://results/stream/box.fgb"))!.body).equals(small)).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it("streams a GeoParquet result of several parts (encoded on the writer thread): DuckDB reads the object's rows as the local file's", async () => {
    // The default concurrency: this test is about the output, not the order of the reads.
    const expected = await localResult(EVERYWHERE, "vars.parquet", {
      vars: VARYING_VARS,
      granuleConcurrency: 4,
    });
    const lastPart = Math.ceil(expected.length / PART_BYTES);
    expect(lastPart).toBeGreaterThanOrEqual(2);
    const key = "/results/stream/vars.parquet";
    const from = server.seen.length;
    const run = await cli([
      ...["query", "--store", store, "--polygon", EVERYWHERE, "--out", `s3:/${key}`],
      ...["--vars", VARYING_VARS.join(",")],
    ]);
    expect([run.code, run.stderr, run.stdout]).toEqual([0, "", `wrote 81000 rows to s3:/${key}\n`]);
    // A multipart upload: created, every part once in order, completed last; nothing left pending.
    const mine = log(from).filter((l) => l.startsWith(`POST ${key}`) || l.startsWith(`PUT ${key}`));
    expect(mine[0]).toBe(`POST ${key}?uploads=`);
    const parts = mine.slice(1, -1).map((l) => Number(/[?&]partNumber=(\d+)/.exec(l)?.[1]));
    expect(parts).toEqual(Array.from({ length: lastPart }, (_, i) => i + 1));
    expect(mine.at(-1)).toMatch(new RegExp(`^POST ${key}\\?uploadId=[0-9a-f]+$`));
    expect(await server.pendingUploads("results")).toEqual([]);
    expect(() => statSync(join(dir, "no-such-tmp"))).toThrow(/ENOENT/);
    // The object, byte for byte the local file, and read back by DuckDB: the same rows, every column.
    const object = Buffer.from((await s3.get(`s3:/${key}`))!.body);
    expect(object.equals(expected)).toBe(true);
    const got = join(dir, "local", "vars-from-s3.parquet");
    writeFileSync(got, object);
    const local = join(dir, "local", "vars.parquet");
    const rows = (path: string) => `SELECT * FROM read_parquet('${path}')`;
    // As many rows in each, and none of the object's missing from the local file: the same rows.
    const [compared] = await duckdb(
      `SELECT (SELECT count(*) FROM read_parquet('${got}'))::INT AS n,
              (SELECT count(*) FROM read_parquet('${local}'))::INT AS n_local,
              (SELECT count(*) FROM (${rows(got)} EXCEPT ALL ${rows(local)}))::INT AS only_s3,
              (SELECT count(*) FROM (DESCRIBE ${rows(got)}))::INT AS columns`,
    );
    expect(compared).toEqual({ n: 81_000, n_local: 81_000, only_s3: 0, columns: expect.any(Number) });
    expect(compared!.columns).toBeGreaterThan(VARYING_VARS.length);
  }, 90_000);

  it("a server failing the second part: exit 1, one error line naming the output, no object, no pending upload", async () => {
    const url = "s3://results/stream/failed.csv";
    const from = server.seen.length;
    server.onWrite((req) =>
      req.phase === "before" &&
      req.path === "/results/stream/failed.csv" &&
      req.params.get("partNumber") === "2"
        ? { status: 500, code: "InternalError" }
        : undefined,
    );
    const run = await cli(query(EVERYWHERE, url));
    const mine = log(from).filter((l) => l.includes("/results/stream/failed.csv"));
    expect([run.code, run.stdout, run.stderr]).toEqual([
      1,
      "",
      `geochunks: ${url}: PUT failed (HTTP 500 InternalError)\n`,
    ]);
    expect(await s3.get(url)).toBeUndefined();
    expect(await server.pendingUploads("results")).toEqual([]);
    expect(mine.at(-1)).toMatch(/^DELETE \/results\/stream\/failed\.csv\?uploadId=[0-9a-f]+$/);
    expect(mine.some((l) => l.startsWith("POST /results/stream/failed.csv?uploadId="))).toBe(false);
  }, 60_000);

  it("SIGTERM while parts stream: exit 143 before the last granule is read, no object, no pending upload", async () => {
    const url = "s3://results/stream/sigterm.csv";
    const from = server.seen.length;
    const child = spawn(process.execPath, [BIN, ...query(EVERYWHERE, url)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env() },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const events: string[] = [];
    const partOne = signal();
    holdLastGranule(partOne.promise, events);
    // Killed as the first part arrives, which is held until the process has exited: an interrupted
    // upload does not wait for it.
    server.onWrite(async (req) => {
      if (req.phase !== "before" || req.path !== "/results/stream/sigterm.csv") return undefined;
      if (req.params.get("partNumber") !== "1" || events.includes("kill")) return undefined;
      events.push("kill");
      child.kill("SIGTERM");
      partOne.resolve();
      await closed;
      return "drop";
    });
    expect(await closed, stderr).toBe(143);
    expect(events[0]).toBe("kill");
    expect(await s3.get(url)).toBeUndefined();
    expect(await server.pendingUploads("results")).toEqual([]);
    const mine = log(from).filter((l) => l.includes("/results/stream/sigterm.csv") && !l.startsWith("GET"));
    expect(mine[0]).toBe("POST /results/stream/sigterm.csv?uploads=");
    expect(mine.at(-1)).toMatch(/^DELETE \/results\/stream\/sigterm\.csv\?uploadId=[0-9a-f]+$/);
  }, 60_000);
  it("writes to a byte sink the bytes it writes to a file, in every format that streams; FlatGeobuf and GeoPackage need a file", async () => {
    const result = (await openStore(store)).query({
      aoi: BOX,
      source: { s3: { endpoint: server.endpoint, credentials: KEY } },
    });
    const batches: RecordBatch[] = [];
    for await (const batch of result) batches.push(batch);
    expect(batches.length).toBeGreaterThan(1);
    async function* replay() {
      yield* batches;
    }
    const opts = { bbox: result.aoi.bbox, emptySchema: batches[0]!.schema };
    for (const format of ["parquet", "csv", "geojson", "geojsonl"] as const) {
      expect(SEQUENTIAL_FORMATS.has(format)).toBe(true);
      const path = join(dir, "local", `sink.${format}`);
      await writeResult(replay(), path, { ...opts, format });
      const chunks: Buffer[] = [];
      const sink = { write: async (bytes: Uint8Array) => void chunks.push(Buffer.from(bytes)) };
      const rows = await writeResultToSink(replay(), sink, { ...opts, format });
      expect(rows, format).toBe(batches.reduce((n, b) => n + b.numRows, 0));
      expect(Buffer.concat(chunks).equals(readFileSync(path)), format).toBe(true);
    }
    for (const format of ["fgb", "gpkg"] as const) {
      expect(SEQUENTIAL_FORMATS.has(format)).toBe(false);
      await expect(
        writeResultToSink(replay(), { write: async () => {} }, { ...opts, format }),
      ).rejects.toThrow(`${format}: this format is written to a file, not streamed`);
    }
  });

  it("a bad GEOCHUNKS_S3_PARTS_IN_FLIGHT: exit 2, one line naming it, nothing read or uploaded", async () => {
    const from = server.seen.length;
    const run = await runCli(query(EVERYWHERE, "s3://results/stream/bad.csv"), {
      onlyEnv: true,
      env: { ...env(), GEOCHUNKS_S3_PARTS_IN_FLIGHT: "0" },
    });
    expect([run.code, run.stdout, run.stderr]).toEqual([
      2,
      "",
      "geochunks: GEOCHUNKS_S3_PARTS_IN_FLIGHT=0: not a number of parts from 1 to 64\n",
    ]);
    expect(log(from)).toEqual([]);
  });
});
