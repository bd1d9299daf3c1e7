/**
 * The DMR++ parser as it was before the single-pass reader (a generic XML tree, then a walk over
 * it), kept only as an oracle: the tests parse the same documents with both and compare the
 * documents, or the error lines, exactly. Not to be changed with the product's parser.
 */
import { InvalidHdf5Error } from "../../src/errors.js";
import type { Datatype } from "../../src/hdf5/datatype.js";
import type { DmrppDataset, DmrppDocument } from "../../src/hdf5/dmrpp/index.js";
import type { AttrValue, ChunkRef, DatasetInfo, FilterInfo } from "../../src/hdf5/types.js";

/**
 * A document as exact text: maps and objects in their order, -0, NaN, bigints, bytes and
 * undefined spelled out, so two documents are equal only if every value and every order is.
 */
export function exactly(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return { map: [...v.entries()] };
    if (v instanceof Uint8Array) return { bytes: [...v] };
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "number" && !Number.isFinite(v)) return `${v}`;
    if (Object.is(v, -0)) return "-0";
    if (v === undefined) return "undefined";
    return v;
  });
}

/** One element: its qualified name, attributes, child elements and concatenated text. */
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Deepest element nesting accepted; DMR++ nests groups a few levels deep. */
const MAX_DEPTH = 256;

/**
 * Parses an XML document into its root element.
 * @throws InvalidHdf5Error (named `what`) when the text is not well-formed: an unclosed or
 *   mismatched tag, a truncated document, or no root element.
 */
