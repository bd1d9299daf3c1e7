import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Fault, RangeServer } from "../../fixtures/servers/range-server.js";
import { startRangeServer } from "../../fixtures/servers/range-server.js";
import { SourceError } from "../../src/errors.js";
import { Hdf5File, inspectHdf5 } from "../../src/hdf5/index.js";
import type { HttpSourceOptions } from "../../src/source/index.js";
import {
  backoffDelay,
  createLimiter,
  HttpSource,
  openFileSource,
  openSource,
  withReadStats,
} from "../../src/source/index.js";
import { ROOT } from "../support/cli.js";
import { describeByteSource, expectOffsetBytes, offsetBytes } from "./conformance.js";

const dir = mkdtempSync(join(tmpdir(), "geochunks-http-"));
let files = 0;
let server: RangeServer;
let ignoring: RangeServer;
let noHead: RangeServer;
let flaky: RangeServer;

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  server = await startRangeServer({ root: dir });
  ignoring = await startRangeServer({ root: dir, fault: () => "ignore-range" });
  noHead = await startRangeServer({ root: dir, fault: (req) => (req.method === "HEAD" ? "403" : undefined) });
  const random = seeded(7);
  const faults: Fault[] = ["503", "slowdown", "reset", "truncate"];
  // One request in five fails transiently; ten retries make a failed read a 1-in-50-million event.
  flaky = await startRangeServer({
    root: dir,
    fault: () => (random() < 0.2 ? faults[Math.floor(random() * faults.length)] : undefined),
  });
});
afterAll(async () => {
  await Promise.all([server.close(), ignoring.close(), noHead.close(), flaky.close()]);
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.setFault(undefined);
  server.setLatency(0);
  server.resetStats();
});

/** Writes bytes under the served directory and returns the file name. */
function serve(bytes: Uint8Array): string {
  const name = `object-${files++}.bin`;
  writeFileSync(join(dir, name), bytes);
  return name;
}

/** Fast retries so fault tests take milliseconds. */
const FAST: HttpSourceOptions = { backoff: { baseMs: 2, maxMs: 20 } };

async function openServed(size = 100_000, opts: HttpSourceOptions = FAST) {
  const name = serve(offsetBytes(size));
  return HttpSource.open(`${server.url}${name}`, opts);
}

/** Faults for the first `n` requests (optionally only those matching), then normal service. */
function firstN(n: number, fault: Fault, when: (method: string) => boolean = () => true) {
  let left = n;
  return (req: { method?: string }) => {
    if (!when(req.method ?? "") || left <= 0) return undefined;
    left -= 1;
    return fault;
  };
}

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describeByteSource("http (loopback range server)", async (bytes) => {
  const source = await HttpSource.open(`${server.url}${serve(bytes)}`);
  return { source, close: () => source.close() };
});

describeByteSource("http, server answering 200 with the whole body", async (bytes) => {
  const source = await HttpSource.open(`${ignoring.url}${serve(bytes)}`);
  return { source, close: () => source.close() };
});

describeByteSource("http, HEAD forbidden (presigned URL)", async (bytes) => {
  const source = await HttpSource.open(`${noHead.url}${serve(bytes)}`);
  return { source, close: () => source.close() };
});

describeByteSource("http, one request in five failing transiently", async (bytes) => {
  const source = await HttpSource.open(`${flaky.url}${serve(bytes)}`, { ...FAST, retries: 10 });
  return { source, close: () => source.close() };
});

describeByteSource("openSource on an http URL", async (bytes) => {
  const source = await openSource(`${server.url}${serve(bytes)}`);
  return { source, close: () => source.close() };
});

