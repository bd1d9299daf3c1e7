import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { parquetMetadata, readOffsetIndex } from "hyparquet";
import { afterAll, describe, expect, it } from "vitest";
import { writeGeoParquet, writeGeoParquetToSink } from "../../src/export/geoparquet.js";
import { writeGeoParquetColumns } from "../../src/export/geoparquet-columns.js";
import { RESULT_PAGE_BYTES } from "../../src/export/geoparquet-schema.js";
import { resultBatch } from "../../src/result/arrow.js";
import type { ResultColumns } from "../../src/result/columns.js";
import { duckdb } from "../support/results.js";

/*
 * Plain result columns sent to the writer thread, which builds the Arrow batches there: the file is
 * byte for byte the one written from the record batches of the same columns, on this thread and on a
 * writer thread, and DuckDB reads back the rows, the sums and the WKB points.
 */

const dir = mkdtempSync(join(tmpdir(), "geochunks-columns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BBOX = [-46, 60, -44, 62] as [number, number, number, number];

/**
 * Batch `b` of `rows` rows: per-row values with nulls, a list column, constants, and with `metadata`
 * a column's own metadata (a second file key-value entry).
 */
function columnsOf(b: number, rows: number, metadata = false): ResultColumns {
  // A view into a larger buffer: the sender copies it out rather than giving the buffer away.
  const wide = new Float64Array(rows + 8).map((_, i) => -45 + i * 1e-4);
  const h = new Float32Array(rows).map((_, i) => b * 10 + (i % 7));
  const valid = new Uint8Array(rows).map((_, i) => (i % 5 === 0 ? 0 : 1));
  const list = new Int16Array(rows * 3).map((_, i) => i % 11);
  const rowValid = new Uint8Array(rows).map((_, i) => (i % 4 === 1 ? 0 : 1));
  return {
    lat: new Float64Array(rows).map((_, i) => 60.5 + (b * rows + i) * 1e-5),
    lon: wide.subarray(4, 4 + rows),
    time: new BigInt64Array(rows).map((_, i) => 1_600_000_000_000_000_000n + BigInt(b * rows + i) * 1000n),
    columns: [
      { name: "granule_id", type: "utf8", value: `G${b % 2}` },
      { name: "beam", type: "utf8", value: b % 3 === 0 ? null : "gt1l", nullable: true },
      { name: "rgt", type: "int16", value: 878 },
      { name: "cycle", type: "int8", value: null, nullable: true },
      { name: "h", values: h, valid, ...(metadata ? { metadata: { units: "m" } } : {}) },
      { name: "conf", values: list, width: 3, rowValid },
    ],
  };
}

/** `count` batches of `rows` rows, made afresh on each call (the columns path gives their buffers away). */
async function* columns(count: number, rows: number, metadata = false): AsyncGenerator<ResultColumns> {
  for (let b = 0; b < count; b++) yield columnsOf(b, rows, metadata);
}

async function* batches(count: number, rows: number, metadata = false): AsyncGenerator<RecordBatch> {
  for await (const c of columns(count, rows, metadata)) yield resultBatch(c);
}

const emptySchema = async () => resultBatch(columnsOf(0, 0)).schema;

describe("GeoParquet from plain columns, built into Arrow on the writer thread", () => {
  it("writes the bytes of the record batches' file, read back by DuckDB", async () => {
    for (const { count, rows } of [
      { count: 1, rows: 10 },
      { count: 9, rows: 9000 },
    ]) {
      const viaColumns = join(dir, `columns-${count}.parquet`);
      const here = join(dir, `here-${count}.parquet`);
      const thread = join(dir, `thread-${count}.parquet`);
      expect(
        await writeGeoParquetColumns(columns(count, rows), viaColumns, { bbox: BBOX, emptySchema }),
      ).toBe(count * rows);
      await writeGeoParquet(batches(count, rows), here, { bbox: BBOX, thread: false });
      await writeGeoParquet(batches(count, rows), thread, { bbox: BBOX, thread: true });
      const bytes = readFileSync(viaColumns);
      expect(bytes.equals(readFileSync(here)), `${count} batches`).toBe(true);
      expect(bytes.equals(readFileSync(thread)), `${count} batches`).toBe(true);
      const kv = await duckdb(`SELECT decode(key) AS k FROM parquet_kv_metadata('${viaColumns}') ORDER BY k`);
      expect(kv.map((r) => r.k)).toEqual(["ARROW:schema", "geo"]);

      const [sums] = await duckdb(
        `SELECT count(*)::INT AS n, sum(h)::DOUBLE AS h, count(h)::INT AS h_valid, sum(rgt)::INT AS rgt,
                count(cycle)::INT AS cycle, count(beam)::INT AS beam, sum(list_sum(conf))::INT AS conf,
                count(conf)::INT AS conf_rows, sum(lat)::DOUBLE AS lat, sum(epoch_us(time))::HUGEINT::VARCHAR AS t
         FROM '${viaColumns}'`,
      );
      let h = 0;
      let hValid = 0;
      let conf = 0;
      let confRows = 0;
      let beam = 0;
      let lat = 0;
      let t = 0n;
      for (let b = 0; b < count; b++) {
        const c = columnsOf(b, rows);
        const hc = c.columns[4] as { values: Float32Array; valid: Uint8Array };
        const lc = c.columns[5] as { values: Int16Array; rowValid: Uint8Array };
        for (let i = 0; i < rows; i++) {
          if (hc.valid[i]) {
            h += hc.values[i]!;
            hValid++;
          }
          if (lc.rowValid[i]) {
            confRows++;
            for (let k = 0; k < 3; k++) conf += lc.values[i * 3 + k]!;
          }
          lat += c.lat[i]!;
          t += c.time[i]! / 1000n;
        }
        if (b % 3 !== 0) beam += rows;
      }
      expect(sums).toEqual({
        n: count * rows,
        h,
        h_valid: hValid,
        rgt: 878 * count * rows,
        cycle: 0,
        beam,
        conf,
        conf_rows: confRows,
        lat: expect.closeTo(lat, 6),
        t: String(t),
      });

      // Each geometry is the WKB Point (lon, lat) of its row.
      // (One row in 37 of the larger file, from the first.)
      const points = await duckdb(
        `SELECT lat, lon, geometry FROM (SELECT *, row_number() OVER () - 1 AS r FROM '${viaColumns}') WHERE r % 37 = 0`,
      );
      expect(points).toHaveLength(Math.ceil((count * rows) / 37));
      for (const p of points) {
        const wkb = Buffer.from((p.geometry as { bytes: Uint8Array }).bytes);
        expect(wkb.length).toBe(21);
        expect([wkb[0], wkb.readUInt32LE(1), wkb.readDoubleLE(5), wkb.readDoubleLE(13)]).toEqual([
          1,
          1,
          p.lon,
          p.lat,
        ]);
      }
    }
  }, 120_000);

  it("carries the columns' own metadata as the record batch path does", async () => {
    // parquet-wasm orders two or more file key-value entries by a hash seed that depends on what the
    // encoder's instance did before (the first file of an instance and the later ones differ), so
    // these files are compared by what they hold, not byte for byte.
    const viaColumns = join(dir, "meta-columns.parquet");
    const here = join(dir, "meta-here.parquet");
    await writeGeoParquetColumns(columns(4, 300, true), viaColumns, { bbox: BBOX, emptySchema });
    await writeGeoParquet(batches(4, 300, true), here, { bbox: BBOX, thread: false });
    const kv = (path: string) =>
      duckdb(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${path}') ORDER BY k`);
    const meta = await kv(viaColumns);
    expect(meta.find((r) => r.k === "geochunks:columns")?.v).toBe('{"h":{"units":"m"}}');
    expect(meta).toEqual(await kv(here));
    const differ = await duckdb(
      `SELECT count(*)::INT AS n FROM ((SELECT * FROM '${viaColumns}' EXCEPT ALL SELECT * FROM '${here}')
         UNION ALL (SELECT * FROM '${here}' EXCEPT ALL SELECT * FROM '${viaColumns}'))`,
    );
    expect(differ[0]!.n).toBe(0);
  }, 60_000);

  it("streams the same bytes into a sink", async () => {
    const pieces: Buffer[] = [];
    const sink = { write: async (b: Uint8Array) => void pieces.push(Buffer.from(b)) };
    expect(await writeGeoParquetColumns(columns(3, 500), sink, { bbox: BBOX, emptySchema })).toBe(1500);
    const here: Buffer[] = [];
    await writeGeoParquetToSink(
      batches(3, 500),
      { write: async (b) => void here.push(Buffer.from(b)) },
      { bbox: BBOX, thread: false },
    );
    expect(Buffer.concat(pieces).equals(Buffer.concat(here))).toBe(true);
  }, 60_000);

  it("writes an empty result from its schema, as the record batch path does", async () => {
    const viaColumns = join(dir, "empty-columns.parquet");
    const here = join(dir, "empty-here.parquet");
    expect(await writeGeoParquetColumns(columns(0, 0), viaColumns, { bbox: BBOX, emptySchema })).toBe(0);
    await writeGeoParquet(batches(0, 0), here, {
      bbox: BBOX,
      emptySchema: await emptySchema(),
      thread: false,
    });
    expect(readFileSync(viaColumns).equals(readFileSync(here))).toBe(true);
    const columnsRead = await duckdb(`SELECT column_name FROM (DESCRIBE SELECT * FROM '${viaColumns}')`);
    expect(columnsRead.map((c) => c.column_name)).toEqual([
      "lat",
      "lon",
      "time",
      "granule_id",
      "beam",
      "rgt",
      "cycle",
      "h",
      "conf",
      "geometry",
    ]);
  });

  it("writes pages of at most RESULT_PAGE_BYTES, on both paths", async () => {
    // Pages are compressed as they close: small pages spread the compression over the batches as
    // they arrive instead of leaving all of it for the end of the row group.
    const here = join(dir, "pages-here.parquet");
    const viaColumns = join(dir, "pages-columns.parquet");
    await writeGeoParquet(batches(4, 10_000), here, { bbox: BBOX, thread: false });
    await writeGeoParquetColumns(columns(4, 10_000), viaColumns, { bbox: BBOX, emptySchema });
    expect(readFileSync(viaColumns).equals(readFileSync(here))).toBe(true);
    const bytes = readFileSync(here);
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    expect(metadata.row_groups).toHaveLength(1);
    const lat = metadata.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema.join(".") === "lat")!;
    const at = Number(lat.offset_index_offset);
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, lat.offset_index_length!);
    const pages = readOffsetIndex({ view, offset: 0 }).page_locations;
    const rows = pages.map(
      (p, i) => Number(pages[i + 1]?.first_row_index ?? 40_000n) - Number(p.first_row_index),
    );
    // 40 000 float64 values, 320 000 bytes: three pages (one page of all of them with the library's
    // 1 MiB default), each closed at the first size check (every 1024 rows) past the limit.
    expect(rows.reduce((a, b) => a + b, 0)).toBe(40_000);
    expect(pages.length).toBe(3);
    for (const n of rows) expect(n * 8).toBeLessThanOrEqual(RESULT_PAGE_BYTES + 1024 * 8);
    const [sums] = await duckdb(`SELECT count(*)::INT AS n, sum(lat) AS lat FROM '${here}'`);
    expect(sums!.n).toBe(40_000);
    let lats = 0;
    for (let b = 0; b < 4; b++) for (let i = 0; i < 10_000; i++) lats += 60.5 + (b * 10_000 + i) * 1e-5;
    expect(sums!.lat as number).toBeCloseTo(lats, 6);
  }, 60_000);
});
