/**
 * The picture of a query plan: the AOI, the tracks of the granules near it as the index stores
 * them (chunk footprints), each chunk row drawn as read (a candidate of the plan) or not read,
 * with the plan's requests and bytes in the caption.
 */
import { geoGraticule10, geoPath } from "d3-geo";
import type { MultiLineString } from "geojson";
import type { Aoi } from "../query/aoi.js";
import { footprintParts } from "../query/footprint.js";
import type { ChunkRow } from "../store/schema.js";
import type { Land } from "./land.js";
import { aoiOutline } from "./map.js";
import { chooseProjection, type Extent } from "./projection.js";
import { svgOpen, text } from "./svg.js";

/** What a plan picture shows. */
export interface PlanPicture {
  aoi: Aoi;
  /** Chunk rows of the store (any may be far away: only those near the AOI are drawn). */
  chunks: readonly ChunkRow[];
  /** Ids of the chunk rows the plan reads. */
  read: ReadonlySet<string>;
  /** The plan's totals. */
  requests: number;
  bytes: number;
  granules: number;
  /** e.g. "ATL06 query plan". */
  title: string;
  land: Land;
  width?: number;
  height?: number;
}

/** Colours of chunk footprints read and not read by the plan. */
export const READ_COLOUR = "#e8731a";
export const UNREAD_COLOUR = "#5b6b7a";

/** How far round the AOI (fraction of its size, at least {@link NEAR_MIN_DEG}) tracks are drawn. */
const NEAR_FRACTION = 0.5;
const NEAR_MIN_DEG = 0.5;

/** Draws a query plan as SVG; returns it with the number of chunk rows drawn. */
export function drawPlan(p: PlanPicture): { svg: string; drawn: number; projection: string } {
  const width = p.width ?? 1000;
  const height = p.height ?? 760;
  const extent: Extent = [
    [20, 64],
    [width - 20, height - 60],
  ];
  const outline = aoiOutline(p.aoi);
  const [xmin, ymin, xmax, ymax] = p.aoi.bbox;
  const padX = Math.max(NEAR_MIN_DEG, (xmax - xmin) * NEAR_FRACTION);
  const padY = Math.max(NEAR_MIN_DEG, (ymax - ymin) * NEAR_FRACTION);
  const near = (c: ChunkRow) =>
    c.bbox.xmin <= xmax + padX &&
    c.bbox.xmax >= xmin - padX &&
    c.bbox.ymin <= ymax + padY &&
    c.bbox.ymax >= ymin - padY;
  const nearby = p.chunks.filter(near);
  const fit: number[] = [];
  for (const line of outline.coordinates) for (const [lon, lat] of line) fit.push(lon!, lat!);
  fit.push(
    xmin - padX,
    ymin - padY,
    xmax + padX,
    ymax + padY,
    xmin - padX,
    ymax + padY,
    xmax + padX,
    ymin - padY,
  );
  const projection = chooseProjection(fit, extent);
  const path = geoPath(projection.projection);
  const lines = (read: boolean): MultiLineString => ({
    type: "MultiLineString",
    coordinates: nearby
      .filter((c) => p.read.has(c.chunk_id) === read)
      .flatMap((c) => (footprintParts(c.geometry) ?? []).map(pairsOf)),
  });
  const [[x0, y0], [x1, y1]] = extent;
  const candidates = nearby.filter((c) => p.read.has(c.chunk_id)).length;
  const mb = (p.bytes / 1e6).toFixed(2);
  const svg = [
    svgOpen(width, height, p.title),
    `<defs><clipPath id="frame"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/></clipPath></defs>`,
    `<g clip-path="url(#frame)">`,
    `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="#d8e6f0"/>`,
    `<path d="${path(geoGraticule10()) ?? ""}" fill="none" stroke="#b9c9d6" stroke-width="0.5"/>`,
    `<path d="${path(p.land.land) ?? ""}" fill="#ece6d6" stroke="none"/>`,
    `<path d="${path(p.land.coastline) ?? ""}" fill="none" stroke="#777777" stroke-width="0.6"/>`,
    `<path id="unread" d="${path(lines(false)) ?? ""}" fill="none" stroke="${UNREAD_COLOUR}" stroke-width="2" stroke-linecap="round"/>`,
    `<path id="read" d="${path(lines(true)) ?? ""}" fill="none" stroke="${READ_COLOUR}" stroke-width="4" stroke-linecap="round"/>`,
    `<path id="aoi" d="${path(outline) ?? ""}" fill="none" stroke="#d62728" stroke-width="2"/>`,
    `</g>`,
    `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#888888"/>`,
    text(x0, 28, p.title, { size: 17, weight: "bold" }),
    text(
      x0,
      50,
      `reads ${candidates} of the ${nearby.length} chunk rows near the AOI, in ${p.granules} granule${p.granules === 1 ? "" : "s"}: ${p.requests} requests, ${p.bytes} bytes (${mb} MB)`,
      { size: 13, fill: "#444" },
    ),
    legend(x0, height - 34),
    text(
      x0,
      height - 12,
      `${projection.name}; land: Natural Earth 1:50m; tracks as the index's chunk footprints`,
      {
        size: 11,
        fill: "#555",
      },
    ),
    "</svg>",
  ].join("");
  return { svg, drawn: nearby.length, projection: projection.name };
}

/** The legend line: read, not read, AOI. */
function legend(x: number, y: number): string {
  const item = (dx: number, colour: string, w: number, label: string) =>
    `<line x1="${x + dx}" x2="${x + dx + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${colour}" stroke-width="${w}"/>` +
    text(x + dx + 32, y, label, { size: 12 });
  return (
    item(0, READ_COLOUR, 4, "chunk rows the query reads (candidates)") +
    item(330, UNREAD_COLOUR, 2, "chunk rows it skips") +
    item(520, "#d62728", 2, "AOI")
  );
}

/** Interleaved lon/lat as positions. */
function pairsOf(xy: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + 1 < xy.length; i += 2) out.push([xy[i]!, xy[i + 1]!]);
  return out;
}
