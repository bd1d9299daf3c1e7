import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { duckdb } from "../support/results.js";

/*
 * A local granule's chunk checksums come from its data reads only, as a remote one's do: the HDF5
 * reader's metadata blocks, batched as the reads happen to come together, also held whole chunks of
 * other datasets (a different set from one run to the next), and those got checksums too.
 */
describe("chunk checksums of a local granule", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-local-checksums-"));
    const granule = await writeSyntheticAtl06(dir, { ...demoGranuleSet()[0]!, segmentsPerBeam: 12_000 });
    await index([granule], { store: join(dir, "store") });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("are recorded for every coordinate chunk and not for chunks only metadata blocks held", async () => {
    const rows = await duckdb(
      `SELECT regexp_extract(r.path, '[^/]+$') AS name, count(*)::INTEGER AS refs, count(c)::INTEGER AS summed
         FROM (SELECT unnest(refs) AS r, unnest(ref_checksums) AS c
                 FROM read_parquet('${join(dir, "store")}/chunks/**/*.parquet'))
        GROUP BY name`,
    );
    const by = new Map(rows.map((r) => [String(r.name), { refs: Number(r.refs), summed: Number(r.summed) }]));
    for (const name of ["latitude", "longitude", "delta_time"]) {
      expect(by.get(name)!.refs, name).toBeGreaterThan(0);
      expect(by.get(name)!.summed, name).toBe(by.get(name)!.refs);
    }
    // Small chunks beside the metadata, never read as data: before, every one of them had a checksum.
    expect(by.get("atl06_quality_summary")!.refs).toBeGreaterThan(0);
    expect(by.get("atl06_quality_summary")!.summed).toBe(0);
  });
});
