/** GEDI L2A (GEDI02_A, Elevation and Height Metrics), versions 001 and 002: the product profile. */

import { InvalidQueryError } from "../errors.js";
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import { producerGranuleId, readNumber } from "./icesat2.js";
import type {
  BeamLayout,
  FilterValue,
  GranuleAttributes,
  ProductProfile,
  ProfileReadOptions,
} from "./profile.js";
import { attrText, registerProfile } from "./profile.js";
import { GPS_SINCE_2018 } from "./time.js";

/** GEDI L2A's "no data" in its float variables (elevations, rh of a shot with no detected mode). */
export const GEDI_NO_DATA = -9999;

/** GEDI beam numbers in product order: coverage beams 0-3, full power beams 5, 6, 8 and 11. */
const GEDI_BEAM_NUMBERS = [0, 1, 2, 3, 5, 6, 8, 11] as const;

/** The eight GEDI beam groups in product order, named by their beam numbers in four binary digits. */
export const GEDI_BEAMS: readonly string[] = GEDI_BEAM_NUMBERS.map(
  (n) => `BEAM${n.toString(2).padStart(4, "0")}`,
);

/** Beam classes `--beams` accepts for GEDI. */
export const GEDI_BEAM_KINDS = ["coverage", "full"] as const;

/** Beam number of a beam group: its name's four binary digits (BEAM0101 is 5); undefined for another name. */
export function gediBeamNumber(beam: string): number | undefined {
  const match = /^BEAM([01]{4})$/.exec(beam);
  return match ? Number.parseInt(match[1]!, 2) : undefined;
}

/** Fields of a GEDI L2A granule id, `GEDI02_A_YYYYDDDHHMMSS_O#####[_GG]_T#####_PP_SSS_VV[_V###]`. */
export interface GediName {
  /** Start of the granule, UTC, to the second. */
  start: Date;
  orbit: number;
  /** Sub-orbit granule 1..4 (version 002 names); undefined in version 001 names, which have none. */
  granule: number | undefined;
  track: number;
  /** Science data processing system release, e.g. "003". */
  pge: string;
  /** Product version without its `V`, e.g. "002"; undefined when the name has none. */
  version: string | undefined;
}

const NAME_PATTERN =
  /^(?:processed_)?GEDI02_A_(\d{4})(\d{3})(\d{2})(\d{2})(\d{2})_O(\d{5})(?:_(\d{2}))?_T(\d{5})_(\d{2})_(\d{3})_(\d{2})(?:_V(\d{3}))?/;

/** Parses a GEDI L2A granule id or file name; undefined when it does not follow the pattern. */
export function parseGediName(name: string): GediName | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const [, year, day, h, mi, s, orbit, granule, track, , pge, , version] = m;
  const start = new Date(Date.UTC(Number(year), 0, Number(day), Number(h), Number(mi), Number(s)));
  return {
    start,
    orbit: Number(orbit),
    granule: granule === undefined ? undefined : Number(granule),
    track: Number(track),
    pge: pge!,
    version,
  };
}

const pad = (n: number | null, width: number) => String(n ?? 0).padStart(width, "0");

/** `YYYYDDDHHMMSS` (year, day of year, time) of a UTC date, as GEDI names write it. */
function gediStamp(date: Date): string {
  const day = Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
  const time = date.toISOString().slice(11, 19).replaceAll(":", "");
  return `${date.getUTCFullYear()}${pad(day, 3)}${time}`;
}

/**
 * Reads a GEDI L2A granule's identity. The producer's id (METADATA/DatasetIdentification `fileName`) gives
 * orbit, sub-orbit granule and track; the version is `VersionID`. A file without that id gets orbit and
 * sub-orbit granule from its first shot number (digits OOOOO BB GGG NNNNNNNN), no track, and the id
 * `GEDI02_A_YYYYDDDHHMMSS_O#####_GG` from its first shot's time.
 */
async function readGediGranule(
  file: Hdf5Reader,
  ctx: { beams: readonly string[] } & ProfileReadOptions,
): Promise<GranuleAttributes> {
  const identification = (await file.groupAttrs("/METADATA/DatasetIdentification", ctx)) ?? {};
  const producer = await producerGranuleId(file, ctx);
  const name = producer === undefined ? undefined : parseGediName(producer);
  const beam = `/${ctx.beams[0]}`;
  const shot = (await file.readSlice(`${beam}/shot_number`, 0, 1, ctx))[0];
  const shotNumber = typeof shot === "bigint" ? shot : undefined;
  const orbit = name?.orbit ?? (shotNumber === undefined ? null : Number(shotNumber / 10n ** 13n));
  const region =
    name?.granule ?? (shotNumber === undefined ? null : Number((shotNumber / 10n ** 8n) % 1000n));
  let granule_id = producer;
  if (granule_id === undefined) {
    const first = await readNumber(file, [`${beam}/delta_time`], ctx);
    const start =
      first === undefined ? undefined : new Date(Number(GPS_SINCE_2018.toUnixNs(first) / 1_000_000n));
    granule_id = `GEDI02_A_${start ? gediStamp(start) : "0000000000000"}_O${pad(orbit, 5)}_${pad(region, 2)}`;
  }
  const pge = attrText(identification.PGEVersion) ?? name?.pge;
  return {
    granule_id,
    product: "GEDI02_A",
    release: attrText(identification.VersionID) ?? name?.version ?? "",
    orbit,
    track: name?.track ?? null,
    cycle: null,
    region,
    attrs: pge === undefined ? {} : { pge },
  };
}

