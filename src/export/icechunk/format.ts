/**
 * Icechunk spec version 2 files written with the flatbuffers runtime: the binary header, and the
 * repo info, snapshot and manifest tables (field slots in the declaration order of the spec's
 * repo.fbs, snapshot.fbs and manifest.fbs). Readers accept only zstd payloads and Node 20 has no
 * zstd encoder, so payloads are zstd frames of raw (stored) blocks: valid zstd, not compressed.
 */
import { Builder, type Offset } from "flatbuffers";
import { encode } from "flatbuffers/mjs/flexbuffers.js";

/** A value as a flexbuffer, the encoding of the repo info's `config` field (serde's flexbuffers). */
export function flexbuffer(value: unknown): Uint8Array {
  return encode(value);
}

/** Spec version written. */
export const SPEC_VERSION = 2;

/** File types of the header. */
export const FILE_TYPE = { snapshot: 1, manifest: 2, transactionLog: 4, repoInfo: 6 } as const;

const MAGIC = new TextEncoder().encode("ICE🧊CHUNK");
const IMPLEMENTATION = "geochunks".padEnd(24, " ");

/** Largest zstd block, bytes (RFC 8878: Block_Maximum_Size is at most 128 KiB). */
const ZSTD_MAX_BLOCK = 128 * 1024;

/**
 * A zstd frame (RFC 8878) holding `data` in raw blocks: magic, a single-segment frame header with
 * an 8-byte content size, then blocks of at most 128 KiB, each with a 3-byte header
 * (last-block bit, block type 0 = raw, size).
 */
export function zstdStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / ZSTD_MAX_BLOCK));
  const out = new Uint8Array(4 + 1 + 8 + blocks * 3 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xfd2fb528, true);
  out[4] = 0xe0; // Frame_Content_Size_flag 3 (8 bytes), Single_Segment_flag 1
  view.setBigUint64(5, BigInt(data.length), true);
  let at = 13;
  for (let i = 0; i < blocks; i++) {
    const part = data.subarray(i * ZSTD_MAX_BLOCK, (i + 1) * ZSTD_MAX_BLOCK);
    const header = (part.length << 3) | (i === blocks - 1 ? 1 : 0);
    out[at] = header & 0xff;
    out[at + 1] = (header >>> 8) & 0xff;
    out[at + 2] = (header >>> 16) & 0xff;
    out.set(part, at + 3);
    at += 3 + part.length;
  }
  return out;
}

/** A metadata file: header (magic, implementation, spec version, file type, compression 1 = zstd) and payload. */
export function withHeader(fileType: number, payload: Uint8Array): Uint8Array {
  const frame = zstdStored(payload);
  const out = new Uint8Array(MAGIC.length + 24 + 3 + frame.length);
  out.set(MAGIC, 0);
  out.set(new TextEncoder().encode(IMPLEMENTATION), MAGIC.length);
  out.set([SPEC_VERSION, fileType, 1], MAGIC.length + 24);
  out.set(frame, MAGIC.length + 27);
  return out;
}

/** Writes a fixed-size byte struct (ObjectId12, ObjectId8) inline; returns its offset for addFieldStruct. */
function idStruct(b: Builder, bytes: Uint8Array): Offset {
  b.prep(1, bytes.length);
  for (let i = bytes.length - 1; i >= 0; i--) b.writeInt8(bytes[i]!);
  return b.offset();
}

