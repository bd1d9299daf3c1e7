/**
 * The H3 cell of a point, computed here rather than by h3-js (whose calls parse and print the cell's
 * text and run slowly until V8 has warmed its emscripten output up), and the cell's hexagon in the
 * gnomonic projection of its icosahedron face, so that a track's points can be tested against it.
 *
 * H3 in short: the sphere is cut into the 20 faces of an icosahedron; a point belongs to the face whose
 * centre is nearest, and is projected onto the plane of that face (gnomonic projection: great circles
 * become straight lines). On each face a hexagonal lattice of resolution 0 has its origin at the face's
 * centre and one axis towards one of the face's vertices, 2 lattice units away; resolution r + 1 is
 * resolution r shrunk by sqrt(7) and turned by atan(sqrt(3) / 5) one way or the other (the "class III"
 * resolutions are the odd ones, turned from the face's axes). A point's cell at resolution r is the
 * lattice point nearest to it; climbing to resolution 0 (each cell's parent is the nearest lattice
 * point of the coarser lattice), each step's offset from the parent is one of seven digits; the
 * resolution-0 lattice point on the face names a base cell and how many sixths of a turn the face's
 * axes are from the base cell's own; the digits, turned that many times, and the base cell are the
 * index.
 *
 * Nothing here is copied from H3's sources: the faces are derived from h3-js's public API (the 12
 * resolution-0 pentagons sit on the icosahedron's vertices and `getIcosahedronFaces` names the faces
 * they meet; a face's centre is the normalised sum of its three vertices), the lattice's scale from
 * the icosahedron's geometry, and the base cell and turn of each resolution-0 lattice point of each
 * face are learnt lazily, the first time a point lands on it, from one h3-js `latLngToCell` answer
 * (the turn that maps the digits found here onto h3-js's; for the 12 pentagons' base cells, whose
 * digits follow two more rules, the way of writing them that fits h3-js's answers). The cells are
 * h3-js's exactly (test/store/h3-grid.test.ts; 5 million random points at every resolution agreed).
 * Grid paths between cells of one base cell ({@link basePath}) are computed as H3 computes them.
 */
import { cellToLatLng, getIcosahedronFaces, getPentagons, latLngToCell } from "./h3-lib.js";

const RADIANS = Math.PI / 180;
const SQRT3_2 = Math.sqrt(3) / 2;

/** Angle between the lattices of two successive resolutions: atan(sqrt(3) / 5), about 19.1 degrees. */
const APERTURE_7_TURN = Math.atan(Math.sqrt(3) / 5);

/**
 * Gnomonic length of one resolution-0 lattice unit: half the gnomonic distance from a face's centre
 * to its vertices, tan(37.38 degrees) / 2 = (3 - sqrt(5)) / 2 for a regular icosahedron.
 */
const RES0_UNIT = (3 - Math.sqrt(5)) / 2;

/**
 * Distance kept from a hexagon's edges and a face's edges, in lattice units of the cell's resolution
 * (an edge is 0.5 from the centre): far above the rounding of the projection (about 1e-9 at
 * resolution 15) and a few millimetres at resolution 6.
 */
const MARGIN = 1e-6;

/**
 * One face: its centre (unit vector), vertices and axes and, per resolution (made when first used),
 * its projection onto that resolution's lattice.
 */
interface Face {
  readonly nx: number;
  readonly ny: number;
  readonly nz: number;
  readonly corners: readonly [Vec, Vec, Vec];
  readonly e1: Vec;
  readonly e2: Vec;
  /** Per resolution: rows (x, y) of the map from a point's gnomonic position to lattice units, 6 numbers. */
  readonly lattice: Float64Array[];
  /** Per resolution: the face's triangle as three edges (inward normal x, y and offset), 9 numbers. */
  readonly triangle: Float64Array[];
}

let faces: Face[] | undefined;
/** Base cells of the 12 pentagons. */
let pentagonBaseCells: Set<number> | undefined;

