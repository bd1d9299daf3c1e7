import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Repository } from "@earthmover/icechunk-wasm32-wasi";
import type { Dataset, Group } from "h5wasm/node";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as zarr from "zarrita";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { exportIcechunk, index } from "../../src/index.js";
import { runCli } from "../support/cli.js";
import { folderStorage, zarritaStore } from "../support/icechunk.js";

const digest = (v: ArrayBufferView) =>
  createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex");

/** Every dataset of a file as h5wasm reads it, by path: typed arrays, or strings flattened. */
function h5Datasets(file: string): Map<string, ArrayBufferView | unknown[]> {
  const f = new h5wasm.File(file, "r");
  const out = new Map<string, ArrayBufferView | unknown[]>();
  const walk = (g: Group, prefix: string) => {
    for (const name of g.keys()) {
      const child = g.get(name);
      if (child instanceof h5wasm.Group) walk(child, `${prefix}/${name}`);
      else if (child instanceof h5wasm.Dataset) {
        const value = (child as Dataset).value as unknown;
        out.set(
          `${prefix}/${name}`,
          ArrayBuffer.isView(value) ? value : Array.isArray(value) ? value.flat(8) : [value],
        );
      }
    }
  };
  walk(f, "");
  f.close();
  return out;
}

/** Opens the repository with the official wasm reader, fetching virtual chunks over HTTP. */
async function openRepo(repoDir: string, server: RangeServer) {
  const repo = await Repository.open(folderStorage(repoDir), undefined, { [server.url]: null });
  await repo.setHttpVirtualChunkFetcher(async (_err, req) => {
    const r = await fetch(req.url, { headers: { Range: `bytes=${req.rangeStart}-${req.rangeEnd - 1}` } });
    return { data: new Uint8Array(await r.arrayBuffer()), etag: r.headers.get("etag") ?? undefined };
  });
  return repo;
}

