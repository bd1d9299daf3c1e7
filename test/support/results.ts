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