/** The faces, derived once (25 h3-js calls). */
function allFaces(): Face[] {
  if (faces) return faces;
  const pentagons = getPentagons(0);
  const vertices = pentagons.map((p) => unitVector(...(cellToLatLng(p) as [number, number])));
  const facesOf = pentagons.map((p) => getIcosahedronFaces(p));
  pentagonBaseCells = new Set(pentagons.map((p) => (parseInt(p.slice(0, 7), 16) >>> 13) & 127));
  const out: Face[] = [];
  for (let f = 0; f < 20; f++) {
    const corners = vertices.filter((_, k) => facesOf[k]!.includes(f));
    if (corners.length !== 3) throw new Error(`h3-js gave ${corners.length} vertices for face ${f}`);
    const [a, b, c] = corners as [Vec, Vec, Vec];
    const n = normalise([a[0] + b[0] + c[0], a[1] + b[1] + c[1], a[2] + b[2] + c[2]]);
    // Axes: x towards the first vertex, y a quarter turn anticlockwise seen from outside (n x e1).
    const dot = a[0] * n[0] + a[1] * n[1] + a[2] * n[2];
    const e1 = normalise([a[0] - dot * n[0], a[1] - dot * n[1], a[2] - dot * n[2]]);
    const e2: Vec = [n[1] * e1[2] - n[2] * e1[1], n[2] * e1[0] - n[0] * e1[2], n[0] * e1[1] - n[1] * e1[0]];
    out.push({ nx: n[0], ny: n[1], nz: n[2], corners: [a, b, c], e1, e2, lattice: [], triangle: [] });
  }
  faces = out;
  return out;
}

/** Makes every face's lattice map and triangle at resolution r. */
function makeLattices(all: Face[], r: number): void {
  let scale = 1 / RES0_UNIT;
  for (let k = 0; k < r; k++) scale *= Math.sqrt(7);
  // Odd resolutions: the lattice is turned anticlockwise by APERTURE_7_TURN from the face's axes.
  const t = r % 2 === 1 ? APERTURE_7_TURN : 0;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  for (const face of all) {
    const { e1, e2 } = face;
    const m = new Float64Array(6);
    for (let k = 0; k < 3; k++) {
      m[k] = scale * (cos * e1[k]! + sin * e2[k]!);
      m[3 + k] = scale * (-sin * e1[k]! + cos * e2[k]!);
    }
    const pts = face.corners.map((v): [number, number] => {
      const d = v[0] * face.nx + v[1] * face.ny + v[2] * face.nz;
      return [
        (m[0]! * v[0] + m[1]! * v[1] + m[2]! * v[2]) / d,
        (m[3]! * v[0] + m[4]! * v[1] + m[5]! * v[2]) / d,
      ];
    });
    const edges = new Float64Array(9);
    for (let k = 0; k < 3; k++) {
      const [ax, ay] = pts[k]!;
      const [bx, by] = pts[(k + 1) % 3]!;
      const [cx, cy] = pts[(k + 2) % 3]!;
      const len = Math.hypot(bx - ax, by - ay);
      let nx = -(by - ay) / len;
      let ny = (bx - ax) / len;
      if (nx * (cx - ax) + ny * (cy - ay) < 0) {
        nx = -nx;
        ny = -ny;
      }
      edges[3 * k] = nx;
      edges[3 * k + 1] = ny;
      edges[3 * k + 2] = nx * ax + ny * ay;
    }
    face.lattice[r] = m;
    face.triangle[r] = edges;
  }
}

type Vec = [number, number, number];

function unitVector(lat: number, lng: number): Vec {
  const phi = lat * RADIANS;
  const lambda = lng * RADIANS;
  return [Math.cos(phi) * Math.cos(lambda), Math.cos(phi) * Math.sin(lambda), Math.sin(phi)];
}

function normalise(v: Vec): Vec {
  const l = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / l, v[1] / l, v[2] / l];
}

