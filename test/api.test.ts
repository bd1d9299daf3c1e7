/**
 * The library as scripts import it, by its package name: the command's inputs (globs, @lists,
 * folders), queries collected as rows and Arrow tables equal to the brute-force oracle, JSON-ready
 * reports, stats, granules and plans, and unknown beams refused like the command refuses them.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import { ROOT, runCli } from "./support/cli.js";
import { bruteForceAtl06, type OracleRow } from "./support/oracle.js";
import { ATL06_RESULT_COLUMNS } from "./support/results.js";

type Geochunks = typeof import("geochunks");
type ResultRow = import("geochunks").ResultRow;

const GREENLAND = JSON.parse(readFileSync(join(ROOT, "examples/greenland.geojson"), "utf8")).geometry;
const FAR_AWAY = "10,10,11,11";
const ISO_NS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

/** The package entry as installed (`dist`), rebuilt first when a source file is newer. */
async function importPackage(): Promise<Geochunks> {
  const entry = join(ROOT, "dist/index.js");
  const newest = readdirSync(join(ROOT, "src"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .reduce((t, f) => Math.max(t, statSync(join(ROOT, "src", f)).mtimeMs), 0);
  if (!existsSync(entry) || statSync(entry).mtimeMs < newest) {
    try {
      execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    } catch (err) {
      const out = (err as { stdout?: string }).stdout ?? "";
      throw new Error(`npm run build failed:\n${out.split("\n").slice(-20).join("\n")}`);
    }
  }
  return import("geochunks");
}

/** ns since the Unix epoch of an ISO 8601 UTC time with nine fractional digits. */
function nsOfIso(iso: string): bigint {
  expect(iso).toMatch(ISO_NS);
  const ms = Date.parse(`${iso.slice(0, 23)}Z`);
  return BigInt(ms) * 1_000_000n + BigInt(iso.slice(23, 29));
}

/** Result rows in the oracle's shape. */
function asOracle(rows: ResultRow[]): OracleRow[] {
  return rows.map((r) => ({
    granule_id: r.granule_id,
    beam: r.beam,
    segment_id: r.segment_id as number,
    lat: r.lat,
    lon: r.lon,
    time_ns: nsOfIso(r.time),
    h_li: r.h_li as number | null,
    h_li_sigma: r.h_li_sigma as number | null,
    atl06_quality_summary: r.atl06_quality_summary as number,
  }));
}

/** JSON.stringify then JSON.parse: equal to the input only when it is plain JSON data. */
const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("the library by its package name", () => {
  let api: Geochunks;
  let dir: string;
  let storeDir: string;
  let files: string[];
  let globbed: string[];
  let listed: string[];
  let first: Awaited<ReturnType<Geochunks["index"]>>;
  let second: Awaited<ReturnType<Geochunks["index"]>>;

  beforeAll(async () => {
    api = await importPackage();
    dir = mkdtempSync(join(tmpdir(), "geochunks-api-"));
    const [a, b, , d, e] = demoGranuleSet();
    mkdirSync(join(dir, "globbed"));
    mkdirSync(join(dir, "listed"));
    globbed = [
      await writeSyntheticAtl06(join(dir, "globbed"), a!),
      await writeSyntheticAtl06(join(dir, "globbed"), e!),
    ];
    listed = [
      await writeSyntheticAtl06(join(dir, "listed"), b!),
      await writeSyntheticAtl06(join(dir, "listed"), d!),
    ];
    files = [...globbed, ...listed];
    writeFileSync(join(dir, "granules.txt"), `# granules by list\n${listed[0]}\n\n  ${listed[1]}  \n`);
    storeDir = join(dir, "store");
    first = await api.index(join(dir, "globbed", "*.h5"), { store: storeDir });
    second = await api.index([`@${join(dir, "granules.txt")}`, join(dir, "globbed", "ATL06_*.h5")], {
      store: storeDir,
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const idOf = (file: string) => file.split("/").pop()!.replace(/\.h5$/, "");

  it("indexes a glob, then an @list with the same glob again: the glob's granules are unchanged", () => {
    expect(first.added).toEqual(globbed.map(idOf).sort());
    expect(second.added).toEqual(listed.map(idOf).sort());
    expect(second.unchanged).toEqual(globbed.map(idOf).sort());
    for (const report of [first, second]) {
      expect(roundTrip(report)).toEqual(report);
      expect(report.chunks).toBeTypeOf("number");
    }
  });

  it("refuses a glob that matches nothing and a folder without granules, as the command does", async () => {
    const nothing = join(dir, "globbed", "*.hdf");
    await expect(api.index(nothing, { store: storeDir })).rejects.toThrow(`${nothing}: no file matches`);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const err = await api.index([empty], { store: storeDir }).catch((e: unknown) => e);
    expect(api.isGeochunksError(err, "SourceError")).toBe(true);
    expect((err as Error).message).toBe(`no granules found in ${empty}`);
    const cli = await runCli(["index", nothing, "--store", storeDir]);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim()).toBe(`geochunks: ${nothing}: no file matches`);
  });

  it("collects a query as plain rows equal to the oracle, times as ISO 8601 with nanoseconds", async () => {
    const store = await api.openStore(storeDir);
    const result = store.query({ aoi: GREENLAND });
    const rows = await result.toRows();
    const expected = await bruteForceAtl06(files, GREENLAND);
    expect(expected.length).toBeGreaterThan(5_000);
    expect(asOracle(rows)).toEqual(expected);
    expect(Object.keys(rows[0]!)).toEqual(ATL06_RESULT_COLUMNS);
    expect(new Set(rows.map((r) => r.product))).toEqual(new Set(["ATL06"]));
    expect(roundTrip(rows)).toEqual(rows);
    expect(result.stats.rows).toBe(rows.length);
    expect(roundTrip(result.stats)).toEqual(result.stats);
  });

  it("filters by time and beam, with extra variables as numbers", async () => {
    const store = await api.openStore(storeDir);
    const start = new Date("2019-07-01T00:00:00Z");
    const rows = await store
      .query({ aoi: GREENLAND, start: start.toISOString(), beams: ["gt1l"], vars: ["ground_track/x_atc"] })
      .toRows();
    expect(asOracle(rows)).toEqual(await bruteForceAtl06(files, GREENLAND, { start, beams: ["gt1l"] }));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => typeof r.x_atc === "number" && r.time >= start.toISOString())).toBe(true);
  });

  it("collects a query as one Arrow table, and an empty one with the result's columns", async () => {
    const store = await api.openStore(storeDir);
    const table = await store.query({ aoi: GREENLAND }).toTable();
    expect(table.numRows).toBe((await bruteForceAtl06(files, GREENLAND)).length);
    expect(table.schema.names).toContain("geometry");
    expect(String(table.schema.fields.find((f) => f.name === "time")!.type)).toMatch(
      /Timestamp.*NANOSECOND/i,
    );
    const empty = store.query({ aoi: FAR_AWAY });
    const none = await empty.toTable();
    expect(none.numRows).toBe(0);
    expect(none.schema.names).toEqual(table.schema.names);
    expect(await store.query({ aoi: FAR_AWAY }).toRows()).toEqual([]);
  });

  it("lists granules and plans as JSON: times as ISO 8601 text, footprints as GeoJSON", async () => {
    const store = await api.openStore(storeDir);
    const granules = await store.granules();
    expect(granules.map((g) => g.granule_id).sort()).toEqual(files.map(idOf).sort());
    expect(roundTrip(granules)).toEqual(granules);
    for (const g of granules) {
      // The file name's start time (to the second) is the granule's first time.
      const [, d, t] = /^ATL06_(\d{8})(\d{6})_/.exec(g.granule_id)!;
      const named = `${d!.slice(0, 4)}-${d!.slice(4, 6)}-${d!.slice(6)}T${t!.slice(0, 2)}:${t!.slice(2, 4)}:${t!.slice(4)}`;
      expect(g.time_start.startsWith(named)).toBe(true);
      expect(nsOfIso(g.time_end)).toBeGreaterThan(nsOfIso(g.time_start));
      expect(g.mtime === null || !Number.isNaN(Date.parse(g.mtime))).toBe(true);
      expect(g.geometry?.type).toBe("Polygon");
      expect(g.geometry!.coordinates[0]!.length).toBeGreaterThanOrEqual(4);
    }
    const plan = await store.query({ aoi: GREENLAND }).plan();
    expect(roundTrip(plan)).toEqual(plan);
    const crossing = new Set((await bruteForceAtl06(files, GREENLAND)).map((r) => r.granule_id));
    expect(crossing.size).toBe(3);
    expect(plan.granules.map((g) => g.granule.granule_id).sort()).toEqual([...crossing].sort());
    const chunk = plan.granules[0]!.chunks[0]!;
    expect(chunk.time_start).toMatch(ISO_NS);
    expect(Object.keys(chunk.refs)).toContain("latitude");
    expect(plan.bytes).toBe(plan.granules.flatMap((g) => g.ranges).reduce((s, r) => s + r.length, 0));
  });

  it.each(["gt4l", "GT1L"])("refuses beam %s with the command's error", async (beam) => {
    const store = await api.openStore(storeDir);
    let err: unknown;
    try {
      store.query({ aoi: GREENLAND, beams: ["gt1l", beam] });
    } catch (e) {
      err = e;
    }
    expect(api.isGeochunksError(err, "InvalidQueryError")).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(`beam ${beam} is not one of gt1l, gt1r, gt2l, gt2r, gt3l, gt3r, strong, weak`);
    const cli = await runCli([
      "query",
      "--store",
      storeDir,
      "--polygon",
      "-50,60,-40,70",
      "--beams",
      `gt1l,${beam}`,
      "--out",
      join(dir, "never.parquet"),
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim()).toBe(`geochunks: ${message}`);
  });
});
