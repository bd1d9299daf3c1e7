import { InvalidHdf5Error, UnsupportedHdf5Error } from "../errors.js";
import type { ReadOptions } from "../source/types.js";
import type { Attribute } from "./attribute.js";
import { parseAttributeMessage } from "./attribute.js";
import { cursorOf } from "./cursor.js";
import type { Dataspace } from "./dataspace.js";
import { parseDataspace } from "./dataspace.js";
import type { Datatype } from "./datatype.js";
import { parseDatatype } from "./datatype.js";
import { parseAttributeInfo, readDenseAttributes } from "./dense.js";
import { parseFillValue, parseFillValueOld } from "./fill-value.js";
import { parseFilterPipeline } from "./filter-pipeline.js";
import { readVlenValues } from "./global-heap.js";
import type { Layout } from "./layout.js";
import { parseLayout } from "./layout.js";
import type { HeaderMessage, ObjectHeader } from "./object-header.js";
import { MESSAGE_SHARED, MSG } from "./object-header.js";
import type { MetaReader } from "./reader.js";
import type { AttrValue, DatasetInfo, FilterInfo } from "./types.js";
import { decodeElement, shapeValues } from "./values.js";

/** Everything parsed from a dataset's object header, public and internal. */
export interface DatasetMeta {
  info: DatasetInfo;
  datatype: Datatype;
  dataspace: Dataspace;
  layout: Layout;
  /** Fill bytes of one element; undefined when the file defines none (zeros are used). */
  fill: Uint8Array | undefined;
}

/** True when the header describes a dataset (it has a layout message). */
export function isDatasetHeader(header: ObjectHeader): boolean {
  return header.messages.some((m) => m.type === MSG.layout);
}

/** True when the header describes a group (symbol table, link info or link messages). */
export function isGroupHeader(header: ObjectHeader): boolean {
  return header.messages.some(
    (m) => m.type === MSG.symbolTable || m.type === MSG.linkInfo || m.type === MSG.link,
  );
}

/**
 * Builds the description of the dataset at `path` from its object header messages.
 * @throws InvalidHdf5Error when a required message (dataspace, datatype, layout) is missing or shared.
 */
export function parseDatasetHeader(
  header: ObjectHeader,
  known: { path: string; attrs: Record<string, AttrValue> },
  meta: MetaReader,
): DatasetMeta {
  try {
    return parseDatasetMessages(header, known, meta);
  } catch (err) {
    // name the dataset in every parse error, keeping the error's class and fields
    if (err instanceof Error && !err.message.includes(known.path))
      err.message = `dataset ${known.path}: ${err.message}`;
    throw err;
  }
}

function parseDatasetMessages(
  header: ObjectHeader,
  known: { path: string; attrs: Record<string, AttrValue> },
  meta: MetaReader,
): DatasetMeta {
  const { path, attrs } = known;
  const body = (type: number) => requiredBody(header, type, path);
  const dataspace = parseDataspace(view(body(MSG.dataspace)), 0, meta.lengthSize);
  const datatype = parseDatatype(view(body(MSG.datatype)), 0);
  const layout = parseLayout(view(body(MSG.layout)), 0, meta);
  const pipeline = first(header, MSG.filterPipeline);
  const filters: FilterInfo[] = pipeline ? parseFilterPipeline(view(pipeline.body), 0) : [];
  const fill = fillBytes(header);
  const info: DatasetInfo = {
    path,
    dtype: datatype.dtype,
    shape: dataspace.shape,
    maxshape: dataspace.maxshape,
    layout: layout.kind,
    chunkShape: layout.kind === "chunked" ? layout.chunkShape : null,
    filters,
    fillValue: fillValueOf(fill, datatype),
    attrs,
  };
  return { info, datatype, dataspace, layout, fill };
}

/**
 * Decodes every attribute of an object: attribute messages in the header, then dense storage (fractal
 * heap) when an attribute info message points at one. Shared attribute messages are skipped.
 */
export async function readAttributes(
  meta: MetaReader,
  header: ObjectHeader,
  opts?: ReadOptions,
): Promise<Record<string, AttrValue>> {
  const found: Attribute[] = [];
  for (const m of header.messages) {
    if (m.type !== MSG.attribute || m.flags & MESSAGE_SHARED) continue;
    found.push(parseAttributeMessage(m.body, meta.lengthSize));
  }
  const info = first(header, MSG.attributeInfo);
  if (info) {
    const dense = parseAttributeInfo(view(info.body), 0, meta.offsetSize);
    found.push(...(await readDenseAttributes(meta, dense, opts)));
  }
  const attrs: Record<string, AttrValue> = {};
  for (const a of found) {
    if (!a.vlen) attrs[a.name] = a.value;
    else {
      const { data, count, type, shape } = a.vlen;
      attrs[a.name] = shapeValues(await readVlenValues(meta, data, count, type, opts), shape);
    }
  }
  return attrs;
}

function fillBytes(header: ObjectHeader): Uint8Array | undefined {
  const modern = first(header, MSG.fillValue);
  if (modern) return parseFillValue(view(modern.body), 0);
  const old = first(header, MSG.fillValueOld);
  return old ? parseFillValueOld(view(old.body), 0) : undefined;
}

function fillValueOf(fill: Uint8Array | undefined, type: Datatype): DatasetInfo["fillValue"] {
  if (!fill || fill.length < type.size) return null;
  const value = decodeElement(view(fill), 0, type);
  return typeof value === "number" || typeof value === "bigint" || typeof value === "string" ? value : null;
}

function first(header: ObjectHeader, type: number): HeaderMessage | undefined {
  return header.messages.find((m) => m.type === type);
}

function requiredBody(header: ObjectHeader, type: number, path: string): Uint8Array {
  const m = first(header, type);
  if (!m) throw new InvalidHdf5Error(`dataset ${path} has no message of type ${type}`);
  if (m.flags & MESSAGE_SHARED) {
    throw new UnsupportedHdf5Error(
      "shared-message",
      `dataset ${path} uses a shared (committed) message of type ${type}`,
    );
  }
  return m.body;
}

function view(bytes: Uint8Array): DataView {
  return cursorOf(bytes).view;
}
