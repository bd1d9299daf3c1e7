/**
 * Stores on S3: `index`, `commit` and `compact` with `--store s3://bucket/prefix` against s3rver on
 * loopback. s3rver has no conditional writes; the test server adds S3's documented semantics in front
 * of it (If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload, 412 PreconditionFailed,
 * 409 ConditionalRequestConflict: fixtures/servers/s3-conditional.ts). The stores written are checked
 * by downloading every object and opening the copy as a local store.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, isGeochunksError, openStore, type SourceError, writeGeoParquet } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { Store } from "../../src/store/store.js";
import { BIN, type CliRun, ROOT } from "../support/cli.js";
import { visibleGranules } from "../support/granules.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { readResultRows, toMicros } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIASTORETEST", secretAccessKey: "store-test-secret-0123456789" };
const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const idOf = (file: string) => basename(file).replace(/\.h5$/, "");

let dir: string;
let files: string[];
let server: S3TestServer;
let s3: S3Objects;

/** The environment a user's shell would have for this server. */
function env(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: join(dir, "home"),
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
  };
}

/** Starts the command line; `closed` resolves with its run, `seen` once stderr matches. */
function start(args: string[], extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...env(), ...extra },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  const seen = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      child.stderr.on("data", () => {
        if (pattern.test(stderr)) resolve();
      });
      child.on("close", () => reject(new Error(`exited before ${pattern}: ${stderr}`)));
    });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const closed = new Promise<CliRun>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
  return { child, seen, closed };
}

const cli = (args: string[]) => start(args).closed;

/** Library source options for this server. */
const source = () => ({ s3: { endpoint: server.endpoint, credentials: KEY } });

/** Every object under `s3://bucket/prefix/`, as relative keys with their bytes. */
async function objects(prefix: string): Promise<Map<string, string>> {
  const listed = await s3.list(`${prefix}/`);
  const out = new Map<string, string>();
  for (const o of listed)
    out.set(o.url.slice(prefix.length + 1), Buffer.from((await s3.get(o.url))!.body).toString("latin1"));
  return out;
}

/** Downloads the store at `prefix` into a new local folder. */
async function download(prefix: string): Promise<string> {
  const local = mkdtempSync(join(dir, "copy-"));
  for (const [key, body] of await objects(prefix)) {
    mkdirSync(dirname(join(local, key)), { recursive: true });
    writeFileSync(join(local, key), Buffer.from(body, "latin1"));
  }
  return local;
}

/** The store at `prefix` holds exactly `expected`, each once, and a Greenland query equals the oracle. */
async function expectStore(prefix: string, expected: string[]) {
  const s = await openStore(await download(prefix));
  expect((await s.granules()).map((g) => g.granule_id).sort()).toEqual(expected.map(idOf).sort());
  const { rows } = await s.sql("SELECT count(*) AS n, count(DISTINCT chunk_id) AS d FROM chunks");
  expect(rows[0]!.n).toBe(rows[0]!.d);
  const result = s.query({ aoi: GREENLAND });
  const out = join(dir, `q-${Math.random().toString(36).slice(2)}.parquet`);
  await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
  expect(await readResultRows(out)).toEqual(toMicros(await bruteForceAtl06(expected, GREENLAND)));
}

/** The published manifest of the store at `prefix` lists exactly the granules of `expected`. */
async function expectGranules(prefix: string, expected: string[]) {
  const manifest = JSON.parse(new TextDecoder().decode((await s3.get(`${prefix}/manifest.json`))!.body));
  expect(manifest.parts.reduce((n: number, p: { granule_count: number }) => n + p.granule_count, 0)).toBe(
    expected.length,
  );
  expect(await visibleGranules(prefix, source())).toEqual(expected.map(idOf).sort());
}

