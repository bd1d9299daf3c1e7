/**
 * GeoPackage results (OGC 12-128, version 1.3): one SQLite file with the core tables
 * (gpkg_spatial_ref_sys, gpkg_contents, gpkg_geometry_columns), one feature table of Point rows in
 * EPSG:4326 with typed columns, and an R-tree spatial index (the gpkg_rtree_index extension) so
 * QGIS and GDAL draw and filter it without a scan. Rows are inserted batch by batch in
 * transactions, so memory stays bounded by one batch whatever the result's size.
 */
import { Buffer } from "node:buffer";
import type { Field, RecordBatch } from "apache-arrow";
import type BetterSqlite3 from "better-sqlite3";
import { writeAtomically } from "./atomic.js";
import {
  type ColumnKind,
  isoTime,
  kindOf,
  pointReader,
  propertyColumns,
  propertyFields,
  type RowWriterOptions,
} from "./columns.js";

/** Options for {@link writeGeoPackage}. */
export interface GeoPackageWriteOptions extends RowWriterOptions {
  /** Name of the feature table (the layer). Default "points". */
  table?: string;
}

/** The layer name when none is given. */
export const DEFAULT_GEOPACKAGE_TABLE = "points";

/** SQLite declared type of each output kind, as GeoPackage 1.4 table 1 names them. */
const SQL_TYPES: Record<ColumnKind, string> = {
  float64: "DOUBLE",
  float32: "FLOAT",
  int8: "TINYINT",
  int16: "SMALLINT",
  int32: "MEDIUMINT",
  uint8: "SMALLINT",
  uint16: "MEDIUMINT",
  uint32: "INTEGER",
  int64: "INTEGER",
  bool: "BOOLEAN",
  string: "TEXT",
  // GeoPackage DATETIME holds milliseconds at most; ICESat-2 times need nanoseconds (ATL03
  // photons are 100 microseconds apart), so times are ISO 8601 text with all nine digits.
  time: "TEXT",
  // SQLite has no arrays: a list column is the JSON text of its array, as GDAL writes lists.
  json: "TEXT",
};

/**
 * "GPKG" as the SQLite application_id, and version 1.3.0 as user_version: what this file holds
 * is the same in 1.3 and 1.4, and GDAL builds older than 3.8 warn on 1.4 files.
 */
const APPLICATION_ID = 0x47504b47;
const USER_VERSION = 10300;
const SRS_ID = 4326;

const WGS84_WKT =
  'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],' +
  'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],' +
  'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]';

