/**
 * What ICESat-2 products (ATL03, ATL06, ATL08) share: the six ATLAS beams and their strong/weak
 * layout, `/orbit_info` and `/ancillary_data`, the granule id and track id conventions.
 */
import type { Hdf5Reader } from "../hdf5/hdf5-reader.js";
import type { BeamLayout, GranuleAttributes, ProfileReadOptions } from "./profile.js";
import { attrText } from "./profile.js";
import { GPS_SINCE_2018 } from "./time.js";

/** The six ATLAS ground-track beams, in product order. */
export const ICESAT2_BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] as const;

/** The three beam pairs, left and right, 90 m apart on the ground: one profile panel each. */
export const ICESAT2_BEAM_PAIRS = [
  ["gt1l", "gt1r"],
  ["gt2l", "gt2r"],
  ["gt3l", "gt3r"],
] as const;

/** Beam classes `--beams` accepts for ICESat-2 products. */
export const ICESAT2_BEAM_KINDS = ["strong", "weak"] as const;

/**
 * ICESat-2 fill values of float datasets, the largest finite float32 and float64: "no data" even
 * where no `_FillValue` attribute says so (ATL08 20 m variables, ATL03 segment variables).
 */
export const ICESAT2_NO_DATA: readonly number[] = [Math.fround(3.4028235e38), Number.MAX_VALUE];

/**
 * Spot number (1-6) and strength of a beam for a spacecraft orientation (0 backward, 1 forward),
 * as in the beam groups' attributes; undefined during a yaw flip (2) or for an unknown beam.
 */
export function icesat2BeamLayout(
  beam: string,
  scOrient: number,
): { spot: number; strong: boolean } | undefined {
  const i = (ICESAT2_BEAMS as readonly string[]).indexOf(beam);
  if (i < 0 || (scOrient !== 0 && scOrient !== 1)) return undefined;
  const left = i % 2 === 0;
  if (scOrient === 0) return { spot: i + 1, strong: left };
  return { spot: 6 - i, strong: !left };
}

/** {@link icesat2BeamLayout} of a granule (its `sc_orient` attribute), as a profile's beam layout. */
export function icesat2Layout(beam: string, granule: GranuleAttributes): BeamLayout {
  const layout = icesat2BeamLayout(beam, Number(granule.attrs.sc_orient ?? 0));
  return layout ? { kind: layout.strong ? "strong" : "weak", spot: layout.spot } : { kind: "", spot: 0 };
}

/** The `RRRRCCGG` field of an ICESat-2 granule: RGT, cycle and region, zero-padded. */
export function trackField(g: Pick<GranuleAttributes, "track" | "cycle" | "region">): string {
  return `${pad(g.track ?? 0, 4)}${pad(g.cycle ?? 0, 2)}${pad(g.region ?? 0, 2)}`;
}

/** Track id of an ICESat-2 beam: the granule's `RRRRCCGG` field and the beam, e.g. `08782002_gt1l`. */
export function icesat2TrackId(granule: GranuleAttributes, beam: string): string {
  return `${trackField(granule)}_${beam}`;
}

/** Beams of `file` whose group holds `rows` (e.g. "land_ice_segments"), in product order. */
export async function findIcesat2Beams(file: Hdf5Reader, rows: string, opts: ProfileReadOptions = {}) {
  const beams: string[] = [];
  for (const beam of ICESAT2_BEAMS) {
    if ((await file.kindOf(`/${beam}/${rows}`, opts)) === "group") beams.push(beam);
  }
  return beams;
}

/** A dataset's values, or undefined when the file has no dataset at `path` (optional metadata). */
export async function readOptional(file: Hdf5Reader, path: string, opts: ProfileReadOptions) {
  if ((await file.kindOf(path, opts)) !== "dataset") return undefined;
  return file.read(path, opts);
}