describe("geochunks export icechunk, read by the official Icechunk wasm reader", () => {
  let dir: string;
  let files: string[];
  let server: RangeServer;
  let storeDir: string;
  let repoDir: string;
  const ids: string[] = [];
  const snapshots: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-icechunk-"));
    const served = join(dir, "granules");
    mkdirSync(served);
    const set = demoGranuleSet();
    files = [
      await writeSyntheticAtl06(served, { ...set[0]!, segmentsPerBeam: 3000 }),
      await writeSyntheticAtl06(served, { ...set[3]!, segmentsPerBeam: 3000 }),
    ];
    for (const f of files) ids.push(f.split("/").pop()!.replace(/\.h5$/, ""));
    server = await startRangeServer({ root: served });
    storeDir = join(dir, "store");
    repoDir = join(dir, "repo.icechunk");
    // Two exports: the second after indexing one more granule appends it as a new commit.
    for (const id of ids) {
      await index([`${server.url}${id}.h5`], { store: storeDir });
      const run = await runCli(["export", "icechunk", "--store", storeDir, "--repo", repoDir]);
      expect(run.code, run.stderr).toBe(0);
      const [, snapshot] =
        /^committed snapshot (\w+) to .*: 1 granules, \d+ chunk references$/m.exec(run.stdout) ?? [];
      expect(snapshot, run.stdout).toBeDefined();
      snapshots.push(snapshot!);
    }
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("walks both snapshots: main holds both granules, the first snapshot only the first", async () => {
    const repo = await openRepo(repoDir, server);
    expect(await repo.listBranches()).toEqual(["main"]);
    expect(await repo.lookupBranch("main")).toBe(snapshots[1]);
    const ancestry = await repo.ancestry({ branch: "main" });
    expect(ancestry.map((s) => s.id)).toEqual([snapshots[1], snapshots[0], "1CECHNKREP0F1RSTCMT0"]);
    expect(ancestry[0]!.message).toBe(`geochunks export: added 1 granule (${ids[1]})`);
    expect(ancestry[1]!.message).toBe(`geochunks export: added 1 granule (${ids[0]})`);
    const main = await repo.readonlySession({ branch: "main" });
    const mainKeys = await main.store.list();
    for (const id of ids) expect(mainKeys).toContain(`${id}/gt1l/land_ice_segments/h_li/zarr.json`);
    const first = await repo.readonlySession({ snapshotId: snapshots[0]! });
    const firstKeys = await first.store.list();
    expect(firstKeys).toContain(`${ids[0]}/gt1l/land_ice_segments/h_li/zarr.json`);
    expect(firstKeys.some((k) => k.startsWith(`${ids[1]}/`))).toBe(false);
    // The transaction log of the second commit: what it added.
    const diff = await repo.diff({ fromSnapshotId: snapshots[0]!, toSnapshotId: snapshots[1]! });
    expect(diff.newArrays).toContain(`/${ids[1]}/gt1l/land_ice_segments/h_li`);
    expect(diff.newGroups).toContain(`/${ids[1]}`);
    expect(diff.newArrays.some((p) => p.startsWith(`/${ids[0]}/`))).toBe(false);
  });

  it("reads every dataset through virtual chunks equal to h5wasm's values (zarrita over the reader's store)", async () => {
    const repo = await openRepo(repoDir, server);
    const session = await repo.readonlySession({ branch: "main" });
    const root = zarr.root(zarritaStore(session.store));
    for (const [i, file] of files.entries()) {
      const datasets = h5Datasets(file);
      expect(datasets.size).toBeGreaterThan(100);
      for (const [path, want] of datasets) {
        const arr = await zarr.open.v3(root.resolve(`${ids[i]}${path}`), { kind: "array" });
        const { data } = await zarr.get(arr);
        if (ArrayBuffer.isView(want)) expect(digest(data as ArrayBufferView), path).toBe(digest(want));
        else expect(Array.from(data as ArrayLike<unknown>), path).toEqual(want);
      }
    }
  });

  it("refuses a chunk whose granule changed since it was indexed (ETag checksum)", async () => {
    const repo = await openRepo(repoDir, server);
    const session = await repo.readonlySession({ branch: "main" });
    server.setFault(() => "change-etag");
    try {
      await expect(session.store.get(`${ids[0]}/gt1l/land_ice_segments/h_li/c/0`)).rejects.toThrow();
    } finally {
      server.setFault(undefined);
    }
    expect(await session.store.get(`${ids[0]}/gt1l/land_ice_segments/h_li/c/0`)).not.toBeNull();
  });

  it("a STAC collection lists the repository as an asset with the snapshot main points at", async () => {
    const out = join(dir, "collection.json");
    const run = await runCli(["stac", "--store", storeDir, "--out", out, "--virtual", repoDir]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const assets = JSON.parse(readFileSync(out, "utf8")).assets;
    expect(assets.icechunk).toMatchObject({ href: "./repo.icechunk", "icechunk:snapshot_id": snapshots[1] });
  });

  it("exporting again with nothing new writes nothing", async () => {
    const before = readFileSync(join(repoDir, "repo"));
    const run = await runCli(["export", "icechunk", "--store", storeDir, "--repo", repoDir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`nothing to add; main is at snapshot ${snapshots[1]}`);
    expect(readFileSync(join(repoDir, "repo")).equals(before)).toBe(true);
  });

  it("a granule re-indexed after it changed: the next commit replaces its group, the earlier snapshot keeps its references", async () => {
    // The same granule (same name and identity) rewritten shorter: another size and ETag.
    const served = join(dir, "granules");
    rmSync(files[0]!);
    await writeSyntheticAtl06(served, { ...demoGranuleSet()[0]!, segmentsPerBeam: 2000 });
    const report = await index([`${server.url}${ids[0]}.h5`], { store: storeDir });
    expect(report.replaced).toEqual([ids[0]]);
    const commit = await exportIcechunk(storeDir, { repo: repoDir });
    expect(commit.granules).toEqual([ids[0]]);
    const repo = await openRepo(repoDir, server);
    const ancestry = await repo.ancestry({ branch: "main" });
    expect(ancestry.map((a) => a.id)).toEqual([
      commit.snapshot,
      snapshots[1],
      snapshots[0],
      "1CECHNKREP0F1RSTCMT0",
    ]);
    expect(ancestry[0]!.message).toBe(`geochunks export: replaced 1 changed granule (${ids[0]})`);
    const shapeIn = async (session: { store: { get(key: string): Promise<Uint8Array | null> } }) => {
      const meta = await session.store.get(`${ids[0]}/gt1l/land_ice_segments/h_li/zarr.json`);
      return (JSON.parse(new TextDecoder().decode(meta!)) as { shape: number[] }).shape;
    };
    // main: the new version's arrays and chunk references, read back equal to h5wasm's values.
    const main = await repo.readonlySession({ branch: "main" });
    expect(await shapeIn(main)).toEqual([2000]);
    const root = zarr.root(zarritaStore(main.store));
    const want = h5Datasets(files[0]!);
    for (const path of ["/gt1l/land_ice_segments/h_li", "/gt2r/land_ice_segments/latitude"]) {
      const arr = await zarr.open.v3(root.resolve(`${ids[0]}${path}`), { kind: "array" });
      expect(digest((await zarr.get(arr)).data as ArrayBufferView), path).toBe(
        digest(want.get(path) as ArrayBufferView),
      );
    }
    // The other granule is untouched, once.
    const keys = await main.store.list();
    expect(keys.filter((k) => k === `${ids[1]}/gt1l/land_ice_segments/h_li/zarr.json`)).toHaveLength(1);
    // The earlier snapshot still describes the earlier version; its references now meet a changed
    // file, which Icechunk's ETag checksum refuses.
    const before = await repo.readonlySession({ snapshotId: snapshots[1]! });
    expect(await shapeIn(before)).toEqual([3000]);
    await expect(before.store.get(`${ids[0]}/gt1l/land_ice_segments/h_li/c/0`)).rejects.toThrow();
    const diff = await repo.diff({ fromSnapshotId: snapshots[1]!, toSnapshotId: commit.snapshot });
    expect(diff.newArrays).toContain(`/${ids[0]}/gt1l/land_ice_segments/h_li`);
    expect(diff.newArrays.some((p) => p.startsWith(`/${ids[1]}/`))).toBe(false);
  }, 120_000);
});
