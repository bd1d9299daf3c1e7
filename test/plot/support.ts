/** What the picture tests share: small results with known points, PNG pixels, SVG marks. */
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import proj4 from "proj4";
import { writeResult } from "../../src/export/formats.js";
import { resultBatch } from "../../src/result/arrow.js";

/** One known point of a synthetic result. */
export interface KnownPoint {
  lat: number;
  lon: number;
  value: number;
  beam?: string;
  x_atc?: number;
  conf?: number;
}

/** Options of {@link writeKnownResult}. */
export interface KnownResultOptions {
  product?: string;
  /** Name of the value column. Default: h_li (h_ph for ATL03). */
  variable?: string;
  granule?: string;
}

/**
 * Writes a query result of the given points with the product's writer (any output format by
 * extension), one batch per beam, as a query writes them.
 */
export async function writeKnownResult(path: string, points: KnownPoint[], opts: KnownResultOptions = {}) {
  const product = opts.product ?? "ATL06";
  const variable = opts.variable ?? (product === "ATL03" ? "h_ph" : "h_li");
  const beams = [...new Set(points.map((p) => p.beam ?? "gt1l"))];
  const batches = beams.map((beam) => {
    const rows = points.filter((p) => (p.beam ?? "gt1l") === beam);
    const t0 = Date.parse("2019-06-01T20:28:00Z");
    const columns = [
      { name: variable, values: Float32Array.from(rows, (p) => p.value) },
      ...(product === "ATL03"
        ? [{ name: "signal_conf_ph", values: Int8Array.from(rows, (p) => p.conf ?? 0) }]
        : []),
      {
        name: "granule_id",
        type: "utf8" as const,
        value: opts.granule ?? `${product}_20190601202758_10330303_006_01`,
      },
      { name: "product", type: "utf8" as const, value: product },
      { name: "beam", type: "utf8" as const, value: beam },
      ...(rows.some((p) => p.x_atc !== undefined)
        ? [{ name: "x_atc", values: Float64Array.from(rows, (p) => p.x_atc ?? Number.NaN) }]
        : []),
    ];
    return resultBatch({
      lat: Float64Array.from(rows, (p) => p.lat),
      lon: Float64Array.from(rows, (p) => p.lon),
      time: BigInt64Array.from(rows, (_, i) => BigInt(t0 + i * 3) * 1_000_000n),
      columns,
    });
  });
  const empty = resultBatch({
    lat: new Float64Array(0),
    lon: new Float64Array(0),
    time: new BigInt64Array(0),
    columns: [
      { name: variable, values: new Float32Array(0) },
      { name: "granule_id", type: "utf8", value: "x" },
      { name: "product", type: "utf8", value: product },
      { name: "beam", type: "utf8", value: "x" },
    ],
  });
  async function* all() {
    for (const b of batches) if (b.numRows > 0) yield b;
  }
  return writeResult(all(), path, { emptySchema: empty.schema });
}

/** A decoded PNG. */
export interface Pixels {
  width: number;
  height: number;
  /** [r, g, b] at a pixel (rounded position). */
  at(x: number, y: number): [number, number, number];
}

/** Decodes a PNG file (or bytes) with pngjs. */
export function readPng(source: string | Buffer): Pixels {
  const png = PNG.sync.read(typeof source === "string" ? readFileSync(source) : source);
  return {
    width: png.width,
    height: png.height,
    at(x, y) {
      const i = (Math.round(y) * png.width + Math.round(x)) * 4;
      return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    },
  };
}

/** "#rrggbb" or "rgb(r, g, b)" as [r, g, b]. */
export function rgb(colour: string): [number, number, number] {
  const m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = colour.replace("#", "");
  return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** Largest channel difference between two colours. */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

/** The marks (`<circle>`) of a map SVG: centre and fill. */
export function svgCircles(svg: string): { x: number; y: number; fill: string }[] {
  return [...svg.matchAll(/<circle cx="([-\d.]+)" cy="([-\d.]+)" r="[\d.]+" fill="([^"]+)"\/>/g)].map(
    (m) => ({
      x: Number(m[1]),
      y: Number(m[2]),
      fill: m[3]!,
    }),
  );
}

/** Polar stereographic coordinates (metres) by PROJ's definitions, as the independent reference. */
export const POLAR = {
  "EPSG:3413":
    "+proj=stere +lat_0=90 +lat_ts=70 +lon_0=-45 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
  "EPSG:3031":
    "+proj=stere +lat_0=-90 +lat_ts=-71 +lon_0=0 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs",
} as const;

/**
 * The screen transform x = a E + c, y = -a N + d that best maps projected metres (E, N) to screen
 * pixels (least squares), and its largest residual in pixels: small when the map is that
 * projection, north-up as the EPSG definition draws it.
 */
export function fitScreen(
  crs: keyof typeof POLAR,
  lonlat: [number, number][],
  screen: [number, number][],
): { toScreen(lon: number, lat: number): [number, number]; residual: number } {
  const en = lonlat.map((p) => proj4("WGS84", POLAR[crs], p) as [number, number]);
  // Unknowns a, c, d with rows [E, 1, 0] -> x and [-N, 0, 1] -> y: the normal equations.
  const n = en.length;
  const mE = en.reduce((s, p) => s + p[0], 0) / n;
  const mN = en.reduce((s, p) => s + p[1], 0) / n;
  const mx = screen.reduce((s, p) => s + p[0], 0) / n;
  const my = screen.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  en.forEach(([e, nn], i) => {
    num += (e - mE) * (screen[i]![0] - mx) - (nn - mN) * (screen[i]![1] - my);
    den += (e - mE) ** 2 + (nn - mN) ** 2;
  });
  const a = num / den;
  const c = mx - a * mE;
  const d = my + a * mN;
  const toScreen = (lon: number, lat: number): [number, number] => {
    const [e, nn] = proj4("WGS84", POLAR[crs], [lon, lat]) as [number, number];
    return [a * e + c, -a * nn + d];
  };
  const residual = Math.max(
    ...lonlat.map((p, i) => Math.hypot(toScreen(...p)[0] - screen[i]![0], toScreen(...p)[1] - screen[i]![1])),
  );
  return { toScreen, residual };
}