describe("http source: size and validators", () => {
  it("learns the size from the first ranged GET's Content-Range", async () => {
    const source = await openServed(12_345);
    expectOffsetBytes(await source.read(100, 10), 100, 10);
    expect(await source.size()).toBe(12_345);
    expect(server.stats).toMatchObject({ requests: 1, heads: 0 });
  });

  it("asks with one HEAD when nothing was read, memoised", async () => {
    const source = await openServed(5_000);
    const sizes = await Promise.all([source.size(), source.size(), source.size()]);
    expect(sizes).toEqual([5_000, 5_000, 5_000]);
    expectOffsetBytes(await source.read(4_990, 10), 4_990, 10);
    await expect(source.read(4_990, 11)).rejects.toMatchObject({ status: 416 });
    expect(server.stats).toMatchObject({ requests: 2, heads: 1 });
  });

  it("reads a whole object with one open-ended GET, learning its size (readAll)", async () => {
    const source = await openServed(54_321);
    server.resetStats();
    const all = await source.readAll();
    expectOffsetBytes(all, 0, 54_321);
    expect(await source.size()).toBe(54_321);
    expect(server.stats).toMatchObject({ requests: 1, heads: 0, bytes: 54_321 });
    // Once the size is known: a plain read of it.
    expectOffsetBytes(await source.readAll(), 0, 54_321);
    expect(server.stats).toMatchObject({ requests: 2, heads: 0 });
    // An empty object (416 to any range) and a server answering 200 with the whole body.
    const empty = await HttpSource.open(`${server.url}${serve(new Uint8Array(0))}`, FAST);
    expect((await empty.readAll()).length).toBe(0);
    ignoring.resetStats();
    const whole = await HttpSource.open(`${ignoring.url}${serve(offsetBytes(7_000))}`, FAST);
    expectOffsetBytes(await whole.readAll(), 0, 7_000);
    expect(ignoring.stats).toMatchObject({ requests: 1, bytes: 7_000 });
  });

  it("reads the first bytes with one GET, learning size and ETag without a HEAD (readPrefix)", async () => {
    const source = await openServed(54_321);
    server.resetStats();
    expectOffsetBytes(await source.readPrefix(16_384), 0, 16_384);
    expect(await source.fingerprint()).toMatchObject({ size: 54_321, etag: expect.any(String) });
    expect(server.stats).toMatchObject({ requests: 1, heads: 0, bytes: 16_384 });
    // Once the size is known: a plain read; a prefix longer than the object is the whole object.
    expectOffsetBytes(await source.readPrefix(100), 0, 100);
    const short = await openServed(5_000);
    expectOffsetBytes(await short.readPrefix(16_384), 0, 5_000);
    expect(await short.size()).toBe(5_000);
    expectOffsetBytes(await short.readPrefix(16_384), 0, 5_000);
    // An empty object (416 to any range), a server answering 200 with the whole body, a missing object.
    const empty = await HttpSource.open(`${server.url}${serve(new Uint8Array(0))}`, FAST);
    expect((await empty.readPrefix(16_384)).length).toBe(0);
    const whole = await HttpSource.open(`${ignoring.url}${serve(offsetBytes(7_000))}`, FAST);
    expectOffsetBytes(await whole.readPrefix(1_000), 0, 1_000);
    expect(await whole.size()).toBe(7_000);
    const missing = await HttpSource.open(`${server.url}missing.bin`, FAST);
    expect((await rejection(missing.readPrefix(16_384))).status).toBe(404);
  });

  it("forgets a failed size so the next call asks again", async () => {
    const source = await openServed(5_000, { ...FAST, retries: 0 });
    server.setFault(firstN(1, "503"));
    expect((await rejection(source.size())).status).toBe(503);
    expect(await source.size()).toBe(5_000);
  });

  it("falls back to a bytes=0-0 GET when HEAD is forbidden (presigned URL)", async () => {
    const source = await openServed(7_777);
    server.setFault((req) => (req.method === "HEAD" ? "403" : undefined));
    expect(await source.size()).toBe(7_777);
    expect(await source.size()).toBe(7_777);
    expect(server.stats).toMatchObject({ requests: 2, heads: 1, bytes: 1 });
    expect((await source.fingerprint()).etag).toMatch(/^"/);
  });

  it("reports 403 when both HEAD and GET are denied", async () => {
    const source = await openServed(10);
    server.setFault(() => "403");
    const err = await rejection(source.size());
    expect(err.status).toBe(403);
    expect(err.message).toContain(source.url.href);
  });

  it("exposes the pinned ETag and Last-Modified with the size", async () => {
    const source = await openServed(3_000);
    expect(source.etag).toBeUndefined();
    await source.read(0, 1);
    const head = await fetch(source.url, { method: "HEAD" });
    expect(await source.fingerprint()).toEqual({
      size: 3_000,
      etag: head.headers.get("etag"),
      lastModified: head.headers.get("last-modified"),
    });
    expect(source.etag).toBe(head.headers.get("etag"));
  });

  it("fails with 409 when the ETag changes mid-read, and never returns the new bytes", async () => {
    const source = await openServed(50_000);
    expectOffsetBytes(await source.read(0, 100), 0, 100);
    server.setFault(() => "change-etag");
    const err = await rejection(source.read(1_000, 100));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/changed since first read/);
    expect(err.message).toContain(source.url.href);
    expect(server.stats.requests).toBe(2); // not retried
    server.setFault(firstN(3, "change-etag"));
    const reads = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => source.read(i * 1000, 500)));
    const failed = reads.filter((r) => r.status === "rejected");
    expect(failed).toHaveLength(3);
    for (const [i, r] of reads.entries()) {
      if (r.status === "fulfilled") expectOffsetBytes(r.value, i * 1000, 500);
      else expect(r.reason).toMatchObject({ status: 409 });
    }
  });

  it("pins Last-Modified when the server sends no ETag", async () => {
    const noEtag: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      const headers = new Headers(res.headers);
      headers.delete("etag");
      return new Response(res.body, { status: res.status, headers });
    };
    const source = await openServed(20_000, { ...FAST, fetch: noEtag });
    await source.read(0, 10);
    expect(source.etag).toBeUndefined();
    expect(source.lastModified).toMatch(/GMT$/);
    server.setFault(() => "change-etag");
    const err = await rejection(source.read(10, 10));
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/Last-Modified/);
  });

  it("fails with 409 when the size changes, even without validators", async () => {
    const bare: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      const headers = new Headers(res.headers);
      headers.delete("etag");
      headers.delete("last-modified");
      return new Response(res.body, { status: res.status, headers });
    };
    const name = serve(offsetBytes(1_000));
    const source = await HttpSource.open(`${server.url}${name}`, { ...FAST, fetch: bare });
    await source.read(0, 10);
    writeFileSync(join(dir, name), offsetBytes(2_000));
    expect((await rejection(source.read(10, 10))).status).toBe(409);
  });
});