/**
 * Base cell of each resolution-0 lattice point of each face (face * 27 + i * 9 + j * 3 + k, i, j, k in
 * 0..2; {@link UNKNOWN} until learnt), and for base cells other than the 12 pentagons the sixths of a
 * turn from the face's axes to the base cell's ({@link UNKNOWN} until learnt).
 */
const baseCells = new Int16Array(20 * 27).fill(-1);
const turnsOf = new Int8Array(20 * 27).fill(-1);
const UNKNOWN = -1;

/**
 * For lattice points of a pentagon's base cell, the ways of writing the digits still possible (bit
 * 2 t + c: t sixths of a turn, the pentagon's turn rules, and a leading k digit turned clockwise when
 * c is 1, anticlockwise when 0), narrowed by h3-js's answers; 0 when none is left (then h3-js is asked
 * for every point there).
 */
const pentagonWays = new Uint16Array(20 * 27).fill(0xfff);

/** A digit turned a sixth of a turn anticlockwise (digits are i, j, k unit offsets as bits i j k). */
const TURN_DIGIT = [0, 5, 3, 1, 6, 4, 2] as const;
/** A digit turned a sixth of a turn clockwise. */
const TURN_DIGIT_CW = [0, 3, 6, 2, 5, 1, 4] as const;
/** The digit of a unit offset along k. */
const K_DIGIT = 1;

/**
 * What {@link cellOf} leaves of its last point: the cell's index, face (-1 when h3-js disagreed with
 * the lattice point found) and centre in lattice units.
 */
export const lastCell = { face: 0, x: 0, y: 0, hi: 0, lo: 0 };

/** Scratch: the digits of the point being looked up, resolution 1 at index 1. */
const digits = new Int8Array(16);

/** Counts h3-js answers that disagreed with the digits found here (tests expect 0). */
export const gridStats = { learnt: 0, askedH3: 0, disagreed: 0 };

/**
 * The H3 cell of (lat, lng), degrees, at `resolution`, as the high and low 32 bits of its index in
 * {@link lastCell} (`hi`, `lo`), with its face and centre (for {@link hexagonOnFace}). Valid
 * coordinates only.
 */
export function cellOf(lat: number, lng: number, resolution: number): void {
  const all = faces ?? allFaces();
  const phi = lat * RADIANS;
  const lambda = lng * RADIANS;
  const cosPhi = Math.cos(phi);
  const px = cosPhi * Math.cos(lambda);
  const py = cosPhi * Math.sin(lambda);
  const pz = Math.sin(phi);
  // The nearest face centre: the largest dot product.
  let face = 0;
  let best = -2;
  for (let f = 0; f < 20; f++) {
    const F = all[f]!;
    const d = F.nx * px + F.ny * py + F.nz * pz;
    if (d > best) {
      best = d;
      face = f;
    }
  }
  let m = all[face]!.lattice[resolution];
  if (m === undefined) {
    makeLattices(all, resolution);
    m = all[face]!.lattice[resolution]!;
  }
  const x = (m[0]! * px + m[1]! * py + m[2]! * pz) / best;
  const y = (m[3]! * px + m[4]! * py + m[5]! * pz) / best;
  // The nearest lattice point. Axial coordinates along i and j (120 degrees apart: x = i - j / 2,
  // y = j sqrt(3) / 2) become cube coordinates (i - j, j, -i), which sum to 0 and round to the nearest
  // lattice point when the one furthest from its rounding is recomputed from the other two.
  const aj = y / SQRT3_2;
  const ai = x + aj / 2;
  const c1 = ai - aj;
  const c3 = -ai;
  let r1 = Math.round(c1);
  let r2 = Math.round(aj);
  let r3 = Math.round(c3);
  const d1 = Math.abs(r1 - c1);
  const d2 = Math.abs(r2 - aj);
  const d3 = Math.abs(r3 - c3);
  if (d1 > d2 && d1 > d3) r1 = -r2 - r3;
  else if (d2 > d3) r2 = -r1 - r3;
  else r3 = -r1 - r2;
  lastCell.face = face;
  lastCell.x = -r3 - 0.5 * r2;
  lastCell.y = SQRT3_2 * r2;
  const key = climb(face, -r3, r2, resolution);
  const base = baseCells[key]!;
  if (base < 0) {
    learn(key, lat, lng, resolution);
    return;
  }
  if (pentagonBaseCells!.has(base)) {
    pentagonCell(key, base, lat, lng, resolution);
    return;
  }
  const turns = turnsOf[key]!;
  if (turns < 0 && resolution > 0) {
    learn(key, lat, lng, resolution);
    return;
  }
  turnDigits(turns, resolution);
  writeIndex(base, resolution, digits);
}

