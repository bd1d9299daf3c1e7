import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index, openStore } from "../../src/index.js";
import type { SourceOptions } from "../../src/source/index.js";
import { mergeBatches } from "../../src/store/parts.js";
import { Store } from "../../src/store/store.js";
import { runCli } from "../support/cli.js";
import { boxPolygon } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

/** A box over the first demo granule. */
const BOX = boxPolygon(-45.4, 62.6, -44.6, 63.0);
/**
 * A box of about 5 km around the centre of a chunk row's bbox: a 200 km chunk of a near-straight
 * track runs corner to corner, through the centre.
 */
function boxAt(b: { xmin: number; ymin: number; xmax: number; ymax: number }): string {
  const [x, y] = [(b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2];
  return `${x - 0.05},${y - 0.02},${x + 0.05},${y + 0.02}`;
}
const KEY: TestKey = { accessKeyId: "AKIAREMOTESTORE", secretAccessKey: "remote-store-secret-0123456789" };

/** Every file of a folder, relative paths. */
const filesOf = (dir: string) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => statSync(join(dir, f)).isFile());
const bytesOf = (dir: string) => filesOf(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);

describe("stores read over HTTP and S3: same answers, few bytes, a cache", () => {
  let dir: string;
  let www: string;
  let http: RangeServer;
  let s3: S3TestServer;
  let localRows: unknown[];
  let SMALL_BOX: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-remote-store-"));
    www = join(dir, "www");
    mkdirSync(join(dir, "granules"), { recursive: true });
    const granules: string[] = [];
    for (const opts of demoGranuleSet().slice(0, 1))
      granules.push(await writeSyntheticAtl06(join(dir, "granules"), opts));
    await index(granules, { store: join(www, "store") });
    localRows = await (await openStore(join(www, "store"))).query({ aoi: BOX }).toRows();
    // A store of many granules (index rows only, no granule files) for the byte budget.
    const random = seededRandom(5);
    const many = await Store.open(join(www, "many"), { create: true });
    await many.commit(mergeBatches(Array.from({ length: 40 }, (_, g) => syntheticBatch(g, random))));
    const chunks = await many.chunks();
    SMALL_BOX = boxAt(chunks.find((c) => c.granule_id === "G000011" && c.bbox.ymax - c.bbox.ymin > 1)!.bbox);
    http = await startRangeServer({ root: www });
    s3 = await startS3Server({ buckets: ["stores"], keys: [KEY] });
    for (const f of filesOf(join(www, "store")))
      await s3.put("stores", `published/store/${f}`, readFileSync(join(www, "store", f)));
  });
  afterAll(async () => {
    await http?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a query of the store over HTTP gives the local rows", async () => {
    expect(localRows.length).toBeGreaterThan(100);
    const remote = await openStore(`${http.url}store`, { cacheDir: join(dir, "cache-http") });
    expect(await remote.query({ aoi: BOX }).toRows()).toEqual(localRows);
  });

  it("a query of the store on S3 gives the local rows", async () => {
    const source: SourceOptions = { s3: { endpoint: s3.endpoint, credentials: KEY, region: "us-east-1" } };
    const remote = await openStore("s3://stores/published/store", {
      source,
      cacheDir: join(dir, "cache-s3"),
    });
    expect(await remote.query({ aoi: BOX }).toRows()).toEqual(localRows);
  });

  it("a small AOI on a store of many granules reads a small part of it; the second query is served from the cache", async () => {
    const cacheDir = join(dir, "cache-many");
    const total = bytesOf(join(www, "many"));
    const plan = async () => {
      http.resetStats();
      const store = await openStore(`${http.url}many`, { cacheDir });
      const planned = await store.query({ aoi: SMALL_BOX }).plan();
      return { planned, requests: http.stats.requests, bytes: http.stats.bytes };
    };
    const first = await plan();
    expect(first.planned.chunksCandidate).toBeGreaterThan(0);
    const local = await (await openStore(join(www, "many"))).query({ aoi: SMALL_BOX }).plan();
    expect(first.planned).toEqual(local);
    // The store is a few MB, so one row group of chunk rows (512 rows, ~0.45 MB) is already a
    // tenth of it; measured 33% (footers, the test columns of the row groups whose bbox statistics meet the
    // AOI, all columns of the two holding candidates), not counting `chunk_cells`, which the
    // selection does not read. bench/store-scale.ts measures the fraction on an archive-like store.
    expect(first.bytes / total).toBeLessThan(0.4);
    // The parts a selection opens: chunks (with their cells) and the granules and arrays tables.
    const parts = readdirSync(join(www, "many"), { recursive: true }).filter(
      (f) => String(f).endsWith(".parquet") && !String(f).startsWith("chunk_cells/"),
    );
    // The manifest (a probe and a GET), one probe per part, and few range reads per part.
    expect(first.requests).toBeLessThanOrEqual(2 + parts.length * 4);
    const second = await plan();
    expect(second.planned).toEqual(first.planned);
    // Only the manifest and one ETag probe per part: every range comes from the cache.
    expect(second.requests).toBe(2 + parts.length);
    expect(second.bytes).toBe(statSync(join(www, "many", "manifest.json")).size);
    // A part whose ETag changes (the server's ETag follows the modification time) is read again.
    const chunkPart = join(www, "many", String(parts.find((f) => String(f).startsWith("chunks/"))));
    const later = new Date(Date.now() + 5000);
    utimesSync(chunkPart, later, later);
    const third = await plan();
    expect(third.planned).toEqual(first.planned);
    expect(third.bytes).toBeGreaterThan(second.bytes);
  });

  it("the command line queries and runs SQL on a remote store, and names a missing one", async () => {
    const cache = join(dir, "cache-cli");
    const out = join(dir, "remote.csv");
    const local = join(dir, "local.csv");
    const box = "-45.4,62.6,-44.6,63.0";
    const [remote, near] = await Promise.all([
      runCli(["query", "--store", `${http.url}store`, "--polygon", box, "--out", out, "--cache-dir", cache]),
      runCli(["query", "--store", join(www, "store"), "--polygon", box, "--out", local]),
    ]);
    expect(remote.stderr).toBe("");
    expect(remote.code).toBe(0);
    expect(near.code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(local, "utf8"));
    const sql = "SELECT count(*) AS n, count(DISTINCT granule_id) AS g FROM chunks";
    const [viaHttp, direct, missing] = await Promise.all([
      runCli(["sql", "--store", `${http.url}store`, sql, "--format", "csv", "--cache-dir", cache]),
      runCli(["sql", "--store", join(www, "store"), sql, "--format", "csv"]),
      runCli(["describe", "--store", `${http.url}nothing`, "--cache-dir", cache]),
    ]);
    expect(viaHttp.code).toBe(0);
    expect(viaHttp.stdout).toBe(direct.stdout);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `geochunks: ${http.url}nothing: no manifest.json (status 404): no such store`,
    );
  });
});