describe("http source: status handling", () => {
  it("slices a 200 whole-body answer and keeps it instead of downloading it again", async () => {
    const name = serve(offsetBytes(30_000));
    ignoring.resetStats();
    const source = await HttpSource.open(`${ignoring.url}${name}`);
    expectOffsetBytes(await source.read(1_000, 50), 1_000, 50);
    expectOffsetBytes(await source.read(29_000, 1_000), 29_000, 1_000);
    expect(await source.size()).toBe(30_000);
    expect((await rejection(source.read(29_999, 2))).status).toBe(416);
    expect(ignoring.stats).toMatchObject({ requests: 1, bytes: 30_000 });
  });

  it("downloads a whole-body object once for concurrent reads", async () => {
    const name = serve(offsetBytes(300_000));
    ignoring.resetStats();
    ignoring.setLatency(20);
    try {
      const source = await HttpSource.open(`${ignoring.url}${name}`, { concurrency: 4 });
      const reads = Array.from({ length: 40 }, (_, i) => source.read(i * 7_000, 500));
      for (const [i, bytes] of (await Promise.all(reads)).entries()) expectOffsetBytes(bytes, i * 7_000, 500);
      // The first 4 requests leave before any answer; the other 36 wait for the kept body.
      expect(ignoring.stats.requests).toBe(4);
      expect(source.stats.requests).toBe(4);
    } finally {
      ignoring.setLatency(0);
    }
  });

  it("refuses to keep a whole body larger than maxWholeBytes", async () => {
    const name = serve(offsetBytes(30_000));
    ignoring.resetStats();
    const source = await HttpSource.open(`${ignoring.url}${name}`, { ...FAST, maxWholeBytes: 10_000 });
    const err = await rejection(source.read(0, 10));
    expect(err.status).toBe(501);
    expect(err.message).toMatch(/ignores range requests .*30000 bytes.* maxWholeBytes 10000/);
    expect(ignoring.stats.requests).toBe(1);
  });

  it("maps 416 from the server to SourceError 416 without retrying", async () => {
    const source = await openServed(1_000);
    const err = await rejection(source.read(1_000, 10));
    expect(err.status).toBe(416);
    expect(err.message).toMatch(/range 1000\+10 passes the end of .* \(size 1000\)/);
    server.setFault(() => "416");
    expect((await rejection(source.read(0, 10))).status).toBe(416);
    expect(server.stats.requests).toBe(2);
  });

  it("reports 404 for a missing object, naming the URL, without retrying", async () => {
    const source = await HttpSource.open(`${server.url}missing.h5`, FAST);
    const err = await rejection(source.read(0, 10));
    expect(err.status).toBe(404);
    expect(err.url).toBe(`${server.url}missing.h5`);
    expect(err.message).toMatch(/missing\.h5 not found \(HTTP 404 NoSuchKey\)/);
    expect(server.stats.requests).toBe(1);
  });

  it("reports 403 for a missing object in a private bucket, without retrying", async () => {
    const source = await HttpSource.open(`${server.url}private/missing.h5`, FAST);
    server.setFault(() => "403");
    const err = await rejection(source.read(0, 10));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/access to .*private\/missing\.h5 denied \(HTTP 403 AccessDenied\)/);
    expect(server.stats.requests).toBe(1);
  });
});

