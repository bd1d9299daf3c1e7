import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGeochunksError, SourceError } from "../../src/errors.js";
import { openSource } from "../../src/source/index.js";
import { openS3Source, parseS3Url, type S3Source } from "../../src/source/s3.js";
import { signRequest } from "../../src/source/sigv4.js";
import { ROOT } from "../support/cli.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";
import { describeByteSource, expectOffsetBytes, offsetBytes } from "./conformance.js";

const KEY: TestKey = { accessKeyId: "GEOCHUNKSTESTKEY", secretAccessKey: "test-secret-0123456789/abcdefgh" };
const TEMP: TestKey = {
  accessKeyId: "ASIAGEOCHUNKSTEMP",
  secretAccessKey: "temp-secret-9876543210/zyxwvuts",
  sessionToken: "session-token-ABCDEFGHIJKLMNOP",
};
const FAST = { backoff: { baseMs: 1, maxMs: 5 } };

let shared: Promise<S3TestServer> | undefined;
let counter = 0;
/** One server for the conformance cases, started on first use. */
const sharedServer = () => {
  shared ??= startS3Server({ buckets: ["conformance"], privateBuckets: ["conformance"], keys: [KEY] });
  return shared;
};
afterAll(async () => {
  if (shared) await (await shared).close();
});

