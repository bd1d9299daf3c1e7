/**
 * `export icechunk --repo s3://bucket/prefix` against s3rver on loopback (with the test server's front
 * adding S3's conditional writes, which s3rver lacks). The official Icechunk wasm build has no S3
 * storage of its own (only in-memory and custom backends), so it reads the repository here through a
 * custom storage whose every read is a GET of the object from the S3 server.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Repository, Storage } from "@earthmover/icechunk-wasm32-wasi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { exportIcechunk, index } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import { runCli } from "../support/cli.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";

const KEY: TestKey = { accessKeyId: "AKIAICECHUNKTEST", secretAccessKey: "icechunk-test-secret-0123456789" };

/** A read-only Icechunk Storage whose objects are GETs under `prefix` (`s3://bucket/prefix`). */
function s3Storage(prefix: string, s3: S3Objects): Storage {
  const get = async (path: string) => {
    const got = await s3.get(`${prefix}/${path}`);
    if (!got) throw new Error(`ObjectNotFound: ${path}`);
    return got;
  };
  const readOnly = async () => {
    throw new Error("read-only storage");
  };
  const backend = {
    canWrite: async () => false,
    getObjectRange: async (_err: null, a: { path: string; rangeStart?: number; rangeEnd?: number }) => {
      const got = await get(a.path);
      return {
        data: got.body.subarray(a.rangeStart ?? 0, a.rangeEnd ?? got.body.length),
        version: { etag: got.etag },
      };
    },
    putObject: readOnly,
    copyObject: readOnly,
    deleteBatch: readOnly,
    listObjects: async (_err: null, sub: string) => {
      const listed = await s3.list(`${prefix}/${sub.replace(/\/?$/, "/")}`);
      return listed.map((o) => ({
        id: o.key.split("/").pop()!,
        createdAt: new Date(o.lastModified),
        sizeBytes: o.size,
      }));
    },
    getObjectLastModified: async (_err: null, path: string) => {
      const listed = await s3.list(`${prefix}/${path}`);
      return new Date(listed[0]!.lastModified);
    },
    getObjectConditional: async (_err: null, a: { path: string; previousVersion?: { etag?: string } }) => {
      const got = await get(a.path);
      if (a.previousVersion?.etag === got.etag) return { kind: "on_latest_version" };
      return { kind: "modified", data: got.body, newVersion: { etag: got.etag } };
    },
  };
  // @ts-expect-error: the declarations omit the error-first argument every callback receives.
  return Storage.newCustom(backend);
}

describe("export icechunk to s3://", () => {
  let dir: string;
  let server: S3TestServer;
  let s3: S3Objects;
  const ids: string[] = [];
  let files: string[];
  let granules: RangeServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-icechunk-s3-"));
    mkdirSync(join(dir, "g"));
    const set = demoGranuleSet();
    files = [
      await writeSyntheticAtl06(join(dir, "g"), { ...set[0]!, segmentsPerBeam: 2000 }),
      await writeSyntheticAtl06(join(dir, "g"), { ...set[3]!, segmentsPerBeam: 2000 }),
    ];
    for (const f of files) ids.push(f.split("/").pop()!.replace(/\.h5$/, ""));
    // Granules indexed by HTTP URL: the repository's virtual chunk container is then an HTTP one.
    granules = await startRangeServer({ root: join(dir, "g") });
    server = await startS3Server({ buckets: ["repos"], privateBuckets: ["repos"], keys: [KEY] });
    s3 = new S3Objects({ endpoint: server.endpoint, credentials: KEY });
  });
  afterAll(async () => {
    await server?.close();
    await granules?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("commits twice (the second appends), racing writers both land, and the official reader walks both snapshots", async () => {
    const store = join(dir, "store");
    const repo = "s3://repos/ice/repo.icechunk";
    const source = { s3: { endpoint: server.endpoint, credentials: KEY } };
    await index([`${granules.url}${ids[0]}.h5`], { store });
    const first = await exportIcechunk(store, { repo, source });
    expect(first.granules).toEqual([ids[0]]);
    const repoEtag = (await s3.get(`${repo}/repo`))!.etag;

    // Two exports of the same new granule at once: one commits it, the other rebases and finds nothing to add.
    await index([`${granules.url}${ids[1]}.h5`], { store });
    const before = server.conditional.preconditionFailed + server.conditional.conflicts;
    const [a, b] = await Promise.all([
      exportIcechunk(store, { repo, source }),
      exportIcechunk(store, { repo, source }),
    ]);
    expect([a.granules, b.granules].sort((x, y) => x.length - y.length)).toEqual([[], [ids[1]]]);
    expect(a.snapshot).toBe(b.snapshot);
    expect((await s3.get(`${repo}/repo`))!.etag).not.toBe(repoEtag);
    expect(server.conditional.preconditionFailed + server.conditional.conflicts).toBeGreaterThan(before);
    const second = a.granules.length > 0 ? a : b;
    // The loser removed what it had uploaded: one snapshot per commit, no more.
    const snapshots = (await s3.list(`${repo}/snapshots/`)).map((o) => o.key.split("/").pop());
    expect(snapshots.sort()).toEqual([first.snapshot, second.snapshot, "1CECHNKREP0F1RSTCMT0"].sort());

    const opened = await Repository.open(s3Storage(repo, s3), undefined, { [granules.url]: null });
    expect(await opened.listBranches()).toEqual(["main"]);
    expect(await opened.lookupBranch("main")).toBe(second.snapshot);
    const ancestry = await opened.ancestry({ branch: "main" });
    expect(ancestry.map((s) => s.id)).toEqual([second.snapshot, first.snapshot, "1CECHNKREP0F1RSTCMT0"]);
    const main = await (await opened.readonlySession({ branch: "main" })).store.list();
    for (const id of ids) expect(main).toContain(`${id}/gt1l/land_ice_segments/h_li/zarr.json`);
    const old = await (await opened.readonlySession({ snapshotId: first.snapshot })).store.list();
    expect(old.some((k) => k.startsWith(`${ids[1]}/`))).toBe(false);

    // The command line: nothing new to add.
    const run = await runCli(
      ["export", "icechunk", "--store", store, "--repo", repo, "--endpoint", server.endpoint],
      {
        env: { AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey },
      },
    );
    expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(run.stdout).toBe(`${repo}: nothing to add; main is at snapshot ${second.snapshot}\n`);
  });
});
