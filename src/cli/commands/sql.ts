/** `geochunks sql --store DIR "SQL"`: DuckDB over the store's tables. */
import { formatSqlResult, runSql } from "../../store/sql.js";
import { Store } from "../../store/store.js";
import { parseCommand, required } from "../args.js";
import { UsageError } from "../errors.js";

export const SQL_USAGE = 'geochunks sql --store DIR "<SQL>" [--format table|csv|json]';

/** Runs `sql`. */
export async function sqlCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, {
    store: { type: "string" },
    format: { type: "string" },
  });
  const dir = required(values.store, "--store DIR");
  if (positionals.length !== 1) throw new UsageError(`usage: ${SQL_USAGE}`);
  const format = values.format ?? "table";
  if (format !== "table" && format !== "csv" && format !== "json") {
    throw new UsageError(`--format ${format} is not one of table, csv, json`);
  }
  const store = await Store.open(dir);
  out(formatSqlResult(await runSql(store, positionals[0]!), format));
}
