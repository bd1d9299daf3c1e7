/**
 * Pictures of query results and query plans: maps (PNG, SVG, or one interactive HTML page),
 * along-track profiles, and the chunks a query reads. See docs/design/plot.md.
 */
import type { Aoi } from "../query/aoi.js";
import { mapPage } from "./html.js";
import { readLand } from "./land.js";
import { drawMap } from "./map.js";
import { drawPlan } from "./plan.js";
import { readPoints } from "./points.js";
import { drawProfile } from "./profile.js";
import { openResult } from "./table.js";
import { pictureFormatOf, renderPng, writePicture } from "./write.js";

export { COLOUR_MAPS, DEFAULT_COLOUR_MAP } from "./colour.js";
export { type PictureFormat, pictureFormatOf } from "./write.js";

/** Options of {@link plotResult}. */
export interface PlotResultOptions {
  /** Picture file: .png, .svg or .html (a map; a profile is .png or .svg). */
  out: string;
  /** Draw along-track profiles instead of a map. Default false. */
  profile?: boolean;
  /** Colour (map) or height (profile) variable. Default: the product's height. */
  color?: string;
  /** Colour ramp name. Default viridis. */
  cmap?: string;
  /** Value range of the colour ramp. Default: the 2nd..98th percentile. */
  range?: [number, number];
  /** The query's AOI, outlined on maps. */
  aoi?: Aoi;
  /** Title instead of the product and variable. */
  title?: string;
  /** Picture size in pixels. */
  width?: number;
  height?: number;
}

/** What {@link plotResult} drew. */
export interface PlotReport {
  rows: number;
  /** Marks drawn (binned points). */
  marks: number;
  /** Projection (maps) or panels (profiles). */
  layout: string;
}

/**
 * Draws a query result file of any output format as a map or along-track profiles.
 * @throws InvalidQueryError naming the file for a missing or unreadable result, a variable it
 * lacks, or an unsupported picture extension.
 * @example
 * await plotResult("out/greenland.parquet", { out: "out/greenland.png" });
 */
export async function plotResult(result: string, opts: PlotResultOptions): Promise<PlotReport> {
  const format = pictureFormatOf(opts.out, opts.profile ? ["png", "svg"] : ["png", "svg", "html"]);
  const table = await openResult(result);
  const points = await readPoints(table, { color: opts.color, source: result });
  const size = { width: opts.width, height: opts.height };
  if (opts.profile) {
    const picture = drawProfile(points, { ...size, cmap: opts.cmap, range: opts.range, title: opts.title });
    await writePicture(opts.out, format === "png" ? await renderPng(picture.svg) : picture.svg);
    return { rows: points.lat.length, marks: picture.marks, layout: `${picture.panels} panels` };
  }
  const map = drawMap(points, { ...opts, ...size, land: await readLand() });
  const content =
    format === "png" ? await renderPng(map.svg) : format === "svg" ? map.svg : mapPage(map, points);
  await writePicture(opts.out, content);
  return { rows: points.lat.length, marks: map.marks.length, layout: map.projection.name };
}

/** Options of {@link plotPlan}. */
export interface PlotPlanOptions {
  /** Picture file: .png or .svg. */
  out: string;
  aoi: Aoi;
  /** Inclusive start and exclusive end of the time range. */
  start?: Date;
  end?: Date;
  /** Product to plan; default the store's only product. */
  product?: string;
  /** Beams by name or kind; default all. */
  beams?: string[];
  width?: number;
  height?: number;
}

/**
 * Draws what a query would read from a store: the AOI, the chunk rows near it, those the plan
 * reads, and the plan's requests and bytes. Reads the index only, never a granule.
 * @returns the plan's totals and the number of chunk rows drawn.
 * @throws InvalidQueryError for a bad picture extension or query; StoreError for a missing store.
 */
export async function plotPlan(
  storeDir: string,
  opts: PlotPlanOptions,
): Promise<{ requests: number; bytes: number; chunks_read: number; drawn: number }> {
  const format = pictureFormatOf(opts.out, ["png", "svg"]);
  const { Store } = await import("../store/store.js");
  const { prepareQuery, queryProfile } = await import("../query/index.js");
  const store = await Store.open(storeDir);
  const profile = queryProfile(store, opts.product);
  const spec = { aoi: opts.aoi, start: opts.start, end: opts.end, beams: opts.beams, product: profile?.name };
  const { plan } = await prepareQuery(store, spec);
  const read = new Set(plan.granules.flatMap((g) => g.chunks.map((c) => c.chunk.chunk_id)));
  const picture = drawPlan({
    aoi: opts.aoi,
    chunks: await store.chunks(),
    read,
    requests: plan.requests,
    bytes: plan.bytes,
    granules: plan.granules.length,
    title: `${profile?.name ?? ""} query plan`.trim(),
    land: await readLand(),
    width: opts.width,
    height: opts.height,
  });
  await writePicture(opts.out, format === "png" ? await renderPng(picture.svg) : picture.svg);
  return { requests: plan.requests, bytes: plan.bytes, chunks_read: read.size, drawn: picture.drawn };
}
