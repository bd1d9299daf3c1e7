import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { STAC_EXTENSIONS, spatialExtent } from "../../src/export/stac.js";
import { index, openStore } from "../../src/index.js";
import { runCli } from "../support/cli.js";
import { importPackage } from "../support/package.js";

type Json = Record<string, unknown>;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * The STAC 1.1 core rules of a Collection, field by field (collection-spec.md and the
 * common metadata of the specification), plus those of the table and storage extensions used.
 */
function expectValidCollection(c: Json): void {
  expect(c.type).toBe("Collection");
  expect(c.stac_version).toBe("1.1.0");
  expect(typeof c.id).toBe("string");
  expect((c.id as string).length).toBeGreaterThan(0);
  expect(typeof c.description).toBe("string");
  expect(typeof c.license).toBe("string");
  expect(Array.isArray(c.stac_extensions)).toBe(true);
  for (const url of c.stac_extensions as string[])
    expect(url).toMatch(/^https:\/\/stac-extensions\.github\.io\/.+\/v\d+\.\d+\.\d+\/schema\.json$/);
  const extent = c.extent as { spatial: { bbox: number[][] }; temporal: { interval: (string | null)[][] } };
  expect(extent.spatial.bbox.length).toBeGreaterThan(0);
  for (const b of extent.spatial.bbox) {
    expect(b).toHaveLength(4);
    expect(b[1]!).toBeLessThanOrEqual(b[3]!);
    for (const x of [b[0]!, b[2]!]) expect(Math.abs(x)).toBeLessThanOrEqual(180);
    for (const y of [b[1]!, b[3]!]) expect(Math.abs(y)).toBeLessThanOrEqual(90);
  }
  expect(extent.temporal.interval.length).toBeGreaterThan(0);
  for (const [a, b] of extent.temporal.interval) {
    for (const t of [a, b]) if (t !== null) expect(t).toMatch(RFC3339);
  }
  const links = c.links as Json[];
  for (const l of links) {
    expect(typeof l.rel).toBe("string");
    expect(typeof l.href).toBe("string");
  }
  const extensions = new Set(c.stac_extensions as string[]);
  for (const [key, a] of Object.entries(c.assets as Record<string, Json>)) {
    expect(typeof a.href, key).toBe("string");
    if (a.roles) expect(Array.isArray(a.roles)).toBe(true);
    if ("table:columns" in a) {
      expect(extensions.has(STAC_EXTENSIONS.table)).toBe(true);
      for (const col of a["table:columns"] as Json[]) expect(typeof col.name).toBe("string");
      expect(Number.isInteger(a["table:row_count"])).toBe(true);
    }
    if ("storage:refs" in a) {
      expect(extensions.has(STAC_EXTENSIONS.storage)).toBe(true);
      for (const ref of a["storage:refs"] as string[]) expect(c["storage:schemes"]).toHaveProperty(ref);
    }
  }
}