/** Turns {@link digits} 1..resolution `turns` sixths anticlockwise. */
function turnDigits(turns: number, resolution: number): void {
  if (turns <= 0) return;
  for (let r = 1; r <= resolution; r++) {
    let d: number = digits[r]!;
    for (let n = 0; n < turns; n++) d = TURN_DIGIT[d]!;
    digits[r] = d;
  }
}

/**
 * Climbs from lattice point (i, j) (k = 0) of a face at `resolution` to resolution 0, one digit per
 * resolution into {@link digits}; returns the key of the resolution-0 lattice point reached.
 */
function climb(face: number, i: number, j: number, resolution: number): number {
  for (let r = resolution; r > 0; r--) {
    // Parent (I, J) of child (i, j) (both with k = 0): the child lattice maps the parent's unit
    // vectors i, j to (3, 0, 1), (1, 3, 0) at odd resolutions and (3, 1, 0), (0, 3, 1) at even ones.
    let I: number;
    let J: number;
    let ci: number;
    let cj: number;
    let ck: number;
    if (r % 2 === 1) {
      I = Math.round((3 * i - j) / 7);
      J = Math.round((i + 2 * j) / 7);
      ci = 3 * I + J;
      cj = 3 * J;
      ck = I;
    } else {
      I = Math.round((2 * i + j) / 7);
      J = Math.round((3 * j - i) / 7);
      ci = 3 * I;
      cj = I + 3 * J;
      ck = J;
    }
    // The child's offset from the parent's centre, normalised (smallest of i, j, k at 0): a digit.
    let oi = i - ci;
    let oj = j - cj;
    let ok = -ck;
    const low = Math.min(oi, oj, ok);
    oi -= low;
    oj -= low;
    ok -= low;
    digits[r] = 4 * oi + 2 * oj + ok;
    i = I;
    j = J;
  }
  const low = Math.min(i, j, 0);
  return face * 27 + (i - low) * 9 + (j - low) * 3 - low;
}

/** Writes the index of a cell (base cell, digits at 1..resolution) to {@link lastCell}. */
function writeIndex(base: number, resolution: number, digits: Int8Array): void {
  let hi = (1 << 27) | (resolution << 20) | (base << 13);
  let lo = 0;
  for (let r = 1; r <= 15; r++) {
    const d = r <= resolution ? digits[r]! : 7;
    const bit = (15 - r) * 3;
    if (bit >= 32) hi |= d << (bit - 32);
    else if (bit <= 29) lo |= d << bit;
    else {
      lo |= (d & 3) << 30;
      hi |= d >> 2;
    }
  }
  lastCell.hi = hi;
  lastCell.lo = lo >>> 0;
}

/**
 * Asks h3-js for the cell (its answer goes to {@link lastCell}) and learns the base cell and turn of
 * the resolution-0 lattice point `key` from it when it can: not for pentagons (always asked), nor
 * when every digit is 0 (no turn to learn).
 */
