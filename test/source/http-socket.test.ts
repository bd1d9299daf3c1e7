import type { Server, Socket } from "node:net";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { startRangeServer } from "../../fixtures/servers/range-server.js";
import { SourceError } from "../../src/errors.js";
import { HttpSource, type HttpSourceOptions } from "../../src/source/index.js";
import { firstN, RANGES, SIZE, servedObject } from "./served-object.js";

const served = servedObject("geochunks-http-socket-");
const { dir, content, expectBytes } = served;

const FAST: HttpSourceOptions = { backoff: { baseMs: 2, maxMs: 20 } };

describe("http source over the plain-TCP reader against node:http", () => {
  it("reads the same bytes with the same requests, on one kept-alive connection", async () => {
    const seen: Record<string, { requests: number; bytes: number; connections: number }> = {};
    for (const client of ["auto", "node"] as const) {
      const source = await HttpSource.open(`${served.server.url}object.bin`, { client });
      served.server.resetStats();
      const reads: Uint8Array[] = [];
      for (const [offset, length] of RANGES) reads.push(await source.read(offset, length));
      // Bodies read in place are the caller's: later reads on the same connection leave them alone.
      for (const [i, [offset, length]] of RANGES.entries()) expectBytes(reads[i]!, offset, length);
      expect(await source.size()).toBe(SIZE);
      const { requests, bytes, connections } = served.server.stats;
      seen[client] = { requests, bytes, connections };
      expect(source.stats).toEqual({ requests, retries: 0, bytes });
    }
    expect(seen.auto).toEqual(seen.node);
    expect(seen.auto).toEqual({ requests: RANGES.length, bytes: 3_119_578, connections: 1 });
  });

  it("reads concurrent ranges on parallel connections, then reuses them", async () => {
    const source = await HttpSource.open(`${served.server.url}object.bin`, { concurrency: 4 });
    const offsets = Array.from({ length: 24 }, (_, i) => (i * 104_729) % (SIZE - 200_000));
    const reads = await Promise.all(offsets.map((o) => source.read(o, 200_000)));
    for (const [i, o] of offsets.entries()) expectBytes(reads[i]!, o, 200_000);
    expect(served.server.stats.requests).toBe(24);
    expect(served.server.stats.connections).toBeLessThanOrEqual(4);
    expect(served.server.stats.maxInFlight).toBeLessThanOrEqual(4);
  });

  // `thread`: the same reader on the network thread (source/http-thread.ts), as an index run sends.
  it.each(["auto", "thread"] as const)(
    "retries resets, 5xx and short bodies, and reports them when out of retries (client %s)",
    async (client) => {
      const source = await HttpSource.open(`${served.server.url}object.bin`, { ...FAST, client, retries: 3 });
      for (const fault of ["reset", "503", "truncate", "500"] as const) {
        served.server.setFault(firstN(2, fault));
        served.server.resetStats();
        expectBytes(await source.read(100_000, 1_000_000), 100_000, 1_000_000);
        expect(served.server.stats.requests).toBe(3);
      }
      expect(source.stats.retries).toBe(8);
      const once = await HttpSource.open(`${served.server.url}object.bin`, { ...FAST, client, retries: 0 });
      const failures: Record<string, [number, string]> = {};
      for (const fault of ["reset", "503", "truncate"] as const) {
        served.server.setFault(() => fault);
        const err = await once.read(0, 400_000).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SourceError);
        failures[fault] = [
          (err as SourceError).status,
          (err as SourceError).message.replace(served.server.url, "URL/"),
        ];
      }
      expect(failures).toEqual({
        reset: [502, "network error reading URL/object.bin (bytes=0-399999): ECONNRESET"],
        "503": [503, "URL/object.bin answered HTTP 503 InternalError (bytes=0-399999)"],
        truncate: [502, "body of URL/object.bin (bytes=0-399999) ended after 200000 of 400000 bytes"],
      });
    },
  );

  it.each(["auto", "thread"] as const)(
    "feeds the stall timer while a slow body arrives in place (client %s)",
    async (client) => {
      const slow = await startRangeServer({ root: dir, bytesPerSecond: 400_000 });
      try {
        // 300 KB at 400 KB/s takes 0.75 s, over twice the stall timeout, with bytes every 40 ms: on the
        // thread, its progress must cross to this one.
        const source = await HttpSource.open(`${slow.url}object.bin`, { client, timeoutMs: 300, retries: 0 });
        expectBytes(await source.read(5, 300_000), 5, 300_000);
        expect(source.stats).toMatchObject({ requests: 1, retries: 0 });
      } finally {
        await slow.close();
      }
    },
  );

  it.each(["auto", "thread"] as const)(
    "rejects with the caller's reason when aborted mid-body, and reads on afterwards (client %s)",
    async (client) => {
      const slow = await startRangeServer({ root: dir, bytesPerSecond: 1_000_000 });
      try {
        const source = await HttpSource.open(`${slow.url}object.bin`, { client });
        const controller = new AbortController();
        const reading = source.read(0, 2_000_000, { signal: controller.signal });
        setTimeout(() => controller.abort(new Error("enough")), 100);
        await expect(reading).rejects.toThrow("enough");
        expectBytes(await source.read(7, 20_000), 7, 20_000);
        expect(slow.stats.requests).toBe(2);
        // The aborted request's connection was closed, not reused.
        expect(slow.stats.connections).toBe(2);
      } finally {
        await slow.close();
      }
    },
  );
});

