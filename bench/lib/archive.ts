/**
 * The benchmark archive: full-size synthetic ATL06 granules (release-006 layout, 110,000 segments per
 * beam, ~68 MB each), generated once into a cache directory and reused. Most pass through the Greenland
 * test polygon over several years (the set a CMR search for it returns); a few pass far away.
 */
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  atl06FileName,
  FULL_SEGMENTS_PER_BEAM,
  fullSizeGranuleSet,
  nominalStart,
  type SyntheticAtl06Options,
  writeSyntheticAtl06,
} from "../../fixtures/atl06/generate.js";

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
}

/**
 * Paths of the archive's granules, generating the missing ones (~8 s each) into `dir`.
 * @example const files = await ensureArchive(".cache/bench/granules", { crossing: 24, far: 4 });
 */
export async function ensureArchive(dir: string, opts: ArchiveOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const o of [...fullSizeGranuleSet(opts.crossing), ...farGranuleSet(opts.far)]) {
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
