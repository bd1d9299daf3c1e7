/**
 * Streaming uploads (openS3Upload) against s3rver on loopback: where one PUT ends and a multipart
 * upload begins, parts cut at the part size whatever the sizes of the writes, and an abort leaving
 * neither an object nor a pending upload.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_PART_BYTES, openS3Upload } from "../../src/source/s3-upload.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIAUPLOADTEST", secretAccessKey: "upload-test-secret-0123456789" };

/** Bytes that encode their own offset, so a misplaced byte shows. */
function bytesOf(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7 + (i >> 16)) & 0xff);
}

describe("streaming S3 uploads", () => {
  let server: S3TestServer;
  let s3: S3Objects;

  beforeAll(async () => {
    server = await startS3Server({ buckets: ["uploads"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY, retries: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Writes `body` in writes of `step` bytes; returns the summary and the requests made for the key. */
  async function upload(key: string, body: Uint8Array, step: number) {
    const from = server.seen.length;
    const up = openS3Upload(s3, `s3://uploads/${key}`, { partBytes: MIN_PART_BYTES, partsInFlight: 2 });
    for (let at = 0; at < body.length; at += step) await up.write(body.subarray(at, at + step));
    const summary = await up.complete();
    const requests = server.seen
      .slice(from)
      .map((r) => `${r.method}${r.query.startsWith("partNumber=") ? ` ${r.query.split("&")[0]}` : ""}`);
    expect(Buffer.from((await s3.get(`s3://uploads/${key}`))!.body).equals(body)).toBe(true);
    return { summary, requests };
  }

  it("sends an empty object and one of exactly one part as one PUT, one byte more as two parts", async () => {
    expect(await upload("empty", new Uint8Array(0), 1)).toEqual({
      summary: { bytes: 0, parts: 0 },
      requests: ["PUT"],
    });
    const one = bytesOf(MIN_PART_BYTES);
    expect(await upload("one", one, 3_000_001)).toEqual({
      summary: { bytes: MIN_PART_BYTES, parts: 0 },
      requests: ["PUT"],
    });
    const more = bytesOf(2 * MIN_PART_BYTES + 1);
    expect(await upload("more", more, 1_234_567)).toEqual({
      summary: { bytes: more.length, parts: 3 },
      requests: ["POST", "PUT partNumber=1", "PUT partNumber=2", "PUT partNumber=3", "POST"],
    });
    expect(await server.pendingUploads("uploads")).toEqual([]);
  });

  it("abort after parts went up: no object, no pending upload, and later writes refused", async () => {
    const from = server.seen.length;
    const up = openS3Upload(s3, "s3://uploads/aborted", { partBytes: MIN_PART_BYTES });
    await up.write(bytesOf(2 * MIN_PART_BYTES + 10));
    await up.abort();
    await up.abort();
    const requests = server.seen.slice(from).map((r) => `${r.method} ${r.query.replace(/=[0-9a-f]+$/, "")}`);
    expect(requests[0]).toBe("POST uploads=");
    expect(requests.at(-1)).toBe("DELETE uploadId");
    expect(requests.filter((r) => r.startsWith("DELETE"))).toHaveLength(1);
    expect(await s3.get("s3://uploads/aborted")).toBeUndefined();
    expect(await server.pendingUploads("uploads")).toEqual([]);
    await expect(up.write(new Uint8Array(1))).rejects.toThrow(/abort/i);
  });
});