describe("SigV4", () => {
  it("matches the AWS documentation's GET Object example", () => {
    // From the S3 API reference, "Signature Calculations for the Authorization Header: Example: GET Object".
    const headers = signRequest(
      "GET",
      new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      new Headers({ range: "bytes=0-9" }),
      {
        credentials: {
          accessKeyId: "AKIAIOSFODNN7EXAMPLE",
          secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        },
        region: "us-east-1",
        now: new Date("2013-05-24T00:00:00Z"),
      },
    );
    expect(headers.get("authorization")).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("signs the session token of temporary credentials", () => {
    const headers = signRequest("HEAD", new URL("https://b.s3.us-west-2.amazonaws.com/k"), new Headers(), {
      credentials: TEMP,
      region: "us-west-2",
    });
    expect(headers.get("x-amz-security-token")).toBe(TEMP.sessionToken);
    expect(headers.get("authorization")).toMatch(
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
    );
  });
});

describe("s3:// URLs and endpoints", () => {
  it("parses bucket and key, refusing malformed URLs with 400", () => {
    expect(parseS3Url("s3://nsidc-cumulus-prod-protected/ATLAS/ATL06/006/a b.h5")).toEqual({
      bucket: "nsidc-cumulus-prod-protected",
      key: "ATLAS/ATL06/006/a b.h5",
    });
    for (const bad of ["s3://", "s3://bucket", "s3://bucket/", "s3://UPPER/key", "s3://a/key"]) {
      expect(() => parseS3Url(bad)).toThrow(SourceError);
    }
  });

  it("addresses AWS virtual-hosted, dotted buckets and custom endpoints path-style", async () => {
    const urls: string[] = [];
    const capture = async (url: string) => {
      urls.push(url);
      return new Response(null, { status: 200, headers: { "content-length": "7", etag: '"x"' } });
    };
    const open = (url: string, extra: object) => openS3Source(url, { fetch: capture, ...extra });
    await (await open("s3://my-bucket/a/b c+d.h5", {})).size();
    await (await open("s3://my.dotted.bucket/k.h5", { region: "eu-west-1" })).size();
    await (await open("s3://my-bucket/k.h5", { endpoint: "http://127.0.0.1:9000/base/" })).size();
    expect(urls).toEqual([
      "https://my-bucket.s3.us-west-2.amazonaws.com/a/b%20c%2Bd.h5",
      "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k.h5",
      "http://127.0.0.1:9000/base/my-bucket/k.h5",
    ]);
    await expect(openS3Source("s3://my-bucket/k", { endpoint: "ftp://x" })).rejects.toMatchObject({
      status: 400,
    });
  });

  it("is loaded only by a dynamic import", () => {
    for (const file of ["src/source/open.ts", "src/source/index.ts", "src/index.ts"]) {
      const text = readFileSync(join(ROOT, file), "utf8");
      expect(text, file).not.toMatch(/^import (?!type)[^;]*from "\.\/(source\/)?s3\.js"/m);
      expect(text, file).not.toMatch(/^export (?!type)[^;]*from "\.\/(source\/)?s3\.js"/m);
    }
    expect(readFileSync(join(ROOT, "src/source/open.ts"), "utf8")).toContain('await import("./s3.js")');
  });
});

describeByteSource("s3 (s3rver, signed, private bucket)", async (bytes) => {
  const server = await sharedServer();
  const key = `object-${counter++}.bin`;
  await server.put("conformance", key, bytes);
  const source = await openSource(`s3://conformance/${key}`, {
    s3: { endpoint: server.endpoint, credentials: KEY, ...FAST },
  });
  return { source, close: () => source.close() };
});

describe("S3 source against s3rver", () => {
  let server: S3TestServer;
  const data = offsetBytes(50_000);

  beforeAll(async () => {
    server = await startS3Server({
      buckets: ["private-data", "public-data"],
      privateBuckets: ["private-data"],
      keys: [KEY, TEMP],
    });
    await server.put("private-data", "dir/obj.bin", data);
    await server.put("public-data", "dir/obj.bin", data);
  });
  afterAll(() => server.close());

  const open = (url: string, extra: object = {}) =>
    openSource(url, { s3: { endpoint: server.endpoint, ...FAST, ...extra } });

  it("reads a public bucket anonymously, sending no Authorization", async () => {
    const src = await open("s3://public-data/dir/obj.bin");
    expect(src.url.href).toBe("s3://public-data/dir/obj.bin");
    expectOffsetBytes(await src.read(1000, 2000), 1000, 2000);
    expect(await src.size()).toBe(data.length);
    expect(server.seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it("reads a private bucket with static and with temporary credentials", async () => {
    const a = await open("s3://private-data/dir/obj.bin", { credentials: KEY });
    expectOffsetBytes(await a.read(49_990, 10), 49_990, 10);
    const b = await open("s3://private-data/dir/obj.bin", { credentials: async () => TEMP });
    expectOffsetBytes(await b.read(0, 10), 0, 10);
    expect(server.seen.at(-1)!.headers["x-amz-security-token"]).toBe(TEMP.sessionToken);
    const fp = await (b as S3Source).fingerprint();
    expect(fp).toMatchObject({ size: data.length, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) });
  });

  it("reads a whole signed object with one open-ended GET (readAll), a missing one as 404", async () => {
    const src = (await open("s3://private-data/dir/obj.bin", { credentials: KEY })) as S3Source;
    const before = server.seen.length;
    expectOffsetBytes(await src.readAll(), 0, data.length);
    expect(await src.size()).toBe(data.length);
    const sent = server.seen.slice(before);
    expect(sent.map((r) => [r.method, r.headers.range])).toEqual([["GET", "bytes=0-"]]);
    const missing = (await open("s3://private-data/dir/none.bin", { credentials: KEY })) as S3Source;
    const err = await missing.readAll().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, url: "s3://private-data/dir/none.bin" });
  });

  const failure = async (url: string, extra: object = {}) => {
    const src = await open(url, extra);
    const err = await src.read(0, 10).catch((e: unknown) => e);
    expect(isGeochunksError(err, "SourceError")).toBe(true);
    return err as SourceError;
  };
  const noSecrets = (err: SourceError) => {
    const text = `${err.message} ${err.url} ${JSON.stringify(err)} ${String(err.stack)}`;
    for (const secret of [KEY.secretAccessKey, TEMP.secretAccessKey, TEMP.sessionToken!]) {
      expect(text).not.toContain(secret);
    }
  };

  it("maps refusals to 403 naming the s3:// object, never showing a secret", async () => {
    const cases: [object, RegExp][] = [
      [{}, /AccessDenied/],
      [{ credentials: { ...KEY, secretAccessKey: "wrong-secret-value" } }, /SignatureDoesNotMatch/],
      [{ credentials: { ...KEY, accessKeyId: "NOSUCHKEY" } }, /InvalidAccessKeyId/],
      [{ credentials: { ...TEMP, sessionToken: undefined } }, /InvalidToken/],
    ];
    for (const [extra, code] of cases) {
      const err = await failure("s3://private-data/dir/obj.bin", extra);
      expect(err.status).toBe(403);
      expect(err.url).toBe("s3://private-data/dir/obj.bin");
      expect(err.message).toMatch(/^access to s3:\/\/private-data\/dir\/obj\.bin denied/);
      expect(err.message).toMatch(code);
      noSecrets(err);
    }
  });

  it("maps NoSuchKey and NoSuchBucket to 404, and a failing credential provider to 401", async () => {
    const missing = await failure("s3://public-data/dir/none.bin");
    expect(missing).toMatchObject({ status: 404, url: "s3://public-data/dir/none.bin" });
    expect(missing.message).toMatch(/s3:\/\/public-data\/dir\/none\.bin not found \(HTTP 404 NoSuchKey\)/);
    expect(await failure("s3://no-bucket/x.bin")).toMatchObject({ status: 404 });
    const provider = async () => {
      throw new Error(`cannot read ${KEY.secretAccessKey}`);
    };
    const err = await failure("s3://private-data/dir/obj.bin", { credentials: provider });
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(KEY.secretAccessKey);
  });

  it("retries SlowDown transparently, and gives up with 503 naming the object", async () => {
    const src = (await open("s3://public-data/dir/obj.bin")) as S3Source;
    server.slowDown(3);
    expectOffsetBytes(await src.read(10, 10), 10, 10);
    expect(src.stats.retries).toBe(3);
    const again = (await open("s3://public-data/dir/obj.bin", { retries: 2 })) as S3Source;
    server.slowDown(10);
    const err = (await again.read(0, 10).catch((e: unknown) => e)) as SourceError;
    server.slowDown(0);
    expect(err).toMatchObject({ status: 503, url: "s3://public-data/dir/obj.bin" });
    expect(err.message).toMatch(/SlowDown.*gave up after 3 attempts/);
  });

  it("refuses to mix versions: an object replaced between reads fails with 409", async () => {
    await server.put("public-data", "dir/changing.bin", data);
    const src = await open("s3://public-data/dir/changing.bin");
    await src.read(0, 10);
    await server.put("public-data", "dir/changing.bin", offsetBytes(50_000).reverse());
    const err = (await src.read(100, 10).catch((e: unknown) => e)) as SourceError;
    expect(err).toMatchObject({ status: 409, url: "s3://public-data/dir/changing.bin" });
  });
});
