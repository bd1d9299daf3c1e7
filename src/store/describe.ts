/** What a store holds: products, granules, time range, extent, beams, and the variables a query can ask for. */
import { StoreError } from "../errors.js";
import type { AttrValue } from "../hdf5/types.js";
import { findProfile, type ProductProfile, rowGroupOf, sourceDatasets } from "../products/index.js";
import { type Bbox, EMPTY_BBOX, unionBbox } from "./geo.js";
import { sqlString, withConnection } from "./sql.js";
import type { Store } from "./store.js";

/** Granules of one product release. */
export interface ProductSummary {
  product: string;
  release: string;
  granules: number;
}

/** Index rows of one beam. */
export interface BeamSummary {
  beam: string;
  /** Granules with this beam. */
  granules: number;
  /** Chunk rows (spatial selection units). */
  chunks: number;
  /** Along-track rows (segments, photons, shots) covered by the chunk rows. */
  rows: number;
}

/** One row-rate variable, named as `query --vars` takes it (relative to the beam's row group). */
export interface VariableSummary {
  /** Product whose granules hold it. */
  product: string;
  name: string;
  /** numpy-style dtypes seen (`<f4`, `|i1`...), usually one. */
  dtypes: string[];
  /** The `units` attribute (the first value seen), undefined when no granule has one. */
  units?: string;
  /** The `long_name` attribute (the first value seen). */
  long_name?: string;
  /** Whether every result carries it without asking (coordinates, time and the default variables). */
  default: boolean;
  /** Granule beams that hold it, of `StoreSummary.granule_beams`: a query reading a beam without it fails. */
  beams: number;
}

/** A summary of a store's contents (what `geochunks describe` prints). */
export interface StoreSummary {
  store: string;
  h3_resolution: number;
  /** ISO 8601 time of the last commit. */
  updated: string;
  granules: number;
  chunks: number;
  products: ProductSummary[];
  /** Cycles, tracks (ICESat-2 RGTs, GEDI tracks) and orbits present, ascending; products without one add nothing. */
  cycles: number[];
  tracks: number[];
  orbits: number[];
  /** Earliest start and latest end of the granules, ns since the Unix epoch, UTC. */
  time: { start: bigint; end: bigint };
  /** Union of the granules' bounding boxes, lon/lat degrees (infinite when no granule has chunks). */
  bbox: Bbox;
  beams: BeamSummary[];
  /** (granule, beam) pairs in the store: the `beams` count of a variable every beam has. */
  granule_beams: number;
  variables: VariableSummary[];
}

const list = (files: string[]) => `[${files.map(sqlString).join(", ")}]`;
const num = (v: unknown) => Number(v as number | bigint);

/**
 * Summarises a store. Granule rows are read exactly (times in ns); the chunks and arrays tables are
 * aggregated by DuckDB, reading only the columns needed.
 * @throws StoreError when the store has no granules.
 */
