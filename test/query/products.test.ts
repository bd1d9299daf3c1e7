import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { seededRandom, syntheticBatch } from "../../fixtures/index/synthetic-index.js";
import { isGeochunksError, openStore } from "../../src/index.js";
import { openGranule } from "../../src/index-builder/granule.js";
import { findProfile, registerProfile } from "../../src/products/index.js";
import { openFileSource } from "../../src/source/index.js";
import { mergeBatches } from "../../src/store/parts.js";
import { Store } from "../../src/store/store.js";
import { runCli } from "../support/cli.js";

const BOX = "-46,60,-36,66";

/** A second product for this process only: ATL06's layout under another name. */
registerProfile({ ...findProfile("ATL06")!, name: "TEST06", shortNames: ["TEST06"] });

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("a store of several products", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-products-"));
    const random = seededRandom(7);
    const batches = Array.from({ length: 8 }, (_, g) =>
      syntheticBatch(g, random, { product: g < 4 ? "ATL06" : "TEST06" }),
    );
    const store = await Store.open(join(dir, "mixed"), { create: true });
    await store.commit(mergeBatches(batches));
    const single = await Store.open(join(dir, "single"), { create: true });
    await single.commit(mergeBatches(batches.slice(4)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists its products from the manifest and partitions chunks by product", async () => {
    const store = await Store.open(join(dir, "mixed"));
    expect(store.products()).toEqual(["ATL06", "TEST06"]);
    const test = store.files("chunks", { product: "TEST06" });
    expect(test.length).toBeGreaterThan(0);
    expect(test.every((f) => f.includes("/chunks/product=TEST06/month="))).toBe(true);
    expect(store.files("chunks").length).toBe(
      test.length + store.files("chunks", { product: "ATL06" }).length,
    );
  });

  it("refuses a query that names no product, listing the products", async () => {
    const store = await openStore(join(dir, "mixed"));
    const err = errorOf(() => store.query({ aoi: BOX }));
    expect(isGeochunksError(err, "InvalidQueryError")).toBe(true);
    expect(err.message).toContain(
      "holds several products (ATL06, TEST06); name the one to query (--product)",
    );
  });

  it("plans only the named product's chunks", async () => {
    const store = await openStore(join(dir, "mixed"));
    for (const product of ["ATL06", "TEST06"]) {
      const plan = await store.query({ aoi: BOX, product }).plan();
      expect(plan.granules.length).toBeGreaterThan(0);
      expect(new Set(plan.granules.map((g) => g.granule.product))).toEqual(new Set([product]));
    }
  });

  it("queries a store of one product as that product, and refuses a product it does not hold", async () => {
    const store = await openStore(join(dir, "single"));
    const plan = await store.query({ aoi: BOX }).plan();
    expect(new Set(plan.granules.map((g) => g.granule.product))).toEqual(new Set(["TEST06"]));
    expect(errorOf(() => store.query({ aoi: BOX, product: "ATL06" })).message).toContain(
      "holds no ATL06 granules; its products: TEST06",
    );
    expect(errorOf(() => store.query({ aoi: BOX, product: "ATL99" })).message).toMatch(
      /^product ATL99 is not one of ATL03, ATL06, ATL08, GEDI02_A, .*TEST06/,
    );
  });

  it("refuses a filter the product does not offer, and beams of another product", async () => {
    const store = await openStore(join(dir, "single"));
    expect(errorOf(() => store.query({ aoi: BOX, filters: { cnf: 3 } })).message).toBe(
      "filter cnf is not offered for TEST06 (its filters: quality)",
    );
    expect(errorOf(() => store.query({ aoi: BOX, beams: ["BEAM0000"] })).message).toMatch(
      /^beam BEAM0000 is not one of gt1l, /,
    );
  });

  it("says so on the command line, exit code 2", async () => {
    const run = await runCli(["query", "--store", join(dir, "mixed"), "--polygon", BOX, "--dry-run"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/holds several products \(ATL06, TEST06\); name the one to query/);
  });
});

describe("indexing one product", () => {
  it("detects a granule's product from its metadata, and skips it when another product is asked for", async () => {
    const dir = mkdtempSync(join(tmpdir(), "geochunks-only-"));
    try {
      const path = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, segmentsPerBeam: 200 });
      const auto = await openGranule(await openFileSource(path));
      expect(auto.profile.name).toBe("ATL06");
      expect((await openGranule(await openFileSource(path), { product: "ATL06" })).identity).toEqual(
        auto.identity,
      );
      const err = await openGranule(await openFileSource(path), { product: "TEST06" }).catch((e: Error) => e);
      expect(isGeochunksError(err, "NotAGranuleError")).toBe(true);
      expect((err as Error).message).toBe(`${path}: not a TEST06 granule (product ATL06)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
