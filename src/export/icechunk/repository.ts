/**
 * Writes an Icechunk repository (spec version 2) of virtual chunk references on local disk: each
 * export is one commit on `main` adding the granules not yet in the repository, as new nodes and
 * one new manifest; earlier snapshots and manifests are never rewritten, only the repo info file
 * (the one mutable file of the format) is replaced. What the repository holds is also kept in
 * `geochunks.json` beside the format's files, so an append needs no flatbuffers reader.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GranuleRow } from "../../store/schema.js";
import type { VirtualTree } from "../virtual.js";
import {
  FILE_TYPE,
  flexbuffer,
  type IcechunkArrayManifest,
  type IcechunkChunkRef,
  type IcechunkManifestFile,
  type IcechunkNode,
  manifestPayload,
  type RepoSnapshot,
  repoInfoPayload,
  snapshotPayload,
  transactionLogPayload,
  withHeader,
} from "./format.js";
import { compareIds, crockford, INITIAL_SNAPSHOT_ID, newId8, newId12 } from "./ids.js";
import { arrayJson, groupJson, vlenUtf8 } from "./zarr-v3.js";

/** Name of the file in which geochunks keeps what a repository holds. */
export const STATE_FILE = "geochunks.json";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

interface StoredNode {
  id: string;
  path: string;
  userData: string;
  array?: {
    shape: { length: number; chunk: number }[];
    dimensionNames?: string[];
    manifests: { id: string; extents: [number, number][] }[];
  };
}

/** What a repository written by geochunks holds (the state file). */
export interface RepoState {
  granules: string[];
  createdAtMicros: string;
  snapshots: { id: string; parent?: string; flushedAtMicros: string; message: string }[];
  commits: { snapshot: string; atMicros: string }[];
  tip: string;
  nodes: StoredNode[];
  manifestFiles: { id: string; sizeBytes: number; chunkRefs: number }[];
  /** Virtual chunk containers by URL prefix. */
  containers: string[];
  /**
   * The version of each granule as committed ({@link granuleVersion}); repositories written
   * before it lack it, and their granules count as unchanged.
   */
  versions?: Record<string, string>;
}

/** A granule's version as the store knows it: where it is, its size and ETag or mtime. */
export function granuleVersion(g: Pick<GranuleRow, "url" | "size" | "etag" | "mtime">): string {
  return `${g.url} ${g.size} ${g.etag ?? ""} ${g.mtime ?? ""}`;
}

/**
 * Ids of the granules a commit must write: those the repository does not hold, and those it holds
 * in another version (re-indexed since: a changed file), whose groups the commit replaces.
 */
export function granulesToCommit(state: RepoState | undefined, granules: readonly GranuleRow[]): Set<string> {
  const known = new Set(state?.granules ?? []);
  const versions = state?.versions ?? {};
  return new Set(
    granules
      .filter((g) => {
        if (!known.has(g.granule_id)) return true;
        const was = versions[g.granule_id];
        return was !== undefined && was !== granuleVersion(g);
      })
      .map((g) => g.granule_id),
  );
}

/** The state of the repository in `dir`, or undefined when there is none. */
export async function readRepoState(dir: string): Promise<RepoState | undefined> {
  const text = await readFile(join(dir, STATE_FILE), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as RepoState);
}

/** The snapshot id (Crockford base 32) main points at in the repository in `dir`, or undefined when there is none. */
export async function icechunkTip(dir: string): Promise<string | undefined> {
  const state = await readRepoState(dir);
  return state === undefined ? undefined : crockford(unhex(state.tip));
}

async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

const micros = () => BigInt(Date.now()) * 1000n;

/** The URL prefix (folder) of a granule: its virtual chunk container. */
export function containerOf(url: string): string {
  return url.slice(0, url.lastIndexOf("/") + 1);
}

