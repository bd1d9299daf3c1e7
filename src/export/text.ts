/** Text outputs (GeoJSON, GeoJSON lines, CSV): one string per batch appended to the file. */
import { open } from "node:fs/promises";
import type { RecordBatch } from "apache-arrow";
import type { ByteSink } from "./sink.js";

/** How a text format turns batches into text. */
export interface TextLayout {
  /** Text before the first row (e.g. a CSV header), given the first batch or none for an empty result. */
  head: (first: RecordBatch | undefined) => string;
  /** The rows of one batch; `index` is the number of rows written before it. */
  rows: (batch: RecordBatch, index: number) => string;
  /** Text after the last row. */
  tail: () => string;
}

/** Where text goes: one call per batch, resolved when the text may be dropped. */
type TextSink = (text: string) => Promise<unknown>;

async function writeTo(
  batches: AsyncIterable<RecordBatch>,
  sink: TextSink,
  layout: TextLayout,
): Promise<number> {
  let rows = 0;
  let started = false;
  for await (const batch of batches) {
    const head = started ? "" : layout.head(batch);
    started = true;
    await sink(head + layout.rows(batch, rows));
    rows += batch.numRows;
  }
  if (!started) await sink(layout.head(undefined));
  await sink(layout.tail());
  return rows;
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
    return await writeTo(batches, (text) => handle.write(text), layout);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `batches` as UTF-8 text to `sink`, one write per batch (the bytes the file writer would
 * write, in the same order). @returns the number of rows written.
 */
export function writeTextToSink(
  batches: AsyncIterable<RecordBatch>,
  sink: ByteSink,
  layout: TextLayout,
): Promise<number> {
  const encoder = new TextEncoder();
  return writeTo(batches, (text) => sink.write(encoder.encode(text)), layout);
}

/**
 * Writes `batches` as text to a stream (standard output), waiting for it to drain after each batch,
 * so memory stays bounded by the text of one batch however slow the reader.
 * @returns the number of rows written.
 */
export function writeTextToStream(
  batches: AsyncIterable<RecordBatch>,
  stream: NodeJS.WritableStream,
  layout: TextLayout,
): Promise<number> {
  const sink = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      stream.once("error", onError);
      const done = () => {
        stream.removeListener("error", onError);
        resolve();
      };
      if (stream.write(text)) done();
      else stream.once("drain", done);
    });
  return writeTo(batches, sink, layout);
}
