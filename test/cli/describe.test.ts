/**
 * `geochunks describe` on a store of synthetic granules, checked against the store's own granule
 * rows and against the granule files read with the HDF5 C library (h5wasm): beams, per-segment
 * variables, their dtypes, units and long names.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { main } from "../../src/cli/main.js";
import { index } from "../../src/index.js";
import { Store } from "../../src/store/store.js";

type H5File = InstanceType<typeof h5wasm.File>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (t) => out.push(t),
    (t) => err.push(t),
  );
  return { code, out, err };
}

/** numpy-style dtype of an h5wasm dataset. */
function dtypeOf(ds: H5Dataset): string {
  const { type, size, signed, littleEndian } = ds.metadata;
  const kind = type === 1 ? "f" : signed ? "i" : "u";
  return `${size === 1 ? "|" : littleEndian ? "<" : ">"}${kind}${size}`;
}

/** Per-segment datasets of a beam (as long as its latitude), by path relative to land_ice_segments. */
function segmentDatasets(file: H5File, beam: string): Map<string, H5Dataset> {
  const root = `/${beam}/land_ice_segments`;
  const rows = (file.get(`${root}/latitude`) as H5Dataset).shape![0];
  const out = new Map<string, H5Dataset>();
  const walk = (path: string) => {
    const node = file.get(path);
    if (node instanceof h5wasm.Dataset) {
      if (node.shape?.[0] === rows) out.set(path.slice(root.length + 1), node);
    } else if (node instanceof h5wasm.Group) {
      for (const key of node.keys()) walk(`${path}/${key}`);
    }
  };
  walk(root);
  return out;
}

const text = (v: unknown) => (Array.isArray(v) ? String(v[0]) : String(v));

