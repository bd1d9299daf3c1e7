/** `geochunks sql --store DIR "SQL"`: DuckDB over the store's tables. */

import { SOURCE_OPTIONS, sourceFlagsOf, sourceOptionsFrom, withWarnings } from "../credentials.js";
import { UsageError } from "../errors.js";
import { addOptions, type Command, examples, type Io, oneOf } from "../program.js";
import { CACHE_OPTION, cacheDirOf, localStoreFolder, STORE_MEANING } from "../store-location.js";

interface SqlFlags {
  store: string;
  cacheDir?: string;
  format?: "table" | "csv" | "json";
  view?: string[];
}

/** Adds `sql` to the program. */
export function sqlCommand(program: Command, io: Io): void {
  const command = program
    .command("sql")
    .description(
      "run DuckDB SQL over the store's views granules, arrays, chunks (GeoParquet) and chunk_cells " +
        "(one row per H3 cell and chunk)",
    )
    .argument("<sql>", "one SQL statement");
  addOptions(command, [
    {
      flags: "--store <dir>",
      meaning: `${STORE_MEANING}; a remote store's part files are copied into the cache first`,
      required: true,
      example: "--store idx",
    },
    {
      flags: "--format <format>",
      meaning: "output: an aligned table, CSV with a header, or JSON rows",
      default: "table",
      example: "--format csv",
      parse: oneOf(["table", "csv", "json"]),
    },
    {
      flags: "--view <name=file.parquet>",
      meaning: "also expose a Parquet file (a query result) as a view; repeatable",
      default: "none",
      example: "--view result=out/greenland.parquet",
      repeat: true,
    },
    ...SOURCE_OPTIONS,
    CACHE_OPTION,
  ]);
  examples(command, [
    'geochunks sql --store idx "SELECT cycle, count(*) AS granules FROM granules GROUP BY cycle ORDER BY cycle"',
    'geochunks sql --store idx --view result=out/greenland.parquet "SELECT beam, count(*) FROM result GROUP BY beam"',
  ]);
  command.action(async (sql: string, opts: SqlFlags) => {
    const { Store } = await import("../../store/store.js");
    const { formatSqlResult, runSql } = await import("../../store/sql.js");
    const source = withWarnings(
      sourceOptionsFrom(sourceFlagsOf(opts as unknown as Record<string, unknown>)),
      io,
    );
    const dir = await localStoreFolder(opts.store, { source, cacheDir: cacheDirOf(opts.cacheDir) });
    const store = await Store.open(dir);
    const views: Record<string, string> = {};
    for (const v of opts.view ?? []) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(v);
      if (!m) throw new UsageError(`--view ${v} is not NAME=FILE.parquet`);
      views[m[1]!] = m[2]!;
    }
    io.out(formatSqlResult(await runSql(store, sql, { views }), opts.format ?? "table"));
  });
}
