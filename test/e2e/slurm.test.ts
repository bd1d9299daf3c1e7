/**
 * A real batch engine: a one-node SLURM cluster (Debian's slurm-wlm and munge, on loopback) runs
 * `geochunks index --shard auto` as a job array of 4 tasks into one store, one task is retried
 * (requeued: SLURM runs it again with the same array index), and a job depending on the array
 * (`--dependency=afterok`) commits: the scripts of docs/deploy, submitted as users would. The store
 * equals a single-process index of the same inputs.
 *
 * Both stores of the capability, with one cluster start: a local folder and an S3 prefix on s3rver
 * (with the test server's front adding S3's conditional writes, which s3rver lacks).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type GeochunksStore, index, openStore, writeGeoParquet } from "../../src/index.js";
import { S3Objects } from "../../src/source/s3-write.js";
import type { Manifest, StagedPartSet } from "../../src/store/manifest.js";
import { BIN, ROOT } from "../support/cli.js";
import { readResultRows } from "../support/results.js";
import { type S3TestServer, startS3Server, type TestKey } from "../support/s3-server.js";
import { type SlurmCluster, slurmUnavailable, startSlurm } from "../support/slurm.js";

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const TABLES = {
  granules: "granule_id",
  arrays: "granule_id, path",
  chunks: "chunk_id",
  chunk_cells: "h3_cell, chunk_id",
};

/**
 * A store the shards write into: its `--store` value, the environment its writers need, and how the
 * test lists, reads and opens it.
 */
interface StoreUnderTest {
  name: string;
  /** Short name for the test's folders. */
  key: string;
  location(dir: string): string;
  /** Variables the tasks need (credentials and endpoint of an object store). */
  env(): Record<string, string>;
  /** Paths of every file of the store, relative to it, sorted. */
  files(store: string): Promise<string[]>;
  /** A file of the store as text. */
  read(store: string, path: string): Promise<string>;
  /** The store opened for queries and SQL. */
  open(store: string): Promise<GeochunksStore>;
  /** Files besides the part files that a published store holds. */
  published: string[];
  /**
   * Whether the commit removes part files of a retried task's first attempt: in a folder, at once
   * (their process is gone); on S3, `compact` does once they are older than the grace period (S3
   * cannot tell whether a writer on another machine lives).
   */
  commitRemovesOrphans: boolean;
}

const S3_KEY: TestKey = { accessKeyId: "AKIASLURMTEST", secretAccessKey: "slurm-test-secret-0123456789" };
let s3server: S3TestServer | undefined;
const s3 = () => new S3Objects({ endpoint: s3server!.endpoint, credentials: S3_KEY });

const STORES: StoreUnderTest[] = [
  {
    name: "a local folder",
    key: "local",
    location: (dir) => join(dir, "store"),
    env: () => ({}),
    files: async (store) =>
      readdirSync(store, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(store, join(e.parentPath, e.name)))
        .sort(),
    read: async (store, path) => readFileSync(join(store, path), "utf8"),
    open: (store) => openStore(store),
    published: ["manifest.json"],
    commitRemovesOrphans: true,
  },
  {
    name: "an S3 prefix (s3rver)",
    key: "s3",
    location: () => "s3://slurm/store",
    env: () => ({
      AWS_ACCESS_KEY_ID: S3_KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_KEY.secretAccessKey,
      AWS_ENDPOINT_URL: s3server!.endpoint,
    }),
    files: async (store) => (await s3().list(`${store}/`)).map((o) => o.url.slice(store.length + 1)).sort(),
    read: async (store, path) => new TextDecoder().decode((await s3().get(`${store}/${path}`))!.body),
    open: (store) =>
      openStore(store, { source: { s3: { endpoint: s3server!.endpoint, credentials: S3_KEY } } }),
    published: ["manifest.json", "manifests/0000000001.json"],
    commitRemovesOrphans: false,
  },
];