/** The object store of a container, as Icechunk's `ObjectStoreConfig` serialises it. */
function storeConfig(prefix: string): unknown {
  if (prefix.startsWith("http://") || prefix.startsWith("https://")) return { http: {} };
  if (prefix.startsWith("file://"))
    return { local_file_system: decodeURIComponent(new URL(prefix).pathname) };
  if (prefix.startsWith("s3://")) return { s3: {} };
  return { in_memory: null };
}

/** The repository config (a flexbuffer) declaring the virtual chunk containers. */
function configBytes(containers: readonly string[]): Uint8Array {
  const entries = Object.fromEntries(
    containers.map((prefix) => [prefix, { name: null, url_prefix: prefix, store: storeConfig(prefix) }]),
  );
  return flexbuffer({ virtual_chunk_containers: entries });
}

/** A chunk reference: the granule's ETag as checksum when it has one, else its modification time (s). */
function chunkRef(
  index: number[],
  target: VirtualTree["arrays"][number]["refs"] extends Map<string, infer T> ? T : never,
  granule: GranuleRow,
): IcechunkChunkRef {
  if ("data" in target) return { index, inline: target.data };
  const checksum =
    granule.etag !== null
      ? { etag: granule.etag }
      : granule.mtime !== null
        ? { lastModified: Math.floor(granule.mtime / 1000) }
        : {};
  return { index, location: target.url, offset: target.offset, length: target.size, ...checksum };
}

/** What one export commit added. */
export interface IcechunkCommit {
  snapshot: string;
  granules: string[];
  arrays: number;
  chunks: number;
  skipped: string[];
}

/**
 * Commits the granules of `tree` that the repository in `dir` does not hold yet (creating the
 * repository when missing). With nothing new, nothing is written and `snapshot` is the tip.
 */
