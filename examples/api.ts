/**
 * The library API in a script: index granules, query a polygon with filters, consume Arrow record
 * batches, collect rows, write GeoParquet, and ask SQL questions of the index. It imports the
 * package by its name, so it runs unchanged in a project that depends on geochunks.
 *
 *   npx tsx examples/api.ts [inputs...]
 *
 * Inputs are what `geochunks index` takes: files, folders, globs ("dir/*.h5"), http(s):// or
 * s3:// URLs, @list.txt. Default: the demo's synthetic granules (`npm run demo` makes them).
 */
import { index, isGeochunksError, openStore, writeGeoParquet } from "geochunks";

const DEFAULT_INPUTS = [".cache/demo/granules/*.h5"];
const STORE = ".cache/example/store";

async function main(inputs: string[]) {
  // 1. Index (appends; unchanged granules are skipped on a second run). The report is plain JSON.
  const report = await index(inputs.length ? inputs : DEFAULT_INPUTS, { store: STORE });
  console.log(`index: ${JSON.stringify(report)}`);

  // 2. The indexed granules: times as ISO 8601 text, the bounding polygon as GeoJSON.
  const store = await openStore(STORE);
  for (const g of await store.granules()) {
    console.log(`${g.granule_id}: cycle ${g.cycle}, ${g.time_start} .. ${g.time_end}`);
  }

  // 3. Query: strong beams only, one year, two extra variables. The plan reads no granule.
  const aoi = {
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
  };
  const filters = {
    start: "2019-01-01T00:00:00Z",
    end: "2020-01-01T00:00:00Z",
    beams: ["strong"],
    vars: ["ground_track/x_atc", "fit_statistics/n_fit_photons"],
  };
  const result = store.query({ aoi, ...filters });
  const plan = await result.plan();
  console.log(
    `plan: ${plan.granules.length} granules, ${plan.chunksCandidate} chunks, ${plan.requests} ranges, ${plan.bytes} bytes`,
  );

  // 4. Arrow record batches stream out; each is one chunk row's points inside the polygon.
  let rows = 0;
  for await (const batch of result) {
    rows += batch.numRows;
    const h = batch.getChild("h_li")!;
    console.log(`${batch.get(0)?.track_id}: ${batch.numRows} rows, first h_li ${h.get(0)}`);
  }
  console.log(`${rows} rows; stats ${JSON.stringify(result.stats)}`);

  // 5. Or collect a query: plain rows (time as ISO 8601 text with nanoseconds, JSON-ready)...
  const plain = await store.query({ aoi, ...filters }).toRows();
  if (plain.length > 0) console.log(`first row ${JSON.stringify(plain[0])}`);
  // ...or one Arrow table.
  const table = await store.query({ aoi, beams: ["gt1l"] }).toTable();
  console.log(`gt1l table: ${table.numRows} rows, columns ${table.schema.names.join(", ")}`);

  // 6. The same query straight to GeoParquet.
  const again = store.query({ aoi: result.aoi, beams: ["strong"] });
  const written = await writeGeoParquet(again, ".cache/example/strong.parquet", {
    bbox: again.aoi.bbox,
    emptySchema: await again.schema(),
  });
  console.log(`wrote ${written} rows to .cache/example/strong.parquet`);

  // 7. SQL over the index.
  const sql = await store.sql(
    "SELECT cycle, count(*) AS granules FROM granules GROUP BY cycle ORDER BY cycle",
  );
  console.table(sql.rows);
}

main(process.argv.slice(2)).catch((err) => {
  // Library errors carry a name and typed fields; scripts can branch on them.
  if (isGeochunksError(err, "SourceError") && process.argv.length <= 2) {
    console.error(`${err.message}: run \`npm run demo\` first, or give granules as arguments`);
  } else {
    console.error(isGeochunksError(err) ? `${err.name}: ${err.message}` : err);
  }
  process.exitCode = isGeochunksError(err) ? 2 : 1;
});