describe("http source: retries", () => {
  for (const fault of ["503", "500", "slowdown"] as const) {
    it(`retries a burst of ${fault} transparently and counts it`, async () => {
      const source = await openServed(10_000);
      server.setFault(firstN(3, fault));
      expectOffsetBytes(await source.read(500, 2_000), 500, 2_000);
      expect(source.stats).toMatchObject({ requests: 4, retries: 3 });
      expect(server.stats.requests).toBe(4);
    });
  }

  it("gives up after the retry limit with the last status, naming the URL", async () => {
    const source = await openServed(10_000, { ...FAST, retries: 2 });
    server.setFault(() => "slowdown");
    const err = await rejection(source.read(0, 10));
    expect(err.status).toBe(503);
    expect(err.message).toContain(source.url.href);
    expect(err.message).toMatch(/HTTP 503 SlowDown .*gave up after 3 attempts/);
    expect(err.cause).toBeInstanceOf(SourceError);
    expect(server.stats.requests).toBe(3);
  });

  it("waits at least what Retry-After asks, capped at the backoff maximum", async () => {
    const retryAfter: typeof fetch = async (url, init) => {
      const res = await fetch(url, init);
      if (res.status !== 503) return res;
      const headers = new Headers(res.headers);
      headers.set("retry-after", "1");
      return new Response(res.body, { status: 503, headers });
    };
    const source = await openServed(1_000, { fetch: retryAfter, backoff: { baseMs: 1, maxMs: 250 } });
    server.setFault(firstN(1, "503"));
    const t0 = performance.now();
    expectOffsetBytes(await source.read(0, 10), 0, 10);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(245);
    expect(waited).toBeLessThan(900);
  });

  it("retries connection resets mid-body", async () => {
    const source = await openServed(100_000);
    server.setFault(firstN(2, "reset"));
    expectOffsetBytes(await source.read(1_000, 60_000), 1_000, 60_000);
    expect(source.stats.retries).toBe(2);
  });

  it("retries truncated bodies", async () => {
    const source = await openServed(100_000);
    server.setFault(firstN(2, "truncate"));
    expectOffsetBytes(await source.read(1_000, 60_000), 1_000, 60_000);
    expect(source.stats.retries).toBe(2);
    server.setFault(() => "truncate");
    const err = await rejection(source.read(0, 1_000));
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/ended after 500 of 1000 bytes .*gave up after 5 attempts/);
  });

  it("retries a stall past the timeout, then fails with 504 naming the URL", async () => {
    const source = await openServed(10_000, { ...FAST, timeoutMs: 150, retries: 2 });
    server.setFault(firstN(1, "stall"));
    expectOffsetBytes(await source.read(0, 100), 0, 100);
    expect(source.stats.retries).toBe(1);
    server.setFault(() => "stall");
    const t0 = performance.now();
    const err = await rejection(source.read(100, 100));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * 140);
    expect(err.status).toBe(504);
    expect(err.message).toContain(source.url.href);
    expect(err.message).toMatch(/sent nothing for 150 ms .*gave up after 3 attempts/);
  });

  it("times out a HEAD that never answers", async () => {
    const source = await openServed(10_000, { ...FAST, timeoutMs: 100, retries: 1 });
    server.setFault((req) => (req.method === "HEAD" ? "stall" : undefined));
    expect((await rejection(source.size())).status).toBe(504);
  });

  it("stops at once, without retrying, when the caller aborts", async () => {
    const source = await openServed(10_000, { ...FAST, timeoutMs: 10_000 });
    server.setFault(() => "stall");
    const controller = new AbortController();
    const t0 = performance.now();
    setTimeout(() => controller.abort(new Error("user stop")), 50);
    await expect(source.read(0, 10, { signal: controller.signal })).rejects.toThrow("user stop");
    // Far below the 10 s stall timeout it would otherwise wait for.
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(source.stats).toMatchObject({ requests: 1, retries: 0 });
  });

  it("waits with jittered exponential backoff between attempts", async () => {
    const backoff = { baseMs: 40, maxMs: 1_000, random: () => 0.99 };
    const source = await openServed(1_000, { backoff });
    server.setFault(firstN(3, "503"));
    const t0 = performance.now();
    await source.read(0, 10);
    // 0.99 * (40 + 80 + 160) ms
    expect(performance.now() - t0).toBeGreaterThanOrEqual(270);
  });
});

