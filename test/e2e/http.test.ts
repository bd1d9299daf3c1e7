import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { index, isGeochunksError, openStore, writeGeoParquet } from "../../src/index.js";
import { realGranules } from "../hdf5/granules.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { REAL_BOX as BOX, readResultRows, toMicros } from "../support/results.js";

const granules = realGranules();

describe.skipIf(granules.length === 0)("index and query through a loopback HTTP range server", () => {
  let dir: string;
  let server: RangeServer;
  let urls: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-http-"));
    mkdirSync(join(dir, "www"));
    for (const g of granules) copyFileSync(g, join(dir, "www", basename(g)));
    server = await startRangeServer({ root: join(dir, "www"), latencyMs: 5 });
    urls = granules.map((g) => new URL(basename(g), server.url).href);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives exactly the local result, recording ETags, within a request budget", async () => {
    const store = join(dir, "store");
    await index(urls, { store });
    const s = await openStore(store);
    expect((await s.granules()).every((g) => g.etag !== null && g.url.startsWith("http://127.0.0.1"))).toBe(
      true,
    );
    server.resetStats();
    const result = s.query({ aoi: BOX });
    const out = join(dir, "http.parquet");
    await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
    const expected = await bruteForceAtl06(granules, BOX);
    expect(expected.length).toBeGreaterThan(0);
    expect(await readResultRows(out)).toEqual(toMicros(expected));
    // Two rounds of range reads for the one granule with candidates; no HDF5 metadata is opened.
    expect(result.stats.requests).toBeLessThanOrEqual(36);
    expect(result.stats.bytes_read).toBeLessThanOrEqual(result.stats.bytes_minimal * 1.1);
    expect(server.stats.requests).toBeLessThanOrEqual(result.stats.requests + result.stats.granules);
    expect(server.stats.bytes).toBe(result.stats.bytes_read);
  });

  it("re-indexing unchanged URLs is a no-op; a changed object fails the query naming the granule", async () => {
    const store = join(dir, "store2");
    await index(urls, { store });
    expect((await index(urls, { store })).unchanged).toHaveLength(urls.length);
    const target = join(dir, "www", basename(granules[0]!));
    writeFileSync(target, Buffer.concat([readFileSync(target), Buffer.alloc(8)]));
    const s = await openStore(store);
    const err = await (async () => {
      for await (const _ of s.query({ aoi: BOX })) {
        // draining
      }
    })().catch((e: unknown) => e);
    expect(isGeochunksError(err, "IndexMismatchError")).toBe(true);
    expect((err as Error).message).toMatch(
      /ATL06_20230816161508_08782002_006_02: file changed since it was indexed/,
    );
  });
});
