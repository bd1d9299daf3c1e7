/**
 * The map as one self-contained HTML page: the SVG inline, the marks' values as JSON, and a small
 * script for pan (drag), zoom (wheel, double-click to reset) and the values under the mouse. It
 * loads nothing from the network.
 */
import type { MapPicture } from "./map.js";
import type { PlotPoints } from "./points.js";
import { esc } from "./svg.js";

/** How close (pixels on screen) the mouse must be to a mark to show its values. */
const HOVER_RADIUS_PX = 6;

/** The page of a drawn map. */
export function mapPage(map: MapPicture, points: PlotPoints): string {
  const m = map.marks;
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  const data = {
    variable: points.variable,
    units: points.units,
    x: Array.from(m.x, (v) => round(v, 2)),
    y: Array.from(m.y, (v) => round(v, 2)),
    value: Array.from(m.value, (v) => (Number.isNaN(v) ? null : round(v, 4))),
    count: Array.from(m.count),
    lat: Array.from(m.first, (i) => round(points.lat[i]!, 6)),
    lon: Array.from(m.first, (i) => round(points.lon[i]!, 6)),
    track: Array.from(m.first, (i) => points.track[i]!),
    tracks: points.tracks.map((t) => [t.granule_id, t.beam].filter(Boolean).join(" ")),
    radius: HOVER_RADIUS_PX,
  };
  // "</" inside the JSON would close the script element early.
  const json = JSON.stringify(data).replaceAll("</", "<\\/");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(points.variable)} map</title>
<style>
body{margin:0;font-family:"DejaVu Sans",Arial,sans-serif;background:#fff}
#map{position:relative;width:max-content}
#map svg{display:block;cursor:grab;user-select:none}
#tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #666;border-radius:3px;padding:4px 6px;font-size:12px;white-space:pre}
#help{font-size:12px;color:#555;padding:4px 20px}
</style></head><body>
<div id="map">${map.svg}<div id="tip" hidden></div></div>
<div id="help">Drag to pan, wheel to zoom, double-click to reset; hover a point for its values.</div>
<script type="application/json" id="marks">${json}</script>
<script>
${PAGE_SCRIPT}
</script></body></html>
`;
}

/** The page's script: plain browser JavaScript, no library. */
const PAGE_SCRIPT = `"use strict";
const data = JSON.parse(document.getElementById("marks").textContent);
const svg = document.querySelector("#map svg");
const view = document.getElementById("view");
const tip = document.getElementById("tip");
let k = 1, tx = 0, ty = 0, drag = null;
const cell = 10, grid = new Map();
for (let i = 0; i < data.x.length; i++) {
  const key = Math.floor(data.x[i] / cell) + "," + Math.floor(data.y[i] / cell);
  if (!grid.has(key)) grid.set(key, []);
  grid.get(key).push(i);
}
function apply() { view.setAttribute("transform", "translate(" + tx + " " + ty + ") scale(" + k + ")"); }
function local(ev) {
  const r = svg.getBoundingClientRect();
  return [(ev.clientX - r.left) * svg.viewBox.baseVal.width / r.width, (ev.clientY - r.top) * svg.viewBox.baseVal.height / r.height];
}
function nearest(x, y, radius) {
  let best = -1, bestD = radius * radius;
  const cx = Math.floor(x / cell), cy = Math.floor(y / cell), reach = Math.ceil(radius / cell);
  for (let gx = cx - reach; gx <= cx + reach; gx++) for (let gy = cy - reach; gy <= cy + reach; gy++) {
    for (const i of grid.get(gx + "," + gy) || []) {
      const d = (data.x[i] - x) ** 2 + (data.y[i] - y) ** 2;
      if (d <= bestD) { bestD = d; best = i; }
    }
  }
  return best;
}
function describe(i) {
  const v = data.value[i] === null ? "null" : String(data.value[i]);
  const units = data.units ? " " + data.units : "";
  const lines = [(data.count[i] > 1 ? "mean " : "") + data.variable + " = " + v + units,
    "lat " + data.lat[i] + ", lon " + data.lon[i], data.tracks[data.track[i]] || ""];
  if (data.count[i] > 1) lines.push(data.count[i] + " points in this mark");
  return lines.filter(Boolean).join("\\n");
}
svg.addEventListener("wheel", (ev) => {
  ev.preventDefault();
  const [x, y] = local(ev);
  const f = Math.exp(-ev.deltaY * 0.002);
  tx = x - (x - tx) * f; ty = y - (y - ty) * f; k *= f; apply();
}, { passive: false });
svg.addEventListener("mousedown", (ev) => { const [x, y] = local(ev); drag = [x - tx, y - ty]; });
window.addEventListener("mouseup", () => { drag = null; });
svg.addEventListener("dblclick", () => { k = 1; tx = 0; ty = 0; apply(); });
svg.addEventListener("mousemove", (ev) => {
  const [x, y] = local(ev);
  if (drag) { tx = x - drag[0]; ty = y - drag[1]; apply(); tip.hidden = true; return; }
  const i = nearest((x - tx) / k, (y - ty) / k, data.radius / k);
  if (i < 0) { tip.hidden = true; return; }
  tip.textContent = describe(i);
  tip.style.left = (x + 12) + "px"; tip.style.top = (y + 12) + "px"; tip.hidden = false;
});
svg.addEventListener("mouseleave", () => { tip.hidden = true; });
`;
