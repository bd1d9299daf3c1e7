import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { Hdf5File } from "../../src/hdf5/index.js";
import {
  datasetPath,
  detectProfile,
  findProfile,
  type ProductProfile,
  registeredProfiles,
  resultColumnNames,
  rowGroupOf,
} from "../../src/products/index.js";
import { GPS_SINCE_2018 } from "../../src/products/time.js";
import { openFileSource } from "../../src/source/index.js";
import { ATL06_RESULT_COLUMNS } from "../support/results.js";

const SHARED = ["granule_id", "product", "beam"];

describe("product registry", () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "profile-"));
    path = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, segmentsPerBeam: 300 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("gives every filter that takes a value an example its own parser accepts", () => {
    const valued = registeredProfiles().flatMap((p) => p.filters.filter((f) => f.placeholder));
    expect(valued.length).toBeGreaterThan(0);
    for (const f of valued) {
      expect(f.example, f.name).toBeDefined();
      expect(() => f.parse?.(f.example!), f.name).not.toThrow();
    }
  });

  it("lists ATL06, found by name and short name", () => {
    expect(registeredProfiles().map((p) => p.name)).toContain("ATL06");
    expect(findProfile("ATL06")?.name).toBe("ATL06");
    expect(findProfile("ATL99")).toBeUndefined();
  });

  it.each(registeredProfiles().map((p) => [p.name, p] as [string, ProductProfile]))(
    "%s: every shared column once, column names unique, a doc-like title",
    (_name, profile) => {
      const names = resultColumnNames(profile);
      for (const shared of SHARED) expect(names.filter((n) => n === shared)).toHaveLength(1);
      expect(new Set(names).size).toBe(names.length);
      expect(names.slice(0, 3)).toEqual(["lat", "lon", "time"]);
      expect(names.at(-1)).toBe("geometry");
      expect(profile.shortNames.length).toBeGreaterThan(0);
      expect(profile.beams.length).toBeGreaterThan(0);
    },
  );

  it("keeps ATL06 result columns in their documented order", () => {
    expect(resultColumnNames(findProfile("ATL06")!)).toEqual([...ATL06_RESULT_COLUMNS, "geometry"]);
  });

  it("resolves dataset paths relative to a beam's row group", () => {
    const atl06 = findProfile("ATL06")!;
    expect(rowGroupOf(atl06, "gt1l")).toBe("/gt1l/land_ice_segments");
    expect(datasetPath(atl06, "gt2r", "ground_track/x_atc")).toBe(
      "/gt2r/land_ice_segments/ground_track/x_atc",
    );
    expect(datasetPath(atl06, "gt2r", "../land_ice_segments/h_li")).toBe("/gt2r/land_ice_segments/h_li");
    const flat = { ...atl06, rows: "" };
    expect(rowGroupOf(flat, "BEAM0000")).toBe("/BEAM0000");
    expect(datasetPath(flat, "BEAM0000", "rh")).toBe("/BEAM0000/rh");
  });

  it("detects an ATL06 granule from its metadata and reads its identity", async () => {
    const file = await Hdf5File.open(await openFileSource(path));
    const found = await detectProfile(file);
    expect(found.profile?.name).toBe("ATL06");
    if (!found.profile) return;
    expect(found.beams).toEqual(["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]);
    const g = await found.profile.readGranule(file, { root: found.root, beams: found.beams });
    expect(g.product).toBe("ATL06");
    expect(g.granule_id).toMatch(/^ATL06_\d{14}_\d{8}_\d{3}_\d{2}$/);
    expect(typeof g.attrs.sc_orient).toBe("number");
    expect(found.profile.trackId(g, "gt1l")).toBe(`${g.granule_id.split("_")[2]}_gt1l`);
  });

  it("converts GPS seconds since 2018 to UTC", () => {
    expect(GPS_SINCE_2018.toUnixNs(0)).toBe(1_514_764_800_000_000_000n);
    expect(GPS_SINCE_2018.fromDate(new Date("2018-01-01T00:00:10Z"))).toBe(10);
  });
});