export async function commitVirtualTree(dir: string, tree: VirtualTree): Promise<IcechunkCommit> {
  const state = (await readRepoState(dir)) ?? (await createRepository(dir));
  const known = new Set(state.granules);
  const wanted = granulesToCommit(state, tree.granules);
  const granules = tree.granules.filter((g) => wanted.has(g.granule_id));
  if (granules.length === 0)
    return { snapshot: crockford(unhex(state.tip)), granules: [], arrays: 0, chunks: 0, skipped: [] };
  const byId = new Map(granules.map((g) => [g.granule_id, g]));
  // A changed granule's group is replaced whole: its nodes leave this snapshot (earlier snapshots
  // keep them, with the references to its earlier version) and new ones are written below.
  const replaced = new Set(granules.filter((g) => known.has(g.granule_id)).map((g) => g.granule_id));
  const inReplaced = (path: string) => replaced.has(path.split("/")[1] ?? "");
  const deletedGroups = state.nodes.filter((n) => inReplaced(n.path) && !n.array).map((n) => unhex(n.id));
  const deletedArrays = state.nodes.filter((n) => inReplaced(n.path) && n.array).map((n) => unhex(n.id));
  const kept = state.nodes.filter((n) => !inReplaced(n.path));
  const nodes: IcechunkNode[] = kept.map((n) => ({
    id: unhex(n.id),
    path: n.path,
    userData: new Uint8Array(Buffer.from(n.userData, "base64")),
    array: n.array && {
      ...n.array,
      manifests: n.array.manifests.map((m) => ({ id: unhex(m.id), extents: m.extents })),
    },
  }));
  const manifestId = newId12();
  const manifest: IcechunkArrayManifest[] = [];
  const skipped: string[] = [];
  const text = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const newGroups: Uint8Array[] = [];
  const newArrays: Uint8Array[] = [];
  for (const g of tree.groups) {
    const granuleId = g.path.split("/")[0]!;
    if (!byId.has(granuleId)) continue;
    const id = newId8();
    newGroups.push(id);
    nodes.push({ id, path: `/${g.path}`, userData: text(groupJson(g)) });
  }
  let chunks = 0;
  for (const a of tree.arrays) {
    const granule = byId.get(a.granule_id);
    if (!granule) continue;
    const json = arrayJson(a);
    if (typeof json === "string") {
      skipped.push(`${a.granule_id}: ${json}`);
      continue;
    }
    const id = newId8();
    const grid = a.shape.map((n, i) => Math.ceil(n / a.chunks[i]!));
    const width = a.dtype.startsWith("|S") ? Number(a.dtype.slice(2)) : 0;
    const refs = [...a.refs].map(([key, target]) =>
      chunkRef(
        a.shape.length === 0 ? [] : key.split(".").map(Number),
        width > 0 && "data" in target ? { data: vlenUtf8(target.data, width) } : target,
        granule,
      ),
    );
    refs.sort((x, y) => {
      for (let i = 0; i < x.index.length; i++)
        if (x.index[i] !== y.index[i]) return x.index[i]! - y.index[i]!;
      return 0;
    });
    chunks += refs.length;
    newArrays.push(id);
    if (refs.length > 0) manifest.push({ nodeId: id, refs });
    nodes.push({
      id,
      path: `/${a.path}`,
      userData: text(json),
      array: {
        shape: a.shape.map((length, i) => ({ length, chunk: a.chunks[i]! })),
        dimensionNames: Array.isArray(a.attrs._ARRAY_DIMENSIONS)
          ? (a.attrs._ARRAY_DIMENSIONS as string[])
          : undefined,
        manifests:
          refs.length > 0 ? [{ id: manifestId, extents: grid.map((n) => [0, n] as [number, number]) }] : [],
      },
    });
  }
  manifest.sort((x, y) => compareIds(x.nodeId, y.nodeId));
  const manifestFile = withHeader(FILE_TYPE.manifest, manifestPayload(manifestId, manifest));
  await mkdir(join(dir, "manifests"), { recursive: true });
  await writeFileAtomic(join(dir, "manifests", crockford(manifestId)), manifestFile);
  // Manifests still referenced by a kept node (a replaced granule's may no longer be).
  const used = new Set(kept.flatMap((n) => n.array?.manifests.map((m) => m.id) ?? []));
  const manifestFiles: IcechunkManifestFile[] = [
    ...state.manifestFiles
      .filter((f) => used.has(f.id))
      .map((f) => ({ id: unhex(f.id), sizeBytes: f.sizeBytes, chunkRefs: f.chunkRefs })),
    { id: manifestId, sizeBytes: manifestFile.length, chunkRefs: chunks },
  ].sort((x, y) => compareIds(x.id, y.id));
  nodes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const snapshotId = newId12();
  const at = micros();
  const ids = granules.map((g) => g.granule_id);
  const message = commitMessage(
    ids.filter((id) => !replaced.has(id)),
    ids.filter((id) => replaced.has(id)),
  );
  const snapshot: RepoSnapshot = { id: snapshotId, parent: unhex(state.tip), flushedAtMicros: at, message };
  await writeFileAtomic(
    join(dir, "snapshots", crockford(snapshotId)),
    withHeader(FILE_TYPE.snapshot, snapshotPayload({ ...snapshot, nodes, manifestFiles })),
  );
  const log = transactionLogPayload({
    id: snapshotId,
    newGroups,
    newArrays,
    deletedGroups,
    deletedArrays,
    chunks: manifest.map((m) => ({ nodeId: m.nodeId, indices: m.refs.map((r) => r.index) })),
  });
  await writeFileAtomic(
    join(dir, "transactions", crockford(snapshotId)),
    withHeader(FILE_TYPE.transactionLog, log),
  );
  const containers = [...new Set([...state.containers, ...granules.map((g) => containerOf(g.url))])].sort();
  const next: RepoState = {
    ...state,
    granules: [...state.granules, ...ids.filter((id) => !replaced.has(id))],
    versions: {
      ...state.versions,
      ...Object.fromEntries(granules.map((g) => [g.granule_id, granuleVersion(g)])),
    },
    snapshots: [
      ...state.snapshots,
      { id: hex(snapshotId), parent: state.tip, flushedAtMicros: String(at), message },
    ],
    commits: [...state.commits, { snapshot: hex(snapshotId), atMicros: String(at) }],
    tip: hex(snapshotId),
    nodes: nodes.map((n) => ({
      id: hex(n.id),
      path: n.path,
      userData: Buffer.from(n.userData).toString("base64"),
      array: n.array && {
        ...n.array,
        manifests: n.array.manifests.map((m) => ({ id: hex(m.id), extents: m.extents })),
      },
    })),
    manifestFiles: manifestFiles.map((f) => ({
      id: hex(f.id),
      sizeBytes: f.sizeBytes,
      chunkRefs: f.chunkRefs,
    })),
    containers,
  };
  await writeRepoInfo(dir, next);
  await writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(next));
  return { snapshot: crockford(snapshotId), granules: ids, arrays: nodes.length, chunks, skipped };
}

