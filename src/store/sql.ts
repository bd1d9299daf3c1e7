/** DuckDB SQL over a store: its tables as views over the manifest's part files. */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { StoreError } from "../errors.js";
import { STORE_TABLES, type Store } from "./store.js";

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

/** Runs `fn` with a fresh in-memory DuckDB connection (2 threads), closed afterwards. */
export async function withConnection<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
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
 * @throws StoreError when the store has no granules yet; DuckDB's error for bad SQL.
 */
export async function runSql(
  store: Store,
  sql: string,
  opts: { views?: Record<string, string> } = {},
): Promise<SqlResult> {
  if (store.manifest.parts.length === 0) {
    throw new StoreError(store.dir, `${store.dir}: store has no granules yet; index some first`);
  }
  return withConnection(async (connection) => {
    for (const table of STORE_TABLES) {
      const files = store.files(table).map(sqlString).join(", ");
      // Granule parts written before the `hierarchy` column lack it: match columns by name.
      const byName = table === "granules" ? ", union_by_name = true" : "";
      await connection.run(`CREATE VIEW ${table} AS SELECT * FROM read_parquet([${files}]${byName})`);
    }
    for (const [name, file] of Object.entries(opts.views ?? {})) {
      await connection.run(
        `CREATE VIEW "${name.replaceAll('"', '""')}" AS SELECT * FROM read_parquet(${sqlString(file)})`,
      );
    }
    const reader = await connection.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
  });
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
