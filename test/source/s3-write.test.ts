/**
 * S3 writes (PUT, conditional PUT, DELETE, LIST, multipart upload) against s3rver on loopback. s3rver
 * has no conditional writes, AbortMultipartUpload or multipart listing: the test server puts a front
 * before it (fixtures/servers/s3-conditional.ts, test/support/s3-server.ts) with exactly S3's documented
 * semantics: If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload, 412
 * PreconditionFailed when the condition fails, 409 ConditionalRequestConflict while another write of
 * the key is in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConditionalWriteError, isGeochunksError, SourceError } from "../../src/errors.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIAWRITETEST", secretAccessKey: "write-test-secret-0123456789" };
const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);

describe("S3 writes through S3Objects", () => {
  let server: S3TestServer;
  let s3: S3Objects;

  beforeAll(async () => {
    server = await startS3Server({ buckets: ["writes"], privateBuckets: ["writes"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY, retries: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("puts, gets with the ETag, lists page by page with continuation, and deletes", async () => {
    const keys = ["a/1.txt", "a/2.txt", "a/b/3.txt", "a/c d+e.txt", "z.txt"];
    for (const k of keys) await s3.put(`s3://writes/${k}`, text(`body of ${k}`));
    const got = await s3.get("s3://writes/a/c d+e.txt");
    expect(new TextDecoder().decode(got!.body)).toBe("body of a/c d+e.txt");
    expect(got!.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const listed = await s3.list("s3://writes/a/", { pageSize: 2 });
    expect(listed.map((o) => o.key).sort()).toEqual(keys.filter((k) => k.startsWith("a/")).sort());
    expect(listed.find((o) => o.key === "a/1.txt")!.size).toBe("body of a/1.txt".length);
    expect(Math.abs(Date.now() - listed[0]!.lastModified)).toBeLessThan(600_000);
    // Several pages were read: s3rver answers 2 keys a page.
    const lists = server.seen.filter((r) => r.method === "GET" && r.path === "/writes/");
    expect(lists.length).toBeGreaterThanOrEqual(2);
    await s3.delete("s3://writes/a/1.txt");
    expect(await s3.get("s3://writes/a/1.txt")).toBeUndefined();
    expect((await s3.list("s3://writes/")).map((o) => o.key)).not.toContain("a/1.txt");
  });

  it("If-None-Match: * creates once; If-Match replaces only the version read; failures are ConditionalWriteError", async () => {
    const url = "s3://writes/cond/manifest.json";
    const first = await s3.put(url, text("v1"), { ifNoneMatch: "*" });
    const again = (await s3
      .put(url, text("v1 again"), { ifNoneMatch: "*" })
      .catch((e: unknown) => e)) as ConditionalWriteError;
    expect(isGeochunksError(again, "ConditionalWriteError")).toBe(true);
    expect([again.status, again.code, again.url]).toEqual([412, "PreconditionFailed", url]);
    expect(again.message).toBe(
      `${url}: conditional PUT refused, its condition failed: another writer changed it (HTTP 412 PreconditionFailed)`,
    );
    const second = await s3.put(url, text("v2"), { ifMatch: first });
    expect(second).not.toBe(first);
    const stale = (await s3
      .put(url, text("v3"), { ifMatch: first })
      .catch((e: unknown) => e)) as ConditionalWriteError;
    expect(stale).toBeInstanceOf(ConditionalWriteError);
    expect(stale.status).toBe(412);
    expect(new TextDecoder().decode((await s3.get(url))!.body)).toBe("v2");
    // If-Match on a key that does not exist: S3's 404 NoSuchKey.
    const missing = (await s3
      .put("s3://writes/cond/none", text("x"), { ifMatch: first })
      .catch((e: unknown) => e)) as SourceError;
    expect(missing).toBeInstanceOf(SourceError);
    expect(missing.status).toBe(404);
  });

  it("of many writers racing to create one key with If-None-Match: *, exactly one wins", async () => {
    const url = "s3://writes/race/generation-1.json";
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s3.put(url, text(`writer ${i}`), { ifNoneMatch: "*" })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      const err = (r as PromiseRejectedResult).reason as ConditionalWriteError;
      expect(err).toBeInstanceOf(ConditionalWriteError);
      expect([412, 409]).toContain(err.status);
      expect(err.code).toBe(err.status === 412 ? "PreconditionFailed" : "ConditionalRequestConflict");
    }
    expect(server.conditional.preconditionFailed + server.conditional.conflicts).toBeGreaterThanOrEqual(7);
  });

  it("uploads in parts, completes on a condition, and aborts leaving no pending upload", async () => {
    const url = "s3://writes/multi/result.parquet";
    const part1 = new Uint8Array(5 * MiB).map((_, i) => i & 0xff);
    const part2 = text("tail of the object");
    const id = await s3.createMultipart(url);
    expect(await server.pendingUploads("writes")).toEqual(["multi/result.parquet"]);
    const etags = [await s3.uploadPart(url, id, 1, part1), await s3.uploadPart(url, id, 2, part2)];
    await s3.completeMultipart(url, id, etags, { ifNoneMatch: "*" });
    const got = (await s3.get(url))!.body;
    expect(got.length).toBe(part1.length + part2.length);
    // Compared as one boolean: a deep equality of 5 MiB element by element takes a minute.
    expect(Buffer.from(got.subarray(0, part1.length)).equals(part1)).toBe(true);
    expect(new TextDecoder().decode(got.subarray(part1.length))).toBe("tail of the object");
    expect(await server.pendingUploads("writes")).toEqual([]);

    // Completing over an existing key with If-None-Match: * fails with 412; the upload is then aborted.
    const id2 = await s3.createMultipart(url);
    const e2 = [await s3.uploadPart(url, id2, 1, part2)];
    const refused = (await s3
      .completeMultipart(url, id2, e2, { ifNoneMatch: "*" })
      .catch((e: unknown) => e)) as ConditionalWriteError;
    expect([refused.status, refused.code]).toEqual([412, "PreconditionFailed"]);
    await s3.abortMultipart(url, id2);
    expect(await server.pendingUploads("writes")).toEqual([]);
    expect((await s3.get(url))!.body.length).toBe(part1.length + part2.length);
  });

  it("names the s3:// URL in errors and never the secret", async () => {
    const wrong = new S3Objects({
      endpoint: server.endpoint,
      credentials: { ...KEY, secretAccessKey: "nope-nope-nope" },
      retries: 0,
    });
    const denied = (await wrong.get("s3://writes/z.txt").catch((e: unknown) => e)) as SourceError;
    expect(denied.status).toBe(403);
    expect(denied.message).toBe("access to s3://writes/z.txt denied (HTTP 403 SignatureDoesNotMatch)");
    const noBucket = (await s3
      .put("s3://no-such-bucket/k", text("x"))
      .catch((e: unknown) => e)) as SourceError;
    expect(noBucket.status).toBe(404);
    expect(noBucket.message).toBe("s3://no-such-bucket/k: not found (HTTP 404 NoSuchBucket)");
    expect(JSON.stringify(noBucket) + String(noBucket.stack)).not.toContain(KEY.secretAccessKey);
  });
});
