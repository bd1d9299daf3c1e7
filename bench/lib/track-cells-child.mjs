/**
 * Child process of bench/track-cells.ts: one pass of a build's `trackCells` and `footprintWithError`
 * over the chunk rows of every beam of the tracks file, in plain Node, in a fresh process (as an index
 * run meets them: cold code, caches empty). Prints one JSON line: CPU milliseconds (user + system) of
 * the cells pass, of the footprints pass, and a checksum of the outputs (equal outputs, equal sums).
 *
 *   node bench/lib/track-cells-child.mjs '{"dist": DIR, "tracks": FILE, "resolution": 6, "rows": 10000}'
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const args = JSON.parse(process.argv[2] ?? "{}");
const dist = pathToFileURL(`${args.dist}/`);
const { trackCells } = await import(new URL("store/h3.js", dist).href);
const { footprintWithError } = await import(new URL("index-builder/geometry.js", dist).href);
// The tracks file: a JSON header line (beams: point counts), then each beam's longitudes and latitudes
// as little-endian float64, beam after beam.
const bytes = readFileSync(args.tracks);
const newline = bytes.indexOf(10);
const header = JSON.parse(bytes.subarray(0, newline).toString("utf8"));
const body = bytes.subarray(newline + 1);
const data = new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
const beams = [];
let at = 0;
for (const n of header.beams) {
  beams.push({ lon: data.subarray(at, at + n), lat: data.subarray(at + n, at + 2 * n) });
  at += 2 * n;
}
const rows = args.rows ?? 10_000;
const cpuMs = (from) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};
const found = [];
let start = process.cpuUsage();
for (const { lon, lat } of beams) {
  for (let s = 0; s < lon.length; s += rows) {
    found.push(trackCells(lon, lat, s, Math.min(lon.length, s + rows), args.resolution));
  }
}
const cellsMs = cpuMs(start);
let sum = 0n;
let cells = 0;
for (const row of found) {
  for (const c of row) {
    sum = (sum * 31n + c) & 0xffffffffffffffffn;
    cells++;
  }
}
let fsum = 0;
start = process.cpuUsage();
for (const { lon, lat } of beams) {
  for (let s = 0; s < lon.length; s += rows) {
    const f = footprintWithError(lon, lat, s, Math.min(lon.length, s + rows));
    fsum += f.error + f.geometry.length;
  }
}
const footprintMs = cpuMs(start);
console.log(JSON.stringify({ cellsMs, footprintMs, cells, cellSum: sum.toString(16), footprintSum: fsum }));
