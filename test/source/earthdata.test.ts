import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { isGeochunksError, type SourceError } from "../../src/errors.js";
import { DEFAULT_EARTHDATA_HOSTS, openSource, tokenAllowed } from "../../src/source/index.js";
import { expectOffsetBytes, offsetBytes } from "./conformance.js";

const TOKEN = "edl-token-eyJhbGciOiJSUzI1NiJ9.SECRET-PART";

describe("tokenAllowed", () => {
  it("matches allowed names and subdomains over HTTPS only (plain HTTP only on loopback)", () => {
    const ok = (url: string) => tokenAllowed(new URL(url), DEFAULT_EARTHDATA_HOSTS);
    expect(ok("https://urs.earthdata.nasa.gov/api")).toBe(true);
    expect(ok("https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/x.h5")).toBe(true);
    expect(ok("http://data.nsidc.earthdatacloud.nasa.gov/x.h5")).toBe(false);
    expect(ok("https://earthdatacloud.nasa.gov.evil.example/x.h5")).toBe(false);
    expect(ok("https://evilearthdatacloud.nasa.gov/x.h5")).toBe(false);
    expect(ok("https://nsidc-cumulus-prod-protected.s3.us-west-2.amazonaws.com/x.h5")).toBe(false);
    expect(tokenAllowed(new URL("http://localhost:8080/x"), ["localhost"])).toBe(true);
    expect(tokenAllowed(new URL("http://localhost:8080/x"), ["127.0.0.1"])).toBe(false);
  });
});

// `thread`: the same requests from the network thread (source/http-thread.ts), as an index run sends them.
describe.each(["auto", "thread"] as const)(
  "bearer tokens over loopback (localhost and 127.0.0.1 play two hosts), client %s",
  (client) => {
    let dir: string;
    let data: RangeServer;
    let redirector: Server;
    let seen: { host: string; path: string; authorization: string | undefined; range: string | undefined }[];
    let front: string;
    const bytes = offsetBytes(40_000);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "geochunks-edl-"));
      writeFileSync(join(dir, "granule.h5"), bytes);
      writeFileSync(join(dir, "big.h5"), offsetBytes(200_000));
      seen = [];
      data = await startRangeServer({
        root: dir,
        fault: (req) => {
          const { authorization, range, host } = req.headers;
          seen.push({ host: `data ${host}`, path: req.url ?? "", authorization, range });
          return authorization === `Bearer ${TOKEN}` || req.url !== "/protected.h5" ? undefined : "403";
        },
      });
      const dataPort = new URL(data.url).port;
      // The "DAAC": redirects to itself (same host) or to the data server (another host), as archives do.
      redirector = createServer((req, res) => {
        const { authorization, range, host } = req.headers;
        seen.push({ host: `front ${host}`, path: req.url ?? "", authorization, range });
        const to: Record<string, string> = {
          "/same-host": "/other-host",
          "/other-host": `http://127.0.0.1:${dataPort}/granule.h5`,
          "/loop": "/loop",
        };
        const target = to[req.url ?? ""];
        if (target === undefined) res.writeHead(404).end();
        else res.writeHead(req.url === "/same-host" ? 307 : 302, { location: target }).end();
      });
      await new Promise<void>((done) => redirector.listen(0, "127.0.0.1", done));
      front = `http://localhost:${(redirector.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await data.close();
      await new Promise((done) => redirector.close(done));
      rmSync(dir, { recursive: true, force: true });
    });

    const open = (url: string, hosts: string[]) =>
      openSource(url, { bearer: { token: TOKEN, hosts }, http: { retries: 0, client } });

    it("sends the token to an allowed host and not to another", async () => {
      seen.length = 0;
      const dataUrl = `${data.url}granule.h5`;
      expectOffsetBytes(await (await open(dataUrl, ["127.0.0.1"])).read(5, 10), 5, 10);
      expectOffsetBytes(await (await open(dataUrl, ["localhost"])).read(5, 10), 5, 10);
      expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${TOKEN}`, undefined]);
    });

    it("keeps the token on a same-host redirect and drops it on the hop to another host, keeping the range", async () => {
      seen.length = 0;
      // 127.0.0.1 is allowed too: a cross-host hop still never carries the token.
      const src = await open(`${front}/same-host`, ["localhost", "127.0.0.1"]);
      expectOffsetBytes(await src.read(30_000, 100), 30_000, 100);
      expect(seen.map((s) => [s.host.split(" ")[0], s.path, s.authorization, s.range])).toEqual([
        ["front", "/same-host", `Bearer ${TOKEN}`, "bytes=30000-30099"],
        ["front", "/other-host", `Bearer ${TOKEN}`, "bytes=30000-30099"],
        ["data", "/granule.h5", undefined, "bytes=30000-30099"],
      ]);
    });

    it("drops any other Authorization on a cross-host hop too", async () => {
      seen.length = 0;
      const url = new URL(`${front}/other-host`);
      url.username = "user";
      url.password = "pass-word-123";
      const src = await openSource(url, {
        bearer: { token: TOKEN, hosts: ["nowhere.example"] },
        http: { client },
      });
      expectOffsetBytes(await src.read(0, 10), 0, 10);
      expect(seen[0]!.authorization).toMatch(/^Basic /);
      expect(seen[1]!.authorization).toBeUndefined();
    });

    it("fails a redirect loop and a refusal with errors that name the URL but not the token", async () => {
      const loop = await (await open(`${front}/loop`, ["localhost"])).read(0, 10).catch((e: unknown) => e);
      expect(isGeochunksError(loop, "SourceError")).toBe(true);
      expect((loop as SourceError).message).toMatch(/\/loop answered HTTP 30[27]/);
      const denied = (await (
        await open(`${data.url}protected.h5`, ["localhost"])
      )
        .read(0, 10)
        .catch((e: unknown) => e)) as SourceError;
      expect(denied.status).toBe(403);
      expect(denied.message).toMatch(/access to http:\/\/127\.0\.0\.1:\d+\/protected\.h5 denied/);
      for (const err of [loop, denied])
        expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(TOKEN);
    });

    it("reads a token-protected object when the token goes to its host", async () => {
      writeFileSync(join(dir, "protected.h5"), bytes);
      const src = await open(`${data.url}protected.h5`, ["127.0.0.1"]);
      expectOffsetBytes(await src.read(100, 1000), 100, 1000);
      // A line's size: on the network thread, fetch's pieces are copied there into shared memory.
      const line = await src.read(1000, 39_000);
      expectOffsetBytes(line, 1000, 39_000);
      const big = await open(`${data.url}big.h5`, ["127.0.0.1"]);
      const body = await big.read(7, 100_000);
      expectOffsetBytes(body, 7, 100_000);
      expect(body.buffer instanceof SharedArrayBuffer).toBe(client === "thread");
    });
  },
);
