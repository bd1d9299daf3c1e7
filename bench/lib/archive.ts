/**
 * The benchmark archive: full-size synthetic ATL06 granules (release-006 layout, 110,000 segments per
 * beam, ~68 MB each), generated once into a cache directory and reused. Most pass through the Greenland
 * test polygon over several years (the set a CMR search for it returns); a few pass far away.
 */
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  atl03FileName,
  type SyntheticAtl03Options,
  startingThrough,
  writeSyntheticAtl03,
} from "../../fixtures/atl03/generate.js";
import {
  atl06FileName,
  FULL_SEGMENTS_PER_BEAM,
  fullSizeGranuleSet,
  GREENLAND_CENTRE,
  nominalStart,
  type SyntheticAtl06Options,
  writeSyntheticAtl06,
} from "../../fixtures/atl06/generate.js";
import {
  anchorThrough,
  argumentOfLatitude,
  EARTH_RADIUS_M,
  SEGMENT_M,
  trackPoint,
} from "../../fixtures/atl06/orbit.js";

/**
 * Tracks of the many-year archive: reference ground tracks crossing the Greenland box, each repeated every
 * 91-day cycle. At 62.8 N the 1,387 RGTs lie ~13 km apart, so about three ascending and three descending
 * tracks cross a 40 km box, and the six beams (3.3 km apart) widen that to about eight.
 */
export const ARCHIVE_TRACKS = 8;

/**
 * Cycles of the many-year archive: 2 to 27, inside SlideRule's published run's time range (2018-10-13 to
 * 2025-10-13) on the fixture's orbit clock (which puts the first passes of cycle 1 in early October 2018).
 */
export const ARCHIVE_CYCLES = 26;

/** Segments per beam of the many-year archive's granules unless told otherwise: the subsetted size (~12 MB). */
export const ARCHIVE_SEGMENTS_PER_BEAM = 20_000;

/**
 * The many-year archive over the Greenland box: `count` distinct granules (at most
 * {@link ARCHIVE_TRACKS} x {@link ARCHIVE_CYCLES}), granule `i` on track `i % 8` in cycle `2 + i / 8`, so
 * 200 granules cover cycles 2-26 (January 2019 to early 2025). Every track keeps its RGT, direction and
 * longitude across cycles, with a repeat-track offset of up to ~1 km, as real repeat passes; every granule
 * has its own seed (its own heights and gaps), crosses the box somewhere in the middle 80% of its length
 * (not always at mid-granule, which for 20,000 segments per beam is a chunk boundary), and the spacecraft
 * turns around twice a year. The set for a smaller count is a prefix of the set for a larger one.
 */
export function manyYearGranuleSet(
  count: number,
  segmentsPerBeam = ARCHIVE_SEGMENTS_PER_BEAM,
): SyntheticAtl06Options[] {
  if (!Number.isInteger(count) || count < 1 || count > ARCHIVE_TRACKS * ARCHIVE_CYCLES)
    throw new Error(`archive of ${count} granules: 1..${ARCHIVE_TRACKS * ARCHIVE_CYCLES}`);
  return Array.from({ length: count }, (_, i) => {
    const track = i % ARCHIVE_TRACKS;
    const cycle = 2 + Math.floor(i / ARCHIVE_TRACKS);
    const ascending = track % 2 === 0;
    const rgt = 147 + 173 * track;
    // Eight tracks spread over the box's 0.76 degrees of longitude; the repeat pass wanders by up to ~1 km.
    const wander = (((cycle * 7919 + track * 104729) % 1000) / 1000 - 0.5) * 0.04;
    const crossing = {
      lat: GREENLAND_CENTRE.lat + ((track % 3) - 1) * 0.05,
      lon: GREENLAND_CENTRE.lon - 0.33 + (track * 0.66) / (ARCHIVE_TRACKS - 1) + wander,
    };
    // The granule's middle slides along the same ground track, so the box falls anywhere in its middle 80%.
    const u = argumentOfLatitude(crossing.lat, ascending);
    const along = (((i * 7919 + 4271) % 1000) / 1000 - 0.5) * 0.8 * segmentsPerBeam * SEGMENT_M;
    const mid = trackPoint(anchorThrough(crossing.lon, u, 0), u * EARTH_RADIUS_M + along);
    const through = { lat: mid.lat, lon: mid.lon };
    return {
      seed: 7000 + i,
      rgt,
      cycle,
      start: nominalStart(rgt, cycle, through.lat, ascending, segmentsPerBeam),
      through,
      ascending,
      segmentsPerBeam,
      scOrient: Math.floor((cycle - 1) / 2) % 2 === 0 ? 0 : 1,
    };
  });
}

/**
 * Paths of the many-year archive's granules (see {@link manyYearGranuleSet}), generating the missing ones
 * into `dir`.
 */
export async function ensureManyYearArchive(
  dir: string,
  opts: { count: number; segmentsPerBeam?: number; onGenerate?: (name: string) => void },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const o of manyYearGranuleSet(opts.count, opts.segmentsPerBeam)) {
    const name = atl06FileName(o);
    const exists = await access(join(dir, name)).then(
      () => true,
      () => false,
    );
    if (!exists) opts.onGenerate?.(name);
    files.push(await writeSyntheticAtl06(dir, { ...o, reuse: true }));
  }
  return files;
}