function learn(key: number, lat: number, lng: number, resolution: number): void {
  gridStats.askedH3++;
  const cell = latLngToCell(lat, lng, resolution);
  const hi = parseInt(cell.slice(0, cell.length - 8), 16);
  const lo = parseInt(cell.slice(cell.length - 8), 16);
  lastCell.hi = hi;
  lastCell.lo = lo;
  const base = (hi >>> 13) & 127;
  if (pentagonBaseCells!.has(base)) {
    if (baseCells[key] === UNKNOWN) baseCells[key] = base;
    else if (baseCells[key] !== base) disagree();
    return;
  }
  if (baseCells[key] === UNKNOWN) baseCells[key] = base;
  else if (baseCells[key] !== base) {
    disagree();
    return;
  }
  let any = false;
  for (let r = 1; r <= resolution; r++) if (digits[r] !== 0) any = true;
  if (!any) return;
  for (let turns = 0; turns < 6; turns++) {
    let same = true;
    for (let r = 1; r <= resolution && same; r++) {
      let d: number = digits[r]!;
      for (let n = 0; n < turns; n++) d = TURN_DIGIT[d]!;
      const bit = (15 - r) * 3;
      const h3 =
        bit >= 32 ? (hi >>> (bit - 32)) & 7 : bit <= 29 ? (lo >>> bit) & 7 : ((lo >>> 30) | (hi << 2)) & 7;
      if (d !== h3) same = false;
    }
    if (same) {
      turnsOf[key] = turns;
      gridStats.learnt++;
      return;
    }
  }
  disagree();
}

/** Scratch for {@link pentagonCell}: the digits written one way. */
const wayDigits = new Int8Array(16);

/**
 * The digits of a cell of a pentagon's base cell written one way (see {@link pentagonWays}) into
 * {@link wayDigits}: a leading k digit (the pentagon has no k-axis sub-cells) first turned a sixth
 * clockwise or anticlockwise, then the digits turned `turns` sixths anticlockwise, each turn again
 * turning the whole index anticlockwise when its leading digit becomes k.
 */
function writeWay(way: number, resolution: number): void {
  for (let r = 1; r <= resolution; r++) wayDigits[r] = digits[r]!;
  const leading = () => {
    for (let r = 1; r <= resolution; r++) if (wayDigits[r] !== 0) return wayDigits[r]!;
    return 0;
  };
  const turnAll = (table: readonly number[]) => {
    for (let r = 1; r <= resolution; r++) wayDigits[r] = table[wayDigits[r]!]!;
  };
  if (leading() === K_DIGIT) turnAll(way & 1 ? TURN_DIGIT_CW : TURN_DIGIT);
  for (let t = way >> 1; t > 0; t--) {
    let found = false;
    for (let r = 1; r <= resolution; r++) {
      wayDigits[r] = TURN_DIGIT[wayDigits[r]!]!;
      if (!found && wayDigits[r] !== 0) {
        found = true;
        if (leading() === K_DIGIT) turnAll(TURN_DIGIT);
      }
    }
  }
}

/**
 * The cell of a point in a pentagon's base cell: written the ways still possible; when they all give
 * one index, that is the cell, else h3-js is asked and the ways that did not give its answer dropped.
 */
function pentagonCell(key: number, base: number, lat: number, lng: number, resolution: number): void {
  const ways = pentagonWays[key]!;
  let hi = -1;
  let lo = -1;
  let agree = ways !== 0;
  for (let way = 0; way < 12 && agree; way++) {
    if (!(ways & (1 << way))) continue;
    writeWay(way, resolution);
    writeIndex(base, resolution, wayDigits);
    if (hi === -1) {
      hi = lastCell.hi;
      lo = lastCell.lo;
    } else if (lastCell.hi !== hi || lastCell.lo !== lo) agree = false;
  }
  if (agree) {
    lastCell.hi = hi;
    lastCell.lo = lo;
    return;
  }
  gridStats.askedH3++;
  const cell = latLngToCell(lat, lng, resolution);
  const h3hi = parseInt(cell.slice(0, cell.length - 8), 16);
  const h3lo = parseInt(cell.slice(cell.length - 8), 16);
  let left = 0;
  for (let way = 0; way < 12; way++) {
    if (!(ways & (1 << way))) continue;
    writeWay(way, resolution);
    writeIndex(base, resolution, wayDigits);
    if (lastCell.hi === h3hi && lastCell.lo === h3lo) left |= 1 << way;
  }
  lastCell.hi = h3hi;
  lastCell.lo = h3lo;
  if (ways === 0) lastCell.face = -1;
  else {
    pentagonWays[key] = left;
    if (left === 0) disagree();
  }
}