describe("stores on S3: index, commit, compact with conditional writes", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-s3-store-"));
    mkdirSync(join(dir, "home"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 4)) files.push(await writeSyntheticAtl06(dir, opts));
    server = await startS3Server({ buckets: ["stores"], privateBuckets: ["stores"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("index writes the local layout under the prefix: parts, then manifests/<generation>.json, then manifest.json", async () => {
    const prefix = "s3://stores/one/idx";
    const run = await cli(["index", files[0]!, files[1]!, "--store", prefix, "--quiet"]);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    const keys = [...(await objects(prefix)).keys()].sort();
    expect(keys.filter((k) => !k.endsWith(".parquet"))).toEqual([
      "manifest.json",
      "manifests/0000000001.json",
    ]);
    const chunks = keys.filter((k) => k.startsWith("chunks/"));
    expect(chunks.length).toBeGreaterThanOrEqual(1);
    for (const k of chunks) {
      expect(k).toMatch(
        /^chunks\/product=ATL06\/month=\d{4}-\d{2}\/part-[0-9a-z]+-gc[0-9a-f]{6}-\d+-[0-9a-f]+\.parquet$/,
      );
    }
    const parts = keys.filter((k) => k.endsWith(".parquet"));
    expect(parts.filter((k) => k.startsWith("chunk_cells/"))).toHaveLength(chunks.length);
    expect(parts).toHaveLength(2 + 2 * chunks.length);
    const body = await objects(prefix);
    expect(body.get("manifest.json")).toBe(body.get("manifests/0000000001.json"));
    const manifest = JSON.parse(body.get("manifest.json")!);
    expect(manifest.generation).toBe(1);
    // Parts were PUT before the manifest version, and that before the pointer.
    const puts = server.seen
      .filter((r) => r.method === "PUT" && r.path.startsWith("/stores/one/idx/"))
      .map((r) => r.path);
    const at = (suffix: string) => puts.findIndex((p) => p.endsWith(suffix));
    expect(puts.slice(0, parts.length).every((p) => p.endsWith(".parquet"))).toBe(true);
    expect(at("manifests/0000000001.json")).toBe(parts.length);
    expect(at("/manifest.json")).toBe(parts.length + 1);
    await expectStore(prefix, files.slice(0, 2));

    // Appending rebases on the published manifest; re-indexing is a no-op that writes nothing.
    expect((await index([files[2]!], { store: prefix, source: source() })).added).toHaveLength(1);
    const again = await index(files.slice(0, 3), { store: prefix, source: source() });
    expect(again.unchanged).toHaveLength(3);
    expect(JSON.parse((await objects(prefix)).get("manifest.json")!).generation).toBe(2);
    await expectGranules(prefix, files.slice(0, 3));
  });

  it("two writers racing for the same generation both land: the loser rebases on the winner and retries", async () => {
    const prefix = "s3://stores/race/idx";
    let waiting = 0;
    let release: () => void = () => {};
    const bothReady = new Promise<void>((r) => {
      release = r;
    });
    // Both writers have uploaded their parts and read no manifest yet: they then race for generation 1.
    const barrier = async () => {
      waiting += 1;
      if (waiting === 2) release();
      await bothReady;
    };
    const before = server.conditional.preconditionFailed + server.conditional.conflicts;
    const [a, b] = await Promise.all([
      index([files[0]!, files[1]!], { store: prefix, source: source(), beforeCommit: barrier }),
      index([files[2]!, files[3]!], { store: prefix, source: source(), beforeCommit: barrier }),
    ]);
    expect([a.added.length, b.added.length]).toEqual([2, 2]);
    expect(server.conditional.preconditionFailed + server.conditional.conflicts).toBeGreaterThan(before);
    const body = await objects(prefix);
    expect(JSON.parse(body.get("manifest.json")!).generation).toBe(2);
    expect(body.get("manifest.json")).toBe(body.get("manifests/0000000002.json"));
    await expectGranules(prefix, files);
  });

  it("a writer killed between uploading parts and writing the manifest leaves the store as it was; compact removes its orphans", async () => {
    const prefix = "s3://stores/crash/idx";
    await index([files[0]!], { store: prefix, source: source() });
    const before = await objects(prefix);
    const run = start(["index", files[1]!, "--store", prefix], { GEOCHUNKS_PAUSE_BEFORE_COMMIT_MS: "60000" });
    await run.seen(/pausing before commit/);
    run.child.kill("SIGKILL");
    await run.closed;
    const after = await objects(prefix);
    const orphans = [...after.keys()].filter((k) => !before.has(k));
    expect(orphans.length).toBeGreaterThanOrEqual(4);
    expect(orphans.every((k) => k.endsWith(".parquet"))).toBe(true);
    for (const [k, v] of before) expect(after.get(k), k).toBe(v);
    await expectGranules(prefix, files.slice(0, 1));

    // Within the grace period compact keeps them (their writer may be alive elsewhere)...
    await (await Store.open(prefix, { s3: source().s3 })).compact();
    expect([...(await objects(prefix)).keys()]).toEqual(expect.arrayContaining(orphans));
    // ...and past it removes them.
    await (await Store.open(prefix, { s3: source().s3, retiredGraceMs: 0 })).compact();
    expect([...(await objects(prefix)).keys()].sort()).toEqual([...before.keys()].sort());
    await index([files[1]!], { store: prefix, source: source() });
    await expectGranules(prefix, files.slice(0, 2));

    // A writer killed after creating manifests/<next generation>.json, before replacing manifest.json:
    // readers still see the previous version; the next writer finishes that publish, then its own.
    const published = JSON.parse((await objects(prefix)).get("manifest.json")!);
    // Its commit removed the first granule, which has a part set of its own: a consistent commit.
    const gone = idOf(files[0]!);
    const dropped = {
      ...published,
      generation: published.generation + 1,
      parts: published.parts.filter(
        (p: { granule_count: number; granule_range: string[] }) =>
          !(p.granule_count === 1 && p.granule_range[0] === gone),
      ),
    };
    expect(dropped.parts).toHaveLength(published.parts.length - 1);
    const orphanVersion = `manifests/${String(dropped.generation).padStart(10, "0")}.json`;
    await s3.put(
      `${prefix}/${orphanVersion}`,
      new TextEncoder().encode(`${JSON.stringify(dropped, null, 2)}\n`),
      {
        ifNoneMatch: "*",
      },
    );
    await expectGranules(prefix, files.slice(0, 2));
    await index([files[2]!], { store: prefix, source: source() });
    const now = await objects(prefix);
    expect(JSON.parse(now.get("manifest.json")!).generation).toBe(published.generation + 2);
    expect(now.get("manifest.json")).toBe(
      now.get(`manifests/${String(published.generation + 2).padStart(10, "0")}.json`),
    );
    // Generation g + 1 was taken, so reaching g + 2 means the writer published the dead writer's
    // commit (without the first granule) and rebased on it.
    await expectGranules(prefix, files.slice(1, 3));
  });

  it("shards stage into staged/ on S3 and commit publishes them; compact merges and retires", async () => {
    const prefix = "s3://stores/shards/idx";
    await Promise.all(
      [0, 1].map((i) => index(files, { store: prefix, source: source(), shard: { index: i, count: 2 } })),
    );
    const staged = [...(await objects(prefix)).keys()].filter((k) => k.startsWith("staged/"));
    expect(staged.length).toBeGreaterThanOrEqual(1);
    expect((await objects(prefix)).has("manifest.json")).toBe(false);
    const committed = await cli(["commit", "--store", prefix]);
    expect([committed.code, committed.stderr]).toEqual([0, ""]);
    expect([...(await objects(prefix)).keys()].filter((k) => k.startsWith("staged/"))).toEqual([]);
    await expectGranules(prefix, files);
    const compacted = await (await Store.open(prefix, { s3: source().s3 })).compact();
    expect([compacted.before, compacted.after]).toEqual([staged.length, 1]);
    const manifest = JSON.parse((await objects(prefix)).get("manifest.json")!);
    expect(manifest.parts).toHaveLength(1);
    expect(manifest.retired).toHaveLength(staged.length);
    await expectGranules(prefix, files);
  });

  it("verify names a part replaced on S3 and compact --repair rebuilds it with conditional writes", async () => {
    const prefix = "s3://stores/verify/idx";
    await index([files[0]!], { store: prefix, source: source() });
    await index([files[1]!], { store: prefix, source: source() });
    const clean = await cli(["verify", "--store", prefix]);
    expect([clean.code, clean.stderr]).toEqual([0, ""]);
    expect(clean.stdout).toBe(`verified ${prefix}: 8 part files, 2 granules, 0 problems\n`);

    const manifest = JSON.parse((await objects(prefix)).get("manifest.json")!);
    const [first, second] = manifest.parts as { files: Record<string, string[]>; granules: string[] }[];
    // The first set's chunk_cells part overwritten by the second's (valid Parquet, other rows, other
    // size); the second set's chunks part overwritten by garbage of the same size.
    const cells = first!.files.chunk_cells[0]!;
    const chunks = second!.files.chunks[0]!;
    const body = await objects(prefix);
    await server.put(
      "stores",
      `verify/idx/${cells}`,
      Buffer.from(body.get(second!.files.chunk_cells[0]!)!, "latin1"),
    );
    await server.put("stores", `verify/idx/${chunks}`, new Uint8Array(body.get(chunks)!.length).fill(7));
    const broken = await cli(["verify", "--store", prefix]);
    expect(broken.code).toBe(1);
    const lines = broken.stderr.trim().split("\n");
    expect(lines.some((l) => l.startsWith(`${prefix}/${cells}: `))).toBe(true);
    expect(lines.some((l) => l.startsWith(`${prefix}/${chunks}: SHA-256 `))).toBe(true);
    expect(lines.every((l) => l.startsWith(`${prefix}/`))).toBe(true);
    expect(broken.stdout).toMatch(
      new RegExp(
        `^verified ${prefix}: 8 part files, 2 granules, ${lines.length} problems; geochunks compact --store ${prefix} --repair rebuilds what it can\n$`,
      ),
    );

    // Repair: the cells rebuilt from the first set's chunks, the second set's granule dropped; published
    // as a new manifest version (If-None-Match: *) and pointer (If-Match).
    const repaired = await cli(["compact", "--store", prefix, "--repair"]);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(
      `repaired ${prefix}: ${lines.length} problems, 1 part sets rebuilt, 1 granules dropped (index them again: ${idOf(files[1]!)})`,
    );
    const after = await objects(prefix);
    const generation = JSON.parse(after.get("manifest.json")!).generation;
    expect(after.get("manifest.json")).toBe(
      after.get(`manifests/${String(generation).padStart(10, "0")}.json`),
    );
    const conditional = server.seen.filter(
      (r) => r.method === "PUT" && r.path === "/stores/verify/idx/manifest.json" && r.headers["if-match"],
    );
    expect(conditional.length).toBeGreaterThanOrEqual(2);
    expect((await cli(["verify", "--store", prefix])).code).toBe(0);
    await index([files[1]!], { store: prefix, source: source() });
    await expectStore(prefix, files.slice(0, 2));
  });

  it("a bucket that does not exist fails naming the s3:// URL (the command line's exit 2)", async () => {
    const err = (await index([files[0]!], { store: "s3://no-such-bucket/idx", source: source() }).catch(
      (e: unknown) => e,
    )) as SourceError;
    expect(isGeochunksError(err, "SourceError")).toBe(true);
    expect(err.status).toBe(404);
    expect(err.message).toMatch(
      /^s3:\/\/no-such-bucket\/idx\/manifest\.json: not found \(HTTP 404 NoSuchBucket\)$/,
    );
  });
});
