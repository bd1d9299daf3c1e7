/**
 * DMR++ (OPeNDAP's XML description of an HDF5 file: the DAP4 DMR plus `dmrpp:chunks`) -> the same
 * plain descriptions the HDF5 reader gives: dataset metadata, chunk refs, attributes, groups.
 */
import { InvalidHdf5Error } from "../../errors.js";
import type { Datatype } from "../datatype.js";
import type { AttrValue, ChunkRef, DatasetInfo, FilterInfo } from "../types.js";
import { ATOMIC, attributesOf, fillOf, local } from "./values.js";
import { parseXml, type XmlElement } from "./xml.js";

/** One dataset as a DMR++ document describes it. */
export interface DmrppDataset {
  info: DatasetInfo;
  /** The datatype the reader decodes with (numbers and fixed-length strings; `other:` types are not decoded). */
  datatype: Datatype;
  /** Stored chunks sorted by coordinates (one ref for contiguous data; none for compact data). */
  refs: ChunkRef[];
  /** Inline data of compact datasets (`dmrpp:compact`), raw element bytes. */
  compact?: Uint8Array;
  /** Fill bytes of one element; undefined when the document gives no fill value. */
  fill?: Uint8Array;
  /** Per-chunk data URLs (`href` on a chunk) other than the described file: such data lives elsewhere. */
  foreignData: boolean;
}

/** A parsed DMR++ document. */
export interface DmrppDocument {
  /** The file name the document describes (`name` of `<Dataset>`). */
  name: string;
  /** `dmrpp:href`, the data URL, unless it is the `OPeNDAP_DMRpp_DATA_ACCESS_URL` template; else undefined. */
  href: string | undefined;
  /** Builder version (`dmrpp:version`), when recorded. */
  version: string | undefined;
  /** Attributes of every group by path (`/` is the root). */
  groups: Map<string, Record<string, AttrValue>>;
  /** Member names (groups and datasets) of every group by path, sorted. */
  members: Map<string, string[]>;
  /** Every dataset by absolute path. */
  datasets: Map<string, DmrppDataset>;
}

/** DAP4 variable element names that are not atomic: described, never decoded here. */
const OTHER_VARIABLES = new Set(["String", "URL", "Structure", "Sequence", "Opaque", "Enum"]);

/** String padding of `dmrpp:FixedLengthStringArray pad=` -> HDF5's code (0 null-terminated, 1 null-padded, 2 space-padded). */
const STRING_PAD: Record<string, number> = { null_term: 0, null_pad: 1, space_pad: 2 };

/** The data URL placeholder that DMR++ builders write when the document is published beside the data. */
const HREF_TEMPLATE = "OPeNDAP_DMRpp_DATA_ACCESS_URL";

/**
 * Parses a DMR++ document.
 * @param what names the document in error messages (its URL).
 * @throws InvalidHdf5Error when the XML is not well-formed, the root is not a DAP4 `<Dataset>`, or a
 *   variable's dimensions, chunk positions or sizes cannot be read.
 */
export function parseDmrpp(text: string, what: string): DmrppDocument {
  const root = parseXml(text, what);
  if (root.local !== "Dataset") {
    throw new InvalidHdf5Error(`${what}: not a DMR++ document (root element <${root.name}>)`);
  }
  const href = attr(root, "href");
  const doc: DmrppDocument = {
    name: root.attrs.name ?? "",
    href: href === undefined || href.includes(HREF_TEMPLATE) ? undefined : href,
    version: attr(root, "version"),
    groups: new Map(),
    members: new Map(),
    datasets: new Map(),
  };
  walkGroup(root, "", { doc, what, dims: new Map() });
  for (const names of doc.members.values()) names.sort(byName);
  return doc;
}

interface WalkContext {
  doc: DmrppDocument;
  what: string;
  /** Declared dimension sizes by absolute path (`/gt1l/land_ice_segments/delta_time`). */
  dims: Map<string, number>;
}

