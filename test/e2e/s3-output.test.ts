/**
 * Query results written to S3 (`query --out s3://bucket/key`), against s3rver on loopback (with the
 * test server's front: AbortMultipartUpload and the pending-upload listing are added there, s3rver
 * has neither). Large outputs go up in parts; a failure leaves no object and no pending upload.
 * Streaming while the query runs, SIGTERM mid-stream and a failing server: s3-stream.test.ts.
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { uploadFile } from "../../src/export/s3-output.js";
import { index, openStore, type SourceError, writeGeoParquet } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { BIN, type CliRun, ROOT, runCli } from "../support/cli.js";
import { boxPolygon, readResultRows } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIAOUTPUTTEST", secretAccessKey: "output-test-secret-0123456789" };
const MiB = 1024 * 1024;
/** A box over the first demo granule. */
const BOX = boxPolygon(-45.4, 62.6, -44.6, 63.0);

let dir: string;
let server: S3TestServer;
let s3: S3Objects;

function cli(args: string[]): Promise<CliRun> {
  return runCli(args, {
    onlyEnv: true,
    env: {
      HOME: dir,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_ENDPOINT_URL: server.endpoint,
    },
  });
}

describe("query outputs on S3", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-s3-out-"));
    server = await startS3Server({ buckets: ["results"], privateBuckets: ["results"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uploads a large output in parts, and aborts the upload when a part fails, leaving nothing", async () => {
    const file = join(dir, "big.bin");
    const bytes = new Uint8Array(11 * MiB).map((_, i) => (i * 7) & 0xff);
    writeFileSync(file, bytes);
    const s3opts = { endpoint: server.endpoint, credentials: KEY };
    await uploadFile(file, "s3://results/big.bin", { s3: s3opts, partBytes: 5 * MiB });
    const parts = server.seen.filter((r) => r.method === "PUT" && r.path === "/results/big.bin");
    expect(parts).toHaveLength(3);
    expect(Buffer.from((await s3.get("s3://results/big.bin"))!.body).equals(bytes)).toBe(true);

    // The second part fails (no retries): the upload is aborted, no object, no pending upload.
    let sent = 0;
    const failing = {
      ...s3opts,
      retries: 0,
      fetch: (url: string, init: RequestInit) => {
        if (init.method === "PUT" && url.includes("partNumber=2")) sent += 1;
        if (sent === 1 && url.includes("partNumber=2")) return Promise.reject(new Error("connection reset"));
        return fetch(url, init);
      },
    };
    const err = (await uploadFile(file, "s3://results/failed.bin", { s3: failing, partBytes: 5 * MiB }).catch(
      (e: unknown) => e,
    )) as SourceError;
    expect(err.message).toBe("s3://results/failed.bin: PUT failed (connection reset)");
    expect(await s3.get("s3://results/failed.bin")).toBeUndefined();
    expect(await server.pendingUploads("results")).toEqual([]);
  });

  it("query --out s3:// uploads the result; a failing query leaves no object and no pending upload", async () => {
    mkdirSync(join(dir, "g"));
    const granule = await writeSyntheticAtl06(join(dir, "g"), demoGranuleSet()[0]!);
    const store = join(dir, "store");
    await index([granule], { store });
    const local = join(dir, "local.parquet");
    const result = (await openStore(store)).query({ aoi: BOX });
    await writeGeoParquet(result, local, { bbox: result.aoi.bbox });
    const expected = await readResultRows(local);
    expect(expected.length).toBeGreaterThan(0);

    const polygon = JSON.stringify(BOX);
    const run = await cli([
      "query",
      "--store",
      store,
      "--polygon",
      polygon,
      "--out",
      "s3://results/q/greenland.parquet",
    ]);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toBe(`wrote ${expected.length} rows to s3://results/q/greenland.parquet\n`);
    const downloaded = join(dir, "downloaded.parquet");
    writeFileSync(downloaded, (await s3.get("s3://results/q/greenland.parquet"))!.body);
    expect(await readResultRows(downloaded)).toEqual(expected);

    // The granule changes after indexing: the query fails, and nothing appears in the bucket.
    const bytes = readFileSync(granule);
    copyFileSync(granule, join(dir, "original.h5"));
    writeFileSync(granule, Buffer.concat([bytes, Buffer.alloc(1)]));
    const failed = await cli([
      "query",
      "--store",
      store,
      "--polygon",
      polygon,
      "--out",
      "s3://results/q/failed.csv",
    ]);
    expect(failed.code).toBe(2);
    expect(failed.stderr.trim().split("\n")).toHaveLength(1);
    expect((await s3.list("s3://results/q/")).map((o) => o.key)).toEqual(["q/greenland.parquet"]);
    expect(await server.pendingUploads("results")).toEqual([]);
    copyFileSync(join(dir, "original.h5"), granule);
  });

  it("SIGINT during a multipart upload: the query exits at once, leaving no object, no pending upload, no temporary", async () => {
    mkdirSync(join(dir, "g2"));
    const granule = await writeSyntheticAtl06(join(dir, "g2"), demoGranuleSet()[0]!);
    const store = join(dir, "store-big");
    await index([granule], { store });
    // SIGTERM while a streamed output's parts go up: test/e2e/s3-stream.test.ts.
    for (const [signal, code, part] of [["SIGINT", 130, "1"]] as const) {
      const url = `s3://results/big/${signal}.csv`;
      const tmp = mkdtempSync(join(dir, "tmp-"));
      // Every row of the granule as CSV (over 10 MiB) in parts of 5 MiB.
      const child = spawn(
        process.execPath,
        [BIN, "query", "--store", store, "--polygon", "-50,55,-40,70", "--out", url],
        {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            TMPDIR: tmp,
            GEOCHUNKS_S3_PART_MIB: "5",
            AWS_ACCESS_KEY_ID: KEY.accessKeyId,
            AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
            AWS_ENDPOINT_URL: server.endpoint,
          },
        },
      );
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
      let interrupted = false;
      // The part is held until the process has exited: an interrupted upload does not wait for it.
      server.onWrite(async (req) => {
        if (req.phase !== "before" || req.params.get("partNumber") !== part || interrupted) return undefined;
        interrupted = true;
        child.kill(signal);
        await closed;
        return "drop";
      });
      try {
        expect([await closed, interrupted], stderr).toEqual([code, true]);
      } finally {
        server.onWrite(undefined);
      }
      expect(await s3.get(url)).toBeUndefined();
      expect(await server.pendingUploads("results")).toEqual([]);
      expect(readdirSync(tmp)).toEqual([]);
      // The multipart upload was begun and aborted, as S3's ListMultipartUploads would show.
      const uploads = server.seen.filter((r) => r.path === `/results/big/${signal}.csv`).map((r) => r.method);
      expect(uploads).toContain("DELETE");
    }
    expect(await s3.list("s3://results/big/")).toEqual([]);
  }, 120_000);
});