describe("http source: concurrency and latency", () => {
  it("keeps at most `concurrency` requests in flight", async () => {
    server.setLatency(30);
    const source = await openServed(100_000, { concurrency: 3 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => source.read(i * 1_000, 100)));
    expect(server.stats.requests).toBe(30);
    expect(server.stats.maxInFlight).toBe(3);
  });

  it("keeps at most 16 in flight by default", async () => {
    server.setLatency(20);
    const source = await openServed(100_000);
    await Promise.all(Array.from({ length: 64 }, (_, i) => source.read(i * 1_000, 100)));
    expect(server.stats.maxInFlight).toBe(16);
  });

  it("shares a limiter between sources", async () => {
    server.setLatency(20);
    const limiter = createLimiter(4);
    const a = await openServed(10_000, { limiter });
    const b = await openServed(10_000, { limiter });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).read(i * 100, 100)));
    expect(server.stats.maxInFlight).toBe(4);
    expect(limiter.active).toBe(0);
  });

  it("pays the injected latency per request, overlapped by concurrency", async () => {
    server.setLatency(40);
    const source = await openServed(100_000, { concurrency: 10 });
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await source.read(i * 100, 100);
    // A lower bound only: injected latency cannot be skipped, however loaded the machine is.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(5 * 38);
    const sequentialPeak = server.stats.maxInFlight;
    await Promise.all(Array.from({ length: 10 }, (_, i) => source.read(i * 100, 100)));
    expect(sequentialPeak).toBe(1);
    // Overlap is shown by the server seeing requests in flight together, not by timing.
    expect(server.stats.maxInFlight).toBeGreaterThanOrEqual(5);
    expect(server.stats.requests).toBe(15);
  });

  it("reuses keep-alive connections", async () => {
    const source = await openServed(100_000);
    for (let i = 0; i < 30; i++) await source.read(i * 100, 100);
    expect(server.stats.connections).toBeLessThanOrEqual(2);
  });
});