export async function describeStore(store: Store): Promise<StoreSummary> {
  if (store.manifest.parts.length === 0) {
    throw new StoreError(store.dir, `${store.dir}: store has no granules yet; index some first`);
  }
  const granules = await store.granules();
  const { beams, variables, pairs } = await withConnection(async (db) => {
    const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJS();
    const beamRows = await rows(
      `SELECT beam, count(DISTINCT granule_id) AS granules, count(*) AS chunks, sum(row_count) AS rows
         FROM read_parquet(${list(store.files("chunks"))}, hive_partitioning = false)
        GROUP BY beam ORDER BY beam`,
    );
    const arrayRows = await rows(
      `SELECT g.product, a.path, a.dtype, a.attrs, count(*) AS n
         FROM read_parquet(${list(store.files("arrays"))}) a
         JOIN read_parquet(${list(store.files("granules"))}) g USING (granule_id)
        GROUP BY ALL ORDER BY g.product, a.path`,
    );
    const pairRows = await rows(
      `SELECT count(*) AS n FROM (SELECT DISTINCT granule_id, beam
         FROM read_parquet(${list(store.files("chunks"))}, hive_partitioning = false))`,
    );
    return { beams: beamRows, variables: arrayRows, pairs: num(pairRows[0]?.n ?? 0) };
  });
  return {
    store: store.dir,
    h3_resolution: store.manifest.h3_resolution,
    updated: store.manifest.updated,
    granules: granules.length,
    chunks: beams.reduce((sum, b) => sum + num(b.chunks), 0),
    products: countBy(granules, (g) => `${g.product}\u0000${g.release}`).map(([key, n]) => {
      const [product, release] = key.split("\u0000") as [string, string];
      return { product, release, granules: n };
    }),
    cycles: distinctSorted(granules.map((g) => g.cycle)),
    tracks: distinctSorted(granules.map((g) => g.track)),
    orbits: distinctSorted(granules.map((g) => g.orbit)),
    time: {
      start: granules.reduce((a, g) => (g.time_start < a ? g.time_start : a), granules[0]!.time_start),
      end: granules.reduce((a, g) => (g.time_end > a ? g.time_end : a), granules[0]!.time_end),
    },
    bbox: granules.reduce((acc, g) => unionBbox(acc, g.bbox), { ...EMPTY_BBOX }),
    beams: beams.map((b) => ({
      beam: String(b.beam),
      granules: num(b.granules),
      chunks: num(b.chunks),
      rows: num(b.rows),
    })),
    granule_beams: pairs,
    variables: variablesOf(variables),
  };
}

/**
 * Name of a dataset as `query --vars` takes it: relative to the beam's row group, or `../...` for
 * a parent-rate dataset elsewhere in the beam group (products with a parent rate); undefined
 * outside the beams.
 */
export function variableName(profile: ProductProfile, path: string): string | undefined {
  for (const beam of profile.beams) {
    const prefix = `${rowGroupOf(profile, beam)}/`;
    if (path.startsWith(prefix)) return path.slice(prefix.length);
    if (profile.parent && profile.rows && path.startsWith(`/${beam}/`)) {
      return `${"../".repeat(profile.rows.split("/").length)}${path.slice(beam.length + 2)}`;
    }
  }
  return undefined;
}

/** Variables every result of a product carries: its coordinates and the datasets of its columns. */
function defaultVariables(profile: ProductProfile): Set<string> {
  const names = new Set<string>(Object.values(profile.coordinates));
  for (const c of profile.columns)
    if (typeof c !== "string") for (const source of sourceDatasets(c.source)) names.add(source.path);
  return names;
}

/** Folds (product, path, dtype, attrs, count) groups of the arrays table into one entry per product and variable name. */
function variablesOf(groups: Record<string, unknown>[]): VariableSummary[] {
  const byName = new Map<string, VariableSummary>();
  for (const g of groups) {
    const product = String(g.product);
    const profile = findProfile(product);
    const name = profile && variableName(profile, String(g.path));
    if (!profile || name === undefined) continue;
    const key = `${product}\u0000${name}`;
    const v = byName.get(key) ?? {
      product,
      name,
      dtypes: [],
      default: defaultVariables(profile).has(name),
      beams: 0,
    };
    byName.set(key, v);
    if (!v.dtypes.includes(String(g.dtype))) v.dtypes.push(String(g.dtype));
    v.beams += num(g.n);
    const attrs = parseAttrs(String(g.attrs));
    v.units ??= textOf(attrs.units);
    v.long_name ??= textOf(attrs.long_name);
  }
  return [...byName.values()].sort(
    (a, b) => a.product.localeCompare(b.product) || a.name.localeCompare(b.name),
  );
}

function parseAttrs(json: string): Record<string, AttrValue> {
  try {
    const value = JSON.parse(json) as unknown;
    return value !== null && typeof value === "object" ? (value as Record<string, AttrValue>) : {};
  } catch {
    // A store row whose attributes are not JSON describes a variable without its attributes.
    return {};
  }
}

/** A string attribute (or the first string of a list, as some files store it); else undefined. */
function textOf(value: AttrValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return undefined;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

function distinctSorted(values: readonly (number | null)[]): number[] {
  return [...new Set(values.filter((v): v is number => v !== null))].sort((a, b) => a - b);
}