function tables(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function uint32s(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function finish(b: Builder, root: Offset): Uint8Array {
  b.finish(root, "Ichk");
  return b.asUint8Array().slice();
}

/** A chunk reference: virtual (location, offset, length, checksum) or inline bytes. */
export type IcechunkChunkRef =
  | {
      index: number[];
      location: string;
      offset: number;
      length: number;
      etag?: string;
      lastModified?: number;
    }
  | { index: number[]; inline: Uint8Array };

/** The chunk references of one array node, sorted by index. */
export interface IcechunkArrayManifest {
  nodeId: Uint8Array;
  refs: IcechunkChunkRef[];
}

/** A manifest file's payload (arrays sorted by node id). */
export function manifestPayload(id: Uint8Array, arrays: readonly IcechunkArrayManifest[]): Uint8Array {
  const b = new Builder(1 << 16);
  const arrayOffsets = arrays.map((a) => {
    const refs = a.refs.map((r) => {
      const index = uint32s(b, r.index);
      if ("inline" in r) {
        const inline = b.createByteVector(r.inline);
        b.startObject(10);
        b.addFieldOffset(0, index, 0);
        b.addFieldOffset(1, inline, 0);
        return b.endObject();
      }
      const location = b.createSharedString(r.location);
      const etag = r.etag === undefined ? 0 : b.createString(r.etag);
      b.startObject(10);
      b.addFieldOffset(0, index, 0);
      b.addFieldInt64(2, BigInt(r.offset), 0n);
      b.addFieldInt64(3, BigInt(r.length), 0n);
      b.addFieldOffset(5, location, 0);
      if (etag) b.addFieldOffset(6, etag, 0);
      if (r.lastModified !== undefined) b.addFieldInt32(7, r.lastModified, 0);
      return b.endObject();
    });
    const refVector = tables(b, refs);
    b.startObject(3);
    b.addFieldStruct(0, idStruct(b, a.nodeId), 0);
    b.addFieldOffset(1, refVector, 0);
    return b.endObject();
  });
  const arraysVector = tables(b, arrayOffsets);
  b.startObject(5);
  b.addFieldStruct(0, idStruct(b, id), 0);
  b.addFieldOffset(1, arraysVector, 0);
  // 0: locations are plain strings (the default, 1, means zstd-dictionary-compressed ones).
  b.addFieldInt8(3, 0, 1);
  return finish(b, b.endObject());
}

/** A node of a snapshot: a group or an array with its shape, dimension names and manifests. */
export interface IcechunkNode {
  id: Uint8Array;
  /** Absolute path, "/" for the root. */
  path: string;
  /** The node's zarr.json. */
  userData: Uint8Array;
  array?: {
    shape: { length: number; chunk: number }[];
    dimensionNames?: string[];
    manifests: { id: Uint8Array; extents: [number, number][] }[];
  };
}

/** A manifest file as the snapshot lists it. */
export interface IcechunkManifestFile {
  id: Uint8Array;
  sizeBytes: number;
  chunkRefs: number;
}

function arrayNodeData(b: Builder, a: NonNullable<IcechunkNode["array"]>): Offset {
  const names = a.dimensionNames?.map((n) => {
    const s = b.createString(n);
    b.startObject(1);
    b.addFieldOffset(0, s, 0);
    return b.endObject();
  });
  const namesVector = names ? tables(b, names) : 0;
  const manifests = a.manifests.map((m) => {
    b.startVector(8, m.extents.length, 4);
    for (let i = m.extents.length - 1; i >= 0; i--) {
      b.prep(4, 8);
      b.writeInt32(m.extents[i]![1]);
      b.writeInt32(m.extents[i]![0]);
    }
    const extents = b.endVector();
    b.startObject(2);
    b.addFieldStruct(0, idStruct(b, m.id), 0);
    b.addFieldOffset(1, extents, 0);
    return b.endObject();
  });
  const manifestsVector = tables(b, manifests);
  b.startVector(16, a.shape.length, 8);
  for (let i = a.shape.length - 1; i >= 0; i--) {
    b.prep(8, 16);
    b.writeInt64(BigInt(a.shape[i]!.chunk));
    b.writeInt64(BigInt(a.shape[i]!.length));
  }
  const shape = b.endVector();
  b.startObject(4);
  b.addFieldOffset(0, shape, 0);
  if (namesVector) b.addFieldOffset(1, namesVector, 0);
  b.addFieldOffset(2, manifestsVector, 0);
  return b.endObject();
}

/** A snapshot file's payload (nodes sorted by path). */
export function snapshotPayload(s: {
  id: Uint8Array;
  parent?: Uint8Array;
  nodes: readonly IcechunkNode[];
  flushedAtMicros: bigint;
  message: string;
  manifestFiles: readonly IcechunkManifestFile[];
}): Uint8Array {
  const b = new Builder(1 << 16);
  const nodes = s.nodes.map((n) => {
    const path = b.createString(n.path);
    const userData = b.createByteVector(n.userData);
    let data: Offset;
    if (n.array) data = arrayNodeData(b, n.array);
    else {
      b.startObject(0);
      data = b.endObject();
    }
    b.startObject(6);
    b.addFieldStruct(0, idStruct(b, n.id), 0);
    b.addFieldOffset(1, path, 0);
    b.addFieldOffset(2, userData, 0);
    b.addFieldInt8(3, n.array ? 1 : 2, 0);
    b.addFieldOffset(4, data, 0);
    return b.endObject();
  });
  const nodesVector = tables(b, nodes);
  const message = b.createString(s.message);
  const metadata = tables(b, []);
  b.startVector(32, 0, 8);
  const filesV1 = b.endVector();
  const filesV2 = tables(
    b,
    s.manifestFiles.map((f) => {
      b.startObject(4);
      b.addFieldStruct(0, idStruct(b, f.id), 0);
      b.addFieldInt64(1, BigInt(f.sizeBytes), 0n);
      b.addFieldInt32(2, f.chunkRefs, 0);
      return b.endObject();
    }),
  );
  b.startObject(9);
  b.addFieldStruct(0, idStruct(b, s.id), 0);
  if (s.parent) b.addFieldStruct(1, idStruct(b, s.parent), 0);
  b.addFieldOffset(2, nodesVector, 0);
  b.addFieldInt64(3, s.flushedAtMicros, 0n);
  b.addFieldOffset(4, message, 0);
  b.addFieldOffset(5, metadata, 0);
  b.addFieldOffset(6, filesV1, 0);
  b.addFieldOffset(7, filesV2, 0);
  return finish(b, b.endObject());
}

/** One snapshot as the repo info lists it. */
export interface RepoSnapshot {
  id: Uint8Array;
  parent?: Uint8Array;
  flushedAtMicros: bigint;
  message: string;
}

/** UpdateType union members written. */
const UPDATE = { repoInitialized: 1, newCommit: 10 } as const;

/**
 * The repo info file's payload: branch `main` at `mainTip`, every snapshot (sorted by id, parents
 * as indexes), an ops log with the repository's creation and each commit (newest first), and the
 * repository config (a flexbuffer) naming the virtual chunk containers.
 */
export function repoInfoPayload(r: {
  snapshots: readonly RepoSnapshot[];
  mainTip: Uint8Array;
  commits: readonly { snapshot: Uint8Array; atMicros: bigint }[];
  createdAtMicros: bigint;
  config: Uint8Array;
}): Uint8Array {
  const key = (id: Uint8Array) => Buffer.from(id).toString("hex");
  const sorted = [...r.snapshots].sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
  const index = new Map(sorted.map((s, i) => [key(s.id), i]));
  const b = new Builder(1 << 14);
  const tags = tables(b, []);
  const main = b.createString("main");
  b.startObject(2);
  b.addFieldOffset(0, main, 0);
  b.addFieldInt32(1, index.get(key(r.mainTip))!, 0);
  const branches = tables(b, [b.endObject()]);
  const deletedTags = tables(b, []);
  const snapshots = tables(
    b,
    sorted.map((s) => {
      const message = b.createString(s.message);
      b.startObject(6);
      b.addFieldStruct(0, idStruct(b, s.id), 0);
      b.addFieldInt32(1, s.parent ? index.get(key(s.parent))! : -1, 0);
      b.addFieldInt64(2, s.flushedAtMicros, 0n);
      b.addFieldOffset(3, message, 0);
      return b.endObject();
    }),
  );
  b.startObject(3);
  b.addFieldInt64(1, r.createdAtMicros, 0n);
  const status = b.endObject();
  const updates = [...r.commits].reverse().map((c) => {
    const branch = b.createString("main");
    b.startObject(2);
    b.addFieldOffset(0, branch, 0);
    b.addFieldStruct(1, idStruct(b, c.snapshot), 0);
    const commit = b.endObject();
    b.startObject(4);
    b.addFieldInt8(0, UPDATE.newCommit, 0);
    b.addFieldOffset(1, commit, 0);
    b.addFieldInt64(2, c.atMicros, 0n);
    return b.endObject();
  });
  b.startObject(0);
  const initialized = b.endObject();
  b.startObject(4);
  b.addFieldInt8(0, UPDATE.repoInitialized, 0);
  b.addFieldOffset(1, initialized, 0);
  b.addFieldInt64(2, r.createdAtMicros, 0n);
  updates.push(b.endObject());
  const latest = tables(b, updates);
  const config = b.createByteVector(r.config);
  b.startObject(13);
  b.addFieldInt8(0, SPEC_VERSION, 0);
  b.addFieldOffset(1, tags, 0);
  b.addFieldOffset(2, branches, 0);
  b.addFieldOffset(3, deletedTags, 0);
  b.addFieldOffset(4, snapshots, 0);
  b.addFieldOffset(5, status, 0);
  b.addFieldOffset(7, latest, 0);
  b.addFieldOffset(9, config, 0);
  return finish(b, b.endObject());
}

function id8s(b: Builder, ids: readonly Uint8Array[]): Offset {
  b.startVector(8, ids.length, 1);
  for (let i = ids.length - 1; i >= 0; i--) for (let j = 7; j >= 0; j--) b.writeInt8(ids[i]![j]!);
  return b.endVector();
}

/**
 * A transaction log's payload (transaction_log.fbs): the groups and arrays a commit added and the
 * chunks it wrote per array (node ids sorted), nothing deleted, updated or moved.
 */
export function transactionLogPayload(t: {
  id: Uint8Array;
  newGroups: Uint8Array[];
  newArrays: Uint8Array[];
  /** Nodes of the parent snapshot this one no longer has (a replaced granule's). */
  deletedGroups?: Uint8Array[];
  deletedArrays?: Uint8Array[];
  chunks: { nodeId: Uint8Array; indices: number[][] }[];
}): Uint8Array {
  const sortIds = (ids: Uint8Array[]) =>
    [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const b = new Builder(1 << 14);
  const updated = [...t.chunks]
    .sort((x, y) => Buffer.compare(Buffer.from(x.nodeId), Buffer.from(y.nodeId)))
    .map((a) => {
      const indices = a.indices.map((coords) => {
        const v = uint32s(b, coords);
        b.startObject(1);
        b.addFieldOffset(0, v, 0);
        return b.endObject();
      });
      const chunks = tables(b, indices);
      b.startObject(2);
      b.addFieldStruct(0, idStruct(b, a.nodeId), 0);
      b.addFieldOffset(1, chunks, 0);
      return b.endObject();
    });
  const updatedChunks = tables(b, updated);
  const newGroups = id8s(b, sortIds(t.newGroups));
  const newArrays = id8s(b, sortIds(t.newArrays));
  // Fields 3-6: deleted groups, deleted arrays, updated arrays, updated groups.
  const lists = [
    id8s(b, sortIds(t.deletedGroups ?? [])),
    id8s(b, sortIds(t.deletedArrays ?? [])),
    id8s(b, []),
    id8s(b, []),
  ];
  b.startObject(10);
  b.addFieldStruct(0, idStruct(b, t.id), 0);
  b.addFieldOffset(1, newGroups, 0);
  b.addFieldOffset(2, newArrays, 0);
  for (const [i, v] of lists.entries()) b.addFieldOffset(3 + i, v, 0);
  b.addFieldOffset(7, updatedChunks, 0);
  return finish(b, b.endObject());
}
