/**
 * Crashes of S3 store writers: `index`, `commit` and `compact` (the command line, against s3rver with
 * the test server's front adding S3's conditional writes, 412 PreconditionFailed and 409
 * ConditionalRequestConflict: fixtures/servers/s3-conditional.ts, since s3rver has none) are killed
 * with SIGKILL at seeded moments: at the k-th write request the server sees from them, either before
 * it is handled or after it landed and before the writer hears the answer. After each kill the
 * published store is exactly a state some commit made, and the same command run again needs no hand
 * work and lands. Then writers race a compaction, and compact past the grace period removes what the
 * killed writers left.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore, writeGeoParquet } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import type { Manifest } from "../../src/store/manifest.js";
import { Store } from "../../src/store/store.js";
import { BIN, ROOT } from "../support/cli.js";
import { visibleGranules } from "../support/granules.js";
import { bruteForceAtl06, type OracleRow } from "../support/oracle.js";
import { mulberry32 as random } from "../support/random.js";
import { readResultRows, toMicros } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey, type WriteRequest } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIACRASHTEST", secretAccessKey: "crash-test-secret-0123456789" };
const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const PREFIX = "s3://crash/idx";
const idOf = (file: string) => basename(file).replace(/\.h5$/, "");

let dir: string;
let files: string[];
let server: S3TestServer;
let s3: S3Objects;

function env(): Record<string, string> {
  return {
    HOME: join(dir, "home"),
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_ENDPOINT_URL: server.endpoint,
  };
}

const source = () => ({ s3: { endpoint: server.endpoint, credentials: KEY } });

/**
 * Runs the command line and SIGKILLs it at its `kill.at`-th write request to the store (counted from
 * 1), before the server handles it or after; resolves with whether it was killed.
 */
async function runKilled(
  args: string[],
  kill: { at: number; phase: "before" | "after"; counts?: (req: WriteRequest) => boolean },
) {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env() },
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const closed = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  let writes = 0;
  let killed = false;
  let target: number | undefined;
  server.onWrite(async (req) => {
    if (!req.path.startsWith("/crash/")) return;
    // Sent alongside the write the writer died at but reaching the server only after the kill (on a
    // loaded machine): lost with it too, as those held below are.
    if (killed) return req.phase === "before" ? "drop" : undefined;
    if (req.phase === "before" && (kill.counts?.(req) ?? true)) {
      writes += 1;
      if (writes === kill.at) target = req.seq;
    }
    if (req.phase === "before" && target !== undefined && req.seq > target) {
      // Sent alongside the write the writer dies at: lost with it, whichever reaches the server first.
      await closed;
      return killed ? "drop" : undefined;
    }
    if (req.seq === target && req.phase === kill.phase) {
      killed = true;
      child.kill("SIGKILL");
      await closed;
      // Killed before the request reached the store: it does not land.
      if (req.phase === "before") return "drop";
    }
    return undefined;
  });
  try {
    const ended = await closed;
    if (!killed) expect([ended.code, stderr]).toEqual([0, ""]);
    return { killed, writes, ms: Date.now() - started };
  } finally {
    server.onWrite(undefined);
  }
}

/** Every object of the store: key relative to the prefix -> size. */
async function objectSizes(): Promise<Map<string, number>> {
  const listed = await s3.list(`${PREFIX}/`);
  return new Map(listed.map((o) => [o.url.slice(PREFIX.length + 1), o.size]));
}

async function text(key: string): Promise<string | undefined> {
  const got = await s3.get(`${PREFIX}/${key}`);
  return got ? new TextDecoder().decode(got.body) : undefined;
}

const versionKey = (generation: number) => `manifests/${String(generation).padStart(10, "0")}.json`;

/** The states commits made so far, by generation: every manifest version a run created. */
const committed = new Map<number, string>();

async function recordVersions(): Promise<void> {
  for (const key of (await objectSizes()).keys()) {
    const m = /^manifests\/(\d+)\.json$/.exec(key);
    if (!m || committed.has(Number(m[1]))) continue;
    committed.set(Number(m[1]), (await text(key))!);
  }
}

const oracle = new Map<string, OracleRow[]>();

/** The brute-force answer for a set of granule ids. */
async function expectedRows(ids: string[]): Promise<OracleRow[]> {
  const key = [...ids].sort().join(",");
  if (!oracle.has(key)) {
    const chosen = files.filter((f) => ids.includes(idOf(f)));
    oracle.set(key, toMicros(await bruteForceAtl06(chosen, GREENLAND)));
  }
  return oracle.get(key)!;
}

/**
 * The published store is a state a commit made: `manifest.json` is one of the recorded versions,
 * every part file it lists is there with its recorded size, and a query over S3 gives that state's
 * rows. Returns its granule ids.
 */
