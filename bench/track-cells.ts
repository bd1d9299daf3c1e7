/**
 * H3 cells and footprints of the index build alone: two builds of the compiled package (e.g. the
 * earlier `dist` copied to .cache/before/dist, and this one) take `trackCells` and `footprintWithError`
 * over every 10 000-point chunk row of every beam of the full-size synthetic granules, each pass in a
 * fresh Node process (cold code and empty caches, as an index run meets them), the builds alternated.
 * Prints CPU milliseconds per pass, the medians, and whether both builds gave the same cells and
 * footprints (checksums).
 *
 *   npx tsx bench/track-cells.ts --before .cache/before/dist [--after dist] [--count 6] [--reps 5]
 *     [--resolution 6]
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import h5wasm from "h5wasm/node";
import { fullSizeGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import buildIfStale from "../test/support/build.js";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string", default: "dist" },
    count: { type: "string", default: "6" },
    reps: { type: "string", default: "5" },
    resolution: { type: "string", default: "6" },
  },
});
if (!values.before) throw new Error("--before DIR (a build's dist directory) is required");
const root = fileURLToPath(new URL("..", import.meta.url));
const cache = join(root, ".cache", "bench");
const builds = { before: resolve(values.before), after: resolve(values.after) };
const count = Number(values.count);

buildIfStale();
const granuleDir = join(cache, "granules");
await mkdir(granuleDir, { recursive: true });
const tracks = join(cache, `tracks-${count}.bin`);
if (!existsSync(tracks)) {
  // Every beam's coordinates, read once with the HDF5 library, in the index's beam order.
  await h5wasm.ready;
  const counts: number[] = [];
  const parts: Buffer[] = [];
  for (const opts of fullSizeGranuleSet(count)) {
    const f = new h5wasm.File(await writeSyntheticAtl06(granuleDir, { ...opts, reuse: true }), "r");
    try {
      for (const beam of ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]) {
        const lon = f.get(`/${beam}/land_ice_segments/longitude`) as InstanceType<typeof h5wasm.Dataset>;
        const lat = f.get(`/${beam}/land_ice_segments/latitude`) as InstanceType<typeof h5wasm.Dataset>;
        const x = Float64Array.from(lon.value as ArrayLike<number>);
        const y = Float64Array.from(lat.value as ArrayLike<number>);
        counts.push(x.length);
        parts.push(Buffer.from(x.buffer), Buffer.from(y.buffer));
      }
    } finally {
      f.close();
    }
  }
  await writeFile(tracks, Buffer.concat([Buffer.from(`${JSON.stringify({ beams: counts })}\n`), ...parts]));
}

interface Pass {
  cellsMs: number;
  footprintMs: number;
  cells: number;
  cellSum: string;
  footprintSum: number;
}
const run = promisify(execFile);
const child = fileURLToPath(new URL("./lib/track-cells-child.mjs", import.meta.url));
const passes: Record<keyof typeof builds, Pass[]> = { before: [], after: [] };
for (let r = 0; r < Number(values.reps); r++) {
  for (const name of ["before", "after"] as const) {
    const args = { dist: builds[name], tracks, resolution: Number(values.resolution) };
    const { stdout } = await run(process.execPath, [child, JSON.stringify(args)]);
    const pass = JSON.parse(stdout.trim()) as Pass;
    passes[name].push(pass);
    console.log(
      `${name}\tcells ${pass.cellsMs.toFixed(0)} ms\tfootprints ${pass.footprintMs.toFixed(0)} ms\t` +
        `${pass.cells} cells\tload ${loadavg()[0]!.toFixed(1)}`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const name of ["before", "after"] as const)
  console.log(
    `${name} medians: cells ${median(passes[name].map((p) => p.cellsMs)).toFixed(0)} ms, ` +
      `footprints ${median(passes[name].map((p) => p.footprintMs)).toFixed(0)} ms`,
  );
const [b, a] = [passes.before[0]!, passes.after[0]!];
console.log(
  b.cellSum === a.cellSum && b.cells === a.cells && b.footprintSum === a.footprintSum
    ? "same cells and footprints"
    : `OUTPUTS DIFFER: cells ${b.cells}/${b.cellSum} vs ${a.cells}/${a.cellSum}, footprints ${b.footprintSum} vs ${a.footprintSum}`,
);