/** Single-quoted for a POSIX shell. */
const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Every row of every table of the store, in a fixed order. */
async function tableRows(s: GeochunksStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of Object.entries(TABLES))
    out[table] = (await s.sql(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;
  return out;
}

/** The Greenland polygon's result rows from the store, read back by DuckDB. */
async function greenlandRows(s: GeochunksStore, out: string) {
  const result = s.query({ aoi: GREENLAND });
  await writeGeoParquet(result, out, { bbox: result.aoi.bbox });
  return readResultRows(out);
}

const unavailable = slurmUnavailable();
if (unavailable) console.warn(`SLURM test skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  `a SLURM job array indexes shards, a dependent job commits`,
  () => {
    let dir: string;
    let slurm: SlurmCluster | undefined;
    let list: string;
    let files: string[];
    let reference: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "geochunks-slurm-"));
      // Four task slots whatever the machine has: the four shards stage at the same time, as on four machines.
      const cluster = startSlurm(join(dir, "slurm"), { cpus: 4 });
      try {
        // Six small granules (2 000 segments a beam), four of them through the Greenland polygon.
        mkdirSync(join(dir, "granules"));
        files = [];
        for (const opts of demoGranuleSet())
          files.push(await writeSyntheticAtl06(join(dir, "granules"), { ...opts, segmentsPerBeam: 2000 }));
        list = join(dir, "granules.txt");
        writeFileSync(list, `${files.join("\n")}\n`);
        reference = join(dir, "reference");
        await index(files, { store: reference });
        s3server = await startS3Server({ buckets: ["slurm"], privateBuckets: ["slurm"], keys: [S3_KEY] });
      } finally {
        // The daemons start meanwhile; stopped in afterAll whatever happened here.
        slurm = await cluster;
      }
    }, 120_000);

    afterAll(async () => {
      await s3server?.close();
      await slurm?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const target of STORES) {
      it(`into ${target.name}: the store equals a single-process index; a retried task adds nothing twice`, async () => {
        const cluster = slurm!;
        const work = join(dir, target.key);
        mkdirSync(work);
        const store = target.location(work);
        const logs = join(work, "logs");
        mkdirSync(logs);
        // The scripts of docs/deploy, as users submit them, with `geochunks` on the PATH running
        // the compiled command (as runCli does); each task's shard comes from SLURM's variables.
        const bin = join(work, "bin");
        mkdirSync(bin);
        writeFileSync(join(bin, "geochunks"), `#!/bin/sh\nexec ${sh(process.execPath)} ${sh(BIN)} "$@"\n`, {
          mode: 0o755,
        });
        const deploy = (name: string) => join(ROOT, "docs/deploy", name);
        const options = (log: string) => [
          `--chdir=${ROOT}`,
          `--output=${join(logs, log)}`,
          "--open-mode=append",
          // The scripts ask for 2 CPUs and 4 GB a task; this node has four 1-CPU slots and no memory limit.
          "--cpus-per-task=1",
          "--mem=0",
          `--export=${["ALL", `PATH=${bin}:${process.env.PATH}`, `LIST=${list}`, `STORE=${store}`, ...Object.entries(target.env()).map(([k, v]) => `${k}=${v}`)].join(",")}`,
        ];

        const array = await cluster.sbatch([
          "--array=0-3",
          ...options("index-%A_%a.out"),
          deploy("slurm-index.sbatch"),
        ]);
        const tasks = await cluster.wait([array], 60_000);
        expect(tasks, cluster.logs()).toEqual([0, 1, 2, 3].map((i) => `${array}_${i} COMPLETED 0:0`));
        const staged = async () => (await target.files(store)).filter((f) => f.startsWith("staged/"));
        const shardSets = async () =>
          Promise.all(
            [0, 1, 2, 3].map(
              async (i) =>
                JSON.parse(await target.read(store, `staged/shard-${i}-of-4.json`)) as StagedPartSet,
            ),
          );
        expect(await staged()).toEqual([0, 1, 2, 3].map((i) => `staged/shard-${i}-of-4.json`));
        // Six inputs over four shards: 2, 2, 1 and 1 granules, each recording the same list.
        const sets = await shardSets();
        expect(sets.map((s) => s.part.granules!.length)).toEqual([2, 2, 1, 1]);
        expect(new Set(sets.map((s) => s.shard!.inputs_sha256)).size).toBe(1);
        const firstAttempt = sets[1]!.part;

        // The retry: SLURM runs task 1 again, with the same SLURM_ARRAY_TASK_ID, _MIN and _COUNT.
        await cluster.command("scontrol", ["requeue", `${array}_1`]);
        const commit = await cluster.sbatch([
          `--dependency=afterok:${array}`,
          "--kill-on-invalid-dep=yes",
          ...options("commit-%j.out"),
          deploy("slurm-commit.sbatch"),
        ]);
        const done = await cluster.wait([array, commit], 60_000);
        expect(done, cluster.logs()).toEqual(
          [...[0, 1, 2, 3].map((i) => `${array}_${i} COMPLETED 0:0`), `${commit} COMPLETED 0:0`].sort(),
        );
        const taskLog = readFileSync(join(logs, `index-${array}_1.out`), "utf8");
        expect(
          taskLog.match(/staged as shard 1 of 4 \(SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=4\)/g),
        ).toHaveLength(2);
        expect(readFileSync(join(logs, `commit-${commit}.out`), "utf8")).toBe(
          `committed 4 staged part sets (6 granules) into ${store}\n`,
        );

        // Same granules, same rows in every table, same query result as one process indexing all inputs.
        const sharded = await target.open(store);
        const single = await openStore(reference);
        expect(await tableRows(sharded)).toEqual(await tableRows(single));
        const rows = await greenlandRows(sharded, join(work, "sharded.parquet"));
        expect(rows.length).toBeGreaterThan(1000);
        expect(rows).toEqual(await greenlandRows(single, join(work, "single.parquet")));

        // The first attempt of task 1 is not published. Its part files are removed by the commit in a
        // folder (its process is gone); on S3 they are left for compact's grace period.
        const manifest = JSON.parse(await target.read(store, "manifest.json")) as Manifest;
        expect(manifest.parts.map((p) => p.id)).not.toContain(firstAttempt.id);
        const listed = manifest.parts.flatMap((p) => Object.values(p.files).flat());
        const orphans = target.commitRemovesOrphans ? [] : Object.values(firstAttempt.files).flat();
        const files = await target.files(store);
        expect(files.filter((f) => f.endsWith(".parquet"))).toEqual([...listed, ...orphans].sort());
        expect(files.filter((f) => !f.endsWith(".parquet"))).toEqual(target.published);
      }, 120_000);
    }
  },
);
