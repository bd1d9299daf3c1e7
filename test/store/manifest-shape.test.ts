import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGeochunksError } from "../../src/errors.js";
import { parseManifest } from "../../src/store/manifest.js";
import { runCli } from "../support/cli.js";

const HEAD = { format: "geochunks-store", version: 3, h3_resolution: 6, updated: "2026-01-01T00:00:00Z" };
const PART = {
  id: "p1",
  files: {
    granules: ["granules/part-p1.parquet"],
    arrays: ["arrays/part-p1.parquet"],
    chunks: ["chunks/product=ATL06/month=2019-06/part-p1.parquet"],
    chunk_cells: ["chunk_cells/product=ATL06/month=2019-06/part-p1.parquet"],
  },
  granules: ["G1"],
};

/** The StoreError message parseManifest gives for a manifest's text. */
function refusal(text: string): string {
  try {
    parseManifest(text, "idx");
  } catch (err) {
    expect(isGeochunksError(err, "StoreError"), String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe("a damaged manifest is one error naming what is wrong", () => {
  it("accepts a real manifest's shape, empty or not", () => {
    expect(parseManifest(JSON.stringify({ ...HEAD, parts: [], granules: {} }), "idx").parts).toEqual([]);
    const one = { ...HEAD, parts: [PART], granules: { G1: { url: "file:///g.h5", size: 1, part: "p1" } } };
    expect(parseManifest(JSON.stringify(one), "idx").parts).toHaveLength(1);
    // Version 4: no fingerprint map; part sets name their products.
    const v4 = { ...HEAD, version: 4, parts: [{ ...PART, products: ["ATL06"] }] };
    expect(parseManifest(JSON.stringify(v4), "idx").parts[0]!.products).toEqual(["ATL06"]);
  });

  it("refuses a version 4 part set's products that are not names, and versions it does not read", () => {
    const v4 = { ...HEAD, version: 4, parts: [{ ...PART, products: "ATL06" }] };
    expect(() => parseManifest(JSON.stringify(v4), "idx")).toThrow(
      "idx: manifest.json is damaged: parts[0].products is not an array of product names",
    );
    expect(() => parseManifest(JSON.stringify({ ...HEAD, version: 6, parts: [] }), "idx")).toThrow(
      "idx: store format version 6 is not supported by this version of geochunks (it reads versions 3, 4 and 5); " +
        "re-index the granules with this version into a new store",
    );
  });

  it("reads a version 5 part set's granule count and id range, and refuses them damaged", () => {
    const { granules: _ids, ...bare } = PART;
    const v5 = (part: object) => JSON.stringify({ ...HEAD, version: 5, parts: [{ ...bare, ...part }] });
    const ok = parseManifest(v5({ granule_count: 2, granule_range: ["G1", "G2"] }), "idx").parts[0]!;
    expect([ok.granule_count, ok.granule_range, ok.granules]).toEqual([2, ["G1", "G2"], undefined]);
    const bad: [object, string][] = [
      [{}, "parts[0].granule_count missing is not a count of granules"],
      [{ granule_count: -1 }, "parts[0].granule_count -1 is not a count of granules"],
      [{ granule_count: 2 }, "parts[0].granule_range missing is not a [first, last] pair of granule ids"],
      [
        { granule_count: 2, granule_range: ["G2", "G1"] },
        'parts[0].granule_range ["G2","G1"] is not a [first, last] pair of granule ids',
      ],
      [{ granules: "G1" }, "parts[0].granules is not an array of granule ids"],
    ];
    for (const [part, problem] of bad)
      expect(() => parseManifest(v5(part), "idx")).toThrow(`idx: manifest.json is damaged: ${problem}`);
  });

  it("refuses values, missing fields, wrong types and paths outside the store", () => {
    const cases: [unknown, string][] = [
      [null, "idx: not a geochunks store (manifest.json is not a JSON object)"],
      [[], "idx: not a geochunks store (manifest.json is not a JSON object)"],
      [{ ...HEAD, parts: [] }, "idx: manifest.json is damaged: granules is missing, not an object"],
      [{ ...HEAD, parts: {}, granules: {} }, "idx: manifest.json is damaged: parts is {}, not an array"],
      [
        { ...HEAD, h3_resolution: "6", parts: [], granules: {} },
        'idx: manifest.json is damaged: h3_resolution "6" is not an integer 0..15',
      ],
      [
        { ...HEAD, parts: [{ id: "x" }], granules: {} },
        "idx: manifest.json is damaged: parts[0].granules is not an array of granule ids",
      ],
      [
        { ...HEAD, parts: [{ ...PART, files: { ...PART.files, chunks: undefined } }], granules: {} },
        "idx: manifest.json is damaged: parts[0].files.chunks is missing, not an array of paths",
      ],
      [
        {
          ...HEAD,
          parts: [{ ...PART, files: { ...PART.files, arrays: ["arrays/../../../etc/x.parquet"] } }],
          granules: {},
        },
        'idx: manifest.json is damaged: parts[0].files.arrays[0] "arrays/../../../etc/x.parquet" is not a part path inside the store',
      ],
      [
        {
          ...HEAD,
          parts: [{ ...PART, files: { ...PART.files, granules: ["/srv/x.parquet"] } }],
          granules: {},
        },
        'idx: manifest.json is damaged: parts[0].files.granules[0] "/srv/x.parquet" is not a part path inside the store',
      ],
      [
        { ...HEAD, parts: [], granules: { G1: { url: "file:///g.h5" } } },
        'idx: manifest.json is damaged: granules["G1"] is not a granule fingerprint (url, size, part)',
      ],
      [
        {
          ...HEAD,
          parts: [],
          granules: {},
          retired: [{ id: "r", files: ["../victim.parquet"], retired: "x" }],
        },
        'idx: manifest.json is damaged: retired[0].files[0] "../victim.parquet" is not a part path inside the store',
      ],
    ];
    for (const [value, message] of cases) expect(refusal(JSON.stringify(value))).toBe(message);
  });
});

describe("the command line on a damaged manifest", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-manifest-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("query, sql, verify and compact give one line naming the store, exit code 2, and remove nothing outside it", async () => {
    const store = join(dir, "store");
    mkdirSync(store);
    const victim = join(dir, "victim.parquet");
    writeFileSync(victim, "not the store's");
    const manifest = {
      ...HEAD,
      parts: [],
      granules: {},
      retired: [{ id: "r", files: ["../victim.parquet"], retired: "2000-01-01T00:00:00Z" }],
    };
    writeFileSync(join(store, "manifest.json"), JSON.stringify(manifest));
    const line = `geochunks: ${store}: manifest.json is damaged: retired[0].files[0] "../victim.parquet" is not a part path inside the store\n`;
    for (const args of [
      ["query", "--store", store, "--polygon", "-45.4,62.6,-44.6,63", "--dry-run"],
      ["sql", "--store", store, "SELECT 1"],
      ["verify", "--store", store],
      ["compact", "--store", store, "--vacuum", "--older-than", "0s"],
    ]) {
      const run = await runCli(args);
      expect([run.code, run.stdout, run.stderr], args.join(" ")).toEqual([2, "", line]);
    }
    expect(existsSync(victim)).toBe(true);
  }, 60_000);
});
