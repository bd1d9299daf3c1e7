/**
 * Faults object stores produce, injected by the loopback range server while the public API indexes and
 * queries real granules over HTTP. Each fault either is survived (the result equals the oracle exactly)
 * or fails with a clear error naming the object; a failed query leaves no output file and a failed
 * index run leaves the store byte for byte as it was.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nominalStart, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type Fault, type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index, isGeochunksError, openStore, writeGeoParquet } from "../../src/index.js";
import type { SourceOptions } from "../../src/source/index.js";
import { MISSING_GRANULES, realGranules } from "../hdf5/granules.js";
import { bruteForceAtl06, type OracleRow } from "../support/oracle.js";
import { REAL_BOX as BOX, readResultRows, toMicros } from "../support/results.js";

const granules = realGranules();
if (granules.length === 0) console.warn(`test/e2e/faults.test.ts: ${MISSING_GRANULES}`);

/** Short backoff and stall timeout so that retried faults cost milliseconds, not seconds. */
const SOURCE: SourceOptions = { http: { retries: 4, backoff: { baseMs: 1, maxMs: 10 }, timeoutMs: 400 } };

/**
 * For every distinct request (method, path, range), or one in `every` of them, the faults in order on
 * its first attempts, then none.
 */
function firstAttempts(faults: Fault[], every = 1): (req: IncomingMessage) => Fault | undefined {
  const attempts = new Map<string, number>();
  const chosen = new Set<string>();
  return (req) => {
    const key = `${req.method} ${req.url} ${req.headers.range ?? ""}`;
    const n = attempts.get(key) ?? 0;
    attempts.set(key, n + 1);
    if (n === 0 && attempts.size % every === 0) chosen.add(key);
    return chosen.has(key) ? faults[n] : undefined;
  };
}

/** Hash of every file under `dir` (names and contents). */
function snapshot(dir: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const path = join(dir, name);
    hash.update(name);
    try {
      hash.update(readFileSync(path));
    } catch {
      hash.update("<dir>");
    }
  }
  return hash.digest("hex");
}