function walkGroup(group: XmlElement, path: string, ctx: WalkContext): void {
  const names: string[] = [];
  ctx.doc.members.set(path || "/", names);
  ctx.doc.groups.set(path || "/", attributesOf(group));
  for (const child of group.children) {
    if (child.local === "Dimension") {
      ctx.dims.set(
        `${path}/${child.attrs.name}`,
        integer(child.attrs.size, `${path}/${child.attrs.name}`, ctx),
      );
    }
  }
  for (const child of group.children) {
    const kind = child.local;
    const name = child.attrs.name;
    if (name === undefined) continue;
    if (kind === "Group") {
      names.push(name);
      walkGroup(child, `${path}/${name}`, ctx);
    } else if (kind in ATOMIC || OTHER_VARIABLES.has(kind)) {
      names.push(name);
      const at = `${path}/${name}`;
      ctx.doc.datasets.set(at, parseVariable(child, { path: at, group: path }, ctx));
    }
  }
}

function parseVariable(
  v: XmlElement,
  where: { path: string; group: string },
  ctx: WalkContext,
): DmrppDataset {
  const { path } = where;
  const shape = v.children.filter((c) => c.local === "Dim").map((d) => dimSize(d, where.group, ctx, path));
  const chunks = child(v, "chunks");
  const datatype = datatypeOf(v, chunks);
  const chunkShape = chunks && child(chunks, "chunkDimensionSizes");
  const compact = child(v, "compact");
  const layout = compact ? "compact" : chunkShape ? "chunked" : "contiguous";
  const filters = chunks ? filtersOf(chunks, datatype.size) : [];
  const fill = chunks?.attrs.fillValue === undefined ? undefined : fillOf(chunks.attrs.fillValue, datatype);
  const info: DatasetInfo = {
    path,
    dtype: datatype.dtype,
    shape,
    // DMR++ records no maximum sizes; the current ones stand in for them.
    maxshape: [...shape],
    layout,
    chunkShape: chunkShape ? numbers(chunkShape.text, path, ctx) : null,
    filters,
    fillValue: fill?.value ?? null,
    attrs: attributesOf(v),
  };
  if (info.chunkShape && info.chunkShape.length !== shape.length) {
    throw new InvalidHdf5Error(
      `${ctx.what}: ${path} has ${shape.length} dimensions but chunks of [${info.chunkShape}]`,
    );
  }
  const elements = chunks?.children.filter((c) => c.local === "chunk") ?? [];
  const refs = elements.map((c) => chunkRef(c, shape.length, ctx, path));
  // Builders write chunks in order; the (stable) sort is for documents that do not.
  if (!isSorted(refs)) refs.sort(byCoords);
  return {
    info,
    datatype,
    refs,
    compact: compact ? base64(compact.text) : undefined,
    fill: fill?.bytes,
    foreignData: elements.some((c) => c.attrs.href !== undefined && !c.attrs.href.includes(HREF_TEMPLATE)),
  };
}

function dimSize(d: XmlElement, group: string, ctx: WalkContext, path: string): number {
  if (d.attrs.size !== undefined) return integer(d.attrs.size, path, ctx);
  const name = d.attrs.name ?? "";
  // Absolute names are looked up as they are; relative ones from the variable's group outwards.
  const candidates = name.startsWith("/")
    ? [name]
    : group.split("/").map((_, i, parts) => `${parts.slice(0, parts.length - i).join("/")}/${name}`);
  for (const at of candidates) {
    const size = ctx.dims.get(at);
    if (size !== undefined) return size;
  }
  throw new InvalidHdf5Error(`${ctx.what}: ${path} uses dimension ${name}, which is not declared`);
}

function datatypeOf(v: XmlElement, chunks: XmlElement | undefined): Datatype {
  const kind = v.local;
  const littleEndian = chunks?.attrs.byteOrder !== "BE";
  const atomic = ATOMIC[kind];
  if (atomic) {
    const order = atomic.size === 1 ? "|" : littleEndian ? "<" : ">";
    return {
      littleEndian,
      signed: atomic.kind !== "u",
      stringPad: 0,
      typeClass: atomic.kind === "f" ? 1 : 0,
      size: atomic.size,
      dtype: `${order}${atomic.kind}${atomic.size}`,
    };
  }
  const base = { littleEndian, signed: false, stringPad: 0 };
  const fixed = child(v, "FixedLengthStringArray");
  if (kind === "String" && fixed) {
    const size = Number(fixed.attrs.string_length);
    return {
      ...base,
      typeClass: 3,
      size,
      dtype: `|S${size}`,
      stringPad: STRING_PAD[fixed.attrs.pad ?? ""] ?? 0,
    };
  }
  // Variable-length strings and compound types: described, decoded by the HDF5 reader if at all.
  return {
    ...base,
    typeClass: -1,
    size: 0,
    dtype: kind === "String" ? "other:vlen" : `other:${kind.toLowerCase()}`,
  };
}

