import { describe, expect, it, vi } from "vitest";
import { startRangeServer } from "../../fixtures/servers/range-server.js";
import { stopNetworkThread, threadTransport } from "../../src/source/http-thread.js";
import type { HttpCall, HttpReply } from "../../src/source/http-transport.js";
import { HttpSource, type HttpSourceOptions } from "../../src/source/index.js";
import { sharedLinePool } from "../../src/source/line-pool.js";
import { RANGES, SIZE, servedObject } from "./served-object.js";

/*
 * The network thread (source/http-thread.ts) against a real range server on loopback: the same bytes,
 * requests and errors as the transports it runs, long range bodies in shared memory lent by this
 * thread, and stops (abort, cancel, stall timer) that reach the requests it runs.
 */
const served = servedObject("geochunks-http-thread-");
const { dir, content, expectBytes } = served;

const FAST: HttpSourceOptions = { backoff: { baseMs: 2, maxMs: 20 } };

async function bodyOf(reply: HttpReply): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  for (let p = await reply.read(); p !== undefined; p = await reply.read()) pieces.push(p);
  return pieces;
}

describe("http source on the network thread", () => {
  it("reads the same bytes with the same requests as on this thread, long bodies in shared memory", async () => {
    const seen: Record<string, { requests: number; bytes: number; connections: number }> = {};
    for (const client of ["auto", "thread"] as const) {
      const source = await HttpSource.open(`${served.server.url}object.bin`, { client });
      served.server.resetStats();
      const reads: Uint8Array[] = [];
      for (const [offset, length] of RANGES) reads.push(await source.read(offset, length));
      for (const [i, [offset, length]] of RANGES.entries()) {
        expectBytes(reads[i]!, offset, length);
        // Lines (64 KiB and up) come in the shared buffer lent with the request, smaller bodies copied.
        const shared = reads[i]!.buffer instanceof SharedArrayBuffer;
        expect(shared, `${client} ${length}`).toBe(client === "thread" && length >= 64 * 1024);
      }
      expect(await source.size()).toBe(SIZE);
      const { requests, bytes, connections } = served.server.stats;
      seen[client] = { requests, bytes, connections };
      expect(source.stats).toEqual({ requests, retries: 0, bytes });
    }
    expect(seen.thread).toEqual(seen.auto);
  });

  it("reads concurrent ranges, and gives back the lines it did not hand out", async () => {
    const source = await HttpSource.open(`${served.server.url}object.bin`, {
      client: "thread",
      concurrency: 4,
    });
    const offsets = Array.from({ length: 24 }, (_, i) => (i * 104_729) % (SIZE - 200_000));
    const reads = await Promise.all(offsets.map((o) => source.read(o, 200_000)));
    for (const [i, o] of offsets.entries()) expectBytes(reads[i]!, o, 200_000);
    expect(served.server.stats.requests).toBe(24);
    expect(served.server.stats.maxInFlight).toBeLessThanOrEqual(4);
    // A 404's lent buffer was never handed out: it goes back to the pool, and the next line of that
    // size is read into it.
    const free = sharedLinePool.freeBytes;
    const missing = await HttpSource.open(`${served.server.url}missing.bin`, { client: "thread" });
    await expect(missing.read(0, 300_000)).rejects.toThrow(/not found/);
    // Once the thread has ended the request (the source threw after the error page's first piece).
    await vi.waitFor(() => expect(sharedLinePool.freeBytes).toBe(free + 300_000));
    const reused = sharedLinePool.reused;
    expectBytes(await source.read(11, 300_000), 11, 300_000);
    expect(sharedLinePool.reused).toBe(reused + 1);
  });

  it("gives up on a server that sends nothing for longer than the stall timeout", async () => {
    const slow = await startRangeServer({ root: dir, bytesPerSecond: 400_000 });
    try {
      const stalled = await HttpSource.open(`${slow.url}object.bin`, {
        client: "thread",
        timeoutMs: 300,
        retries: 0,
      });
      slow.setFault(() => "stall");
      await expect(stalled.read(0, 100_000)).rejects.toThrow(/sent nothing for 300 ms/);
    } finally {
      await slow.close();
    }
  });
});

describe("network thread transport", () => {
  const url = () => `${served.server.url}object.bin`;
  const call = (range?: string): HttpCall => ({
    method: "GET",
    headers: range ? { range } : {},
    signal: new AbortController().signal,
  });

  it("copies node:http's pieces into the lent line (the https: path), and passes other bodies in pieces", async () => {
    const transport = threadTransport({ client: "node" });
    const reply = await transport(url(), call("bytes=1000-400999"));
    expect(reply.status).toBe(206);
    expect(reply.header("content-range")).toBe(`bytes 1000-400999/${SIZE}`);
    expect(Object.fromEntries(reply.headerEntries())["content-length"]).toBe("400000");
    const pieces = await bodyOf(reply);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expectBytes(pieces[0]!, 1000, 400_000);
    // No range: the whole object in pieces, as node:http read them.
    const whole = await bodyOf(await transport(url(), call()));
    expect(whole.length).toBeGreaterThan(1);
    expect(Buffer.compare(Buffer.concat(whole), content)).toBe(0);
  });

  it("drops a cancelled body's pieces and keeps serving", async () => {
    const transport = threadTransport();
    const reply = await transport(url(), call());
    await reply.cancel();
    expect(await reply.read()).toBeUndefined();
    const next = await bodyOf(await transport(url(), call("bytes=5-9")));
    expectBytes(Buffer.concat(next), 5, 5);
  });

  it("rejects at once with the signal's reason when aborted before the head", async () => {
    const transport = threadTransport();
    const controller = new AbortController();
    controller.abort(new Error("not now"));
    await expect(transport(url(), { ...call(), signal: controller.signal })).rejects.toThrow("not now");
    const refused = threadTransport();
    // Nothing listens on port 1: the thread's connection error comes back with its code.
    const err = await refused("http://127.0.0.1:1/x", call("bytes=0-9")).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ECONNREFUSED");
  });
});

// Last in the file: the thread stays stopped for the rest of this module's life.
describe("a network thread that dies", () => {
  it("fails the requests in flight, which are retried, and sends later ones on this thread", async () => {
    const slow = await startRangeServer({ root: dir, bytesPerSecond: 2_000_000 });
    try {
      const source = await HttpSource.open(`${slow.url}object.bin`, {
        ...FAST,
        client: "thread",
        retries: 2,
      });
      expect((await source.read(0, 100_000)).buffer).toBeInstanceOf(SharedArrayBuffer);
      // A body of 1 MB at 2 MB/s is in flight when the thread stops.
      const reading = source.read(1_000, 1_000_000);
      await new Promise((done) => setTimeout(done, 150));
      await stopNetworkThread();
      expectBytes(await reading, 1_000, 1_000_000);
      expect(source.stats.retries).toBe(1);
      // Later requests: on this thread's reader (its lines are not shared memory).
      const later = await source.read(5, 200_000);
      expectBytes(later, 5, 200_000);
      expect(later.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    } finally {
      await slow.close();
    }
  });
});
