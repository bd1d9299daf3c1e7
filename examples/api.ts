/**
 * The library API in a script: index granules, query a polygon with filters, consume Arrow record
 * batches, write GeoParquet, and ask SQL questions of the index.
 *
 *   npx tsx examples/api.ts [granules...]     (default: the demo's synthetic granules)
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { demoGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import { index, isGeochunksError, openStore, writeGeoParquet } from "../src/index.js";

const cache = fileURLToPath(new URL("../.cache/example/", import.meta.url));

async function main(inputs: string[]) {
  // Default: the demo's synthetic granules, generated once (shared with `npm run demo`).
  const demoDir = fileURLToPath(new URL("../.cache/demo/granules/", import.meta.url));
  await mkdir(demoDir, { recursive: true });
  const granules = inputs.length
    ? inputs
    : await Promise.all(demoGranuleSet().map((o) => writeSyntheticAtl06(demoDir, { ...o, reuse: true })));

  // 1. Index (appends; unchanged granules are skipped on a second run).
  const report = await index(granules, { store: join(cache, "store") });
  console.log(`added ${report.added.length}, unchanged ${report.unchanged.length}`);

  // 2. Query: strong beams only, one year, two extra variables.
  const store = await openStore(join(cache, "store"));
  const result = store.query({
    aoi: {
      type: "Polygon",
      coordinates: [
        [
          [-45.4, 62.6],
          [-44.6, 62.6],
          [-44.6, 63.0],
          [-45.4, 63.0],
          [-45.4, 62.6],
        ],
      ],
    },
    start: "2019-01-01T00:00:00Z",
    end: "2020-01-01T00:00:00Z",
    beams: ["strong"],
    vars: ["ground_track/x_atc", "fit_statistics/n_fit_photons"],
  });
  const plan = await result.plan();
  console.log(
    `plan: ${plan.granules.length} granules, ${plan.chunksCandidate} chunks, ${plan.requests} ranges, ${plan.bytes} bytes`,
  );

  // 3. Arrow record batches stream out; each is one chunk row's points inside the polygon.
  let rows = 0;
  for await (const batch of result) {
    rows += batch.numRows;
    const h = batch.getChild("h_li")!;
    console.log(`${batch.get(0)?.track_id}: ${batch.numRows} rows, first h_li ${h.get(0)}`);
  }
  console.log(`${rows} rows; stats ${JSON.stringify(result.stats)}`);

  // 4. The same query straight to GeoParquet.
  const again = store.query({ aoi: result.aoi, beams: ["strong"] });
  const written = await writeGeoParquet(again, join(cache, "strong.parquet"), { bbox: again.aoi.bbox });
  console.log(`wrote ${written} rows to strong.parquet`);

  // 5. SQL over the index.
  const sql = await store.sql(
    "SELECT cycle, count(*) AS granules FROM granules GROUP BY cycle ORDER BY cycle",
  );
  console.table(sql.rows);
}

main(process.argv.slice(2)).catch((err) => {
  // Library errors carry a name and typed fields; scripts can branch on them.
  console.error(isGeochunksError(err) ? `${err.name}: ${err.message}` : err);
  process.exitCode = isGeochunksError(err) ? 2 : 1;
});