/** Beam groups of `file` that hold L2A shots (`lat_lowestmode` and the (N, 101) `rh`), in product order. */
async function findGediBeams(file: Hdf5Reader, opts: ProfileReadOptions = {}): Promise<string[]> {
  const beams: string[] = [];
  for (const beam of GEDI_BEAMS) {
    const lat = await file.kindOf(`/${beam}/lat_lowestmode`, opts);
    if (lat === "dataset" && (await file.kindOf(`/${beam}/rh`, opts)) === "dataset") beams.push(beam);
  }
  return beams;
}

/** Coverage or full power beam; GEDI has no spot numbers. */
function gediLayout(beam: string): BeamLayout {
  const number = gediBeamNumber(beam);
  if (number === undefined) return { kind: "", spot: null };
  return { kind: number > 3 ? "full" : "coverage", spot: null };
}

/** Track id of a GEDI beam: orbit, sub-orbit granule, track and beam, e.g. `O01964_02_T05337_BEAM0101`. */
function gediTrackId(granule: GranuleAttributes, beam: string): string {
  return `O${pad(granule.orbit, 5)}_${pad(granule.region, 2)}_T${pad(granule.track, 5)}_${beam}`;
}

/**
 * Parses the `sensitivity` filter's value.
 * @throws InvalidQueryError unless it is a number in (0, 1].
 */
function parseSensitivity(text: string): FilterValue {
  const min = Number(text);
  if (text.trim() === "" || !(min > 0 && min <= 1)) {
    throw new InvalidQueryError(`sensitivity must be a number in (0, 1], got "${text}"`);
  }
  return min;
}

/**
 * GEDI L2A: one row per laser shot, directly in each BEAMxxxx group (no row subgroup); lat_lowestmode,
 * lon_lowestmode and delta_time (seconds since 2018-01-01) locate it; `rh` is (N, 101), one column per
 * percentile (`--vars rh` gives all 101 as a list, `--vars rh:25` one); shot numbers are uint64 above 2^53;
 * float variables hold -9999 where there is no data (null in results).
 */
export const GEDI02_A: ProductProfile = {
  name: "GEDI02_A",
  title: "GEDI L2A Elevation and Height Metrics",
  shortNames: ["GEDI_L2A", "GEDI02_A"],
  rowNoun: ["shot", "shots"],
  beams: GEDI_BEAMS,
  beamKinds: GEDI_BEAM_KINDS,
  rows: "",
  coordinates: { lat: "lat_lowestmode", lon: "lon_lowestmode", time: "delta_time" },
  time: GPS_SINCE_2018,
  // A shot with no detected mode has -9999 heights and rh, and the datasets say so in no attribute.
  noData: [GEDI_NO_DATA],
  columns: [
    { name: "shot_number", type: "uint64", source: { kind: "dataset", path: "shot_number" } },
    { name: "elev_lowestmode", type: "float32", source: { kind: "dataset", path: "elev_lowestmode" } },
    { name: "elev_highestreturn", type: "float32", source: { kind: "dataset", path: "elev_highestreturn" } },
    { name: "rh50", type: "float32", source: { kind: "dataset", path: "rh", column: 50 } },
    { name: "rh98", type: "float32", source: { kind: "dataset", path: "rh", column: 98 } },
    { name: "sensitivity", type: "float32", source: { kind: "dataset", path: "sensitivity" } },
    { name: "quality_flag", type: "uint8", source: { kind: "dataset", path: "quality_flag" } },
    { name: "degrade_flag", type: "uint8", source: { kind: "dataset", path: "degrade_flag" } },
    { name: "track_id", type: "utf8", source: { kind: "beam", value: gediTrackId } },
    "granule_id",
    "product",
    "beam",
    { name: "orbit", type: "int32", source: { kind: "beam", value: (g) => g.orbit } },
    { name: "track", type: "int32", source: { kind: "beam", value: (g) => g.track } },
  ],
  filters: [
    {
      name: "quality",
      description: "keep only good shots (quality_flag == 1 and degrade_flag == 0)",
      sources: () => [
        { kind: "dataset", path: "quality_flag" },
        { kind: "dataset", path: "degrade_flag" },
      ],
      apply(_values, [quality, degrade], keep) {
        for (let i = 0; i < keep.length; i++) {
          if (keep[i] && (quality![i] !== 1 || degrade![i] !== 0)) keep[i] = 0;
        }
      },
    },
    {
      name: "sensitivity",
      description: "keep only shots whose beam sensitivity is at least <min> (e.g. 0.95)",
      placeholder: "<min>",
      example: "0.95",
      parse: parseSensitivity,
      sources: () => [{ kind: "dataset", path: "sensitivity" }],
      apply(values, [sensitivity], keep) {
        // Sensitivity is float32: 0.95 must keep a stored 0.95f (0.949999988...).
        const min = Math.fround(Number(values.sensitivity));
        for (let i = 0; i < keep.length; i++) if (keep[i] && !(sensitivity![i]! >= min)) keep[i] = 0;
      },
    },
  ],
  plot: { height: "elev_lowestmode", units: "m" },
  exampleVars: ["rh", "rh:25"],
  findBeams: findGediBeams,
  readGranule: (file, ctx) => readGediGranule(file, ctx),
  beamLayout: gediLayout,
  trackId: gediTrackId,
};

registerProfile(GEDI02_A);