async function expectCommittedState(label: string, opts: { query?: boolean } = {}): Promise<string[]> {
  await recordVersions();
  const pointer = await text("manifest.json");
  expect(pointer, label).toBeDefined();
  const manifest = JSON.parse(pointer!) as Manifest;
  expect(committed.get(manifest.generation!), label).toBe(pointer);
  const sizes = await objectSizes();
  for (const part of manifest.parts) {
    for (const file of Object.values(part.files).flat()) {
      expect(sizes.get(file), `${label}: ${file}`).toBe(part.stats?.[file]?.bytes);
    }
  }
  // Version 5: the manifest records each set's granule count; the ids are in its granules files.
  const ids = await visibleGranules(PREFIX, source());
  expect(
    manifest.parts.reduce((n, p) => n + p.granule_count!, 0),
    label,
  ).toBe(ids.length);
  if (opts.query === false) return ids;
  // The granule files as this state indexed them: the rounds give them new mtimes to re-index them.
  // Their fingerprints are in the granules table (the manifest lists only the part sets' granules).
  for (const [id, g] of await (await Store.open(PREFIX, source())).fingerprints()) {
    touch(files.find((f) => idOf(f) === id)!, g.mtime! / 1000);
  }
  const store = await openStore(PREFIX, { source: source() });
  const result = store.query({ aoi: GREENLAND });
  const out = join(dir, `q-${Math.random().toString(36).slice(2)}.parquet`);
  await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
  expect(await readResultRows(out), label).toEqual(await expectedRows(ids));
  return ids;
}

/** Marks a granule file as changed (a new mtime), so that the next index replaces its rows. */
function touch(file: string, at: number): void {
  utimesSync(file, at, at);
}

