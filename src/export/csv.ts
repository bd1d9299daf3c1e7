/** CSV results (RFC 4180 quoting): a header row, then one row per point; no WKB column. */
import type { RecordBatch } from "apache-arrow";
import { writeAtomically } from "./atomic.js";
import { cellText, propertyColumns, propertyFields, type RowWriterOptions } from "./columns.js";
import { type TextLayout, writeText } from "./text.js";

/** A CSV field: quoted when it holds a comma, quote or line break (quotes doubled); "" for an empty string. */
export function csvField(text: string | null): string {
  if (text === null) return "";
  if (text === "" || /[",\r\n]/.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

function csvRows(batch: RecordBatch, opts: RowWriterOptions): string {
  const columns = propertyColumns(batch, opts.geometryColumn);
  let out = "";
  for (let row = 0; row < batch.numRows; row++) {
    let line = "";
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      line += (i === 0 ? "" : ",") + csvField(cellText(c.kind, c.read(row)));
    }
    out += `${line}\n`;
  }
  return out;
}

/**
 * Streams record batches into a CSV file at `path` (written under a temporary name, renamed when
 * complete): a header row of the non-geometry columns (`lat` and `lon` carry the point), times
 * ISO 8601 UTC with nanoseconds, an empty field for a null. Lines end with "\n".
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder or file cannot be written.
 */
export function writeCsv(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: RowWriterOptions = {},
): Promise<number> {
  return writeAtomically(path, (tmp) => writeText(batches, tmp, csvLayout(opts)));
}

/** The text layout of CSV: a header row, then one line per row. */
export function csvLayout(opts: RowWriterOptions = {}): TextLayout {
  return {
    head: (first) => {
      const schema = first?.schema ?? opts.emptySchema;
      if (!schema) return "";
      const names = propertyFields(schema, opts.geometryColumn).map((f) => csvField(f.name));
      return `${names.join(",")}\n`;
    },
    rows: (batch) => csvRows(batch, opts),
    tail: () => "",
  };
}