/**
 * h3-js's cell is not the one found here (never seen: tests count these): no hexagon is drawn from
 * the lattice point found.
 */
function disagree(): void {
  gridStats.disagreed++;
  lastCell.face = -1;
}

/** The H3 index of (lat, lng) at `resolution` as a bigint (see {@link cellOf}). */
export function cellBigint(lat: number, lng: number, resolution: number): bigint {
  cellOf(lat, lng, resolution);
  return (BigInt(lastCell.hi) << 32n) | BigInt(lastCell.lo);
}

/**
 * A cell's hexagon on its face, for {@link inCellHexagon}: the face's centre and lattice map, and the
 * cell's centre in lattice units, 11 numbers.
 */
export type FaceHexagon = Float64Array;

/** A hexagon's vertices about its centre, lattice units: 1 / sqrt(3) away at 30 + 60 k degrees. */
const HEXAGON_CORNERS = Float64Array.from({ length: 12 }, (_, k) => {
  const angle = ((30 + 60 * (k >> 1)) * Math.PI) / 180;
  return (k % 2 === 0 ? Math.cos(angle) : Math.sin(angle)) / Math.sqrt(3);
});

/**
 * The hexagon of the cell {@link cellOf} found last, or undefined when the cell is not wholly inside
 * its face by {@link MARGIN} (then its shape bends at the face's edge, or it is a pentagon). Every
 * point whose projection onto the face lies in it belongs to the cell: such points are nearer that
 * face's centre than any other (the face's triangle is convex), and their nearest lattice point is the
 * cell's centre.
 */
export function hexagonOnFace(resolution: number): FaceHexagon | undefined {
  if (lastCell.face < 0) return undefined;
  const face = faces![lastCell.face]!;
  const { x, y } = lastCell;
  const tri = face.triangle[resolution]!;
  for (let k = 0; k < 12; k += 2) {
    const vx = x + HEXAGON_CORNERS[k]!;
    const vy = y + HEXAGON_CORNERS[k + 1]!;
    for (let e = 0; e < 9; e += 3)
      if (!(tri[e]! * vx + tri[e + 1]! * vy - tri[e + 2]! > MARGIN)) return undefined;
  }
  const m = face.lattice[resolution]!;
  const h = new Float64Array(11);
  h[0] = face.nx;
  h[1] = face.ny;
  h[2] = face.nz;
  h.set(m, 3);
  h[9] = x;
  h[10] = y;
  return h;
}

const HALF = 0.5 - MARGIN;

/** True when the point (lon, lat), degrees, lies in the hexagon (false for NaN and fill values). */
export function inCellHexagon(h: FaceHexagon, lon: number, lat: number): boolean {
  if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)) return false;
  const phi = lat * RADIANS;
  const lambda = lon * RADIANS;
  const cosPhi = Math.cos(phi);
  const px = cosPhi * Math.cos(lambda);
  const py = cosPhi * Math.sin(lambda);
  const pz = Math.sin(phi);
  const d = h[0]! * px + h[1]! * py + h[2]! * pz;
  if (!(d > 0.5)) return false;
  const x = (h[3]! * px + h[4]! * py + h[5]! * pz) / d - h[9]!;
  const y = (h[6]! * px + h[7]! * py + h[8]! * pz) / d - h[10]!;
  if (!(x < HALF && x > -HALF)) return false;
  const a = 0.5 * x + SQRT3_2 * y;
  if (!(a < HALF && a > -HALF)) return false;
  const b = SQRT3_2 * y - 0.5 * x;
  return b < HALF && b > -HALF;
}

