/** `geochunks stac --store DIR --out collection.json [--items DIR]`: a STAC Collection of a store. */

import { sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io } from "../program.js";
import {
  CACHE_OPTION,
  cacheDirOf,
  isRemoteLocation,
  localStoreFolder,
  STORE_MEANING,
} from "../store-location.js";

interface StacFlags {
  store: string;
  cacheDir?: string;
  out: string;
  items?: string;
  id?: string;
  description?: string;
  virtual?: string[];
  region?: string;
  requesterPays?: boolean;
}

/** Adds `stac` to the program. */
export function stacCommand(program: Command, io: Io): void {
  const command = program
    .command("stac")
    .description(
      "a STAC 1.1 Collection of a store: extent (split at the antimeridian), time interval, products, beams and " +
        "cycles, the index tables as GeoParquet assets, exported virtual stores, and optionally one Item per granule",
    );
  addOptions(command, [
    {
      flags: "--store <dir>",
      meaning: `${STORE_MEANING}; a remote store's tables are listed at their URLs (credentials from the environment)`,
      required: true,
      example: "--store idx",
    },
    CACHE_OPTION,
    {
      flags: "--out <file>",
      meaning: "the collection file (JSON)",
      required: true,
      example: "--out stac/collection.json",
    },
    {
      flags: "--items <dir>",
      meaning:
        "also write one Item per granule (footprint, time range, the HDF5 file with size and SHA-256) into this folder",
      default: "no Items",
      example: "--items stac/items",
    },
    {
      flags: "--id <id>",
      meaning: "collection id",
      default: "geochunks-<store folder name>",
      example: "--id greenland",
    },
    {
      flags: "--description <text>",
      meaning: "collection description",
      default: "a sentence naming the products",
      example: '--description "Greenland ice sheet index"',
    },
    {
      flags: "--virtual <path>",
      meaning:
        "a virtual store exported from the store (kerchunk .json or .parq), listed as an asset; repeatable",
      default: "none",
      example: "--virtual out/refs.json",
      repeat: true,
    },
    {
      flags: "--region <region>",
      meaning: "S3 region of s3:// granules (storage extension)",
      default: "none",
      example: "--region us-west-2",
    },
    {
      flags: "--requester-pays",
      meaning: "S3 granules need requester-pays requests",
      default: "anonymous or owner-pays",
      example: "--requester-pays",
    },
  ]);
  examples(command, [
    "geochunks stac --store idx --out stac/collection.json",
    "geochunks stac --store idx --out stac/collection.json --items stac/items --virtual out/refs.json",
  ]);
  command.action((opts: StacFlags) => runStac(opts, io));
}

/** An exported virtual store as an asset: its kind from its name, an Icechunk repository's snapshot at main. */
async function virtualStore(path: string) {
  if (/\.json$/i.test(path)) return { kind: "kerchunk-json" as const, href: path };
  if (/\.parq(uet)?\/?$/i.test(path)) return { kind: "kerchunk-parquet" as const, href: path };
  const { icechunkTip } = await import("../../export/icechunk/repository.js");
  const snapshot = await icechunkTip(path);
  if (snapshot === undefined)
    throw new UsageError(
      `${path}: --virtual takes kerchunk references (.json, .parq) or an Icechunk repository written by geochunks`,
    );
  return { kind: "icechunk" as const, href: path, snapshot };
}

async function runStac(values: StacFlags, io: Io): Promise<void> {
  const virtualStores = await Promise.all((values.virtual ?? []).map(virtualStore));
  const { exportStac } = await import("../../api-exports.js");
  const remote = isRemoteLocation(values.store);
  const source = withWarnings(sourceOptionsFrom(sourceFlagsOf({})), io);
  const store = await localStoreFolder(values.store, { source, cacheDir: cacheDirOf(values.cacheDir) });
  const report = await exportStac(store, {
    ...(remote ? { location: values.store.replace(/\/+$/, "") } : {}),
    out: values.out,
    items: values.items,
    id: values.id,
    description: values.description,
    virtualStores,
    region: values.region,
    requesterPays: values.requesterPays,
  });
  io.out(
    `wrote a STAC collection of ${report.granules} granules to ${values.out}` +
      (values.items ? ` and ${report.items} items to ${values.items}` : ""),
  );
}