function parseXml(text: string, what: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const fail = (why: string): never => {
    throw new InvalidHdf5Error(`${what}: not well-formed XML (${why} at character ${i})`);
  };
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const end = lt < 0 ? text.length : lt;
    const open = stack.at(-1);
    // Text between child elements is layout (DMR++ has no mixed content): only leaves keep theirs.
    if (end > i && open?.children.length === 0) open.text += decodeEntities(text.slice(i, end), fail);
    else if (end > i && !open && text.slice(i, end).trim() !== "") fail("text outside the root element");
    if (lt < 0) break;
    i = lt;
    if (text.startsWith("<!--", i)) i = skipPast(text, i, "-->", fail);
    else if (text.startsWith("<![CDATA[", i)) {
      const close = skipPast(text, i, "]]>", fail);
      if (stack.length === 0) fail("CDATA outside the root element");
      stack.at(-1)!.text += text.slice(i + 9, close - 3);
      i = close;
    } else if (text.startsWith("<?", i)) i = skipPast(text, i, "?>", fail);
    else if (text.startsWith("<!", i)) i = skipPast(text, i, ">", fail);
    else if (text.startsWith("</", i)) {
      const close = skipPast(text, i, ">", fail);
      const name = text.slice(i + 2, close - 1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> closes <${open?.name ?? "nothing"}>`);
      i = close;
    } else {
      const close = tagEnd(text, i, fail);
      const selfClosing = text[close - 2] === "/";
      const element = parseTag(text.slice(i + 1, close - (selfClosing ? 2 : 1)), fail);
      if (stack.length > 0) stack.at(-1)!.children.push(element);
      else if (root) fail("a second root element");
      else root = element;
      if (!selfClosing) stack.push(element);
      if (stack.length > MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`);
      i = close;
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is never closed`);
  return root ?? fail("no root element");
}

/** Index just past the next `marker` after `from`. */
function skipPast(text: string, from: number, marker: string, fail: (why: string) => never): number {
  const at = text.indexOf(marker, from);
  return at < 0 ? fail(`unterminated ${text.slice(from, from + 4)}`) : at + marker.length;
}

/** Index just past the `>` that ends the tag at `from`, skipping `>` inside quoted values. */
function tagEnd(text: string, from: number, fail: (why: string) => never): number {
  let quote = "";
  for (let j = from + 1; j < text.length; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return j + 1;
    else if (c === "<") fail("'<' inside a tag");
  }
  return fail("unterminated tag");
}

const ATTRIBUTE = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function parseTag(body: string, fail: (why: string) => never): XmlElement {
  const name = /^[^\s/>]+/.exec(body)?.[0] ?? fail("a tag without a name");
  const attrs: Record<string, string> = {};
  const rest = body.slice(name.length);
  let seen = 0;
  for (const m of rest.matchAll(ATTRIBUTE)) {
    if (rest.slice(seen, m.index).trim() !== "") fail(`stray text in <${name}>`);
    attrs[m[1]!] = decodeEntities(m[2] ?? m[3] ?? "", fail);
    seen = m.index + m[0].length;
  }
  if (rest.slice(seen).trim() !== "") fail(`stray text in <${name}>`);
  return { name, attrs, children: [], text: "" };
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, fail: (why: string) => never): string {
  if (!s.includes("&")) return s;
  return s.replace(/&([^;\s&]{1,10});/g, (all, ref: string) => {
    if (ref.startsWith("#x") || ref.startsWith("#X"))
      return codePoint(Number.parseInt(ref.slice(2), 16), all, fail);
    if (ref.startsWith("#")) return codePoint(Number.parseInt(ref.slice(1), 10), all, fail);
    return NAMED[ref] ?? fail(`unknown entity ${all}`);
  });
}

function codePoint(n: number, all: string, fail: (why: string) => never): string {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff
    ? String.fromCodePoint(n)
    : fail(`bad reference ${all}`);
}

/** DAP4 atomic types -> numpy-style kind and size (the byte order comes from `dmrpp:chunks`). */
const ATOMIC: Record<string, { kind: "i" | "u" | "f"; size: number }> = {
  Byte: { kind: "u", size: 1 },
  Char: { kind: "u", size: 1 },
  UInt8: { kind: "u", size: 1 },
  Int8: { kind: "i", size: 1 },
  Int16: { kind: "i", size: 2 },
  UInt16: { kind: "u", size: 2 },
  Int32: { kind: "i", size: 4 },
  UInt32: { kind: "u", size: 4 },
  Int64: { kind: "i", size: 8 },
  UInt64: { kind: "u", size: 8 },
  Float32: { kind: "f", size: 4 },
  Float64: { kind: "f", size: 8 },
};

/**
 * DAP attribute types that carry no HDF5 attribute value: containers (builder metadata) and `null`
 * (an attribute the builder could not represent, such as a `DIMENSION_LIST` of references).
 */
const SKIPPED_ATTRIBUTE_TYPES = new Set(["Container", "null"]);

/** Attributes of a group or variable, except those of {@link SKIPPED_ATTRIBUTE_TYPES}. */
function attributesOf(e: XmlElement): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of e.children) {
    if (local(a.name) !== "Attribute" || a.attrs.name === undefined) continue;
    if (SKIPPED_ATTRIBUTE_TYPES.has(a.attrs.type ?? "")) continue;
    const texts = a.children.filter((c) => local(c.name) === "Value").map((c) => c.attrs.value ?? c.text);
    const values = texts.map((t) => attributeValue(t, a.attrs.type ?? "String"));
    // DAP4 does not tell a scalar from a one-element array: one value is taken as a scalar.
    out[a.attrs.name] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

function attributeValue(text: string, type: string): AttrValue {
  const atomic = ATOMIC[type];
  if (!atomic) return text;
  if (atomic.kind === "f") {
    const x = floatOf(text);
    return atomic.size === 4 ? Math.fround(x) : x;
  }
  return integerValue(text.trim(), atomic.size);
}

/** The fill value as the reader reports it, and as the element's bytes. */
function fillOf(
  text: string,
  type: Datatype,
): { value: DatasetInfo["fillValue"]; bytes: Uint8Array } | undefined {
  const bytes = new Uint8Array(type.size);
  const view = new DataView(bytes.buffer);
  const le = type.littleEndian;
  if (type.typeClass === 3) {
    const s = text === "unsupported-string" ? "" : text;
    bytes.set(new TextEncoder().encode(s).subarray(0, type.size));
    return { value: s, bytes };
  }
  if (type.typeClass === 1) {
    const x = floatOf(text);
    if (type.size === 4) view.setFloat32(0, x, le);
    else view.setFloat64(0, x, le);
    return { value: type.size === 4 ? Math.fround(x) : x, bytes };
  }
  if (type.typeClass !== 0) return undefined;
  const value = integerValue(text.trim(), type.size);
  const big = BigInt(value);
  if (type.size === 8) view.setBigUint64(0, BigInt.asUintN(64, big), le);
  else if (type.size === 4) view.setUint32(0, Number(BigInt.asUintN(32, big)), le);
  else if (type.size === 2) view.setUint16(0, Number(BigInt.asUintN(16, big)), le);
  else view.setUint8(0, Number(BigInt.asUintN(8, big)));
  return { value, bytes };
}

/** Decimal text of a float, including the spellings builders write for non-finite values. */
function floatOf(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^[+-]?nan/.test(t)) return Number.NaN;
  if (/^[+-]?inf/.test(t)) return t.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return Number(t);
}

/** An integer as the reader gives it: a number, or a bigint for 64-bit values beyond 2^53. */
function integerValue(text: string, size: number): number | bigint {
  if (size < 8) return Number(text);
  const big = BigInt(text);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/** Name without its namespace prefix (`dmrpp:chunks` -> `chunks`). */
function local(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
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
export function parseDmrppReference(text: string, what: string): DmrppDocument {
  const root = parseXml(text, what);
  if (local(root.name) !== "Dataset") {
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
    if (local(child.name) === "Dimension") {
      ctx.dims.set(
        `${path}/${child.attrs.name}`,
        integer(child.attrs.size, `${path}/${child.attrs.name}`, ctx),
      );
    }
  }
  for (const child of group.children) {
    const kind = local(child.name);
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
  const shape = v.children
    .filter((c) => local(c.name) === "Dim")
    .map((d) => dimSize(d, where.group, ctx, path));
  const chunks = v.children.find((c) => local(c.name) === "chunks");
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
  const elements = chunks?.children.filter((c) => local(c.name) === "chunk") ?? [];
  const refs = elements.map((c) => chunkRef(c, shape.length, ctx, path)).sort(byCoords);
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
  const kind = local(v.name);
  const littleEndian = chunks?.attrs.byteOrder !== "BE";
  const atomic = ATOMIC[kind];
  const base = { littleEndian, signed: false, stringPad: 0 };
  if (atomic) {
    const order = atomic.size === 1 ? "|" : littleEndian ? "<" : ">";
    return {
      ...base,
      typeClass: atomic.kind === "f" ? 1 : 0,
      size: atomic.size,
      dtype: `${order}${atomic.kind}${atomic.size}`,
      signed: atomic.kind !== "u",
    };
  }
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
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidHdf5Error(`${ctx.what}: ${path} has a bad size or offset ${JSON.stringify(text)}`);
  }
  return n;
}

/** `[0,10000]` (files in the wild) or `0 10000` (the newer schema) -> numbers. */
function numbers(text: string, path: string, ctx: WalkContext): number[] {
  return text
    .replace(/[[\]]/g, " ")
    .split(/[\s,]+/)
    .filter((s) => s !== "")
    .map((s) => integer(s, path, ctx));
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
  return e.children.find((c) => local(c.name) === name);
}

function byCoords(a: ChunkRef, b: ChunkRef): number {
  for (let d = 0; d < a.coords.length; d++)
    if (a.coords[d] !== b.coords[d]) return a.coords[d]! - b.coords[d]!;
  return 0;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