/**
 * True when two cells with hexagons ({@link hexagonOnFace}, same resolution) are neighbours: on one
 * face with centres one lattice unit apart. Cells wholly inside two different faces share no edge.
 */
export function hexagonsTouch(a: FaceHexagon, b: FaceHexagon): boolean {
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) return false;
  const dx = a[9]! - b[9]!;
  const dy = a[10]! - b[10]!;
  return Math.abs(dx * dx + dy * dy - 1) < 1e-6;
}

/** C's rounding (halves away from zero), as H3 rounds. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * A cell's lattice point in its base cell's own frame, from its digits (H3's "local IJK" of a cell
 * seen from a cell of the same base cell): from the base cell's (0, 0, 0), each resolution moves to
 * the finer lattice (the maps of {@link climb}) and adds the digit's unit offset. [i, j], k = 0.
 */
function baseFrameIjk(cell: bigint, resolution: number): [number, number] {
  let i = 0;
  let j = 0;
  for (let r = 1; r <= resolution; r++) {
    // Parent (I, J, 0) to the child lattice: (3I + J, 3J, I) at odd resolutions, (3I, I + 3J, J) at even.
    let ci: number;
    let cj: number;
    let ck: number;
    if (r % 2 === 1) {
      ci = 3 * i + j;
      cj = 3 * j;
      ck = i;
    } else {
      ci = 3 * i;
      cj = i + 3 * j;
      ck = j;
    }
    const d = Number((cell >> BigInt((15 - r) * 3)) & 7n);
    ci += d >> 2;
    cj += (d >> 1) & 1;
    ck += d & 1;
    i = ci - ck;
    j = cj - ck;
  }
  return [i, j];
}

/**
 * H3's grid path between two cells of one base cell other than a pentagon's (h3-js's
 * `gridPathCells`), or undefined where it is not computed here (cells of two base cells, a
 * pentagon's, a path leaving the base cell). As H3 does it: both cells' lattice points in the base
 * cell's frame ({@link baseFrameIjk}), H3's cube coordinates (-i + k, j - k, and the third making a
 * sum of 0), points evenly spaced between them rounded to the nearest lattice point (halves away from
 * zero, the furthest rounding recomputed from the others), each point's digits climbed back.
 */
export function basePath(a: bigint, b: bigint, resolution: number): bigint[] | undefined {
  if (faces === undefined) allFaces();
  const base = Number((a >> 45n) & 127n);
  if (base !== Number((b >> 45n) & 127n) || pentagonBaseCells!.has(base)) return undefined;
  const [ai, aj] = baseFrameIjk(a, resolution);
  const [bi, bj] = baseFrameIjk(b, resolution);
  const si = -ai;
  const sj = aj;
  const sk = -si - sj;
  const ei = -bi;
  const ej = bj;
  const ek = -ei - ej;
  const distance = Math.max(Math.abs(ei - si), Math.abs(ej - sj), Math.abs(ek - sk));
  const iStep = distance ? (ei - si) / distance : 0;
  const jStep = distance ? (ej - sj) / distance : 0;
  const kStep = distance ? (ek - sk) / distance : 0;
  const out: bigint[] = [];
  for (let n = 0; n <= distance; n++) {
    const ci = si + iStep * n;
    const cj = sj + jStep * n;
    const ck = sk + kStep * n;
    let ri = roundHalfAway(ci);
    let rj = roundHalfAway(cj);
    let rk = roundHalfAway(ck);
    const di = Math.abs(ri - ci);
    const dj = Math.abs(rj - cj);
    const dk = Math.abs(rk - ck);
    if (di > dj && di > dk) ri = -rj - rk;
    else if (dj > dk) rj = -ri - rk;
    else rk = -ri - rj;
    // Back from cube coordinates: i = -ri, j = rj, k = 0.
    if (climb(0, -ri, rj, resolution) !== 0) return undefined;
    writeIndex(base, resolution, digits);
    out.push((BigInt(lastCell.hi) << 32n) | BigInt(lastCell.lo));
  }
  return out;
}
