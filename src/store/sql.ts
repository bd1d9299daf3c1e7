/** DuckDB SQL over a store: its tables as views over the manifest's part files. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { checkRowCounts } from "./integrity.js";
import { STORE_TABLES, type Store, type StoreTable } from "./store.js";

/** Rows of a SQL answer, JSON-friendly (64-bit integers as strings, timestamps as ISO-like text). */
export interface SqlResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A DuckDB connection, as {@link withConnection} lends it. */
export type SqlConnection = DuckDBConnection;

/**
 * Runs `fn` with a fresh in-memory DuckDB connection (2 threads), closed afterwards. DuckDB (its native
 * library and some forty CommonJS files, about 0.4 s of CPU) loads on the first call, not when this
 * module does: the library's entry and the command's query path import this module's helpers and
 * types without running SQL.
 */
export async function withConnection<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
  const connection = await instance.connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Runs SQL with the store's tables (`granules`, `arrays`, `chunks`, `chunk_cells`) as views, plus
 * any extra `views` given as name -> Parquet file (e.g. a query result). DuckDB reads the `geometry`
 * columns as GEOMETRY thanks to their GeoParquet metadata.
 * A store with no granules answers with its tables empty (same columns).
 * @throws StoreError naming a missing part file; DuckDB's error for bad SQL.
 */
export async function runSql(
  store: Store,
  sql: string,
  opts: { views?: Record<string, string> } = {},
): Promise<SqlResult> {
  const files: Record<string, string[]> = {};
  for (const table of STORE_TABLES) files[table] = await store.checkedFiles(table);
  const empty = store.manifest.parts.length === 0 ? await emptyTables() : undefined;
  try {
    return await withConnection(async (connection) => {
      await checkRowCounts(connection, store, Object.values(files).flat());
      for (const table of STORE_TABLES) {
        const list = (empty ? [empty.files[table]] : files[table]!).map(sqlString).join(", ");
        // Granule parts written before the `hierarchy` column lack it: match columns by name.
        const byName = table === "granules" ? ", union_by_name = true" : "";
        await connection.run(`CREATE VIEW ${table} AS SELECT * FROM read_parquet([${list}]${byName})`);
      }
      for (const [name, file] of Object.entries(opts.views ?? {})) {
        await connection.run(
          `CREATE VIEW "${name.replaceAll('"', '""')}" AS SELECT * FROM read_parquet(${sqlString(file)})`,
        );
      }
      const reader = await connection.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
    });
  } finally {
    if (empty) await rm(empty.dir, { recursive: true, force: true });
  }
}

/** Zero-row Parquet files of the store's four tables, for SQL over a store with no granules. */
async function emptyTables(): Promise<{ dir: string; files: Record<StoreTable, string> }> {
  // Loaded here, not with the module: the library's import (and every command) would otherwise
  // initialise the Parquet library's WebAssembly, about 20 ms of CPU, for a store that is never empty.
  const [{ arraysTable, chunkCellsTable, chunksTable, granulesTable }, { tableToParquet }] =
    await Promise.all([import("./arrow-tables.js"), import("./parquet.js")]);
  const dir = await mkdtemp(join(tmpdir(), "geochunks-empty-"));
  const tables = {
    granules: granulesTable([]),
    arrays: arraysTable([]),
    chunks: chunksTable([]),
    chunk_cells: chunkCellsTable([]),
  };
  const files = {} as Record<StoreTable, string>;
  for (const [name, table] of Object.entries(tables) as [StoreTable, (typeof tables)[StoreTable]][]) {
    files[name] = join(dir, `${name}.parquet`);
    await writeFile(files[name], tableToParquet(table));
  }
  return { dir, files };
}

/** Formats a SQL answer as an aligned text table, CSV or JSON lines. */
export function formatSqlResult(result: SqlResult, format: "table" | "csv" | "json"): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (format === "json") return result.rows.map((r) => JSON.stringify(r)).join("\n");
  if (format === "csv") {
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
    return [
      result.columns.map(quote).join(","),
      ...result.rows.map((r) => result.columns.map((c) => quote(cell(r[c]))).join(",")),
    ].join("\n");
  }
  const grid = [result.columns, ...result.rows.map((r) => result.columns.map((c) => cell(r[c])))];
  const widths = result.columns.map((_, i) => Math.max(...grid.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(grid[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...grid.slice(1).map(line)].join("\n");
}
