/**
 * A server that ignores Range and answers every request with 200 and the whole object: the
 * statistics count the bytes that really arrived, and the command line warns once per server.
 * The servers are real loopback HTTP servers that count, per path, the body bytes they sent.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { main } from "../../src/cli/main.js";
import { warnOncePerHost } from "../../src/cli/warnings.js";
import { index } from "../../src/index.js";
import { HttpSource, type SourceWarning } from "../../src/source/http.js";
import { withReadStats } from "../../src/source/index.js";

/** A loopback server sending every object whole with status 200, whatever the Range header says. */
interface WholeServer {
  url: string;
  /** Requests received (HEAD included), and body bytes sent in full, in total and per path. */
  stats: { requests: number; bytes: number; byPath: Map<string, number> };
  reset(): void;
  close(): Promise<void>;
}

async function startWholeServer(root: string): Promise<WholeServer> {
  const stats = { requests: 0, bytes: 0, byPath: new Map<string, number>() };
  const server: Server = createServer((req, res) => {
    stats.requests += 1;
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let body: Buffer;
    try {
      body = readFileSync(join(root, basename(path)));
    } catch {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader("Content-Length", body.length);
    res.setHeader("ETag", `"${body.length}"`);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    // Counted once the whole body has been handed to the socket.
    res.on("finish", () => {
      stats.bytes += body.length;
      stats.byPath.set(path, (stats.byPath.get(path) ?? 0) + body.length);
    });
    res.end(body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stats,
    reset() {
      Object.assign(stats, { requests: 0, bytes: 0, byPath: new Map() });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (t) => out.push(t),
    (t) => err.push(t),
  );
  return { code, out, err };
}

const H_LI = "/gt1l/land_ice_segments/h_li";

describe("a server that ignores Range requests", () => {
  let dir: string;
  let files: string[];
  let whole: WholeServer;
  let ranged: RangeServer;
  let origin: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-ignored-range-"));
    const set = demoGranuleSet();
    files = [];
    for (const opts of [set[0]!, set[2]!])
      files.push(await writeSyntheticAtl06(dir, { ...opts, segmentsPerBeam: 2000 }));
    whole = await startWholeServer(dir);
    ranged = await startRangeServer({ root: dir });
    origin = whole.url.replace(/\/$/, "");
  });
  afterAll(async () => {
    await whole.close();
    await ranged.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("cat --stats counts the whole object it received and warns once", async () => {
    const name = basename(files[0]!);
    const size = (await stat(files[0]!)).size;
    const local = await run(["cat", files[0]!, H_LI, "--slice", "0:5"]);
    whole.reset();
    const remote = await run(["cat", `${whole.url}${name}`, H_LI, "--slice", "0:5", "--stats"]);
    expect(remote.code).toBe(0);
    expect(remote.out).toEqual(local.out);
    expect(remote.err).toHaveLength(2);
    expect(remote.err[0]).toBe(
      `warning: ${origin} ignores Range requests; whole objects are downloaded (${size} bytes for ${name})`,
    );
    const stats = JSON.parse(remote.err[1]!);
    expect(stats).toEqual({ requests: whole.stats.requests, bytes_read: whole.stats.bytes });
    expect(stats.bytes_read).toBe(size);

    // A server that honours ranges: no warning, and far fewer bytes, again as the server counted them.
    ranged.resetStats();
    const partial = await run(["cat", `${ranged.url}${name}`, H_LI, "--slice", "0:5", "--stats"]);
    expect(partial.out).toEqual(local.out);
    expect(partial.err).toHaveLength(1);
    const honest = JSON.parse(partial.err[0]!);
    expect(honest).toEqual({ requests: ranged.stats.requests, bytes_read: ranged.stats.bytes });
    expect(honest.bytes_read).toBeLessThan(size / 10);
  });

  it("query --stats counts the whole objects received, not the ranges asked for", async () => {
    const urls = files.map((f) => `${whole.url}${basename(f)}`);
    const store = join(dir, "store");
    await index(urls, { store });
    const args = ["query", "--store", store, "--polygon", "-46,62,-44,64", "--beams", "gt1l"];
    const plan = JSON.parse((await run([...args, "--dry-run"])).out.at(-1)!);
    whole.reset();
    const r = await run([...args, "--out", join(dir, "whole.parquet"), "--stats"]);
    expect(r.code, r.err.join("\n")).toBe(0);
    const stats = JSON.parse(r.out.at(-1)!);
    expect(stats.granules).toBe(files.length);
    // Each granule's body arrived whole once; every request that left is counted.
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    expect(stats.bytes_read).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(stats.bytes_read).toBeGreaterThan(plan.bytes);
    expect(stats.requests).toBe(whole.stats.requests);
    // The first round's concurrent requests leave before any answer; the duplicate whole bodies
    // are cancelled on arrival, so the server may count more than was received.
    expect(whole.stats.bytes).toBeGreaterThanOrEqual(stats.bytes_read);
    // One warning line for the server, however many granules it sent whole.
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^warning: ${origin} ignores Range requests`));

    // The same query through a server that honours ranges reads the planned bytes.
    const rangedStore = join(dir, "ranged-store");
    await index(
      files.map((f) => `${ranged.url}${basename(f)}`),
      { store: rangedStore },
    );
    ranged.resetStats();
    const rangedArgs = [...args.slice(0, 2), rangedStore, ...args.slice(3)];
    const q = await run([...rangedArgs, "--out", join(dir, "ranged.parquet"), "--stats"]);
    const rangedStats = JSON.parse(q.out.at(-1)!);
    expect(rangedStats.rows).toBe(stats.rows);
    expect(rangedStats.bytes_read).toBe(ranged.stats.bytes);
    expect(rangedStats.bytes_read).toBe(plan.bytes);
  });

  it("warns once per server, however many of its objects are read", async () => {
    const seen: SourceWarning[] = [];
    const lines: string[] = [];
    const print = warnOncePerHost((line) => lines.push(line));
    const onWarning = (w: SourceWarning) => {
      seen.push(w);
      print(w);
    };
    for (const f of files) {
      const source = await HttpSource.open(`${whole.url}${basename(f)}`, { onWarning });
      await source.read(0, 8);
      await source.read(100, 8);
      await source.close();
    }
    const honouring = await HttpSource.open(`${ranged.url}${basename(files[0]!)}`, { onWarning });
    await honouring.read(0, 8);
    expect(seen.map((w) => [w.code, w.origin, basename(w.url)])).toEqual(
      files.map((f) => ["ignores-range", origin, basename(f)]),
    );
    expect(lines).toEqual([`warning: ${seen[0]!.message}`]);
  });

  it("withReadStats over an HTTP source counts the requests sent and bytes received", async () => {
    const size = (await stat(files[1]!)).size;
    whole.reset();
    const http = await HttpSource.open(`${whole.url}${basename(files[1]!)}`);
    const { source, stats } = withReadStats(http);
    for (const at of [0, 5000, 90_000]) await source.read(at, 10);
    expect(stats).toEqual({ requests: 1, bytes: size });
    expect(whole.stats).toMatchObject({ requests: 1, bytes: size });
    ranged.resetStats();
    const { source: ranges, stats: rangeStats } = withReadStats(
      await HttpSource.open(`${ranged.url}${basename(files[1]!)}`),
    );
    for (const at of [0, 5000, 90_000]) await ranges.read(at, 10);
    expect(rangeStats).toEqual({ requests: 3, bytes: 30 });
    expect(ranged.stats).toMatchObject({ requests: 3, bytes: 30 });
  });
});
