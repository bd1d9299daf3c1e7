import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, isGeochunksError, openStore, type SourceError, writeGeoParquet } from "../../src/index.js";
import type { SourceOptions } from "../../src/source/index.js";
import { realGranules } from "../hdf5/granules.js";
import { type CliRun, runCli } from "../support/cli.js";
import { bruteForceAtl06, type OracleRow } from "../support/oracle.js";
import { boxPolygon, REAL_BOX, readResultRows, toMicros } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const real = realGranules();
/** A box over the first two demo granules, for the synthetic run. */
const SYNTHETIC_BOX = boxPolygon(-45.4, 62.6, -44.6, 63.0);
const KEY: TestKey = {
  accessKeyId: "ASIAE2EGEOCHUNKS",
  secretAccessKey: "e2e-secret-value-0123456789abcdef",
  sessionToken: "e2e-session-token-FEDCBA9876543210",
};

/** Runs the command line with exactly the given environment (plus PATH), like a user's shell. */
function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(args, { env, onlyEnv: true });
}

/** Every file under `dir`, as text (Parquet metadata and manifests included). */
function storeText(dir: string): string {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .map((f) => {
      try {
        return readFileSync(join(dir, f)).toString("latin1");
      } catch {
        return "";
      }
    })
    .join("\n");
}

