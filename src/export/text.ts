/** Text outputs (GeoJSON, GeoJSON lines, CSV): one string per batch appended to the file. */
import { open } from "node:fs/promises";
import type { RecordBatch } from "apache-arrow";

/** How a text format turns batches into text. */
export interface TextLayout {
  /** Text before the first row (e.g. a CSV header), given the first batch or none for an empty result. */
  head: (first: RecordBatch | undefined) => string;
  /** The rows of one batch; `index` is the number of rows written before it. */
  rows: (batch: RecordBatch, index: number) => string;
  /** Text after the last row. */
  tail: () => string;
}

/**
 * Writes `batches` as text to `file`, one write per batch, so memory is bounded by the text of one
 * batch. @returns the number of rows written.
 */
export async function writeText(
  batches: AsyncIterable<RecordBatch>,
  file: string,
  layout: TextLayout,
): Promise<number> {
  const handle = await open(file, "wx");
  try {
    let rows = 0;
    let started = false;
    for await (const batch of batches) {
      const head = started ? "" : layout.head(batch);
      started = true;
      await handle.write(head + layout.rows(batch, rows));
      rows += batch.numRows;
    }
    if (!started) await handle.write(layout.head(undefined));
    await handle.write(layout.tail());
    return rows;
  } finally {
    await handle.close();
  }
}
