/**
 * Along-track profiles of a result: height against along-track distance, one panel per beam pair
 * (as the product groups its beams), each beam in its own colour, or photons coloured by their
 * signal confidence class when the product has one.
 */
import { binPoints } from "./bin.js";
import { colourDomain } from "./colour.js";
import { subtitle } from "./map.js";
import type { PlotPoints } from "./points.js";
import { axisTicks, px, svgOpen, text, tickLabel } from "./svg.js";

/** Options of {@link drawProfile}. */
export interface ProfileOptions {
  /** Picture width, pixels. Default 1000. */
  width?: number;
  /** Picture height, pixels. Default 90 + 190 per panel. */
  height?: number;
  /** Height range of every panel. Default: each panel's 2nd..98th percentile, padded by 5%. */
  range?: [number, number];
  /** Unused by profiles (colours are beams or classes); accepted for symmetry with maps. */
  cmap?: string;
  title?: string;
}

/** A drawn profile picture. */
export interface ProfilePicture {
  svg: string;
  panels: number;
  marks: number;
}

/** Colours of the two beams of a pair (and of single beams): left, right. */
export const BEAM_COLOURS = ["#1f5fa8", "#e8731a"] as const;

/** Colours of signal confidence classes (ATL03 `signal_conf_ph`): noise and below, 1, 2, 3, 4. */
export const CLASS_COLOURS: readonly [string, string][] = [
  ["noise", "#bdbdbd"],
  ["buffer", "#9ecae1"],
  ["low", "#fdae61"],
  ["medium", "#f46d43"],
  ["high", "#a50026"],
];

/** Profile binning cell, pixels. */
const PROFILE_CELL_PX = 2;

/** Earth's mean radius, metres, for distances along a track without an along-track column. */
const EARTH_RADIUS_M = 6_371_008.8;

/** Draws the along-track profiles of `points` as SVG. */
export function drawProfile(points: PlotPoints, opts: ProfileOptions = {}): ProfilePicture {
  const panels = panelsOf(points);
  const width = opts.width ?? 1000;
  const height = opts.height ?? 90 + 190 * panels.length;
  const n = points.lat.length;
  const { km, source } = alongTrackKm(points);
  const panelOf = new Int32Array(n).fill(-1);
  const beamPanel = new Map<string, [number, number]>();
  panels.forEach((p, k) => {
    p.beams.forEach((b, j) => {
      beamPanel.set(b, [k, j]);
    });
  });
  const category = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = beamPanel.get(points.tracks[points.track[i]!]!.beam);
    if (!at) continue;
    panelOf[i] = at[0];
    category[i] = points.classes ? classIndex(points.classes[i]!) : at[1];
  }
  const [xlo, xhi] = extentOf(km, (i) => panelOf[i]! >= 0);
  const left = 80;
  const right = width - 150;
  const top = 70;
  const gap = 34;
  const panelH = (height - top - 50 - gap * (panels.length - 1)) / panels.length;
  const title =
    opts.title ?? [points.product, points.variable, "along-track profiles"].filter(Boolean).join(" ");
  const parts = [
    svgOpen(width, height, title),
    text(
      left,
      28,
      opts.title ?? [points.product, points.variable, "along-track profiles"].filter(Boolean).join(" "),
      {
        size: 17,
        weight: "bold",
      },
    ),
    text(left, 50, subtitle(points), { size: 13, fill: "#444" }),
  ];
  let marks = 0;
  panels.forEach((panel, k) => {
    const y0 = top + k * (panelH + gap);
    const inPanel = (i: number) => panelOf[i] === k;
    const [ylo, yhi] = opts.range ?? padded(colourDomainOf(points.value, inPanel));
    const sx = (v: number) => left + ((v - xlo) / (xhi - xlo || 1)) * (right - left);
    const sy = (v: number) => y0 + panelH - ((v - ylo) / (yhi - ylo || 1)) * panelH;
    const xs = new Float64Array(n).fill(Number.NaN);
    const ys = new Float64Array(n).fill(Number.NaN);
    for (let i = 0; i < n; i++) {
      const v = points.value[i]!;
      if (!inPanel(i) || !Number.isFinite(v) || v < ylo || v > yhi || !Number.isFinite(km[i]!)) continue;
      xs[i] = sx(km[i]!);
      ys[i] = sy(v);
    }
    const bins = binPoints(xs, ys, points.value, { cell: PROFILE_CELL_PX, category });
    marks += bins.length;
    const colours = points.classes ? CLASS_COLOURS.map((c) => c[1]) : BEAM_COLOURS;
    const dots: string[] = [];
    for (let b = 0; b < bins.length; b++)
      dots.push(
        `<rect x="${px(bins.x[b]! - 1)}" y="${px(bins.y[b]! - 1)}" width="2" height="2" fill="${colours[bins.category[b]!] ?? "#000"}"/>`,
      );
    parts.push(
      `<rect x="${left}" y="${px(y0)}" width="${right - left}" height="${px(panelH)}" fill="#fafafa" stroke="#888"/>`,
      ...yAxis(left, y0, panelH, [ylo, yhi], sy),
      `<g>${dots.join("")}</g>`,
      text(left, y0 - 5, panel.label, { size: 12, weight: "bold" }),
    );
    if (!points.classes)
      panel.beams.forEach((b, j) => {
        parts.push(
          text(right + 12, y0 + 18 + 18 * j, `\u25A0 ${b}`, { size: 12, fill: BEAM_COLOURS[j] ?? "#000" }),
        );
      });
    if (k === panels.length - 1) parts.push(...xAxis(left, right, y0 + panelH, [xlo, xhi], sx, source));
  });
  if (points.classes)
    CLASS_COLOURS.forEach(([name, colour], j) => {
      parts.push(text(right + 12, top + 18 + 18 * j, `\u25A0 ${name}`, { size: 12, fill: colour }));
    });
  parts.push(
    `<text transform="translate(22 ${px(top + (height - top - 50) / 2)}) rotate(-90)" font-size="12" text-anchor="middle">${
      points.units ? `${points.variable} (${points.units})` : points.variable
    }</text>`,
    "</svg>",
  );
  return { svg: parts.join(""), panels: panels.length, marks };
}