describe("index and query s3:// granules on a loopback S3 server", () => {
  let dir: string;
  // The real granules where they are at hand, else two synthetic ones.
  let granules: string[];
  let BOX: object;
  let server: S3TestServer;
  let oracle: OracleRow[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-s3-e2e-"));
    if (real.length > 0) {
      granules = real;
      BOX = REAL_BOX;
    } else {
      mkdirSync(join(dir, "granules"));
      granules = [];
      for (const opts of demoGranuleSet().slice(0, 2))
        granules.push(await writeSyntheticAtl06(join(dir, "granules"), opts));
      BOX = SYNTHETIC_BOX;
    }
    server = await startS3Server({
      buckets: ["private-atl06", "public-atl06"],
      privateBuckets: ["private-atl06"],
      keys: [KEY],
    });
    for (const g of granules) {
      const bytes = readFileSync(g);
      await server.put("private-atl06", `ATLAS/ATL06/006/${basename(g)}`, bytes);
      await server.put("public-atl06", basename(g), bytes);
    }
    oracle = toMicros(await bruteForceAtl06(granules, BOX));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const signed = (): SourceOptions => ({ s3: { endpoint: server.endpoint, credentials: KEY } });
  const queryRows = async (store: string, out: string, source: SourceOptions) => {
    const result = (await openStore(store)).query({ aoi: BOX, source });
    await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
    return readResultRows(out);
  };

  it("gives exactly the local result from a private bucket with temporary credentials, storing no secret", async () => {
    const store = join(dir, "private");
    const urls = granules.map((g) => `s3://private-atl06/ATLAS/ATL06/006/${basename(g)}`);
    const report = await index(urls, { store, source: signed() });
    expect(report.added).toHaveLength(granules.length);
    const rows = await (await openStore(store)).granules();
    expect(rows.map((g) => g.url).sort()).toEqual([...urls].sort());
    expect(rows.every((g) => /^"[0-9a-f]{32}"$/.test(g.etag ?? ""))).toBe(true);
    expect(oracle.length).toBeGreaterThan(0);
    expect(await queryRows(store, join(dir, "private.parquet"), signed())).toEqual(oracle);
    const text = storeText(store) + readFileSync(join(dir, "private.parquet")).toString("latin1");
    for (const secret of [KEY.secretAccessKey, KEY.sessionToken!]) expect(text).not.toContain(secret);
    expect((await index(urls, { store, source: signed() })).unchanged).toHaveLength(granules.length);
  });

  it("gives exactly the local result from an anonymous bucket with no credentials", async () => {
    const store = join(dir, "public");
    const urls = granules.map((g) => `s3://public-atl06/${basename(g)}`);
    const anonymous: SourceOptions = { s3: { endpoint: server.endpoint } };
    await index(urls, { store, source: anonymous });
    expect(await queryRows(store, join(dir, "public.parquet"), anonymous)).toEqual(oracle);
    expect(
      server.seen.filter((r) => r.path.startsWith("/public-atl06/")).every((r) => !r.headers.authorization),
    ).toBe(true);
  });

  it("refuses wrong credentials with 403 naming the object, without the secret, leaving store and output untouched", async () => {
    const store = join(dir, "private");
    const before = storeText(store);
    const wrong: SourceOptions = {
      s3: { endpoint: server.endpoint, credentials: { ...KEY, secretAccessKey: "not-the-secret-at-all" } },
    };
    const first = `s3://private-atl06/ATLAS/ATL06/006/${basename(granules[0]!)}`;
    const failed = (await index([first], { store, source: wrong }).catch((e: unknown) => e)) as SourceError;
    expect(isGeochunksError(failed, "SourceError")).toBe(true);
    expect(failed.status).toBe(403);
    expect(failed.message).toMatch(
      /^access to s3:\/\/private-atl06\/ATLAS\/ATL06\/006\/ATL06_\S+\.h5 denied \(HTTP 403 SignatureDoesNotMatch\)/,
    );
    const out = join(dir, "denied.parquet");
    const denied = (await queryRows(store, out, wrong).catch((e: unknown) => e)) as SourceError;
    expect(denied.status).toBe(403);
    expect(denied.url).toMatch(/^s3:\/\/private-atl06\/ATLAS\/ATL06\/006\/ATL06_\S+\.h5$/);
    for (const err of [failed, denied]) {
      expect(`${err.message} ${String(err.stack)} ${JSON.stringify(err)}`).not.toContain(
        "not-the-secret-at-all",
      );
    }
    expect(readdirSync(dir).filter((f) => f.startsWith("denied"))).toEqual([]);
    expect(storeText(store)).toBe(before);
    const anonymous = (await index([first], { store, source: { s3: { endpoint: server.endpoint } } }).catch(
      (e: unknown) => e,
    )) as SourceError;
    expect(anonymous.message).toMatch(/denied \(HTTP 403 AccessDenied\)/);
  });

  it("the CLI reads credentials from the environment and prints no secret; wrong ones exit 2 with one line", async () => {
    const home = join(dir, "home");
    mkdirSync(home, { recursive: true });
    const env = {
      HOME: home,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_SESSION_TOKEN: KEY.sessionToken!,
      AWS_ENDPOINT_URL: server.endpoint,
    };
    const store = join(dir, "cli-store");
    const out = join(dir, "cli.parquet");
    const urls = granules.map((g) => `s3://private-atl06/ATLAS/ATL06/006/${basename(g)}`);
    const indexed = await cli(["index", ...urls, "--store", store, "--quiet"], env);
    expect(indexed.stderr).toBe("");
    expect(indexed.code).toBe(0);
    const polygon = JSON.stringify(BOX);
    const queried = await cli(
      ["query", "--store", store, "--polygon", polygon, "--out", out, "--stats"],
      env,
    );
    expect(queried.code).toBe(0);
    expect(await readResultRows(out)).toEqual(oracle);
    const wrong = { ...env, AWS_SECRET_ACCESS_KEY: "wrong-secret-from-env" };
    const failed = await cli(
      ["query", "--store", store, "--polygon", polygon, "--out", join(dir, "cli-wrong.parquet")],
      wrong,
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr.trim().split("\n")).toHaveLength(1);
    expect(failed.stderr).toMatch(
      /^geochunks: access to s3:\/\/private-atl06\/\S+ denied \(HTTP 403 SignatureDoesNotMatch\)/,
    );
    expect(readdirSync(dir).filter((f) => f.startsWith("cli-wrong"))).toEqual([]);
    const printed = [indexed, queried, failed].map((r) => r.stdout + r.stderr).join("\n");
    for (const secret of [KEY.secretAccessKey, KEY.sessionToken!, "wrong-secret-from-env"]) {
      expect(printed).not.toContain(secret);
    }
  });
});