/**
 * `compressionType` (filters in pipeline order) -> the filter pipeline as the HDF5 library writes
 * it: deflate and shuffle optional (flags 1), fletcher32 mandatory (flags 0). Deflate's level is
 * `deflateLevel` when recorded, else 6 (the level ICESat-2 and GEDI granules use).
 */
function filtersOf(chunks: XmlElement, itemSize: number): FilterInfo[] {
  const names = (chunks.attrs.compressionType ?? "").split(/\s+/).filter((n) => n !== "");
  const level = Number(chunks.attrs.deflateLevel ?? DEFAULT_DEFLATE_LEVEL);
  return names.map((name) => {
    if (name === "deflate") return { id: 1, name, flags: 1, params: [level] };
    if (name === "shuffle") return { id: 2, name, flags: 1, params: [itemSize] };
    if (name === "fletcher32") return { id: 3, name, flags: 0, params: [] };
    // An unknown name still names the filter, so decoding fails naming it instead of misreading.
    return { id: -1, name, flags: 0, params: [] };
  });
}

/** Deflate level assumed when a document omits `deflateLevel` (older builders did). */
const DEFAULT_DEFLATE_LEVEL = 6;

function chunkRef(c: XmlElement, rank: number, ctx: WalkContext, path: string): ChunkRef {
  const position = c.attrs.chunkPositionInArray;
  const coords = position === undefined ? new Array<number>(rank).fill(0) : numbers(position, path, ctx);
  if (coords.length !== rank) {
    throw new InvalidHdf5Error(`${ctx.what}: ${path} has a chunk at [${coords}] in ${rank} dimensions`);
  }
  return {
    coords,
    offset: integer(c.attrs.offset, path, ctx),
    size: integer(c.attrs.nBytes, path, ctx),
    filterMask: c.attrs.fm === undefined ? 0 : integer(c.attrs.fm, path, ctx),
  };
}

function integer(text: string | undefined, path: string, ctx: WalkContext): number {
  const digits = text === undefined ? -1 : decimal(text, 0, text.length);
  if (digits >= 0) return digits;
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidHdf5Error(`${ctx.what}: ${path} has a bad size or offset ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * `[0,10000]` (files in the wild) or `0 10000` (the newer schema) -> numbers: the text split at
 * brackets, commas and whitespace, each piece read by {@link integer}.
 */
function numbers(text: string, path: string, ctx: WalkContext): number[] {
  const out: number[] = [];
  let start = 0;
  for (let j = 0; j <= text.length; j++) {
    const c = j < text.length ? text.charCodeAt(j) : SPACE;
    if (
      !(
        c === SPACE ||
        c === COMMA ||
        c === OPEN ||
        c === CLOSE ||
        (c > 0x7e ? /\s/.test(text[j]!) : c <= SPACE && isSpace(c))
      )
    )
      continue;
    if (j > start) {
      const digits = decimal(text, start, j);
      out.push(digits >= 0 ? digits : integer(text.slice(start, j), path, ctx));
    }
    start = j + 1;
  }
  return out;
}

const SPACE = 0x20;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** ASCII whitespace of the `\s` class: tab, line feed, vertical tab, form feed, carriage return. */
function isSpace(c: number): boolean {
  return c >= 0x09 && c <= 0x0d;
}

/**
 * `text[start, end)` as a number when it is 1 to 15 ASCII digits (always a safe integer), else -1:
 * the common case of {@link integer}, without a string for the piece.
 */
function decimal(text: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let j = start; j < end; j++) {
    const d = text.charCodeAt(j) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function base64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "base64"));
}

/** An attribute by local name, whatever its prefix (`dmrpp:href`, `href`). */
function attr(e: XmlElement, name: string): string | undefined {
  for (const [key, value] of Object.entries(e.attrs)) if (local(key) === name) return value;
  return undefined;
}

function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.local === name);
}

function isSorted(refs: ChunkRef[]): boolean {
  for (let k = 1; k < refs.length; k++) if (byCoords(refs[k - 1]!, refs[k]!) > 0) return false;
  return true;
}

function byCoords(a: ChunkRef, b: ChunkRef): number {
  for (let d = 0; d < a.coords.length; d++)
    if (a.coords[d] !== b.coords[d]) return a.coords[d]! - b.coords[d]!;
  return 0;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