/** The first value of the first of `paths` the file has, as a number. */
export async function readNumber(file: Hdf5Reader, paths: string[], opts: ProfileReadOptions) {
  for (const path of paths) {
    const first = (await readOptional(file, path, opts))?.[0];
    const n = typeof first === "bigint" ? Number(first) : typeof first === "string" ? Number(first) : first;
    if (typeof n === "number" && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** The first value of the first of `paths` the file has, as text. */
export async function readText(file: Hdf5Reader, paths: string[], opts: ProfileReadOptions) {
  for (const path of paths) {
    const value = attrText(await readOptional(file, path, opts));
    if (value !== undefined) return value;
  }
  return undefined;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** `YYYYMMDDhhmmss` of an ISO 8601 UTC time, or undefined when it is not one. */
function stamp(iso: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso ?? "");
  return m ? m.slice(1).join("") : undefined;
}

/**
 * The producer's granule id: `/METADATA/DatasetIdentification` `fileName` without its extension
 * (and without a subsetter's `processed_` prefix); undefined when the file has none.
 */
export async function producerGranuleId(
  file: Hdf5Reader,
  opts: ProfileReadOptions,
): Promise<string | undefined> {
  const dataset = await file.groupAttrs("/METADATA/DatasetIdentification", opts);
  return attrText(dataset?.fileName)
    ?.split("/")
    .pop()
    ?.replace(/\.(h5|hdf5|he5|nc)$/i, "")
    .replace(/^processed_/, "");
}

/**
 * Reads an ICESat-2 granule's identity: release, RGT, cycle and region from `/orbit_info` and
 * `/ancillary_data`, the spacecraft orientation, and the producer's granule id; a file without
 * one gets `PRODUCT_YYYYMMDDhhmmss_RRRRCCGG_RRR_VV` from its granule start time
 * (`granule_start_utc`, else `time_coverage_start`, else the first row's time at `firstTime`),
 * RGT, cycle, region, release and version.
 * @param ctx.firstTime absolute path of a beam's row-rate time dataset.
 */
export async function readIcesat2Granule(
  file: Hdf5Reader,
  ctx: { product: string; root: Readonly<Record<string, unknown>>; firstTime: string } & ProfileReadOptions,
): Promise<GranuleAttributes> {
  const producer = await producerGranuleId(file, ctx);
  // Files cut by a subsetter or a clip script may have neither /orbit_info nor /ancillary_data:
  // the producer's id (`ATL06_YYYYMMDDhhmmss_RRRRCCGG_RRR_VV`) still names them.
  const named = parseIcesat2Name(producer);
  const release = (await readText(file, ["/ancillary_data/release"], ctx)) ?? named?.release ?? "";
  const rgt =
    (await readNumber(file, ["/orbit_info/rgt", "/ancillary_data/start_rgt"], ctx)) ?? named?.rgt ?? 0;
  const cycle =
    (await readNumber(file, ["/orbit_info/cycle_number", "/ancillary_data/start_cycle"], ctx)) ??
    named?.cycle ??
    0;
  const region = (await readNumber(file, ["/ancillary_data/start_region"], ctx)) ?? named?.region ?? 0;
  const granule_id = producer ?? (await builtGranuleId(file, { ...ctx, release, rgt, cycle, region }));
  const sc_orient = (await readNumber(file, ["/orbit_info/sc_orient"], ctx)) ?? 0;
  return {
    granule_id,
    product: ctx.product,
    release,
    orbit: null,
    track: rgt,
    cycle,
    region,
    attrs: { sc_orient },
  };
}

/** RGT, cycle, region and release of an ICESat-2 granule id `PRODUCT_YYYYMMDDhhmmss_RRRRCCGG_RRR_VV`. */
function parseIcesat2Name(id: string | undefined) {
  const m = /^ATL\d\d_\d{14}_(\d{4})(\d{2})(\d{2})_(\d{3})_\d{2}/.exec(id ?? "");
  if (!m) return undefined;
  return { rgt: Number(m[1]), cycle: Number(m[2]), region: Number(m[3]), release: m[4]! };
}

/** A granule id built from the fields the producer's id stands for. */
async function builtGranuleId(
  file: Hdf5Reader,
  ctx: {
    product: string;
    root: Readonly<Record<string, unknown>>;
    firstTime: string;
  } & ProfileReadOptions & {
      release: string;
      rgt: number;
      cycle: number;
      region: number;
    },
): Promise<string> {
  const version = (await readText(file, ["/ancillary_data/version"], ctx)) ?? "00";
  let start =
    stamp(await readText(file, ["/ancillary_data/granule_start_utc"], ctx)) ??
    stamp(attrText(ctx.root.time_coverage_start));
  if (start === undefined) {
    // Stripped of its time metadata: the first row's time, which no rename changes either.
    const first = (await file.readSlice(ctx.firstTime, 0, 1, ctx))[0];
    if (typeof first === "number" && Number.isFinite(first)) {
      start = stamp(new Date(Number(GPS_SINCE_2018.toUnixNs(first) / 1_000_000n)).toISOString());
    }
  }
  const track = trackField({ track: ctx.rgt, cycle: ctx.cycle, region: ctx.region });
  return `${ctx.product}_${start ?? "00000000000000"}_${track}_${ctx.release || "000"}_${version}`;
}

/** The granule's `/orbit_info/bounding_polygon_lon1/lat1` as a closed lon/lat ring; undefined when absent. */
export async function icesat2BoundingPolygon(
  file: Hdf5Reader,
  opts: ProfileReadOptions = {},
): Promise<number[] | undefined> {
  const lat = await readOptional(file, "/orbit_info/bounding_polygon_lat1", opts);
  const lon = await readOptional(file, "/orbit_info/bounding_polygon_lon1", opts);
  if (
    !(
      lat instanceof Float64Array &&
      lon instanceof Float64Array &&
      lat.length >= 4 &&
      lat.length === lon.length
    )
  ) {
    return undefined;
  }
  const ring: number[] = [];
  for (let i = 0; i < lat.length; i++) ring.push(lon[i]!, lat[i]!);
  if (ring[0] !== ring[ring.length - 2] || ring[1] !== ring[ring.length - 1]) ring.push(ring[0]!, ring[1]!);
  return ring;
}
