/**
 * Reading a query result back for a picture, whatever format the query wrote: GeoParquet, CSV and
 * GeoJSON (lines) through DuckDB, GeoPackage through SQLite, FlatGeobuf through its own reader.
 * Only the columns a picture needs are read.
 */
import { readFile, stat } from "node:fs/promises";
import { InvalidQueryError } from "../errors.js";
import { formatOf, OUTPUT_FORMATS, type OutputFormat } from "../export/formats.js";
import { sqlString, withConnection } from "../store/sql.js";

/** One cell value of a result as the readers give it. */
export type Cell = number | string | bigint | boolean | null;

/** A result file opened for reading: its column names and a reader of named columns. */
export interface ResultTable {
  /** Column names in file order. */
  columns: string[];
  /** Number of rows. */
  rows: number;
  /**
   * Values of the named columns (each in {@link ResultTable.columns}) as numbers, in file order:
   * NaN for nulls and for values that are not numbers.
   */
  numbers(names: readonly string[]): Promise<Float64Array[]>;
  /** Values of the named columns as text (null for nulls), in file order. */
  texts(names: readonly string[]): Promise<(string | null)[][]>;
  /**
   * The distinct combinations of the named columns' text, in order of first appearance, and the
   * combination of every row (an index into them).
   */
  groups(names: readonly string[]): Promise<Groups>;
  /** The first non-null value of a column as text; undefined when it has none. */
  firstText(name: string): Promise<string | undefined>;
  /** Earliest and latest `time` as ISO-like UTC text; undefined when there is no time or no row. */
  timeRange(): Promise<[string, string] | undefined>;
  /** File-level key/value metadata (GeoParquet `geo`, units when a writer records them). */
  metadata: Record<string, string>;
}

/** Rows grouped by the values of some columns. */
export interface Groups {
  /** Each distinct combination, as the columns' text ("" for null). */
  keys: string[][];
  /** Index into `keys` of each row, in file order. */
  index: Uint32Array;
}

/** Groups from one key per row (any value with a stable identity) and each key's column values. */
function groupsOf(
  n: number,
  keyOf: (row: number) => unknown,
  valuesOf: (key: unknown, row: number) => string[],
): Groups {
  const seen = new Map<unknown, number>();
  const keys: string[][] = [];
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    let k = seen.get(key);
    if (k === undefined) {
      k = keys.length;
      seen.set(key, k);
      keys.push(valuesOf(key, i));
    }
    index[i] = k;
  }
  return { keys, index };
}

/**
 * Opens a query result of any {@link OutputFormat} (from the file's extension).
 * @throws InvalidQueryError naming the file when it is missing, a folder, of an unknown extension,
 * or unreadable as its format.
 */
export async function openResult(path: string): Promise<ResultTable> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InvalidQueryError(`${path}: no such file`);
  if (info.isDirectory()) throw new InvalidQueryError(`${path}: is a folder, not a query result`);
  let format: OutputFormat;
  try {
    format = formatOf(path);
  } catch (err) {
    throw new InvalidQueryError(
      `${path}: not a query result file; results are ${OUTPUT_FORMATS.flatMap((f) => f.extensions).join(", ")}`,
      { cause: err },
    );
  }
  try {
    if (await isEmptyText(path, format, info.size)) return tableOfRows([], () => []);
    if (format === "gpkg") return await openGeoPackage(path);
    if (format === "fgb") return await openFlatGeobuf(path);
    return await openWithDuckDb(path, format, info.size);
  } catch (err) {
    if (err instanceof InvalidQueryError) throw err;
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new InvalidQueryError(`${path}: cannot be read as a ${format} query result (${reason})`, {
      cause: err,
    });
  }
}

/** Text results smaller than this are checked for having no feature at all (DuckDB cannot type those). */
const SMALL_TEXT_BYTES = 4096;

