/**
 * `geochunks index --dmrpp`: granules indexed through DMR++ sidecars (written by h5py, not by us)
 * over a loopback HTTP range server give the very store the HDF5 metadata gives, in far fewer
 * requests; a stale or broken sidecar is reported and never trusted.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { type RangeServer, startRangeServer } from "../../fixtures/servers/range-server.js";
import { ROOT, runCli } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { pythonWith } from "../support/python.js";
import { duckdb, readResultRows, toMicros } from "../support/results.js";

const SCRIPT = join(ROOT, "fixtures/dmrpp/make_dmrpp.py");
const POLYGON = join(ROOT, "examples/greenland.geojson");

/**
 * Every row of a store's tables, as DuckDB reads its part files, in a fixed order; the chunk
 * checksums apart. A checksum is recorded for every chunk the indexer happened to read whole, and
 * the HDF5 reader's metadata blocks cover many small chunks that a sidecar run never reads.
 */
async function storeRows(store: string) {
  const table = (name: string, order: string, but = "") =>
    duckdb(
      `SELECT * ${but} FROM read_parquet('${store}/${name}/**/*.parquet', hive_partitioning = false) ORDER BY ${order}`,
    );
  return {
    granules: await table("granules", "granule_id"),
    arrays: await table("arrays", "granule_id, path"),
    chunks: await table("chunks", "chunk_id", "EXCLUDE (ref_checksums)"),
    chunk_cells: await table("chunk_cells", "chunk_id, h3_cell"),
  };
}

/** Chunk ref checksums by `chunk_id path offset`, null where none was recorded. */
async function checksums(store: string): Promise<Map<string, number | null>> {
  const rows = await duckdb(
    `SELECT chunk_id || ' ' || r.path || ' ' || r."offset" AS ref, c AS checksum FROM (
       SELECT chunk_id, unnest(refs) AS r, unnest(ref_checksums) AS c
       FROM read_parquet('${store}/chunks/**/*.parquet', hive_partitioning = false))`,
  );
  return new Map(rows.map((r) => [String(r.ref), r.checksum === null ? null : Number(r.checksum)]));
}

/** The checksums of both stores agree wherever both have one, and both cover every coordinate chunk. */
async function expectSameChecksums(store: string, reference: string) {
  const [got, want] = [await checksums(store), await checksums(reference)];
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  let coordinates = 0;
  for (const [ref, sum] of got) {
    if (sum !== null && want.get(ref) !== null) expect(sum, ref).toBe(want.get(ref));
    if (/\/(latitude|longitude|delta_time) /.test(ref)) {
      coordinates += 1;
      expect([sum, want.get(ref)].includes(null), ref).toBe(false);
    }
  }
  expect(coordinates).toBe(12 * 3);
}

/** Requests of an index run, from its summary line. */
function requestsOf(stdout: string): number {
  return Number(/ in (\d+) requests/.exec(stdout)?.[1]);
}

