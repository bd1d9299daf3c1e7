/**
 * A folder as a download tool leaves it: good granules, a truncated download, a file that is not
 * HDF5, HDF5 files of other products, renamed copies of good granules and a subsetted granule.
 * The good granules are indexed and the bad ones listed with their reason (exit code 3), copies
 * are recognised from their metadata and indexed once, `--strict` fails with nothing written, and
 * a variable some granules lack gives nulls there.
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  atl06FileName,
  buildAtl06Tree,
  demoGranuleSet,
  synthesizeAtl06,
  writeSyntheticAtl06,
} from "../../fixtures/atl06/generate.js";
import {
  addDataset,
  attr,
  createGroup,
  ensureGroup,
  writeHdf5File,
} from "../../fixtures/hdf5-writer/index.js";
import { main } from "../../src/cli/main.js";
import { Hdf5File, openSource } from "../../src/index.js";
import { datasetPath, findProfile, registeredProfiles } from "../../src/products/index.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { boxPolygon, duckdb, readResultRows, toMicros } from "../support/results.js";

/** A box through the middle of the three small demo granules. */
const BOX = "-45.2,62.6,-44.9,62.9";
const BOX_GEOJSON = boxPolygon(-45.2, 62.6, -44.9, 62.9);

interface Run {
  code: number;
  stdout: string[];
  stderr: string[];
}

/** Runs the command line in this process, collecting its lines. */
async function cli(args: string[]): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(
    args,
    (t) => stdout.push(...t.split("\n")),
    (t) => stderr.push(...t.split("\n")),
  );
  return { code, stdout, stderr };
}

/** Every file of a folder with its bytes' hash: equal listings mean an untouched folder. */
function listing(dir: string): string {
  if (!existsSync(dir)) return "(none)";
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort()
    .map((p) => `${p}:${createHash("sha256").update(readFileSync(p)).digest("hex")}`)
    .join("\n");
}

/** An HDF5 file of another ICESat-2 product: its short name and one beam group of its own layout. */
async function otherProduct(path: string, product: string, group: string): Promise<void> {
  const root = createGroup([attr("short_name", product), attr("identifier_product_type", product)]);
  addDataset(ensureGroup(root, group), "latitude", { dtype: "f8", data: Float64Array.of(62.7, 62.8) });
  await writeHdf5File(path, root);
}

async function count(store: string, sql: string): Promise<string> {
  const r = await cli(["sql", "--store", store, "--format", "json", sql]);
  expect(r.code, r.stderr.join("\n")).toBe(0);
  return String(JSON.parse(r.stdout[0]!).n);
}

