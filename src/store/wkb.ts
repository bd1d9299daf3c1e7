/** Well-known binary (ISO WKB, little-endian) for the few geometry types the store and results use. */

const WKB_POINT = 1;
const WKB_LINESTRING = 2;
const WKB_POLYGON = 3;
const WKB_MULTILINESTRING = 5;

/** WKB Point (21 bytes). */
export function wkbPoint(x: number, y: number): Uint8Array {
  const out = new Uint8Array(21);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, WKB_POINT, true);
  view.setFloat64(5, x, true);
  view.setFloat64(13, y, true);
  return out;
}

/** WKB LineString from interleaved [x0, y0, x1, y1, ...]. */
export function wkbLineString(xy: ArrayLike<number>): Uint8Array {
  const n = xy.length / 2;
  const out = new Uint8Array(9 + n * 16);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, WKB_LINESTRING, true);
  view.setUint32(5, n, true);
  for (let i = 0; i < xy.length; i++) view.setFloat64(9 + i * 8, xy[i]!, true);
  return out;
}

/** WKB MultiLineString from parts of interleaved coordinates. */
export function wkbMultiLineString(parts: ArrayLike<number>[]): Uint8Array {
  const lines = parts.map(wkbLineString);
  const out = new Uint8Array(9 + lines.reduce((sum, l) => sum + l.length, 0));
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, WKB_MULTILINESTRING, true);
  view.setUint32(5, lines.length, true);
  let at = 9;
  for (const line of lines) {
    out.set(line, at);
    at += line.length;
  }
  return out;
}

/** WKB Polygon from rings of interleaved coordinates (each closed: first == last). */
export function wkbPolygon(rings: ArrayLike<number>[]): Uint8Array {
  const size = 9 + rings.reduce((sum, r) => sum + 4 + r.length * 8, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, WKB_POLYGON, true);
  view.setUint32(5, rings.length, true);
  let at = 9;
  for (const ring of rings) {
    view.setUint32(at, ring.length / 2, true);
    at += 4;
    for (let i = 0; i < ring.length; i++, at += 8) view.setFloat64(at, ring[i]!, true);
  }
  return out;
}

/** GeoJSON Polygon of a WKB Polygon (either byte order), or undefined for any other geometry. */
export function polygonOfWkb(wkb: Uint8Array): { type: "Polygon"; coordinates: number[][][] } | undefined {
  if (wkb.length < 9) return undefined;
  const view = new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength);
  const le = wkb[0] === 1;
  if (view.getUint32(1, le) !== 3) return undefined;
  const coordinates: number[][][] = [];
  let at = 9;
  for (let r = view.getUint32(5, le); r > 0; r--) {
    const ring: number[][] = [];
    let n = view.getUint32(at, le);
    for (at += 4; n > 0; n--, at += 16) ring.push([view.getFloat64(at, le), view.getFloat64(at + 8, le)]);
    coordinates.push(ring);
  }
  return { type: "Polygon", coordinates };
}
