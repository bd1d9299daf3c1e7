import { DuckDBInstance } from "@duckdb/node-api";
import type { OracleRow } from "./oracle.js";

/** Runs one SQL statement in a fresh in-memory DuckDB and returns plain row objects. */
export async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A query result file read back by DuckDB, in file order, shaped like oracle rows. */
export async function readResultRows(path: string): Promise<OracleRow[]> {
  const rows = await duckdb(
    `SELECT granule_id, beam, segment_id, lat, lon, epoch_ns(time) AS time_ns, h_li, h_li_sigma,
            atl06_quality_summary FROM read_parquet('${path}')`,
  );
  return rows.map((r) => ({
    granule_id: r.granule_id as string,
    beam: r.beam as string,
    segment_id: r.segment_id as number,
    lat: r.lat as number,
    lon: r.lon as number,
    time_ns: r.time_ns as bigint,
    h_li: r.h_li as number | null,
    h_li_sigma: r.h_li_sigma as number | null,
    atl06_quality_summary: r.atl06_quality_summary as number,
  }));
}

/** DuckDB reads Parquet nanosecond timestamps as microsecond TIMESTAMPTZ (truncating): compare oracle rows at that precision. */
export function toMicros<T extends { time_ns: bigint }>(rows: T[]): T[] {
  return rows.map((r) => ({ ...r, time_ns: (r.time_ns / 1000n) * 1000n }));
}

/** A box over the Kamchatka track (RGT 878) of the real granule ATL06_20230816161508_08782002_006_02. */
export const REAL_BOX = {
  type: "Polygon",
  coordinates: [
    [
      [158.6, 58.0],
      [158.8, 58.0],
      [158.8, 58.4],
      [158.6, 58.4],
      [158.6, 58.0],
    ],
  ],
};

/** A GeoJSON Polygon of the box minx,miny,maxx,maxy (degrees), counter-clockwise. */
export function boxPolygon(minx: number, miny: number, maxx: number, maxy: number) {
  return {
    type: "Polygon",
    coordinates: [
      [
        [minx, miny],
        [maxx, miny],
        [maxx, maxy],
        [minx, maxy],
        [minx, miny],
      ],
    ],
  };
}

/** Columns of an ATL06 query result besides geometry, in result order. */
export const ATL06_RESULT_COLUMNS = [
  "lat",
  "lon",
  "time",
  "h_li",
  "h_li_sigma",
  "atl06_quality_summary",
  "track_id",
  "granule_id",
  "product",
  "beam",
  "rgt",
  "cycle",
  "spot",
  "segment_id",
];

/** Parses CSV text (RFC 4180 quoting, as GDAL writes it) into a header and rows of fields. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || record.length > 0) records.push([...record, field]);
  return { header: records[0] ?? [], rows: records.slice(1) };
}