describe("a mixed and messy archive", () => {
  let dir: string;
  let archive: string;
  let good: string[];
  const path = (name: string) => join(archive, name);
  const TRUNCATED = "partial download.h5";
  const NOT_HDF5 = "notes.h5";
  const ATL08 = "ATL08_20190601202758_10330303_006_01.h5";
  const ATL03 = "ATL03_20190601202758_10330303_006_01.h5";
  const COPY = "copy of ATL06.h5";
  const RENAMED = "granule.h5";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-mixed-"));
    archive = join(dir, "archive");
    mkdirSync(archive);
    good = [];
    for (const opts of demoGranuleSet().slice(0, 3))
      good.push(await writeSyntheticAtl06(archive, { ...opts, segmentsPerBeam: 3000 }));
    const first = readFileSync(good[0]!);
    writeFileSync(path(TRUNCATED), first.subarray(0, Math.floor(first.length * 0.6)));
    writeFileSync(path(NOT_HDF5), "<html><body>404 Not Found</body></html>\n".repeat(20));
    await otherProduct(path(ATL08), "ATL08", "gt1l/land_segments");
    await otherProduct(path(ATL03), "ATL03", "gt1l/heights");
    copyFileSync(good[1]!, path(COPY));
    copyFileSync(good[2]!, path(RENAMED));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Why a fake granule of `product` (a beam group holding only `latitude`) is skipped: a registered
   * product's file lacks its coordinate datasets; another product's is not a granule of the
   * registered ones.
   */
  const fakeReason = (product: string, beamGroup: string) => {
    const profile = findProfile(product);
    if (!profile) {
      const names = registeredProfiles().map((p) => p.name);
      const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
      return `not an ${list} granule (product ${product})`;
    }
    const { lat, lon } = profile.coordinates;
    const missing = lat === "latitude" ? lon : lat;
    return `incomplete ${product} granule (no dataset ${datasetPath(profile, beamGroup, missing)})`;
  };

  /** The skip lines of the archive, in input (name) order. */
  const expectedSkips = () => [
    `${path(ATL03)}: skipped: ${fakeReason("ATL03", "gt1l")}`,
    `${path(ATL08)}: skipped: ${fakeReason("ATL08", "gt1l")}`,
    expect.stringMatching(new RegExp(`^${literal(path(NOT_HDF5))}: skipped: no HDF5 signature`)),
    expect.stringMatching(new RegExp(`^${literal(path(TRUNCATED))}: skipped: .*truncated`)),
    `${path(COPY)}: skipped: same granule as ${good[1]}`,
    `${path(RENAMED)}: skipped: same granule as ${good[2]}`,
  ];

  it("indexes the good granules once, lists each bad input with its reason, and exits 3", async () => {
    const store = join(dir, "store");
    const run = await cli(["index", archive, "--store", store, "--quiet"]);
    expect(run.code, run.stderr.join("\n")).toBe(3);
    expect(run.stderr).toEqual(expectedSkips());
    expect(run.stdout).toHaveLength(1);
    expect(run.stdout[0]).toMatch(
      /^indexed 3 added, 0 replaced, 0 unchanged granules \(\d+ chunks\), 4 skipped, 2 duplicates into /,
    );
    expect(await count(store, "SELECT count(*) AS n FROM granules")).toBe("3");
    expect(await count(store, "SELECT count(DISTINCT granule_id) AS n FROM chunks")).toBe("3");
    const ids = await cli([
      "sql",
      "--store",
      store,
      "--format",
      "json",
      "SELECT granule_id, url FROM granules",
    ]);
    const rows = ids.stdout.filter(Boolean).map((l) => JSON.parse(l) as { granule_id: string; url: string });
    expect(rows.map((r) => r.granule_id).sort()).toEqual(good.map((g) => basename(g, ".h5")).sort());
    expect(rows.every((r) => good.some((g) => r.url.endsWith(encodeURI(basename(g)))))).toBe(true);

    const out = join(dir, "box.parquet");
    const q = await cli(["query", "--store", store, "--polygon", BOX, "--out", out]);
    expect(q.code, q.stderr.join("\n")).toBe(0);
    const got = await readResultRows(out);
    const want = toMicros(await bruteForceAtl06(good, BOX_GEOJSON));
    expect(new Set(want.map((r) => r.granule_id)).size).toBe(3);
    expect(got).toEqual(want);
    const keys = got.map((r) => `${r.granule_id}/${r.beam}/${r.segment_id}`);
    expect(new Set(keys).size).toBe(keys.length);

    // Again: the good granules are unchanged, the copies are still copies, the bad still bad.
    const before = listing(store);
    const again = await cli(["index", archive, "--store", store, "--quiet"]);
    expect(again.code).toBe(3);
    expect(again.stderr).toEqual(expectedSkips());
    expect(again.stdout[0]).toMatch(
      /^indexed 0 added, 0 replaced, 3 unchanged granules \(0 chunks\), 4 skipped/,
    );
    expect(listing(store)).toBe(before);
  });

  it("--strict fails on the first bad input with exit code 2 and leaves the store unchanged", async () => {
    const store = join(dir, "strict");
    expect((await cli(["index", good[0]!, "--store", store, "--quiet"])).code).toBe(0);
    const before = listing(store);
    const run = await cli(["index", archive, "--store", store, "--strict", "--quiet"]);
    expect(run.code).toBe(2);
    expect(run.stdout.filter(Boolean)).toEqual([]);
    expect(run.stderr).toEqual([`geochunks: ${path(ATL03)}: ${fakeReason("ATL03", "gt1l")}`]);
    expect(listing(store)).toBe(before);
    // Into a new store: none is created.
    const fresh = join(dir, "strict-new");
    expect((await cli(["index", archive, "--store", fresh, "--strict", "--quiet"])).code).toBe(2);
    expect(existsSync(fresh)).toBe(false);
    // Good inputs only: --strict indexes them as usual.
    expect((await cli(["index", good[1]!, good[2]!, "--store", store, "--strict", "--quiet"])).code).toBe(0);
    expect(await count(store, "SELECT count(*) AS n FROM granules")).toBe("3");
  });

  it("when every input is bad, lists each and exits 2 without creating a store", async () => {
    const store = join(dir, "none");
    const missing = path("vanished.h5");
    const run = await cli(["index", path(NOT_HDF5), path(ATL08), missing, "--store", store, "--quiet"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([
      expect.stringMatching(new RegExp(`^${literal(path(NOT_HDF5))}: skipped: no HDF5 signature`)),
      `${path(ATL08)}: skipped: ${fakeReason("ATL08", "gt1l")}`,
      expect.stringMatching(new RegExp(`^${literal(missing)}: skipped: .*not found`)),
      "geochunks: no granule indexed: all 3 inputs were skipped; nothing written",
    ]);
    expect(existsSync(store)).toBe(false);
  });

  it("a file gone between listing and reading (a glob race) is skipped; the others are indexed", async () => {
    const store = join(dir, "race");
    const gone = path("ATL06_gone.h5");
    const run = await cli(["index", good[0]!, gone, "--store", store, "--quiet"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      expect.stringMatching(new RegExp(`^${literal(gone)}: skipped: .*not found`)),
    ]);
    expect(await count(store, "SELECT count(*) AS n FROM granules")).toBe("1");
  });

  it("recognises a copy across runs, and names a granule by its metadata whatever its file name", async () => {
    const store = join(dir, "renamed");
    // Only the renamed copy: its id and track ids are the producer's, not "granule".
    const first = await cli(["index", path(RENAMED), "--store", store, "--quiet"]);
    expect(first.code, first.stderr.join("\n")).toBe(0);
    const id = basename(good[2]!, ".h5");
    const ids = await cli(["sql", "--store", store, "--format", "json", "SELECT granule_id FROM granules"]);
    expect(JSON.parse(ids.stdout[0]!).granule_id).toBe(id);
    const out = join(dir, "renamed.parquet");
    expect((await cli(["query", "--store", store, "--polygon", BOX, "--out", out])).code).toBe(0);
    const tracks = await duckdb(`SELECT DISTINCT granule_id, track_id, beam FROM read_parquet('${out}')`);
    expect(tracks.length).toBeGreaterThan(0);
    const field = /_(\d{8})_\d{3}_\d{2}$/.exec(id)![1];
    for (const t of tracks) {
      expect(t.granule_id).toBe(id);
      expect(t.track_id).toBe(`${field}_${t.beam}`);
    }
    // The original under its own name, in a later run: a copy of the stored granule.
    const before = listing(store);
    const second = await cli(["index", good[2]!, "--store", store, "--quiet"]);
    expect(second.code).toBe(0);
    expect(second.stderr).toEqual([`${good[2]}: skipped: same granule as ${path(RENAMED)}`]);
    expect(second.stdout[0]).toMatch(
      /^indexed 0 added, 0 replaced, 0 unchanged granules \(0 chunks\), 1 duplicate /,
    );
    expect(listing(store)).toBe(before);
  });

  it("builds the id from the metadata fields of a file without a producer id", async () => {
    const store = join(dir, "stripped");
    const opts = { ...demoGranuleSet()[3]!, segmentsPerBeam: 3000 };
    const tree = buildAtl06Tree(synthesizeAtl06(opts));
    tree.members.delete("METADATA");
    const noName = join(dir, "no producer id.h5");
    await writeHdf5File(noName, tree);
    // Nor any granule time: the first segment's time stands in.
    const ancillary = tree.members.get("ancillary_data");
    if (ancillary?.kind === "group") ancillary.members.delete("granule_start_utc");
    tree.attrs.splice(
      tree.attrs.findIndex((a) => a.name === "time_coverage_start"),
      1,
    );
    const noTime = join(dir, "no times.h5");
    await writeHdf5File(noTime, tree);
    const run = await cli(["index", noName, noTime, "--store", store, "--quiet"]);
    expect(run.code, run.stderr.join("\n")).toBe(0);
    expect(run.stderr).toEqual([`${noTime}: skipped: same granule as ${noName}`]);
    const ids = await cli(["sql", "--store", store, "--format", "json", "SELECT granule_id FROM granules"]);
    expect(ids.stdout.filter(Boolean).map((l) => JSON.parse(l).granule_id)).toEqual([
      basename(atl06FileName(opts), ".h5"),
    ]);
  });

  it("a corrupt copy listed first does not hide the good copy listed after it", async () => {
    const store = join(dir, "corrupt");
    // Metadata intact, so it is recognised as the same granule; one beam's latitude chunks overwritten.
    const corrupt = join(dir, "0 corrupt copy.h5");
    const bytes = Buffer.from(readFileSync(good[0]!));
    const source = await openSource(good[0]!);
    try {
      const file = await Hdf5File.open(source);
      for (const ref of await file.chunkRefs("/gt2l/land_ice_segments/latitude"))
        bytes.fill(0x5a, ref.offset, ref.offset + ref.size);
    } finally {
      await source.close();
    }
    writeFileSync(corrupt, bytes);
    const run = await cli(["index", corrupt, good[0]!, "--store", store, "--quiet", "--concurrency", "2"]);
    expect(run.code).toBe(3);
    expect(run.stderr).toEqual([
      expect.stringMatching(new RegExp(`^${literal(corrupt)}: skipped: deflate stream .* is corrupt`)),
    ]);
    expect(run.stdout[0]).toMatch(
      /^indexed 1 added, 0 replaced, 0 unchanged granules \(\d+ chunks\), 1 skipped into /,
    );
    const urls = await cli(["sql", "--store", store, "--format", "json", "SELECT url FROM granules"]);
    expect(urls.stdout.filter(Boolean).map((l) => JSON.parse(l).url)).toEqual([pathToFileURL(good[0]!).href]);
  });

  it("a stored copy that was moved away is replaced by the copy found now", async () => {
    const store = join(dir, "moved");
    const moved = join(dir, "moved.h5");
    copyFileSync(good[0]!, moved);
    expect((await cli(["index", moved, "--store", store, "--quiet"])).code).toBe(0);
    rmSync(moved);
    const run = await cli(["index", good[0]!, "--store", store, "--quiet"]);
    expect(run.code).toBe(0);
    expect(run.stdout[0]).toMatch(/^indexed 0 added, 1 replaced, 0 unchanged granules/);
    const urls = await cli(["sql", "--store", store, "--format", "json", "SELECT url FROM granules"]);
    expect(urls.stdout.filter(Boolean).map((l) => JSON.parse(l).url)).toEqual([pathToFileURL(good[0]!).href]);
  });
});

describe("a variable some granules lack (a subsetted file)", () => {
  let dir: string;
  let store: string;
  let full: string;
  let subsetId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-subset-"));
    const [a, b] = demoGranuleSet();
    full = await writeSyntheticAtl06(dir, { ...a!, segmentsPerBeam: 3000 });
    // The second granule without ground_track/x_atc in any beam, as a subsetting service leaves it.
    const opts = { ...b!, segmentsPerBeam: 3000 };
    const tree = buildAtl06Tree(synthesizeAtl06(opts));
    for (const [name, beam] of tree.members) {
      if (!name.startsWith("gt") || beam.kind !== "group") continue;
      const segments = beam.members.get("land_ice_segments");
      const track = segments?.kind === "group" ? segments.members.get("ground_track") : undefined;
      if (track?.kind === "group") track.members.delete("x_atc");
    }
    const subset = join(dir, atl06FileName(opts));
    await writeHdf5File(subset, tree);
    subsetId = basename(subset, ".h5");
    store = join(dir, "store");
    const run = await cli(["index", full, subset, "--store", store, "--quiet"]);
    expect(run.code, run.stderr.join("\n")).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives nulls for the granules without it and one warning naming them", async () => {
    const out = join(dir, "vars.parquet");
    const run = await cli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--vars",
      "ground_track/x_atc",
      "--out",
      out,
      "--stats",
    ]);
    expect(run.code, run.stderr.join("\n")).toBe(0);
    const stats = JSON.parse(run.stdout[0]!) as { warnings?: string[]; granules: number };
    expect(stats.granules).toBe(2);
    const warning = `variable ground_track/x_atc is missing from 1 of 2 granules read (null in their rows): ${subsetId}`;
    expect(stats.warnings).toEqual([warning]);
    // The command says so once on stderr.
    expect(run.stderr).toEqual([`warning: ${warning}`]);
    const counts = await duckdb(
      `SELECT granule_id, count(*) AS n, count(x_atc) AS valid FROM read_parquet('${out}') GROUP BY ALL ORDER BY 1`,
    );
    expect(counts).toHaveLength(2);
    for (const c of counts) {
      expect(Number(c.n)).toBeGreaterThan(0);
      expect(Number(c.valid)).toBe(c.granule_id === subsetId ? 0 : Number(c.n));
    }
    // The other columns are the oracle's.
    const want = toMicros(await bruteForceAtl06([full, join(dir, `${subsetId}.h5`)], BOX_GEOJSON));
    expect(await readResultRows(out)).toEqual(want);
  });

  it("refuses a variable no granule has, naming it, with exit code 2", async () => {
    const out = join(dir, "typo.parquet");
    const run = await cli([
      "query",
      "--store",
      store,
      "--polygon",
      BOX,
      "--vars",
      "ground_track/x_act",
      "--out",
      out,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toEqual([
      "geochunks: variable ground_track/x_act is not a per-segment dataset of any indexed granule",
    ]);
    expect(existsSync(out)).toBe(false);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