describe("http source: credentials", () => {
  const SECRET = "s3cr3t-b34r3r-t0k3n";

  it("sends headers and user info but never shows them in errors", async () => {
    const name = serve(offsetBytes(1_000));
    const seen: (string | undefined)[] = [];
    const url = `${server.url.replace("//", "//alice:pa55w0rd-x@")}${name}?X-Amz-Signature=sig-${SECRET}&part=1`;
    const withUser = await HttpSource.open(url, { ...FAST, retries: 1, timeoutMs: 100 });
    const withHeader = await HttpSource.open(`${server.url}${name}`, {
      ...FAST,
      retries: 1,
      timeoutMs: 100,
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    expect(withUser.url.href).toBe(`${server.url}${name}?X-Amz-Signature=REDACTED&part=1`);
    server.setFault((req) => {
      seen.push(req.headers.authorization);
      return undefined;
    });
    await withUser.read(0, 10);
    await withHeader.read(0, 10);
    expect(seen).toEqual([`Basic ${Buffer.from("alice:pa55w0rd-x").toString("base64")}`, `Bearer ${SECRET}`]);
    for (const fault of ["403", "404", "503", "stall", "reset", "416", "change-etag"] as const) {
      server.setFault(() => fault);
      for (const source of [withUser, withHeader]) {
        const err = await rejection(source.read(10, 10));
        const shown = `${err.message} ${err.url} ${String(err)} ${JSON.stringify(err)}`;
        for (const secret of [SECRET, "pa55w0rd", Buffer.from("alice:pa55w0rd-x").toString("base64")]) {
          expect(shown, fault).not.toContain(secret);
        }
      }
    }
  });

  it("scrubs secrets from errors of an injected fetch", async () => {
    const leaky: typeof fetch = async () => {
      throw new TypeError(`refused Bearer ${SECRET}`);
    };
    const source = await openServed(100, { retries: 0, fetch: leaky, headers: { authorization: SECRET } });
    const err = await rejection(source.read(0, 10));
    expect(err.status).toBe(502);
    expect(err.message).not.toContain(SECRET);
  });
});

describe("openSource", () => {
  it("routes http and https to the HTTP source, s3 to the S3 source (tested in s3.test.ts)", async () => {
    expect(await openSource("http://127.0.0.1:9/x.h5")).toBeInstanceOf(HttpSource);
    expect(await openSource(new URL("https://127.0.0.1:9/x.h5"))).toBeInstanceOf(HttpSource);
    expect((await openSource("s3://bucket/key.h5")).url.href).toBe("s3://bucket/key.h5");
    const err = await rejection(openSource("gs://bucket/key.h5"));
    expect(err.status).toBe(501);
    expect(err.message).toMatch(/unknown/);
  });

  it("refuses other schemes in HttpSource.open", async () => {
    expect((await rejection(HttpSource.open("ftp://127.0.0.1/x"))).status).toBe(501);
    expect((await rejection(HttpSource.open("not a url"))).status).toBe(400);
  });
});

describe("backoffDelay", () => {
  it("draws from [0, min(max, base * 2^attempt))", () => {
    const top = { baseMs: 100, maxMs: 1_000, random: () => 0.999_999 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, top))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, { ...top, random: () => 0 })).toBe(0);
    expect(backoffDelay(2, { ...top, random: () => 0.5 })).toBe(200);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(5);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(3_200);
    }
  });
});

describe("createLimiter", () => {
  it("runs tasks in order with at most `limit` at once and drops aborted waiters", async () => {
    const limiter = createLimiter(2);
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    const task = (i: number) => async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      order.push(i);
      active -= 1;
      return i;
    };
    const controller = new AbortController();
    const runs = [0, 1, 2, 3].map((i) => limiter.run(task(i)));
    const dropped = limiter.run(task(99), controller.signal);
    expect(limiter.pending).toBe(3);
    controller.abort(new Error("dropped"));
    await expect(dropped).rejects.toThrow("dropped");
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});

describe("http source on a real ATL06 granule", () => {
  const data = join(ROOT, "..", "shared", "data", "atl06");
  const granules = existsSync(data) ? readdirSync(data).filter((f) => f.endsWith(".h5")) : [];
  if (granules.length === 0) {
    it.skip(`needs ATL06 granules in ${data} (absent)`, () => {});
    return;
  }
  const name = granules.sort()[0]!;
  let granuleServer: RangeServer;
  beforeAll(async () => {
    granuleServer = await startRangeServer({ root: data });
  });
  afterAll(() => granuleServer.close());

  it(`inspects ${name} over HTTP exactly as from the file`, async () => {
    const file = await openFileSource(join(data, name));
    const local = await inspectHdf5(file);
    await file.close();
    const http = await HttpSource.open(`${granuleServer.url}${name}`);
    const { source, stats } = withReadStats(http);
    const remote = await inspectHdf5(source);
    expect({ ...remote, url: "" }).toEqual({ ...local, url: "" });
    expect(remote.url).toBe(`${granuleServer.url}${name}`);
    expect(granuleServer.stats.requests).toBe(http.stats.requests);
    // Every read is one request, plus at most the HEAD of Hdf5File.open's size().
    expect(http.stats.requests - stats.requests).toBeLessThanOrEqual(1);
    expect(http.stats.retries).toBe(0);
    const h5 = await Hdf5File.open(source);
    expect(h5.superblockVersion).toBe(local.superblock_version);
  });
});
