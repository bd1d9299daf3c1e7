/** Peak RSS of a geochunks query run in a child process (so nothing else shares its heap). */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchAoi } from "./aois.js";

const run = promisify(execFile);

export interface RssResult {
  aoi: string;
  rows: number;
  seconds: number;
  maxRssBytes: number;
  vmHwmBytes: number | null;
  parquetBytes: number;
  granuleConcurrency: number;
}

export async function measureQueryRss(
  storeDir: string,
  aoi: BenchAoi,
  workDir: string,
  granuleConcurrency: number,
): Promise<RssResult> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const aoiPath = join(workDir, `${aoi.name}.geojson`);
  await writeFile(aoiPath, JSON.stringify(aoi.geometry));
  const script = fileURLToPath(new URL("./rss-child.ts", import.meta.url));
  const out = join(workDir, `rss-${aoi.name}.parquet`);
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", script, storeDir, aoiPath, out, String(granuleConcurrency)],
    { cwd: root, maxBuffer: 1 << 24 },
  );
  const answer = JSON.parse(stdout.trim().split("\n").pop()!) as Omit<
    RssResult,
    "aoi" | "granuleConcurrency"
  >;
  return { aoi: aoi.name, granuleConcurrency, ...answer };
}