/** Whether a GeoJSON (lines) result holds no feature: an empty file, or a collection of none. */
async function isEmptyText(path: string, format: OutputFormat, size: number): Promise<boolean> {
  if ((format !== "geojson" && format !== "geojsonl") || size > SMALL_TEXT_BYTES) return false;
  const text = (await readFile(path, "utf8")).trim();
  if (format === "geojsonl") return text === "";
  const parsed = JSON.parse(text) as { features?: unknown[] };
  return Array.isArray(parsed.features) && parsed.features.length === 0;
}

/** A DuckDB table expression over a result file of a format DuckDB reads itself. */
function duckSource(path: string, format: OutputFormat, size: number): string {
  const file = sqlString(path);
  const big = `maximum_object_size=${Math.max(16 << 20, size + 1)}`;
  switch (format) {
    case "parquet":
      return `read_parquet(${file})`;
    case "csv":
      return `read_csv(${file}, header=true)`;
    case "geojsonl":
      return `(SELECT unnest(properties) FROM read_json(${file}, format='newline_delimited', ${big}))`;
    default:
      return `(SELECT unnest(f.properties) FROM (SELECT unnest(features) AS f FROM read_json(${file}, ${big})))`;
  }
}

/** A double-quoted SQL identifier. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function openWithDuckDb(path: string, format: OutputFormat, size: number): Promise<ResultTable> {
  const source = duckSource(path, format, size);
  const head = await withConnection(async (db) => {
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const counted = await db.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${source}`);
    const metadata: Record<string, string> = {};
    if (format === "parquet") {
      const kv = await db.runAndReadAll(
        `SELECT decode(key), decode(value) FROM parquet_kv_metadata(${sqlString(path)})`,
      );
      for (const [key, value] of kv.getRows()) metadata[String(key)] = String(value);
    }
    return {
      columns: described.getRows().map((r) => String(r[0])),
      rows: Number(counted.getRows()[0]?.[0] ?? 0),
      metadata,
    };
  });
  return {
    ...head,
    numbers: (names) =>
      scanAll(
        source,
        names.map((n) => `TRY_CAST(${ident(n)} AS DOUBLE)`),
        head.rows,
      ),
    texts: async (names) => {
      const out = names.map(() => new Array<string | null>(head.rows).fill(null));
      await scanColumns(
        source,
        names,
        (n) => `${ident(n)}::VARCHAR`,
        (c, i, v) => {
          if (v !== null && v !== undefined) out[c]![i] = String(v);
        },
      );
      return out;
    },
    groups: async (names) => {
      if (names.length === 0) return { keys: [[]], index: new Uint32Array(head.rows) };
      // A 64-bit hash per row, read as a number, stands for its combination: strings are slow to
      // read row by row, and a handful of tracks never collide in 53 bits.
      const key = `hash(${names.map(ident).join(", ")})::DOUBLE`;
      const [hashes] = await scanAll(source, [key], head.rows);
      const named = await withConnection(async (db) => {
        const reader = await db.runAndReadAll(
          `SELECT DISTINCT ${key}, ${names.map((n) => `coalesce(${ident(n)}::VARCHAR, '')`).join(", ")} FROM ${source}`,
        );
        return new Map(reader.getRows().map(([h, ...values]) => [Number(h), values.map(String)]));
      });
      return groupsOf(
        head.rows,
        (i) => hashes![i],
        (h) => named.get(h as number) ?? names.map(() => ""),
      );
    },
    firstText: (name) =>
      withConnection(async (db) => {
        const reader = await db.runAndReadAll(
          `SELECT ${ident(name)}::VARCHAR FROM ${source} WHERE ${ident(name)} IS NOT NULL LIMIT 1`,
        );
        const value = reader.getRows()[0]?.[0];
        return value === undefined || value === null ? undefined : String(value);
      }),
    timeRange: async () => {
      if (!head.columns.includes("time") || head.rows === 0) return undefined;
      return withConnection(async (db) => {
        const reader = await db.runAndReadAll(
          `SELECT min(time)::VARCHAR, max(time)::VARCHAR FROM ${source} WHERE time IS NOT NULL`,
        );
        const [lo, hi] = reader.getRows()[0] ?? [];
        return lo === null || lo === undefined ? undefined : [String(lo), String(hi)];
      });
    },
  };
}

/** Numeric SQL expressions over a DuckDB source, one array each (NaN for nulls), in file order. */
async function scanAll(source: string, exprs: readonly string[], rows: number): Promise<Float64Array[]> {
  const out = exprs.map(() => new Float64Array(rows).fill(Number.NaN));
  await scanColumns(
    source,
    exprs,
    (e) => e,
    (c, i, v) => {
      if (typeof v === "number") out[c]![i] = v;
    },
  );
  return out;
}

