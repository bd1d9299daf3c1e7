/**
 * A STAC 1.1 Collection describing a store: its extent, time span and summaries, the index tables
 * as GeoParquet assets (table extension), any virtual stores exported from it (kerchunk, Icechunk),
 * storage schemes of S3-hosted granules, and optionally one Item per granule.
 */
import { basename, dirname, relative, resolve } from "node:path";
import type { GranuleRow } from "../store/schema.js";
import { polygonOfWkb } from "../store/wkb.js";

/** STAC version written. */
export const STAC_VERSION = "1.1.0";

/** Extension schemas used, by short name. */
export const STAC_EXTENSIONS = {
  table: "https://stac-extensions.github.io/table/v1.2.0/schema.json",
  storage: "https://stac-extensions.github.io/storage/v2.0.0/schema.json",
  file: "https://stac-extensions.github.io/file/v2.1.0/schema.json",
} as const;

/** Media type of Parquet (IANA registration). */
export const PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet";

/** One index table of the store, as the collection describes it. */
export interface StoreTableInfo {
  name: string;
  /** Folder of the table's part files. */
  href: string;
  columns: { name: string; type: string }[];
  rows: number;
  /** Name of the geometry column, for GeoParquet tables. */
  geometry?: string;
}

/** A virtual store exported from the store, to list as an asset. */
export interface VirtualStoreInfo {
  kind: "kerchunk-json" | "kerchunk-parquet" | "icechunk";
  href: string;
  /** Icechunk: the snapshot id the asset describes. */
  snapshot?: string;
}

/** What {@link stacCollection} needs. */
export interface StacInput {
  id: string;
  description: string;
  /** Where the collection file will be written (hrefs are made relative to its folder). */
  out: string;
  granules: readonly GranuleRow[];
  beams: readonly string[];
  tables: readonly StoreTableInfo[];
  virtualStores?: readonly VirtualStoreInfo[];
  /** S3 region of `s3://` granules (storage extension). */
  region?: string;
  /** Whether S3 granules need requester-pays requests. Default false. */
  requesterPays?: boolean;
  /** Whether Items are written; the collection then links to them. */
  items?: { dir: string };
}

/** STAC bboxes of lon/lat boxes: the overall box first, then its two halves when it crosses the antimeridian. */
export function spatialExtent(
  boxes: readonly { xmin: number; ymin: number; xmax: number; ymax: number }[],
): number[][] {
  if (boxes.length === 0) return [[-180, -90, 180, 90]];
  const ymin = Math.min(...boxes.map((b) => b.ymin));
  const ymax = Math.max(...boxes.map((b) => b.ymax));
  // Longitude intervals, merged; the largest gap between them (around the circle) is left out.
  const spans = boxes.map((b) => [b.xmin, b.xmax] as [number, number]).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([...s]);
  }
  let gap = merged[0]![0] + 360 - merged.at(-1)![1];
  let west = merged[0]![0];
  let east = merged.at(-1)![1];
  for (let i = 1; i < merged.length; i++) {
    const g = merged[i]![0] - merged[i - 1]![1];
    if (g > gap) {
      gap = g;
      west = merged[i]![0];
      east = merged[i - 1]![1];
    }
  }
  if (west <= east) return [[west, ymin, east, ymax]];
  return [
    [west, ymin, east, ymax],
    [west, ymin, 180, ymax],
    [-180, ymin, east, ymax],
  ];
}

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