/** Full-size granules elsewhere on Earth, none near Greenland's south-east coast. */
export function farGranuleSet(count: number): SyntheticAtl06Options[] {
  const places = [
    { lat: 61.2, lon: -149.9, ascending: true }, // Alaska
    { lat: -75.0, lon: 100.0, ascending: false }, // East Antarctica
    { lat: 72.0, lon: 40.0, ascending: true }, // Barents Sea
    { lat: 79.0, lon: -30.0, ascending: false }, // north-east Greenland, ~1,800 km from the polygon
  ];
  return places.slice(0, count).map((p, i) => {
    const rgt = 1301 + 7 * i;
    const cycle = 5 + i;
    return {
      seed: 5000 + i,
      rgt,
      cycle,
      start: nominalStart(rgt, cycle, p.lat, p.ascending, FULL_SEGMENTS_PER_BEAM),
      through: { lat: p.lat, lon: p.lon },
      ascending: p.ascending,
      segmentsPerBeam: FULL_SEGMENTS_PER_BEAM,
    };
  });
}

/** Options of {@link ensureArchive}. */
export interface ArchiveOptions {
  /** Granules through the Greenland polygon. */
  crossing: number;
  /** Granules elsewhere. */
  far: number;
  /** Called before each granule that must be generated. */
  onGenerate?: (name: string) => void;
  /**
   * Segments per beam of the granules through the polygon: default 110,000 (full size, ~68 MB); 20,000
   * gives granules of the subsetted size (~12 MB).
   */
  segmentsPerBeam?: number;
}

/**
 * Paths of the archive's granules, generating the missing ones (~8 s each) into `dir`.
 * @example const files = await ensureArchive(".cache/bench/granules", { crossing: 24, far: 4 });
 */
export async function ensureArchive(dir: string, opts: ArchiveOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const segments = opts.segmentsPerBeam ?? FULL_SEGMENTS_PER_BEAM;
  const sized = (o: SyntheticAtl06Options): SyntheticAtl06Options =>
    segments === FULL_SEGMENTS_PER_BEAM
      ? o
      : {
          ...o,
          segmentsPerBeam: segments,
          start: nominalStart(o.rgt, o.cycle, o.through!.lat, o.ascending ?? false, segments),
        };
  for (const o of [...fullSizeGranuleSet(opts.crossing), ...farGranuleSet(opts.far)].map(sized)) {
    const name = atl06FileName(o);
    if (
      opts.onGenerate &&
      !(await access(join(dir, name)).then(
        () => true,
        () => false,
      ))
    )
      opts.onGenerate(name);
    files.push(await writeSyntheticAtl06(dir, { ...o, reuse: true }));
  }
  return files;
}

/** Photons per strong beam of the ATL03 benchmark's granules (weak beams a quarter): ~800 km of track. */
export const BENCH_ATL03_PHOTONS = 4_000_000;

/** Options of {@link ensureAtl03Archive}. */
export interface Atl03ArchiveOptions extends ArchiveOptions {
  /** Photons per strong beam. Default {@link BENCH_ATL03_PHOTONS}. */
  photonsPerStrongBeam?: number;
}

/**
 * The ATL03 benchmark's granules: `crossing` passes through the Greenland polygon (releases 006 and 007 in
 * turn, both directions, both spacecraft orientations) and `far` elsewhere.
 */
export function atl03GranuleSet(opts: Atl03ArchiveOptions): SyntheticAtl03Options[] {
  const photonsPerStrongBeam = opts.photonsPerStrongBeam ?? BENCH_ATL03_PHOTONS;
  const crossing = Array.from({ length: opts.crossing }, (_, i) =>
    startingThrough({
      seed: 3000 + i,
      rgt: ((200 + 97 * i) % 1387) + 1,
      cycle: 3 + (i % 15),
      through: { lat: GREENLAND_CENTRE.lat, lon: GREENLAND_CENTRE.lon + ((i % 5) - 2) * 0.12 },
      ascending: i % 2 === 0,
      scOrient: i % 3 === 0 ? 1 : 0,
      release: i % 2 === 0 ? "006" : "007",
      photonsPerStrongBeam,
    }),
  );
  const far = farGranuleSet(opts.far).map((o, i) =>
    startingThrough({
      seed: 3500 + i,
      rgt: o.rgt,
      cycle: o.cycle,
      through: o.through!,
      ascending: o.ascending,
      release: "006",
      photonsPerStrongBeam,
    }),
  );
  return [...crossing, ...far];
}

/**
 * Paths of the ATL03 benchmark's granules, generating the missing ones into `dir` (streamed beam by beam,
 * about 0.3 M photons per second here).
 */
export async function ensureAtl03Archive(dir: string, opts: Atl03ArchiveOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const o of atl03GranuleSet(opts)) {
    const path = join(dir, atl03FileName(o));
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (!exists) {
      opts.onGenerate?.(atl03FileName(o));
      await writeSyntheticAtl03(dir, o);
    }
    files.push(path);
  }
  return files;
}
