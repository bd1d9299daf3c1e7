/**
 * Arrow tables to and from Parquet, through the Parquet library's module (parquet-wasm.ts). Files
 * are written zstd-compressed with column statistics, so DuckDB can skip row groups.
 */
import { readFile } from "node:fs/promises";
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { type ParquetWriteOptions, pw, writerProperties } from "./parquet-wasm.js";

export { DEFAULT_ROW_GROUP_SIZE, type ParquetWriteOptions } from "./parquet-wasm.js";

/** Serialises an Arrow table to Parquet bytes. */
export function tableToParquet(table: Table, opts: ParquetWriteOptions = {}): Uint8Array {
  const wasmTable = pw.Table.fromIPCStream(tableToIPC(table, "stream"));
  return pw.writeParquet(wasmTable, writerProperties(opts));
}

/**
 * Serialises a stream of Arrow record batches to a stream of Parquet bytes; each batch becomes at
 * least one row group, so memory stays bounded by the batch size.
 */
export async function batchesToParquetStream(
  batches: AsyncIterable<RecordBatch>,
  opts: ParquetWriteOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const iterator = batches[Symbol.asyncIterator]();
  const input = new ReadableStream({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) {
        controller.close();
        return;
      }
      const ipc = tableToIPC(new Table([next.value]), "stream");
      const table = pw.Table.fromIPCStream(ipc);
      for (const batch of table.recordBatches()) controller.enqueue(batch);
      // recordBatches() copies: free the table's own wasm memory now, or it waits for a finaliser
      // that may never run and the wasm heap grows with every row written (4 GB for 75 M rows).
      table.free();
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return pw.transformParquetStream(input, writerProperties(opts));
}

/** Parses Parquet bytes into an Arrow table. */
export function parquetToTable(bytes: Uint8Array): Table {
  return tableFromIPC(pw.readParquet(bytes).intoIPCStream());
}

/** Reads a Parquet file into an Arrow table. */
export async function readParquetFile(path: string): Promise<Table> {
  return parquetToTable(await readFile(path));
}
