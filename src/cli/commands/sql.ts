/** `geochunks sql --store DIR "SQL"`: DuckDB over the store's tables. */
import { formatSqlResult, runSql } from "../../store/sql.js";
import { Store } from "../../store/store.js";
import { parseCommand, required } from "../args.js";
import { UsageError } from "../errors.js";

export const SQL_USAGE =
  'geochunks sql --store DIR "<SQL>" [--format table|csv|json] [--view NAME=FILE.parquet ...]';

/** Runs `sql`. */
export async function sqlCommand(argv: string[], out: (text: string) => void): Promise<void> {
  const { values, positionals } = parseCommand(argv, {
    store: { type: "string" },
    format: { type: "string" },
    view: { type: "string", multiple: true },
  });
  const dir = required(values.store, "--store DIR");
  if (positionals.length !== 1) throw new UsageError(`usage: ${SQL_USAGE}`);
  const format = values.format ?? "table";
  if (format !== "table" && format !== "csv" && format !== "json") {
    throw new UsageError(`--format ${format} is not one of table, csv, json`);
  }
  const store = await Store.open(dir);
  const views: Record<string, string> = {};
  for (const v of values.view ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--view ${v} is not NAME=FILE.parquet`);
    views[m[1]!] = m[2]!;
  }
  out(formatSqlResult(await runSql(store, positionals[0]!, { views }), format));
}
