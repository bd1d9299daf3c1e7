/** Checks readers make before trusting a store's part files in DuckDB. */
import { StoreError } from "../errors.js";
import { type SqlConnection, sqlString } from "./sql.js";
import { firstLine, rowCountError, type Store } from "./store.js";

/**
 * Reads the Parquet footers of `files` (absolute paths of `store`'s parts) and compares their row
 * counts with the manifest's, so a part replaced by another valid part fails instead of answering
 * with the wrong rows. Sizes were already checked by {@link Store.checkedFiles}.
 * @throws StoreError naming the first file that is not Parquet or holds another number of rows.
 */
export async function checkRowCounts(
  db: SqlConnection,
  store: Store,
  files: readonly string[],
): Promise<void> {
  const recorded = files.filter((f) => store.fileStats(f) !== undefined);
  if (recorded.length === 0) return;
  let rows: Record<string, unknown>[];
  try {
    rows = (
      await db.runAndReadAll(
        `SELECT file_name, num_rows FROM parquet_file_metadata([${recorded.map(sqlString).join(", ")}])`,
      )
    ).getRowObjectsJS();
  } catch {
    // Find the file DuckDB could not read, and say so in one line.
    for (const f of recorded) {
      try {
        await db.runAndReadAll(`SELECT num_rows FROM parquet_file_metadata(${sqlString(f)})`);
      } catch (err) {
        throw new StoreError(store.dir, `${f}: part file is not readable Parquet (${firstLine(err)})`, {
          cause: err,
        });
      }
    }
    throw new StoreError(store.dir, `${store.dir}: cannot read the part files' footers`);
  }
  for (const r of rows) {
    const file = String(r.file_name);
    const want = store.fileStats(file)?.rows;
    const n = Number(r.num_rows);
    if (want !== undefined && n !== want) throw rowCountError(store.dir, file, n, want);
  }
}