/** A scripted HTTP/1.1 server: `answer(request head, n-th request on the socket)` writes the raw reply. */
async function rawServer(answer: (head: string, n: number, socket: Socket) => void): Promise<{
  url: string;
  server: Server;
  connections: () => number;
}> {
  let connections = 0;
  const srv = createServer((socket) => {
    connections += 1;
    let buffered = "";
    let n = 0;
    socket.on("data", (data) => {
      buffered += data.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        answer(head, n++, socket);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((done) => srv.listen(0, "127.0.0.1", done));
  const { port } = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/object.bin`, server: srv, connections: () => connections };
}

/** The requested range of a raw request head. */
function rangeOf(head: string): [number, number] {
  const m = /range: bytes=(\d+)-(\d+)/i.exec(head)!;
  return [Number(m[1]), Number(m[2])];
}

/** Writes `parts` one by one on separate turns, so the client sees them in separate reads. */
function trickle(socket: Socket, parts: (string | Uint8Array)[]): void {
  const next = () => {
    const part = parts.shift();
    if (part === undefined) return;
    socket.write(part, () => setTimeout(next, 2));
  };
  next();
}

describe("plain-TCP reader against a scripted server", () => {
  it("decodes chunked 206 bodies with extensions and trailers, heads split across reads", async () => {
    const raw = await rawServer((head, _n, socket) => {
      const [start, end] = rangeOf(head);
      const body = content.subarray(start, end + 1);
      const cut = Math.floor(body.length / 3);
      trickle(socket, [
        "HTTP/1.1 206 Partial Content\r\nContent-Ra",
        `nge: bytes ${start}-${end}/${SIZE}\r\nETag: "e1"\r\nTransfer-Encoding: chunked\r\n\r\n`,
        `${cut.toString(16)};ext=1\r\n`,
        body.subarray(0, cut),
        `\r\n${(body.length - cut).toString(16)}\r\n`,
        body.subarray(cut),
        "\r\n0\r\nx-trailer: 1\r\n\r\n",
      ]);
    });
    try {
      const source = await HttpSource.open(raw.url);
      expectBytes(await source.read(10, 100_000), 10, 100_000);
      expectBytes(await source.read(123_456, 5), 123_456, 5);
      expect(await source.size()).toBe(SIZE);
      expect(source.etag).toBe('"e1"');
      expect(source.stats).toEqual({ requests: 2, retries: 0, bytes: 100_005 });
      expect(raw.connections()).toBe(1);
    } finally {
      raw.server.close();
    }
  });

  it("sends a request again on a new connection when the kept one was closed, without a retry", async () => {
    const raw = await rawServer((head, n, socket) => {
      const [start, end] = rangeOf(head);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\nContent-Length: ${end - start + 1}\r\n\r\n`,
      );
      socket.write(content.subarray(start, end + 1));
      // The server drops each connection right after its first answer, as idle timeouts do.
      if (n === 0) setTimeout(() => socket.end(), 5);
    });
    try {
      const source = await HttpSource.open(raw.url, { retries: 0 });
      expectBytes(await source.read(0, 1000), 0, 1000);
      await new Promise((done) => setTimeout(done, 50));
      expectBytes(await source.read(1000, 1000), 1000, 1000);
      expect(source.stats).toEqual({ requests: 2, retries: 0, bytes: 2000 });
      expect(raw.connections()).toBe(2);
    } finally {
      raw.server.close();
    }
  });

  it("sends a request again when the kept connection closes as the request arrives, without a retry", async () => {
    const raw = await rawServer((head, n, socket) => {
      // The second request on a connection finds it closing, as when an idle timeout races the request.
      if (n === 1) return void socket.destroy();
      const [start, end] = rangeOf(head);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\nContent-Length: ${end - start + 1}\r\n\r\n`,
      );
      socket.write(content.subarray(start, end + 1));
    });
    try {
      const source = await HttpSource.open(raw.url, { retries: 0 });
      expectBytes(await source.read(0, 1000), 0, 1000);
      expectBytes(await source.read(1000, 1000), 1000, 1000);
      expect(source.stats).toEqual({ requests: 2, retries: 0, bytes: 2000 });
      expect(raw.connections()).toBe(2);
    } finally {
      raw.server.close();
    }
  });

  it("reads a body delimited by the connection's close and does not reuse that connection", async () => {
    const raw = await rawServer((head, _n, socket) => {
      const [start, end] = rangeOf(head);
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\n\r\n`);
      trickle(socket, [content.subarray(start, start + 10), content.subarray(start + 10, end + 1)]);
      setTimeout(() => socket.end(), 30);
    });
    try {
      const source = await HttpSource.open(raw.url, { retries: 0 });
      expectBytes(await source.read(50, 30_000), 50, 30_000);
      expectBytes(await source.read(0, 100), 0, 100);
      expect(raw.connections()).toBe(2);
    } finally {
      raw.server.close();
    }
  });

  it("fails a body longer than the range at once, whatever length the server claims", async () => {
    const raw = await rawServer((head, _n, socket) => {
      const [start, end] = rangeOf(head);
      // 2 GB claimed for a 10-byte range (too long to be read in place), then 20 bytes and silence.
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\nContent-Length: 2000000000\r\n\r\n`,
      );
      socket.write(content.subarray(start, start + 20));
    });
    try {
      const source = await HttpSource.open(raw.url, { retries: 0, timeoutMs: 5000 });
      const err = await source.read(0, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).status).toBe(502);
      expect((err as SourceError).message).toBe(`body of ${raw.url} (bytes=0-9) is longer than 10 bytes`);
    } finally {
      raw.server.close();
    }
  });

  it("fails a malformed answer as a network error naming the URL", async () => {
    const raw = await rawServer((_head, _n, socket) => {
      socket.write("HTTP/1.1 206 Partial Content\r\nno colon here\r\n\r\n");
    });
    try {
      const source = await HttpSource.open(raw.url, { retries: 0 });
      const err = await source.read(0, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as SourceError).status).toBe(502);
      expect((err as SourceError).message).toBe(
        `network error reading ${raw.url} (bytes=0-9): HPE_INVALID_RESPONSE`,
      );
    } finally {
      raw.server.close();
    }
  });
});