/** A quoted SQL identifier. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The core tables and the three required spatial reference systems. */
function createCore(db: BetterSqlite3.Database): void {
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${USER_VERSION}`);
  db.exec(`
    CREATE TABLE gpkg_spatial_ref_sys (
      srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
      organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
    CREATE TABLE gpkg_contents (
      table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
      description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
      CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
    CREATE TABLE gpkg_geometry_columns (
      table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
      srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
      CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
      CONSTRAINT uk_gc_table_name UNIQUE (table_name),
      CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
      CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
    CREATE TABLE gpkg_extensions (
      table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
      scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
  `);
  const srs = db.prepare("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)");
  srs.run(
    "Undefined cartesian SRS",
    -1,
    "NONE",
    -1,
    "undefined",
    "undefined cartesian coordinate reference system",
  );
  srs.run(
    "Undefined geographic SRS",
    0,
    "NONE",
    0,
    "undefined",
    "undefined geographic coordinate reference system",
  );
  srs.run(
    "WGS 84 geodetic",
    SRS_ID,
    "EPSG",
    SRS_ID,
    WGS84_WKT,
    "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
  );
}

/** The feature table of `fields`, registered in the core tables, and its R-tree. */
function createLayer(db: BetterSqlite3.Database, table: string, geometry: string, fields: Field[]): void {
  const columns = fields.map((f) => `${ident(f.name)} ${SQL_TYPES[kindOf(f.name, f.type)]}`);
  db.exec(
    `CREATE TABLE ${ident(table)} (fid INTEGER PRIMARY KEY AUTOINCREMENT, ${ident(geometry)} POINT${columns.map((c) => `, ${c}`).join("")})`,
  );
  db.prepare(
    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?, 'features', ?, ?, ?)",
  ).run(table, table, "points inside the query's area of interest", SRS_ID);
  db.prepare("INSERT INTO gpkg_geometry_columns VALUES (?, ?, 'POINT', ?, 0, 0)").run(
    table,
    geometry,
    SRS_ID,
  );
  db.prepare(
    "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
  ).run(table, geometry);
  db.exec(
    `CREATE VIRTUAL TABLE ${ident(`rtree_${table}_${geometry}`)} USING rtree(id, minx, maxx, miny, maxy)`,
  );
}

/**
 * The GeoPackage geometry blob of a point: the "GP" header (version 0, little-endian, no
 * envelope, srs_id) followed by the point's WKB.
 */
function pointBlob(x: number, y: number): Buffer {
  const blob = Buffer.alloc(8 + 21);
  blob.write("GP", 0, "latin1");
  blob.writeUInt8(0, 2);
  blob.writeUInt8(0x01, 3);
  blob.writeInt32LE(SRS_ID, 4);
  blob.writeUInt8(1, 8);
  blob.writeUInt32LE(1, 9);
  blob.writeDoubleLE(x, 13);
  blob.writeDoubleLE(y, 21);
  return blob;
}

/** A cell as SQLite binds it: times as ISO text, booleans as 0/1, bigints as 64-bit integers. */
function bindable(
  kind: ColumnKind,
  value: number | bigint | string | boolean | null,
): number | bigint | string | null {
  if (value === null) return null;
  if (kind === "time") return isoTime(value as bigint);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" && Number.isNaN(value)) return null;
  return value;
}

/**
 * Streams record batches into a GeoPackage at `path` (written under a temporary name, renamed
 * when complete): one feature table (default "points") of Point geometries in EPSG:4326 with every
 * non-geometry column typed (DOUBLE, FLOAT, TINYINT, SMALLINT, MEDIUMINT, INTEGER, BOOLEAN, TEXT;
 * times as ISO 8601 UTC text with nanoseconds), the layer's extent in gpkg_contents and an R-tree
 * spatial index. An empty result is a valid GeoPackage with an empty layer.
 * @returns the number of rows written.
 * @throws InvalidQueryError when the output folder or file cannot be written.
 * @example
 * const rows = await writeGeoPackage(store.query({ aoi }), "out/greenland.gpkg");
 */
export async function writeGeoPackage(
  batches: AsyncIterable<RecordBatch>,
  path: string,
  opts: GeoPackageWriteOptions = {},
): Promise<number> {
  const { default: Database } = await import("better-sqlite3");
  const table = opts.table ?? DEFAULT_GEOPACKAGE_TABLE;
  const geometry = "geom";
  return writeAtomically(path, async (tmp) => {
    const db = new Database(tmp);
    try {
      // The file is renamed into place only when complete, so no journal is needed while writing.
      db.pragma("journal_mode = OFF");
      db.pragma("synchronous = OFF");
      createCore(db);
      let rows = 0;
      let insert: BetterSqlite3.Statement | undefined;
      let rtree: BetterSqlite3.Statement | undefined;
      const box = [Infinity, Infinity, -Infinity, -Infinity];
      for await (const batch of batches) {
        if (!insert) {
          const fields = propertyFields(batch.schema, opts.geometryColumn);
          createLayer(db, table, geometry, fields);
          const names = [geometry, ...fields.map((f) => f.name)].map(ident).join(", ");
          const marks = fields.map(() => ", ?").join("");
          insert = db.prepare(`INSERT INTO ${ident(table)} (${names}) VALUES (?${marks})`);
          rtree = db.prepare(`INSERT INTO ${ident(`rtree_${table}_${geometry}`)} VALUES (?, ?, ?, ?, ?)`);
        }
        const columns = propertyColumns(batch, opts.geometryColumn);
        const point = pointReader(batch, opts.geometryColumn);
        db.transaction(() => {
          const values: (number | bigint | string | null | Buffer)[] = new Array(columns.length + 1);
          for (let row = 0; row < batch.numRows; row++) {
            const [x, y] = point(row);
            values[0] = pointBlob(x, y);
            for (let i = 0; i < columns.length; i++) {
              const c = columns[i]!;
              values[i + 1] = bindable(c.kind, c.read(row));
            }
            const fid = insert!.run(values).lastInsertRowid;
            rtree!.run(fid, x, x, y, y);
            if (x < box[0]!) box[0] = x;
            if (y < box[1]!) box[1] = y;
            if (x > box[2]!) box[2] = x;
            if (y > box[3]!) box[3] = y;
          }
        })();
        rows += batch.numRows;
      }
      if (!insert)
        createLayer(
          db,
          table,
          geometry,
          propertyFields(opts.emptySchema ?? { fields: [] }, opts.geometryColumn),
        );
      if (rows > 0) {
        db.prepare(
          "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
        ).run(box[0], box[1], box[2], box[3], table);
      }
      return rows;
    } finally {
      db.close();
    }
  });
}