describe("geochunks stac", () => {
  let dir: string;
  let files: string[];
  let storeDir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-stac-"));
    const set = demoGranuleSet();
    files = [
      await writeSyntheticAtl06(dir, { ...set[0]!, segmentsPerBeam: 3000 }),
      await writeSyntheticAtl06(dir, { ...set[5]!, segmentsPerBeam: 3000 }),
    ];
    storeDir = join(dir, "store");
    await index(files, { store: storeDir, concurrency: 2 });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a valid STAC 1.1 collection whose extents equal the store's (SQL over the index)", async () => {
    const out = join(dir, "stac", "collection.json");
    const items = join(dir, "stac", "items");
    const run = await runCli([
      "stac",
      "--store",
      storeDir,
      "--out",
      out,
      "--items",
      items,
      "--virtual",
      join(dir, "refs.json"),
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("wrote a STAC collection of 2 granules");
    const c = JSON.parse(readFileSync(out, "utf8")) as Json;
    expectValidCollection(c);
    const store = await openStore(storeDir);
    const { rows } = await store.sql(
      `SELECT min(bbox.xmin) AS xmin, min(bbox.ymin) AS ymin, max(bbox.xmax) AS xmax, max(bbox.ymax) AS ymax,
              strftime(min(time_start), '%Y-%m-%dT%H:%M:%S') AS t0, strftime(max(time_end), '%Y-%m-%dT%H:%M:%S') AS t1,
              (SELECT count(*) FROM chunks) AS chunks
         FROM granules`,
    );
    const r = rows[0]!;
    const extent = c.extent as { spatial: { bbox: number[][] }; temporal: { interval: string[][] } };
    expect(extent.spatial.bbox).toEqual([[r.xmin, r.ymin, r.xmax, r.ymax]]);
    expect(extent.temporal.interval[0]![0]!.slice(0, 19)).toBe(r.t0);
    expect(extent.temporal.interval[0]![1]!.slice(0, 19)).toBe(r.t1);
    const summaries = c.summaries as Json;
    expect(summaries.products).toEqual(["ATL06"]);
    const cycles = await store.sql("SELECT DISTINCT cycle FROM granules ORDER BY cycle");
    expect(summaries.cycles).toEqual(cycles.rows.map((row) => Number(row.cycle)));
    expect(summaries.beams).toEqual(["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]);
    const assets = c.assets as Record<string, Json>;
    expect(assets["index-chunks"]).toMatchObject({
      type: "application/vnd.apache.parquet",
      "table:primary_geometry": "geometry",
      "table:row_count": Number(r.chunks),
    });
    expect(assets["kerchunk-json"]).toMatchObject({ href: "../refs.json", type: "application/json" });
    const derived = (c.links as Json[]).filter((l) => l.rel === "derived_from").map((l) => l.href);
    expect(derived.sort()).toEqual(files.map((f) => `file://${f}`).sort());
    // One Item per granule: the HDF5 file with its size and SHA-256 multihash, the time range.
    for (const file of files) {
      const id = file.split("/").pop()!.replace(/\.h5$/, "");
      const item = JSON.parse(readFileSync(join(items, `${id}.json`), "utf8")) as Json;
      expect(item).toMatchObject({ type: "Feature", stac_version: "1.1.0", id, collection: c.id });
      expect((item.properties as Json).datetime).toBeNull();
      expect((item.properties as Json).start_datetime).toMatch(RFC3339);
      const bytes = readFileSync(file);
      expect((item.assets as Record<string, Json>).data).toMatchObject({
        "file:size": bytes.length,
        "file:checksum": `1220${createHash("sha256").update(bytes).digest("hex")}`,
      });
      expect((item.geometry as Json).type).toBe("Polygon");
    }
  });

  it("the library imported by package name exports kerchunk references of a box and a collection listing them", async () => {
    const { exportKerchunk, exportStac } = await importPackage();
    const refs = join(dir, "lib", "box.json");
    const report = await exportKerchunk(storeDir, { out: refs, aoi: "-46,62,-44,64", vars: ["h_li"] });
    expect(report.granules).toBe(1);
    expect(report.skipped).toEqual([]);
    const keys = Object.keys(JSON.parse(readFileSync(refs, "utf8")).refs as Json);
    expect(keys.some((k) => k.endsWith("/land_ice_segments/h_li/.zarray"))).toBe(true);
    // --vars keeps the beams' coordinates and the named variable only.
    expect(keys.some((k) => k.endsWith("/land_ice_segments/h_li_sigma/.zarray"))).toBe(false);
    expect(keys.some((k) => k.endsWith("/land_ice_segments/latitude/.zarray"))).toBe(true);
    const out = join(dir, "lib", "collection.json");
    await exportStac(storeDir, { out, virtualStores: [{ kind: "kerchunk-json", href: refs }] });
    const c = JSON.parse(readFileSync(out, "utf8")) as Json;
    expectValidCollection(c);
    expect((c.assets as Record<string, Json>)["kerchunk-json"]!.href).toBe("./box.json");
  });

  it("splits the spatial extent at the antimeridian", () => {
    expect(
      spatialExtent([
        { xmin: 170, ymin: -70, xmax: 180, ymax: -60 },
        { xmin: -180, ymin: -72, xmax: -175, ymax: -61 },
      ]),
    ).toEqual([
      [170, -72, -175, -60],
      [170, -72, 180, -60],
      [-180, -72, -175, -60],
    ]);
    expect(spatialExtent([{ xmin: -50, ymin: 60, xmax: -40, ymax: 70 }])).toEqual([[-50, 60, -40, 70]]);
  });
});