describe("geochunks describe", () => {
  let dir: string;
  let store: string;
  let files: string[];

  beforeAll(async () => {
    await h5wasm.ready;
    dir = mkdtempSync(join(tmpdir(), "geochunks-describe-"));
    const set = demoGranuleSet();
    // Three granules: one with only gt1l and gt1r, so beams differ in their granule counts.
    files = [];
    for (const opts of [set[0]!, set[3]!, set[4]!])
      files.push(await writeSyntheticAtl06(dir, { ...opts, segmentsPerBeam: 2500 }));
    store = join(dir, "store");
    await index(files, { store });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports granules, time range and extent equal to the store's granule rows", async () => {
    const r = await run("describe", "--store", store, "--json");
    expect([r.code, r.err]).toEqual([0, []]);
    const summary = JSON.parse(r.out.join("\n"));
    const rows = await (await Store.open(store)).granules();
    expect(summary.granules).toBe(files.length);
    expect(rows).toHaveLength(files.length);
    const start = rows.reduce((a, g) => (g.time_start < a ? g.time_start : a), rows[0]!.time_start);
    const end = rows.reduce((a, g) => (g.time_end > a ? g.time_end : a), rows[0]!.time_end);
    expect(summary.time.start_ns).toBe(start.toString());
    expect(summary.time.end_ns).toBe(end.toString());
    expect(Date.parse(summary.time.start)).toBe(Number(start / 1_000_000n));
    expect(summary.time.start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(summary.bbox).toEqual({
      xmin: Math.min(...rows.map((g) => g.bbox.xmin)),
      ymin: Math.min(...rows.map((g) => g.bbox.ymin)),
      xmax: Math.max(...rows.map((g) => g.bbox.xmax)),
      ymax: Math.max(...rows.map((g) => g.bbox.ymax)),
    });
    expect(summary.products).toEqual([{ product: "ATL06", release: "006", granules: 3 }]);
    expect(summary.cycles).toEqual([...new Set(rows.map((g) => g.cycle!))].sort((a, b) => a - b));
    expect(summary.tracks).toEqual([...new Set(rows.map((g) => g.track!))].sort((a, b) => a - b));
    expect(summary.orbits).toEqual([]);
  });

  it("lists the beams of the granule files and every per-segment variable with its dtype, units and long_name", async () => {
    const opened = files.map((f) => new h5wasm.File(f, "r"));
    try {
      const r = await run("describe", "--store", store, "--json");
      const summary = JSON.parse(r.out.join("\n"));
      const beamsOf = opened.map((f) => f.keys().filter((k) => /^gt[123][lr]$/.test(k)));
      const expectedBeams = [...new Set(beamsOf.flat())].sort();
      expect(summary.beams.map((b: { beam: string }) => b.beam)).toEqual(expectedBeams);
      for (const b of summary.beams) {
        expect(b.granules, b.beam).toBe(beamsOf.filter((beams) => beams.includes(b.beam)).length);
      }
      expect(summary.beams.find((b: { beam: string }) => b.beam === "gt2l").granules).toBe(2);
      expect(summary.granule_beams).toBe(beamsOf.flat().length);

      const datasets = segmentDatasets(opened[0]!, "gt1l");
      expect(datasets.size).toBeGreaterThan(40);
      const variables = new Map(summary.variables.map((v: { name: string }) => [v.name, v] as const)) as Map<
        string,
        { dtypes: string[]; units?: string; long_name?: string; beams: number; default: boolean }
      >;
      expect([...variables.keys()].sort()).toEqual([...datasets.keys()].sort());
      for (const [name, ds] of datasets) {
        const v = variables.get(name)!;
        expect(v.dtypes, name).toEqual([dtypeOf(ds)]);
        expect(v.units, name).toBe(text(ds.attrs.units?.value));
        expect(v.long_name, name).toBe(text(ds.attrs.long_name?.value));
        expect(v.beams, name).toBe(summary.granule_beams);
      }
      const h_li = opened[0]!.get("/gt1l/land_ice_segments/h_li") as H5Dataset;
      expect(variables.get("h_li")).toMatchObject({
        units: text(h_li.attrs.units!.value),
        long_name: text(h_li.attrs.long_name!.value),
        default: true,
      });
      expect(variables.get("ground_track/x_atc")?.default).toBe(false);
    } finally {
      for (const f of opened) f.close();
    }
  });

  it("prints the same facts as text", async () => {
    const json = JSON.parse((await run("describe", "--store", store, "--json")).out.join("\n"));
    const r = await run("describe", "--store", store);
    expect([r.code, r.err]).toEqual([0, []]);
    const lines = r.out.join("\n").split("\n");
    expect(lines).toContain(`granules   ${files.length}`);
    expect(lines).toContain(`time       ${json.time.start} .. ${json.time.end}`);
    const h_li = json.variables.find((v: { name: string }) => v.name === "h_li");
    const row = lines.find((l) => /^\s+h_li\*\s/.test(l));
    expect(row?.trim().split(/\s{2,}/)).toEqual(["h_li*", h_li.dtypes[0], h_li.units, h_li.long_name]);
    const gt2l = lines.find((l) => /^\s+gt2l\s/.test(l));
    expect(gt2l?.trim().split(/\s+/)).toEqual([
      "gt2l",
      "2",
      ...json.beams
        .filter((b: { beam: string }) => b.beam === "gt2l")
        .flatMap((b: { chunks: number; rows: number }) => [String(b.chunks), String(b.rows)]),
    ]);
  });

  it("refuses a missing, empty or foreign store with one line and exit code 2", async () => {
    const empty = join(dir, "empty");
    await Store.open(empty, { create: true });
    const foreign = join(dir, "foreign");
    mkdirSync(foreign);
    for (const [target, message] of [
      [join(dir, "nowhere"), `geochunks: ${join(dir, "nowhere")}: no such store`],
      [empty, `geochunks: ${empty}: store has no granules yet; index some first`],
      [foreign, `geochunks: ${foreign}: no manifest.json: not a geochunks store`],
    ] as const) {
      for (const extra of [[], ["--json"]]) {
        const r = await run("describe", "--store", target, ...extra);
        expect([r.code, r.out, r.err]).toEqual([2, [], [message]]);
      }
    }
    const missing = await run("describe");
    expect([missing.code, missing.err]).toEqual([
      2,
      ["geochunks: describe: missing --store <dir>; see geochunks help describe"],
    ]);
  });
});