/**
 * Streams the named columns of a DuckDB source, each converted by `expr`, chunk by chunk into
 * `put(column, row, value)`. Reading vectors item by item stays fast for millions of rows, where
 * materialising every value as a row object does not; a plain scan keeps the file's row order.
 */
async function scanColumns(
  source: string,
  names: readonly string[],
  expr: (name: string) => string,
  put: (column: number, row: number, value: unknown) => void,
): Promise<void> {
  if (names.length === 0) return;
  await withConnection(async (db) => {
    const result = await db.run(`SELECT ${names.map(expr).join(", ")} FROM ${source}`);
    let row = 0;
    for (
      let chunk = await result.fetchChunk();
      chunk && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    ) {
      for (let c = 0; c < names.length; c++) {
        const vector = chunk.getColumnVector(c);
        for (let i = 0; i < chunk.rowCount; i++) put(c, row + i, vector.getItem(i));
      }
      row += chunk.rowCount;
    }
  });
}

async function openGeoPackage(path: string): Promise<ResultTable> {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const layer = db
      .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
      .pluck()
      .get() as string | undefined;
    if (!layer) throw new InvalidQueryError(`${path}: GeoPackage has no feature table`);
    const info = db.prepare(`PRAGMA table_info(${ident(layer)})`).all() as { name: string }[];
    const columns = info.map((c) => c.name).filter((c) => c !== "fid");
    const all = db
      .prepare(`SELECT * FROM ${ident(layer)}`)
      .raw()
      .all() as Cell[][];
    const names = info.map((c) => c.name);
    return tableOfRows(columns, (name) => all.map((row) => row[names.indexOf(name)] ?? null));
  } finally {
    db.close();
  }
}

async function openFlatGeobuf(path: string): Promise<ResultTable> {
  const { deserialize } = await import("flatgeobuf/lib/mjs/geojson.js");
  const props: Record<string, Cell>[] = [];
  for await (const f of deserialize(new Uint8Array(await readFile(path)))) {
    props.push((f.properties ?? {}) as Record<string, Cell>);
  }
  const columns = [...new Set(props.flatMap((p) => Object.keys(p)))];
  return tableOfRows(columns, (name) => props.map((p) => p[name] ?? null));
}

/** A table over values already in memory, column by column. */
function tableOfRows(columns: string[], column: (name: string) => Cell[]): ResultTable {
  const cache = new Map<string, Cell[]>();
  const get = (name: string) => {
    const cached = cache.get(name);
    if (cached) return cached;
    const values = column(name);
    cache.set(name, values);
    return values;
  };
  const rows = columns.length > 0 ? get(columns[0]!).length : 0;
  return {
    columns,
    rows,
    metadata: {},
    numbers: async (names) =>
      names.map((name) =>
        Float64Array.from(get(name), (v) =>
          typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number.NaN,
        ),
      ),
    texts: async (names) => names.map((name) => get(name).map((v) => (v === null ? null : String(v)))),
    groups: async (names) => {
      const cols = names.map((n) => get(n).map((v) => (v === null ? "" : String(v))));
      return groupsOf(
        rows,
        (i) => cols.map((c) => c[i]).join("\u0000"),
        (_k, i) => cols.map((c) => c[i]!),
      );
    },
    firstText: async (name) => {
      const value = get(name).find((v) => v !== null);
      return value === undefined || value === null ? undefined : String(value);
    },
    timeRange: async () => {
      if (!columns.includes("time")) return undefined;
      const times = get("time")
        .filter((t): t is string => typeof t === "string")
        .sort();
      return times.length === 0 ? undefined : [times[0]!, times[times.length - 1]!];
    },
  };
}
