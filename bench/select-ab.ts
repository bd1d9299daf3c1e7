/**
 * Before/after runs of the TypeScript candidate selection (`selectChunksParquet`) on a store built by
 * `npm run bench -- --store-scale`: two compiled builds (e.g. the earlier `dist` copied to
 * .cache/before/dist, and this one) take turns, each in a plain Node child process that opens the
 * store and selects `--runs` times per AOI (the first run includes loading and compiling). Prints
 * each run's CPU ms (user + system) and a digest of the sorted candidates, granule rows and array
 * rows, which must be the same for both builds, and the CPU ms of opening every `chunks` file of
 * the store (footers alone), then the medians of the runs after the first.
 *
 *   npx tsx bench/select-ab.ts --before .cache/before/dist [--after dist] [--store DIR] [--reps 3] [--runs 3]
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string", default: "dist" },
    store: { type: "string" },
    reps: { type: "string", default: "3" },
    runs: { type: "string", default: "3" },
  },
});
if (!values.before) throw new Error("--before DIR (a build's dist directory) is required");
const root = fileURLToPath(new URL("..", import.meta.url));
const store = resolve(values.store ?? join(root, ".cache", "bench", "store-scale-4161"));
const builds = { before: resolve(values.before), after: resolve(values.after) };
const AOIS: [string, string][] = [
  ["Greenland AOI", join(root, "examples", "greenland.geojson")],
  ["5 km box", "-45.03,62.79,-44.93,62.83"],
];

/** The child: selections with one build, one JSON line per run. */
const CHILD = `
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
const [dist, store, aoiArg, runs] = process.argv.slice(1);
const at = (p) => new URL(p, dist + "/").href;
const { openLocalStoreReader } = await import(at("store/local-reader.js"));
const { selectChunksParquet } = await import(at("store/select-parquet.js"));
const { parseAoi } = await import(at("query/aoi.js"));
const aoi = parseAoi(aoiArg.startsWith("/") ? JSON.stringify(JSON.parse(readFileSync(aoiArg, "utf8"))) : aoiArg);
const text = (x) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v));
const sortedText = (rows) => rows.map(text).sort().join("\\n");
for (let i = 0; i < Number(runs); i++) {
  const cpu = process.cpuUsage();
  const reader = await openLocalStoreReader(store);
  const r = await selectChunksParquet(reader, {
    bboxes: aoi.polygons.map((p) => p.bbox),
    polygons: aoi.polygons.map((p) => p.rings),
    product: "ATL06",
  });
  const used = process.cpuUsage(cpu);
  const digest = createHash("sha256")
    .update(sortedText(r.chunks)).update(sortedText(r.granules)).update(sortedText(r.arrays))
    .digest("hex").slice(0, 16);
  // Footers alone: every chunks file of the store opened by a new reader.
  const fresh = await openLocalStoreReader(store);
  const paths = fresh.manifest.parts.flatMap((p) => p.files.chunks);
  const before = process.cpuUsage();
  await fresh.openParts(paths);
  const footers = process.cpuUsage(before);
  console.log(JSON.stringify({
    cpuMs: (used.user + used.system) / 1000,
    footerMs: (footers.user + footers.system) / 1000,
    files: paths.length,
    candidates: r.chunks.length,
    digest,
  }));
}
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, aoi] of AOIS) {
  const cpu: Record<string, number[]> = { before: [], after: [] };
  const footers: Record<string, number[]> = { before: [], after: [] };
  const digests = new Set<string>();
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const build of ["before", "after"] as const) {
      const out = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", CHILD, pathToFileURL(builds[build]).href, store, aoi, values.runs!],
        { encoding: "utf8", maxBuffer: 1 << 24 },
      );
      const runs = out
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as {
              cpuMs: number;
              footerMs: number;
              files: number;
              candidates: number;
              digest: string;
            },
        );
      for (const r of runs) digests.add(`${r.candidates} ${r.digest}`);
      cpu[build]!.push(...runs.slice(1).map((r) => r.cpuMs));
      footers[build]!.push(...runs.slice(1).map((r) => r.footerMs));
      console.log(
        `${name} ${build}: CPU ms ${runs.map((r) => r.cpuMs.toFixed(0)).join(", ")}; ` +
          `${runs[0]!.files} chunks footers ${runs.map((r) => r.footerMs.toFixed(0)).join(", ")}; ${runs[0]!.candidates} candidates, digest ${runs[0]!.digest}; load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
  console.log(
    `${name}: median CPU ms after the first run: before ${median(cpu.before!).toFixed(0)}, after ${median(cpu.after!).toFixed(0)}; ` +
      `footers before ${median(footers.before!).toFixed(0)}, after ${median(footers.after!).toFixed(0)}; ` +
      `${digests.size === 1 ? "identical selections" : `SELECTIONS DIFFER: ${[...digests].join(" | ")}`}`,
  );
}
