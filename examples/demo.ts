/**
 * The geochunks demo: synthetic ATL06 granules around Greenland -> chunk index -> Greenland polygon
 * query -> GeoParquet -> SQL -> pictures. No downloads: the granules are generated (once, cached in .cache/demo).
 *
 *   npm run demo
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { demoGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import { index, openStore, writeGeoParquet } from "../src/index.js";
import { plotPlan, plotResult } from "../src/plot/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "demo");
const show = (p: string) => relative(process.cwd(), p) || ".";

async function main() {
  const started = performance.now();
  const granuleDir = join(cache, "granules");
  await mkdir(granuleDir, { recursive: true });
  console.log(`1. synthetic ATL06 granules (release-006 layout) in ${show(granuleDir)}`);
  const files: string[] = [];
  for (const opts of demoGranuleSet()) {
    files.push(await writeSyntheticAtl06(granuleDir, { ...opts, reuse: true }));
  }
  for (const f of files) console.log(`   ${f.split("/").pop()}`);

  const storeDir = join(cache, "store");
  await rm(storeDir, { recursive: true, force: true });
  const report = await index(files, { store: storeDir });
  console.log(
    `2. indexed ${report.added.length} granules, ${report.chunks} chunks into ${show(storeDir)} in ` +
      `${report.seconds.toFixed(2)} s (read ${(report.bytesRead / 1e6).toFixed(1)} of ${(report.bytesTotal / 1e6).toFixed(1)} MB)`,
  );

  const aoi = await readFile(join(root, "examples", "greenland.geojson"), "utf8");
  const store = await openStore(storeDir);
  const result = store.query({ aoi });
  const out = join(cache, "greenland.parquet");
  const rows = await writeGeoParquet(result, out, {
    bbox: result.aoi.bbox,
    emptySchema: await result.schema(),
  });
  console.log(`3. Greenland polygon query -> ${rows} segments in ${show(out)}`);
  console.log(`   stats ${JSON.stringify(result.stats)}`);

  console.log("4. SQL over the index: chunks whose bbox meets the polygon's bbox, per granule and beam");
  const [xmin, ymin, xmax, ymax] = result.aoi.bbox;
  const answer = await store.sql(
    `SELECT granule_id, count(*) AS chunks, string_agg(DISTINCT beam, ',' ORDER BY beam) AS beams
       FROM chunks
      WHERE bbox.xmin <= ${xmax} AND bbox.xmax >= ${xmin} AND bbox.ymin <= ${ymax} AND bbox.ymax >= ${ymin}
      GROUP BY granule_id ORDER BY granule_id`,
  );
  for (const r of answer.rows) console.log(`   ${r.granule_id}  ${r.chunks} chunks  ${r.beams}`);

  // The README's pictures: the same demo data gives the same bytes, so they stay unchanged in git.
  const pictures = join(root, "docs", "pictures");
  console.log(`5. pictures in ${show(pictures)}`);
  const drawn = [
    await plotResult(out, { out: join(pictures, "greenland-map.png"), aoi: result.aoi }),
    await plotResult(out, { out: join(pictures, "greenland-map.html"), aoi: result.aoi }),
    await plotResult(out, { out: join(pictures, "greenland-profile.png"), profile: true }),
  ];
  for (const [i, name] of ["greenland-map.png", "greenland-map.html", "greenland-profile.png"].entries())
    console.log(`   ${name}: ${drawn[i]!.rows} rows as ${drawn[i]!.marks} marks (${drawn[i]!.layout})`);
  const plan = await plotPlan(storeDir, { out: join(pictures, "greenland-plan.png"), aoi: result.aoi });
  console.log(
    `   greenland-plan.png: ${plan.chunks_read} chunk rows read of ${plan.drawn} near the AOI, ${plan.requests} requests, ${plan.bytes} bytes`,
  );
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