describe.skipIf(granules.length === 0)("faults while indexing and querying over HTTP", () => {
  let dir: string;
  let server: RangeServer;
  let urls: string[];
  let oracle: OracleRow[];
  let clean: string;
  let outputs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-faults-"));
    mkdirSync(join(dir, "www"));
    for (const g of granules) copyFileSync(g, join(dir, "www", basename(g)));
    server = await startRangeServer({ root: join(dir, "www") });
    urls = granules.map((g) => new URL(basename(g), server.url).href);
    oracle = toMicros(await bruteForceAtl06(granules, BOX));
    expect(oracle.length).toBeGreaterThan(0);
    clean = join(dir, "clean");
    await index(urls, { store: clean, source: SOURCE });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Queries the clean store under `fault`; the rows, or the error (then no output file may exist). */
  const query = async (fault: ((req: IncomingMessage) => Fault | undefined) | undefined) => {
    const out = join(dir, `out-${outputs++}.parquet`);
    server.setFault(fault);
    try {
      const result = (await openStore(clean)).query({ aoi: BOX, source: SOURCE });
      await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
      return { rows: await readResultRows(out) };
    } catch (err) {
      expect(readdirSync(dir).filter((f) => f.startsWith(basename(out)))).toEqual([]);
      return { err: err as Error & { status?: number; url?: string } };
    } finally {
      server.setFault(undefined);
    }
  };

  /** Indexes into a copy of a one-granule store under `fault`; the report, or the error (store unchanged). */
  const indexRun = async (fault: ((req: IncomingMessage) => Fault | undefined) | undefined) => {
    const store = join(dir, `store-${outputs++}`);
    server.setFault(undefined);
    await index(urls.slice(1), { store, source: SOURCE });
    const before = snapshot(store);
    server.setFault(fault);
    try {
      const report = await index(urls, { store, source: SOURCE });
      server.setFault(undefined);
      const result = (await openStore(store)).query({ aoi: BOX, source: SOURCE });
      const out = join(dir, `index-${outputs++}.parquet`);
      await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
      return { report, rows: await readResultRows(out) };
    } catch (err) {
      expect(snapshot(store)).toBe(before);
      return { err: err as Error & { status?: number; url?: string } };
    } finally {
      server.setFault(undefined);
    }
  };

  // Stalls cost a whole timeout each and indexing reads metadata in sequential rounds: one request in 4.
  const transient: [string, Fault[], number?][] = [
    ["bursts of 500 then 503", ["500", "503"]],
    ["SlowDown bursts", ["slowdown", "slowdown", "slowdown"]],
    ["connection resets mid-body", ["reset", "reset"]],
    ["truncated bodies", ["truncate"]],
    ["stalls beyond the timeout", ["stall"], 4],
    ["a mix of every transient fault", ["503", "reset", "truncate", "slowdown"]],
  ];

  for (const [name, faults, every] of transient) {
    it(`survives ${name}: index and query results equal the oracle`, async () => {
      const before = server.stats.requests;
      const q = await query(firstAttempts(faults, every));
      expect(q.err).toBeUndefined();
      expect(q.rows).toEqual(oracle);
      const i = await indexRun(firstAttempts(faults, every));
      expect(i.err).toBeUndefined();
      expect(i.rows).toEqual(oracle);
      expect(server.stats.requests - before).toBeGreaterThan(0);
    });
  }

  it("survives a server that answers every range request with the whole object", async () => {
    const always = () => "ignore-range" as const;
    expect((await query(always)).rows).toEqual(oracle);
    expect((await indexRun(always)).rows).toEqual(oracle);
  });

  const fatal: [string, Fault, number, RegExp][] = [
    [
      "403 AccessDenied",
      "403",
      403,
      /access to http:\/\/127\.0\.0\.1:\d+\/ATL06_\S+\.h5 denied \(HTTP 403 AccessDenied\)/,
    ],
    [
      "404 NoSuchKey",
      "404",
      404,
      /http:\/\/127\.0\.0\.1:\d+\/ATL06_\S+\.h5 not found \(HTTP 404( NoSuchKey)?\)/,
    ],
    [
      "416 for every range",
      "416",
      416,
      /(range \d+\+\d+ passes the end of )?http:\/\/127\.0\.0\.1:\d+\/ATL06_\S+\.h5( answered HTTP 416)?/,
    ],
    ["503 that never ends", "503", 503, /ATL06_\S+\.h5 answered HTTP 503 .*gave up after 5 attempts/],
  ];

  for (const [name, fault, status, message] of fatal) {
    it(`fails on ${name} with an error naming the object; no output, store unchanged`, async () => {
      for (const run of [query, indexRun]) {
        const { err } = await run(() => fault);
        expect(isGeochunksError(err, "SourceError", "IndexMismatchError"), String(err)).toBe(true);
        if (isGeochunksError(err, "SourceError")) expect(err.status).toBe(status);
        expect(err?.message).toMatch(message);
      }
    });
  }

  it("refuses an object whose ETag changes between reads (409 or a mismatch naming the granule)", async () => {
    // Every request after the first of each object sees another version.
    const seen = new Set<string>();
    const changing = (req: IncomingMessage): Fault | undefined => {
      const first = !seen.has(req.url ?? "");
      seen.add(req.url ?? "");
      return first ? undefined : "change-etag";
    };
    const q = await query(changing);
    expect(q.rows).toBeUndefined();
    expect(q.err?.message).toMatch(
      /ATL06_\d{14}_\d{8}_006_0\d.*(changed since first read|file changed since it was indexed)/,
    );
    seen.clear();
    const i = await indexRun(changing);
    expect(i.err).toMatchObject({ status: 409 });
    expect(i.err?.message).toMatch(/ATL06_\S+\.h5 changed since first read \(ETag/);
    // Replaced before the query's first read: the indexed fingerprint no longer matches.
    const replaced = await query(() => "change-etag");
    expect(isGeochunksError(replaced.err, "IndexMismatchError")).toBe(true);
    expect(replaced.err?.message).toMatch(/file changed since it was indexed/);
  });

  it("leaves no temporary file behind in the output folder", () => {
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(existsSync(join(dir, "clean"))).toBe(true);
  });
});

describe("a bound on requests in flight over a whole run", () => {
  const GRANULES = 8;
  const THROUGH = { lat: 62.8, lon: -45.0 };
  const AOI = {
    type: "Polygon",
    coordinates: [
      [
        [-45.3, 62.6],
        [-44.7, 62.6],
        [-44.7, 63.0],
        [-45.3, 63.0],
        [-45.3, 62.6],
      ],
    ],
  };
  let dir: string;
  let server: RangeServer;
  let files: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-limits-"));
    mkdirSync(join(dir, "www"));
    // Eight distinct granules (one RGT over eight cycles) through the same place.
    files = [];
    for (let i = 0; i < GRANULES; i++) {
      const cycle = 3 + i;
      const opts = { segmentsPerBeam: 6000 };
      files.push(
        await writeSyntheticAtl06(join(dir, "www"), {
          seed: 100 + i,
          rgt: 1033,
          cycle,
          through: THROUGH,
          ascending: true,
          start: nominalStart(1033, cycle, THROUGH.lat, true, opts.segmentsPerBeam),
          ...opts,
        }),
      );
    }
    server = await startRangeServer({ root: join(dir, "www"), latencyMs: 5 });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("index and query of many granules never exceed maxRequests, and give every granule's rows", async () => {
    const urls = files.map((f) => new URL(basename(f), server.url).href);
    const source: SourceOptions = { maxRequests: 3, http: { backoff: { baseMs: 1, maxMs: 10 } } };
    const store = join(dir, "store");
    server.resetStats();
    // Without the bound, 8 granules indexed at once have more than 3 requests in flight.
    await index(urls, { store: join(dir, "unbounded"), concurrency: 8 });
    expect(server.stats.maxInFlight).toBeGreaterThan(3);
    server.resetStats();
    const report = await index(urls, { store, concurrency: 8, source });
    expect(report.added).toHaveLength(GRANULES);
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(server.stats.requests).toBeGreaterThan(GRANULES);
    server.resetStats();
    const result = (await openStore(store)).query({ aoi: AOI, source, granuleConcurrency: 6 });
    const out = join(dir, "many.parquet");
    await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
    expect(server.stats.maxInFlight).toBeLessThanOrEqual(3);
    const rows = await readResultRows(out);
    const want = toMicros(await bruteForceAtl06(files, AOI));
    expect(new Set(want.map((r) => r.granule_id)).size).toBe(GRANULES);
    expect(rows).toEqual(want);
  });
});