describe("index --dmrpp over HTTP", () => {
  let dir: string;
  let www: string;
  let files: string[];
  let server: RangeServer;
  let urls: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-dmrpp-e2e-"));
    www = join(dir, "www");
    mkdirSync(www);
    const set = demoGranuleSet();
    files = [];
    for (const opts of [set[0]!, set[2]!])
      files.push(await writeSyntheticAtl06(www, { ...opts, segmentsPerBeam: 1500 }));
    const run = spawnSync(pythonWith(["h5py"]), [SCRIPT, ...files], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    server = await startRangeServer({ root: www, latencyMs: 2 });
    urls = files.map((f) => new URL(basename(f), server.url).href);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives the store the HDF5 metadata gives, within the request budget, and the oracle's answer", async () => {
    const off = await runCli(["index", ...urls, "--store", join(dir, "off"), "--dmrpp", "off", "--quiet"]);
    const auto = await runCli(["index", ...urls, "--store", join(dir, "auto"), "--quiet"]);
    expect([off.code, off.stderr, auto.code, auto.stderr]).toEqual([0, "", 0, ""]);
    const [want, got] = [await storeRows(join(dir, "off")), await storeRows(join(dir, "auto"))];
    expect(got.chunks.length).toBe(12);
    expect(got).toEqual(want);
    await expectSameChecksums(join(dir, "auto"), join(dir, "off"));
    // Per granule: the sidecar (size and body), the HDF5 superblock and the two spot-checked chunk
    // indexes (8), the small metadata datasets in two coalesced reads, and the coordinate chunks of
    // six beams (two blocks each in these files): 24 or 25. Without the sidecar, the metadata of a
    // granule this small is read in 16 KiB blocks whose holes the cost model mostly reads through, which
    // costs about as many requests: the sidecar saves more on larger granules (docs/design/dmrpp.md).
    expect(requestsOf(auto.stdout)).toBeLessThanOrEqual(2 * 25);
    expect(requestsOf(off.stdout)).toBeLessThanOrEqual(2 * 25);
    const out = join(dir, "greenland.parquet");
    const query = await runCli(["query", "--store", join(dir, "auto"), "--polygon", POLYGON, "--out", out]);
    expect(query.code, query.stderr).toBe(0);
    const expected = await bruteForceAtl06(files, JSON.parse(readFileSync(POLYGON, "utf8")).geometry);
    expect(expected.length).toBeGreaterThan(1000);
    expect(await readResultRows(out)).toEqual(toMicros(expected));
  });

  it("a sidecar of another granule or a broken one: one warning naming it and the same store, or exit 2 with require", async () => {
    const [a, b] = files as [string, string];
    const good = readFileSync(`${a}.dmrpp`, "utf8");
    const want = await storeRows(join(dir, "off"));
    try {
      copyFileSync(`${b}.dmrpp`, `${a}.dmrpp`);
      const stale = await runCli(["index", ...urls, "--store", join(dir, "stale"), "--quiet"]);
      expect(stale.code).toBe(0);
      expect(stale.stderr).toMatch(
        new RegExp(
          `^warning: ${urls[0]!.replaceAll(".", "\\.")}\\.dmrpp: stale DMR\\+\\+ sidecar: the chunk refs of /\\S+ differ from the file's; indexed without it\\n$`,
        ),
      );
      expect(await storeRows(join(dir, "stale"))).toEqual(want);
      await expectSameChecksums(join(dir, "stale"), join(dir, "off"));
      // Through the library, imported by package name: the warning goes to onWarning, never to stderr.
      const { index } = await import("geochunks");
      const warnings: string[] = [];
      const report = await index([urls[0]!], {
        store: join(dir, "stale-lib"),
        onWarning: (m) => warnings.push(m),
      });
      expect(report.added).toHaveLength(1);
      expect(warnings).toEqual([
        expect.stringMatching(/^http:\/\/\S+\.h5\.dmrpp: stale DMR\+\+ sidecar: .+; indexed without it$/),
      ]);
      const required = await runCli([
        "index",
        urls[0]!,
        "--store",
        join(dir, "required"),
        "--dmrpp",
        "require",
        "--quiet",
      ]);
      expect(required.code).toBe(2);
      expect(required.stderr).toMatch(
        /^geochunks: .*\.h5\.dmrpp: stale DMR\+\+ sidecar: the chunk refs of \/\S+ differ from the file's\n$/,
      );
      writeFileSync(`${a}.dmrpp`, good.slice(0, good.length / 3));
      const cut = await runCli(["index", urls[0]!, "--store", join(dir, "cut"), "--quiet"]);
      expect(cut.code).toBe(0);
      expect(cut.stdout).toMatch(/^indexed 1 added/);
      expect(cut.stderr).toMatch(
        /^warning: \S+\.h5\.dmrpp: not well-formed XML \(.+\); indexed without it\n$/,
      );
    } finally {
      writeFileSync(`${a}.dmrpp`, good);
    }
  });

  it("a granule without a sidecar (missing file, 403) is indexed from its HDF5 metadata silently, and is bad input with require", async () => {
    const local = join(dir, "local");
    mkdirSync(local);
    const copy = join(local, basename(files[0]!));
    copyFileSync(files[0]!, copy);
    const auto = await runCli(["index", copy, "--store", join(dir, "nosidecar"), "--quiet"]);
    expect([auto.code, auto.stderr]).toEqual([0, ""]);
    const required = await runCli([
      "index",
      copy,
      "--store",
      join(dir, "nosidecar2"),
      "--dmrpp",
      "require",
      "--quiet",
    ]);
    expect(required.code).toBe(2);
    expect(required.stderr).toBe(`geochunks: ${copy}.dmrpp: no DMR++ sidecar (--dmrpp require)\n`);
    // An object store answers 403 for a missing key to a reader without list permission.
    server.setFault((req) => (req.url?.endsWith(".dmrpp") ? "403" : undefined));
    try {
      const forbidden = await runCli(["index", urls[1]!, "--store", join(dir, "forbidden"), "--quiet"]);
      expect([forbidden.code, forbidden.stderr]).toEqual([0, ""]);
    } finally {
      server.setFault(undefined);
    }
  });
});
