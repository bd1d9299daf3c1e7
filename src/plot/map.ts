/** The map of a query result: points coloured by a variable over Natural Earth land, with the AOI. */
import { geoGraticule10, geoPath } from "d3-geo";
import type { MultiLineString } from "geojson";
import { findProfile } from "../products/index.js";
import type { Aoi } from "../query/aoi.js";
import { type Bins, binPoints } from "./bin.js";
import { type ColourScale, colourDomain, colourScale, DEFAULT_COLOUR_MAP } from "./colour.js";
import type { Land } from "./land.js";
import type { PlotPoints } from "./points.js";
import { chooseProjection, type Extent, type MapProjection } from "./projection.js";
import { colourBar, px, svgOpen, text, timeSpan } from "./svg.js";

/** Options of {@link drawMap}. */
export interface MapOptions {
  /** Natural Earth land ({@link readLand}). */
  land: Land;
  /** The query's area of interest, outlined in red. */
  aoi?: Aoi;
  /** Colour ramp name (see `COLOUR_MAPS`). Default viridis. */
  cmap?: string;
  /** Value range of the ramp. Default: the 2nd..98th percentile of the values. */
  range?: [number, number];
  /** Picture size, pixels. Default 1000 x 760. */
  width?: number;
  height?: number;
  /** Title. Default: product and variable. */
  title?: string;
}

/** A drawn map: the SVG, and what an interactive page needs to find a point under the mouse. */
export interface MapPicture {
  svg: string;
  /** The drawn marks (screen position, mean value, count, first row). */
  marks: Bins;
  scale: ColourScale;
  projection: MapProjection;
  /** Where the map is drawn, pixels. */
  extent: Extent;
}

/** Size of a binning cell, pixels: marks of 3 px never hide each other's centres. */
export const MAP_CELL_PX = 3;

/** Radius of a mark, pixels. */
export const MAP_MARK_RADIUS_PX = 2;

/** Largest number of points sampled to choose and fit the projection. */
const FIT_SAMPLE = 20_000;

/** Edges of an AOI drawn longer than this (degrees) are split: AOI edges are straight in lon/lat, not great circles. */
const AOI_STEP_DEG = 0.25;

/** Draws the map of `points` as SVG. */
export function drawMap(points: PlotPoints, opts: MapOptions): MapPicture {
  const width = opts.width ?? 1000;
  const height = opts.height ?? 760;
  const extent: Extent = [
    [20, 64],
    [width - 130, height - 36],
  ];
  const aoiLines = opts.aoi ? aoiOutline(opts.aoi) : undefined;
  const projection = chooseProjection(fitSample(points, aoiLines), extent);
  const path = geoPath(projection.projection);
  const scale = colourScale(opts.cmap ?? DEFAULT_COLOUR_MAP, colourDomain(points.value, opts.range));
  const marks = projectAndBin(points, projection, extent);
  const [[x0, y0], [x1, y1]] = extent;
  const title = opts.title ?? defaultTitle(points);
  const circles: string[] = [];
  for (let k = 0; k < marks.length; k++) {
    circles.push(
      `<circle cx="${px(marks.x[k]!)}" cy="${px(marks.y[k]!)}" r="${MAP_MARK_RADIUS_PX}" fill="${scale.colour(marks.value[k]!)}"/>`,
    );
  }
  const svg = [
    svgOpen(width, height, title),
    `<defs><clipPath id="frame"><rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/></clipPath></defs>`,
    `<g clip-path="url(#frame)"><g id="view">`,
    `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="#d8e6f0"/>`,
    `<path d="${path(geoGraticule10()) ?? ""}" fill="none" stroke="#b9c9d6" stroke-width="0.5" vector-effect="non-scaling-stroke"/>`,
    `<path d="${path(opts.land.land) ?? ""}" fill="#ece6d6" stroke="none"/>`,
    `<path d="${path(opts.land.coastline) ?? ""}" fill="none" stroke="#777777" stroke-width="0.6" vector-effect="non-scaling-stroke"/>`,
    `<g id="points">${circles.join("")}</g>`,
    aoiLines
      ? `<path id="aoi" d="${path(aoiLines) ?? ""}" fill="none" stroke="#d62728" stroke-width="2" vector-effect="non-scaling-stroke"/>`
      : "",
    `</g></g>`,
    `<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#888888"/>`,
    text(x0, 28, title, { size: 17, weight: "bold" }),
    text(x0, 50, subtitle(points), { size: 13, fill: "#444" }),
    colourBar(scale, { x: width - 100, y: 110, w: 18, h: height - 230 }, unitsLabel(points)),
    text(
      x0,
      height - 12,
      `${projection.name}; land: Natural Earth 1:50m; ${marks.length} marks of ${MAP_CELL_PX} px (mean value of their points)`,
      { size: 11, fill: "#555" },
    ),
    "</svg>",
  ].join("");
  return { svg, marks, scale, projection, extent };
}