describe("S3 store writers killed at seeded moments", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-s3-crash-"));
    mkdirSync(join(dir, "home"));
    mkdirSync(join(dir, "granules"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 4))
      files.push(await writeSyntheticAtl06(join(dir, "granules"), { ...opts, segmentsPerBeam: 2000 }));
    // Whole seconds, which the checks below can set back exactly.
    for (const f of files) touch(f, 1_700_000_000);
    server = await startS3Server({ buckets: ["crash"], privateBuckets: ["crash"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("index, commit and compact killed at seeded write requests leave a committed state; the next writer lands", async () => {
    const next = random(1303);
    type Kind = "index" | "commit" | "compact";
    // Write requests every run of each command makes, where the seeded kill points are drawn: index
    // PUTs four part files, the manifest version and the pointer; commit the version, the pointer and
    // deletes two staged sets; compact PUTs four merged parts, the version and the pointer. Killed
    // before a request is handled, it does not land; after, it landed and the writer never heard.
    const writesOf: Record<Kind, number> = { index: 6, commit: 4, compact: 6 };
    await index([files[0]!], { store: PREFIX, source: source() });
    let state = await expectCommittedState("first index");
    let clock = 1_800_000_000;
    let kills = 0;
    const uncut: string[] = [];
    const rounds: { kind: Kind; granules: number[] }[] = [
      { kind: "index", granules: [1] },
      { kind: "commit", granules: [2, 3] },
      { kind: "compact", granules: [] },
      { kind: "index", granules: [0] },
      { kind: "commit", granules: [1, 2] },
      { kind: "compact", granules: [] },
      { kind: "index", granules: [3, 1] },
      { kind: "commit", granules: [0, 3] },
      { kind: "compact", granules: [] },
    ];
    for (const [round, { kind, granules }] of rounds.entries()) {
      const batch = granules.map((i) => files[i]!);
      // Granules already in the store are re-indexed: their rows are replaced (parts rewritten, retired).
      clock += 1000;
      for (const f of batch) touch(f, clock);
      const open = () => Store.open(PREFIX, { s3: source().s3 });
      let args: string[];
      let again: () => Promise<unknown>;
      if (kind === "commit") {
        await Promise.all(
          [0, 1].map((i) => index(batch, { store: PREFIX, source: source(), shard: { index: i, count: 2 } })),
        );
        args = ["commit", "--store", PREFIX];
        again = async () => (await open()).commitStaged();
      } else if (kind === "index") {
        args = ["index", ...batch, "--store", PREFIX, "--quiet"];
        again = () => index(batch, { store: PREFIX, source: source() });
      } else {
        args = ["compact", "--store", PREFIX];
        again = async () => (await open()).compact();
      }
      const kill = {
        at: 1 + Math.floor(next() * writesOf[kind]),
        phase: next() < 0.5 ? ("before" as const) : ("after" as const),
      };
      const label = `round ${round}: ${kind} killed at write ${kill.at} of ${writesOf[kind]} (${kill.phase} it is handled)`;
      const run = await runKilled(args, kill);
      if (run.killed) kills += 1;
      else uncut.push(`${label}: ran through after ${run.writes} writes`);
      const now = await expectCommittedState(label);
      const after = [...new Set([...state, ...batch.map(idOf)])].sort();
      expect([state, after], label).toContainEqual(now);
      // The next writer (the same work, through the library) needs no hand work and lands.
      if (kind === "index") for (const f of batch) touch(f, clock);
      await again();
      state = await expectCommittedState(`${label}, then run again`, { query: false });
      expect(state, label).toEqual(after);
      expect(
        [...(await objectSizes()).keys()].filter((k) => k.startsWith("staged/")),
        label,
      ).toEqual([]);
    }
    expect(kills, uncut.join("; ")).toBe(rounds.length);

    // Past the grace period, compact removes what the killed writers left: only the published parts,
    // the retired ones readers may still use, the pointer and the newest manifest version remain.
    await (await Store.open(PREFIX, { s3: source().s3, retiredGraceMs: 0 })).compact();
    const manifest = JSON.parse((await text("manifest.json"))!) as Manifest;
    const listed = [
      ...manifest.parts.flatMap((p) => Object.values(p.files).flat()),
      ...(manifest.retired ?? []).flatMap((r) => r.files),
    ];
    expect([...(await objectSizes()).keys()].sort()).toEqual(
      ["manifest.json", versionKey(manifest.generation!), ...listed].sort(),
    );
    expect(await expectCommittedState("after compact")).toEqual(files.map(idOf).sort());
  }, 240_000);

  it("a commit killed after publishing, between removing its staged sets: the next commit knows the run was published", async () => {
    clockTouch(files, 1_860_000_000);
    await Promise.all(
      [0, 1].map((i) =>
        index(files.slice(0, 2), { store: PREFIX, source: source(), shard: { index: i, count: 2 } }),
      ),
    );
    const generation = (JSON.parse((await text("manifest.json"))!) as Manifest).generation!;
    // Killed once the first of the two deletes of the staged sets has landed, after publishing.
    const firstDelete = {
      at: 1,
      phase: "after" as const,
      counts: (r: WriteRequest) => r.method === "DELETE",
    };
    expect((await runKilled(["commit", "--store", PREFIX], firstDelete)).killed).toBe(true);
    expect([...(await objectSizes()).keys()].filter((k) => k.startsWith("staged/"))).toHaveLength(1);
    const published = await text("manifest.json");
    expect((JSON.parse(published!) as Manifest).generation).toBe(generation + 1);
    // The set left is of a published run: not applied again, not refused as an incomplete run.
    await (await Store.open(PREFIX, { s3: source().s3 })).commitStaged();
    expect(await text("manifest.json")).toBe(published);
    expect([...(await objectSizes()).keys()].filter((k) => k.startsWith("staged/"))).toEqual([]);
  }, 120_000);

  it("two writers racing a compaction all land: the compaction loses, rebases on them and lands", async () => {
    // Two part sets to merge: one granule re-indexed into a set of its own.
    touch(files[0]!, 1_850_000_000);
    await index([files[0]!], { store: PREFIX, source: source() });
    clockTouch(files);
    const refused = server.conditional.preconditionFailed + server.conditional.conflicts;
    // `compact` (the command line) read the manifest and is uploading its merged parts: its first part
    // upload is held until two writers in this process have both re-indexed granules and published.
    let writers: Promise<unknown> | undefined;
    const child = spawn(process.execPath, [BIN, "compact", "--store", PREFIX], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env() },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const tag = `-${child.pid}-`;
    server.onWrite(async (req) => {
      if (req.phase !== "before" || !req.path.includes(tag) || writers) return;
      writers = Promise.all([
        index([files[0]!, files[1]!], { store: PREFIX, source: source() }),
        index([files[2]!, files[3]!], { store: PREFIX, source: source() }),
      ]);
      await writers;
    });
    try {
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect([code, stderr]).toEqual([0, ""]);
    } finally {
      server.onWrite(undefined);
    }
    const [a, b] = (await writers) as { added: string[]; replaced?: string[] }[];
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(server.conditional.preconditionFailed + server.conditional.conflicts).toBeGreaterThan(refused);
    expect(await expectCommittedState("raced")).toEqual(files.map(idOf).sort());
    const manifest = JSON.parse((await text("manifest.json"))!) as Manifest;
    // Every granule in one part set, once: the compaction merged what the writers published.
    expect(manifest.parts.map((p) => p.granule_count)).toEqual([files.length]);
    expect(await visibleGranules(PREFIX, source())).toEqual(files.map(idOf).sort());
  }, 120_000);
});

/** New mtimes for every file, so that the next index re-indexes its granules. */
function clockTouch(list: string[], at = 1_900_000_000): void {
  for (const f of list) touch(f, at);
}