/** "geochunks export: added 2 granules (A, B); replaced 1 changed granule (C)". */
function commitMessage(added: readonly string[], replaced: readonly string[]): string {
  const part = (verb: string, ids: readonly string[]) =>
    `${verb} ${ids.length} ${verb === "added" ? "" : "changed "}granule${ids.length === 1 ? "" : "s"} (${ids.join(", ")})`;
  const parts = [
    ...(added.length > 0 ? [part("added", added)] : []),
    ...(replaced.length > 0 ? [part("replaced", replaced)] : []),
  ];
  return `geochunks export: ${parts.join("; ")}`;
}

async function writeRepoInfo(dir: string, state: RepoState): Promise<void> {
  const payload = repoInfoPayload({
    snapshots: state.snapshots.map((s) => ({
      id: unhex(s.id),
      parent: s.parent ? unhex(s.parent) : undefined,
      flushedAtMicros: BigInt(s.flushedAtMicros),
      message: s.message,
    })),
    mainTip: unhex(state.tip),
    commits: state.commits.map((c) => ({ snapshot: unhex(c.snapshot), atMicros: BigInt(c.atMicros) })),
    createdAtMicros: BigInt(state.createdAtMicros),
    config: configBytes(state.containers),
  });
  await writeFileAtomic(join(dir, "repo"), withHeader(FILE_TYPE.repoInfo, payload));
}

/** Creates the folders and the initial snapshot ("Repository initialized") of a new repository. */
async function createRepository(dir: string): Promise<RepoState> {
  for (const sub of ["snapshots", "manifests", "transactions", "chunks"])
    await mkdir(join(dir, sub), { recursive: true });
  const at = micros();
  const message = "Repository initialized";
  const root: IcechunkNode = {
    id: newId8(),
    path: "/",
    userData: new TextEncoder().encode(
      JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} }),
    ),
  };
  await writeFileAtomic(
    join(dir, "snapshots", crockford(INITIAL_SNAPSHOT_ID)),
    withHeader(
      FILE_TYPE.snapshot,
      snapshotPayload({
        id: INITIAL_SNAPSHOT_ID,
        nodes: [],
        flushedAtMicros: at,
        message,
        manifestFiles: [],
      }),
    ),
  );
  const log = transactionLogPayload({ id: INITIAL_SNAPSHOT_ID, newGroups: [], newArrays: [], chunks: [] });
  await writeFileAtomic(
    join(dir, "transactions", crockford(INITIAL_SNAPSHOT_ID)),
    withHeader(FILE_TYPE.transactionLog, log),
  );
  return {
    granules: [],
    createdAtMicros: String(at),
    snapshots: [{ id: hex(INITIAL_SNAPSHOT_ID), flushedAtMicros: String(at), message }],
    commits: [],
    tip: hex(INITIAL_SNAPSHOT_ID),
    nodes: [{ id: hex(root.id), path: "/", userData: Buffer.from(root.userData).toString("base64") }],
    manifestFiles: [],
    containers: [],
  };
}