/** "ATL06 h_li", or the variable alone for a result without a product column. */
function defaultTitle(points: PlotPoints): string {
  return [points.product, points.variable].filter(Boolean).join(" ");
}

/** "4 granules, 36188 segments, 2019-06-01 .. 2022-05-14". */
export function subtitle(points: PlotPoints): string {
  const n = points.lat.length;
  const nouns = (points.product && findProfile(points.product)?.rowNoun) || ["row", "rows"];
  const parts = [
    `${points.granules} granule${points.granules === 1 ? "" : "s"}`,
    `${n} ${n === 1 ? nouns[0] : nouns[1]}`,
    timeSpan(points.timeRange),
  ];
  return parts.filter(Boolean).join(", ");
}

/** "h_li (m)". */
function unitsLabel(points: PlotPoints): string {
  return points.units ? `${points.variable} (${points.units})` : points.variable;
}

/** Interleaved lon/lat of up to {@link FIT_SAMPLE} points (evenly spaced) and the AOI's vertices. */
function fitSample(points: PlotPoints, aoi: MultiLineString | undefined): number[] {
  const out: number[] = [];
  const n = points.lat.length;
  const step = Math.max(1, Math.ceil(n / FIT_SAMPLE));
  for (let i = 0; i < n; i += step) {
    if (Number.isFinite(points.lon[i]!) && Number.isFinite(points.lat[i]!))
      out.push(points.lon[i]!, points.lat[i]!);
  }
  for (const line of aoi?.coordinates ?? []) for (const [lon, lat] of line) out.push(lon!, lat!);
  return out;
}

/** Screen positions of the points inside the map's extent, binned into marks. */
function projectAndBin(points: PlotPoints, projection: MapProjection, extent: Extent): Bins {
  const n = points.lat.length;
  const xs = new Float64Array(n).fill(Number.NaN);
  const ys = new Float64Array(n).fill(Number.NaN);
  const [[x0, y0], [x1, y1]] = extent;
  const project = projection.projection;
  // d3 answers 0 for a projection clipped only at the antimeridian (no clip circle).
  const visible = projection.projection.clipAngle() || 180;
  const [cl, cp] = project.rotate();
  for (let i = 0; i < n; i++) {
    const lon = points.lon[i]!;
    const lat = points.lat[i]!;
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) continue;
    if (visible < 180 && angleFrom(-cl, -cp, lon, lat) > visible) continue;
    const p = project([lon, lat]);
    if (!p || p[0] < x0 || p[0] > x1 || p[1] < y0 || p[1] > y1) continue;
    xs[i] = p[0];
    ys[i] = p[1];
  }
  return binPoints(xs, ys, points.value, { cell: MAP_CELL_PX });
}

/** Great-circle angle (degrees) between two lon/lat points. */
function angleFrom(lon0: number, lat0: number, lon: number, lat: number): number {
  const r = Math.PI / 180;
  const c =
    Math.sin(lat0 * r) * Math.sin(lat * r) +
    Math.cos(lat0 * r) * Math.cos(lat * r) * Math.cos((lon - lon0) * r);
  return Math.acos(Math.min(1, Math.max(-1, c))) / r;
}

/** The AOI's rings as lines, with long edges split so they stay straight in lon/lat. */
export function aoiOutline(aoi: Aoi): MultiLineString {
  const lines: number[][][] = [];
  for (const polygon of aoi.polygons) {
    for (const ring of polygon.rings) {
      const line: number[][] = [];
      for (let i = 0; i + 3 < ring.length; i += 2) {
        const [ax, ay, bx, by] = [ring[i]!, ring[i + 1]!, ring[i + 2]!, ring[i + 3]!];
        const steps = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay)) / AOI_STEP_DEG));
        for (let s = 0; s < steps; s++)
          line.push([ax + ((bx - ax) * s) / steps, ay + ((by - ay) * s) / steps]);
      }
      line.push([ring[ring.length - 2]!, ring[ring.length - 1]!]);
      lines.push(line);
    }
  }
  return { type: "MultiLineString", coordinates: lines };
}
