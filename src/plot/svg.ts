/** Small SVG writing functions shared by the pictures: text, escaping, the colour bar, numbers. */
import { ticks } from "d3-array";
import type { ColourScale } from "./colour.js";

/** The font every picture uses; DejaVu Sans is on nearly every Linux system. */
export const FONT = "DejaVu Sans, Arial, Helvetica, sans-serif";

/** Text escaped for SVG/XML content and attribute values. */
export function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** A number rounded to two decimals for coordinates, so pictures stay small and stable. */
export function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** One `<text>` element. */
export function text(
  x: number,
  y: number,
  content: string,
  opts: { size?: number; anchor?: "start" | "middle" | "end"; weight?: "bold"; fill?: string } = {},
): string {
  const anchor = opts.anchor && opts.anchor !== "start" ? ` text-anchor="${opts.anchor}"` : "";
  const weight = opts.weight ? ` font-weight="${opts.weight}"` : "";
  return `<text x="${px(x)}" y="${px(y)}" font-size="${opts.size ?? 12}"${anchor}${weight} fill="${opts.fill ?? "#222"}">${esc(content)}</text>`;
}

/** The opening tag of a picture of `width` x `height` pixels titled `title`, with a white background. */
export function svgOpen(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">` +
    `<title>${esc(title)}</title><rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

/** Tick values of a numeric axis, about `count` of them, at round numbers. */
export function axisTicks(lo: number, hi: number, count: number): number[] {
  return lo === hi ? [lo] : ticks(Math.min(lo, hi), Math.max(lo, hi), count);
}

/** A tick label: no more decimals than the tick step needs. */
export function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(Math.abs(step) || 1))));
  return value.toFixed(decimals);
}

/** Number of stops of the colour bar's gradient: enough that resvg's linear steps match the ramp. */
const BAR_STOPS = 32;

/**
 * A vertical colour bar: the ramp from its lowest value (bottom) to its highest (top), ticks on
 * the right and the label (variable and units) above.
 */
export function colourBar(
  scale: ColourScale,
  box: { x: number; y: number; w: number; h: number },
  label: string,
): string {
  const [lo, hi] = scale.domain;
  const stops = Array.from({ length: BAR_STOPS + 1 }, (_, i) => {
    const t = i / BAR_STOPS;
    return `<stop offset="${px(t)}" stop-color="${scale.colour(hi - t * (hi - lo))}"/>`;
  }).join("");
  const parts = [
    `<defs><linearGradient id="ramp" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="url(#ramp)" stroke="#444" stroke-width="0.5"/>`,
    text(box.x, box.y - 16, label, { size: 12 }),
  ];
  const values = axisTicks(lo, hi, 6);
  const step = values.length > 1 ? values[1]! - values[0]! : Math.abs(hi - lo) || 1;
  for (const v of values) {
    const y = box.y + ((hi - v) / (hi - lo)) * box.h;
    parts.push(
      `<line x1="${box.x + box.w}" x2="${box.x + box.w + 4}" y1="${px(y)}" y2="${px(y)}" stroke="#444"/>`,
    );
    parts.push(text(box.x + box.w + 6, y + 4, tickLabel(v, step), { size: 11 }));
  }
  return parts.join("");
}

/** "2019-06-01 .. 2022-05-14" (with hours and minutes when both ends fall on one day). */
export function timeSpan(range: [string, string] | undefined): string {
  if (!range) return "";
  const [lo, hi] = range.map((t) => t.replace("T", " "));
  const day = (t: string) => t.slice(0, 10);
  if (day(lo!) === day(hi!)) return `${lo!.slice(0, 16)} .. ${hi!.slice(11, 16)} UTC`;
  return `${day(lo!)} .. ${day(hi!)}`;
}