/** One panel: a label and the beams drawn in it (in colour order). */
interface Panel {
  label: string;
  beams: string[];
}

/** Panels of the beams present: the product's pairs first, then every other beam alone. */
function panelsOf(points: PlotPoints): Panel[] {
  const present = [...new Set(points.tracks.map((t) => t.beam))].sort();
  const panels: Panel[] = [];
  const used = new Set<string>();
  for (const pair of points.hints?.pairs ?? []) {
    const beams = pair.filter((b) => present.includes(b));
    if (beams.length === 0) continue;
    for (const b of beams) used.add(b);
    panels.push({ label: pair.join(" / "), beams: [...pair] });
  }
  for (const b of present) if (!used.has(b)) panels.push({ label: b || "all rows", beams: [b] });
  return panels.length > 0 ? panels : [{ label: "no rows", beams: [] }];
}

/** Class index into {@link CLASS_COLOURS}: values of 0 and below are noise. */
function classIndex(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(CLASS_COLOURS.length - 1, Math.round(value));
}

/**
 * Along-track distance of every row, km: the product's along-track column when the result has it,
 * else the distance travelled from its track's first row.
 */
function alongTrackKm(points: PlotPoints): { km: Float64Array; source: string } {
  const n = points.lat.length;
  const km = new Float64Array(n);
  if (points.along && points.hints?.alongTrack) {
    for (let i = 0; i < n; i++) km[i] = points.along[i]! / 1000;
    return { km, source: points.hints.alongTrack };
  }
  const last = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const t = points.track[i]!;
    const prev = last.get(t);
    km[i] = prev === undefined ? 0 : km[prev]! + haversineM(points, prev, i) / 1000;
    last.set(t, i);
  }
  return { km, source: "from each track's first point" };
}

/** Great-circle distance between rows a and b, metres. */
function haversineM(p: PlotPoints, a: number, b: number): number {
  const r = Math.PI / 180;
  const dLat = (p.lat[b]! - p.lat[a]!) * r;
  const dLon = (p.lon[b]! - p.lon[a]!) * r;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(p.lat[a]! * r) * Math.cos(p.lat[b]! * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Min and max of the finite values of the rows `keep` accepts ([0, 1] when none). */
function extentOf(values: Float64Array, keep: (i: number) => boolean): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (keep(i) && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return lo > hi ? [0, 1] : lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** The robust range of the rows `keep` accepts. */
function colourDomainOf(values: Float64Array, keep: (i: number) => boolean): [number, number] {
  return colourDomain(values.filter((_, i) => keep(i)));
}

/** A range widened by 5% each side. */
function padded([lo, hi]: [number, number]): [number, number] {
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function yAxis(
  left: number,
  y0: number,
  h: number,
  [lo, hi]: [number, number],
  sy: (v: number) => number,
): string[] {
  const values = axisTicks(lo, hi, 4).filter((v) => sy(v) >= y0 - 0.5 && sy(v) <= y0 + h + 0.5);
  const step = values.length > 1 ? values[1]! - values[0]! : 1;
  return values.flatMap((v) => [
    `<line x1="${left - 4}" x2="${left}" y1="${px(sy(v))}" y2="${px(sy(v))}" stroke="#444"/>`,
    text(left - 6, sy(v) + 4, tickLabel(v, step), { size: 11, anchor: "end" }),
  ]);
}

function xAxis(
  left: number,
  right: number,
  y: number,
  [lo, hi]: [number, number],
  sx: (v: number) => number,
  source: string,
): string[] {
  const values = axisTicks(lo, hi, 8);
  const step = values.length > 1 ? values[1]! - values[0]! : 1;
  return [
    ...values.flatMap((v) => [
      `<line x1="${px(sx(v))}" x2="${px(sx(v))}" y1="${y}" y2="${y + 4}" stroke="#444"/>`,
      text(sx(v), y + 17, tickLabel(v, step), { size: 11, anchor: "middle" }),
    ]),
    text((left + right) / 2, y + 36, `along-track distance (km, ${source})`, { size: 12, anchor: "middle" }),
  ];
}