/** An href as written: URLs unchanged, local paths relative to the collection's folder. */
function hrefFrom(out: string, target: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return target;
  const rel = relative(dirname(resolve(out)), resolve(target));
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** Bucket of an `s3://bucket/key` URL. */
const bucketOf = (url: string) => /^s3:\/\/([^/]+)/.exec(url)?.[1];

/** The storage extension's scheme of each S3 bucket holding granules, keyed `s3-<bucket>`. */
function storageSchemes(input: StacInput): Record<string, Record<string, unknown>> {
  const schemes: Record<string, Record<string, unknown>> = {};
  for (const g of input.granules) {
    const bucket = bucketOf(g.url);
    if (!bucket) continue;
    schemes[`s3-${bucket}`] = {
      type: "aws-s3",
      platform: "https://{bucket}.s3.{region}.amazonaws.com",
      bucket,
      ...(input.region ? { region: input.region } : {}),
      requester_pays: input.requesterPays ?? false,
    };
  }
  return schemes;
}

const distinct = <T>(values: readonly T[]) =>
  [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Media types and roles of the virtual stores. */
const VIRTUAL = {
  "kerchunk-json": {
    type: "application/json",
    roles: ["data", "references", "virtual"],
    title: "kerchunk references (JSON)",
  },
  "kerchunk-parquet": {
    type: PARQUET_MEDIA_TYPE,
    roles: ["data", "references", "virtual"],
    title: "kerchunk references (Parquet)",
  },
  icechunk: {
    type: "application/vnd.zarr+icechunk",
    roles: ["data", "virtual"],
    title: "Icechunk repository",
  },
} as const;

/** The STAC Collection of a store. */
export function stacCollection(input: StacInput): Record<string, unknown> {
  const { granules } = input;
  const schemes = storageSchemes(input);
  const s3Keys = Object.keys(schemes);
  const assets: Record<string, Record<string, unknown>> = {};
  for (const t of input.tables) {
    assets[`index-${t.name}`] = {
      href: hrefFrom(input.out, t.href),
      type: PARQUET_MEDIA_TYPE,
      title: `geochunks index table ${t.name}`,
      roles: ["data", "index"],
      "table:columns": t.columns,
      "table:row_count": t.rows,
      ...(t.geometry ? { "table:primary_geometry": t.geometry } : {}),
    };
  }
  for (const [i, v] of (input.virtualStores ?? []).entries()) {
    const kind = VIRTUAL[v.kind];
    assets[`${v.kind}${i === 0 ? "" : `-${i}`}`] = {
      href: hrefFrom(input.out, v.href),
      type: kind.type,
      title: kind.title,
      roles: [...kind.roles],
      ...(v.snapshot ? { "icechunk:snapshot_id": v.snapshot } : {}),
      ...(s3Keys.length > 0 ? { "storage:refs": s3Keys } : {}),
    };
  }
  const extensions = [STAC_EXTENSIONS.table, ...(s3Keys.length > 0 ? [STAC_EXTENSIONS.storage] : [])];
  const start = granules.reduce(
    (a, g) => (g.time_start < a ? g.time_start : a),
    granules[0]?.time_start ?? 0n,
  );
  const end = granules.reduce((a, g) => (g.time_end > a ? g.time_end : a), granules[0]?.time_end ?? 0n);
  const links: Record<string, unknown>[] = [
    { rel: "self", href: `./${basename(input.out)}`, type: "application/json" },
    { rel: "root", href: `./${basename(input.out)}`, type: "application/json" },
  ];
  // The source granules the virtual assets point into.
  for (const g of granules)
    links.push({ rel: "derived_from", href: g.url, type: "application/x-hdf5", title: g.granule_id });
  if (input.items)
    for (const g of granules)
      links.push({
        rel: "item",
        href: hrefFrom(input.out, resolve(input.items.dir, `${g.granule_id}.json`)),
        type: "application/geo+json",
      });
  return {
    type: "Collection",
    stac_version: STAC_VERSION,
    stac_extensions: extensions,
    id: input.id,
    title: input.id,
    description: input.description,
    license: "other",
    keywords: distinct(granules.map((g) => g.product)),
    extent: {
      spatial: { bbox: spatialExtent(granules.map((g) => g.bbox)) },
      temporal: {
        interval: [[granules.length > 0 ? iso(start) : null, granules.length > 0 ? iso(end) : null]],
      },
    },
    summaries: {
      products: distinct(granules.map((g) => g.product)),
      beams: distinct([...input.beams]),
      cycles: distinct(granules.flatMap((g) => (g.cycle === null ? [] : [g.cycle]))),
      tracks: distinct(granules.flatMap((g) => (g.track === null ? [] : [g.track]))),
    },
    ...(s3Keys.length > 0 ? { "storage:schemes": schemes } : {}),
    assets,
    links,
  };
}

/** The STAC Item of one granule: its footprint, time range and HDF5 file (size, checksum as a multihash). */
export function stacItem(
  g: GranuleRow,
  opts: { collection: string; collectionHref: string; checksum?: string },
): Record<string, unknown> {
  const { xmin, ymin, xmax, ymax } = g.bbox;
  const geometry = polygonOfWkb(g.geometry) ?? {
    type: "Polygon",
    coordinates: [
      [
        [xmin, ymin],
        [xmax, ymin],
        [xmax, ymax],
        [xmin, ymax],
        [xmin, ymin],
      ],
    ],
  };
  return {
    type: "Feature",
    stac_version: STAC_VERSION,
    stac_extensions: [STAC_EXTENSIONS.file],
    id: g.granule_id,
    collection: opts.collection,
    geometry,
    bbox: [xmin, ymin, xmax, ymax],
    properties: {
      datetime: null,
      start_datetime: iso(g.time_start),
      end_datetime: iso(g.time_end),
      product: g.product,
      release: g.release,
      ...(g.cycle === null ? {} : { cycle: g.cycle }),
      ...(g.track === null ? {} : { track: g.track }),
    },
    assets: {
      data: {
        href: g.url,
        type: "application/x-hdf5",
        roles: ["data"],
        "file:size": g.size,
        ...(opts.checksum ? { "file:checksum": opts.checksum } : {}),
      },
    },
    links: [
      { rel: "collection", href: opts.collectionHref, type: "application/json" },
      { rel: "parent", href: opts.collectionHref, type: "application/json" },
    ],
  };
}
