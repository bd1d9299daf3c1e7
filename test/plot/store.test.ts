import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index } from "../../src/index.js";
import { READ_COLOUR, UNREAD_COLOUR } from "../../src/plot/plan.js";
import { ROOT, runCli } from "../support/cli.js";
import { colourDistance, readPng, rgb, svgCircles } from "./support.js";

const AOI = join(ROOT, "examples/greenland.geojson");

/** Pixels of a PNG within `tolerance` of a colour. */
function countColour(path: string, colour: string, tolerance = 6): number {
  const png = readPng(path);
  const want = rgb(colour);
  let n = 0;
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < png.width; x++) if (colourDistance(png.at(x, y), want) <= tolerance) n++;
  return n;
}

describe("plot over a store: the query plan, and query --plot", () => {
  let dir: string;
  let store: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-plot-store-"));
    // Two granules through the Greenland polygon, on different tracks and dates.
    const [first, , third] = demoGranuleSet();
    // Shorter than the demo's (12,000 rows a beam, still two chunk rows): cheaper to write and index.
    const short = { segmentsPerBeam: 12_000 };
    const files = [
      await writeSyntheticAtl06(dir, { ...first!, ...short }),
      await writeSyntheticAtl06(dir, { ...third!, ...short }),
    ];
    store = join(dir, "store");
    await index(files, { store, concurrency: 2 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("draws the chunk rows the plan reads and those it skips, with the dry run's requests and bytes", async () => {
    const out = join(dir, "plan.png");
    const [plot, dry] = await Promise.all([
      runCli(["plot", "--store", store, "--polygon", AOI, "--out", out]),
      runCli(["query", "--store", store, "--polygon", AOI, "--dry-run"]),
    ]);
    expect(plot.stderr).toBe("");
    expect(plot.code).toBe(0);
    const totals = JSON.parse(dry.stdout.trim().split("\n").pop()!);
    const m =
      /drew the plan to .*: (\d+) chunk rows read of (\d+) near the AOI, (\d+) requests, (\d+) bytes/.exec(
        plot.stdout,
      );
    expect(m, plot.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(totals.chunks_candidate);
    expect(Number(m![3])).toBe(totals.requests);
    expect(Number(m![4])).toBe(totals.bytes);
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
    // Read chunk rows in orange, skipped ones in grey, both on the picture.
    expect(countColour(out, READ_COLOUR)).toBeGreaterThan(500);
    expect(countColour(out, UNREAD_COLOUR)).toBeGreaterThan(100);
  });

  it("query --plot writes the result, then its map with the AOI, and keeps --stats on the last line", async () => {
    const out = join(dir, "r.gpkg");
    const picture = join(dir, "r.svg");
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      AOI,
      "--out",
      out,
      "--plot",
      picture,
      "--stats",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    const stats = JSON.parse(lines.pop()!);
    expect(lines.join("\n")).toContain(`drew ${stats.rows} rows as`);
    const svg = readFileSync(picture, "utf8");
    expect(svg).toContain('id="aoi"');
    expect(svg).toContain(`2 granules, ${stats.rows} segments`);
    expect(svgCircles(svg).length).toBeGreaterThan(100);
  });

  it("refuses a picture it cannot write before running the query (exit 2)", async () => {
    const run = await runCli([
      "query",
      "--store",
      store,
      "--polygon",
      AOI,
      "--out",
      join(dir, "x.parquet"),
      "--plot",
      join(dir, "x.jpg"),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain('x.jpg: picture file has an unsupported extension ".jpg"');
  });
});
