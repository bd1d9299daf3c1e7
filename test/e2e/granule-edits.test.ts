/**
 * A granule edited after indexing with its size and modification time restored (as `touch -r`
 * does): the index's fingerprint (size, mtime) sees nothing, but the checksums recorded at index
 * time of the chunks the index read (the coordinate chunks) catch the edit in every query that
 * reads such a chunk and in `index --verify`.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GREENLAND_CENTRE, nominalStart, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, isGeochunksError, openStore } from "../../src/index.js";
import { xxhash32 } from "../../src/source/index.js";
import { runCli } from "../support/cli.js";

/** A 0.4 x 0.4 degree box round the synthetic track's middle. */
const AOI = "-45.2,62.6,-44.8,63";

interface Ref {
  path: string;
  offset: number;
  size: number;
  checksum: number | null;
}

/** Result rows of the AOI query through the library, as JSON lines (bigints as strings). */
async function queryRows(store: string): Promise<string[]> {
  const rows = await (await openStore(store)).query({ aoi: AOI }).toRows();
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
}

describe("granule edits that keep the size and the mtime", () => {
  let dir: string;
  let granule: string;
  let pristine: string;
  let store: string;
  let latitude: Ref;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-edits-"));
    const start = nominalStart(1000, 3, GREENLAND_CENTRE.lat, false);
    granule = await writeSyntheticAtl06(dir, {
      seed: 7,
      rgt: 1000,
      cycle: 3,
      start,
      through: GREENLAND_CENTRE,
      beams: ["gt1l"],
    });
    pristine = join(dir, "pristine.h5");
    copyFileSync(granule, pristine);
    execFileSync("touch", ["-r", granule, pristine]);
    store = join(dir, "store");
    expect((await index(granule, { store })).added).toHaveLength(1);
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records at index time the checksum of every coordinate chunk, as XXH32 of its stored bytes", async () => {
    const { rows } = await (await openStore(store)).sql(
      `SELECT DISTINCT r.path, r.offset, r.size, c.checksum
         FROM (SELECT unnest(refs) r, unnest(ref_checksums) checksum, bbox FROM chunks) c
        WHERE c.bbox.ymin <= 62.8 AND c.bbox.ymax >= 62.8 ORDER BY r.offset`,
    );
    const refs: Ref[] = rows.map((r) => ({
      path: String(r.path),
      offset: Number(r.offset),
      size: Number(r.size),
      checksum: r.checksum == null ? null : Number(r.checksum),
    }));
    const bytes = readFileSync(granule);
    for (const name of ["latitude", "longitude", "delta_time"]) {
      const ref = refs.find((r) => r.path === `/gt1l/land_ice_segments/${name}`)!;
      expect(ref.checksum, name).toBe(xxhash32(bytes.subarray(ref.offset, ref.offset + ref.size)));
    }
    // Chunks the index never read (heights) have none: the query cannot check them.
    expect(refs.find((r) => r.path === "/gt1l/land_ice_segments/h_li")?.checksum).toBeNull();
    latitude = refs.find((r) => r.path === "/gt1l/land_ice_segments/latitude")!;
  });

  it("a query reading an edited chunk fails naming the granule and writes nothing; index --verify finds it", async () => {
    const before = await queryRows(store);
    expect(before.length).toBeGreaterThan(1000);
    // Flip 8 bytes inside the latitude chunk, then put the modification time back.
    const fd = openSync(granule, "r+");
    const at = latitude.offset + Math.floor(latitude.size / 2);
    const buf = Buffer.alloc(8);
    readSync(fd, buf, 0, 8, at);
    for (let i = 0; i < 8; i++) buf[i]! ^= 0x5a;
    writeSync(fd, buf, 0, 8, at);
    closeSync(fd);
    execFileSync("touch", ["-r", pristine, granule]);

    const out = join(dir, "b.csv");
    const query = await runCli(["query", "--store", store, "--polygon", AOI, "--out", out]);
    expect(query.code).toBe(2);
    expect(query.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^geochunks: ATL06_\d{14}_10000305_006_01: file changed since it was indexed \(.*ATL06_\S+\.h5: chunk of \/gt1l\/land_ice_segments\/latitude at byte \d+ has checksum [0-9a-f]{8}, indexed [0-9a-f]{8}\); re-index it$/,
      ),
    ]);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    const failed = await queryRows(store).catch((err: unknown) => err);
    expect(isGeochunksError(failed, "IndexMismatchError"), String(failed)).toBe(true);

    // Size and mtime alone do not see it (the documented limit); --verify reads the chunks again.
    expect((await index(granule, { store })).unchanged).toHaveLength(1);
    const verify = await runCli(["index", granule, "--store", store, "--verify"]);
    // Its latitude chunk no longer inflates, so the granule cannot be indexed again: a bad input.
    expect(verify.code).toBe(2);
    expect(verify.stderr).toMatch(/latitude is corrupt/);

    // Put the bytes back: --verify finds every recorded chunk as indexed, and the query answers as before.
    copyFileSync(pristine, granule);
    execFileSync("touch", ["-r", pristine, granule]);
    const again = await index(granule, { store, verify: true });
    expect(again.unchanged).toHaveLength(1);
    expect(again.changed).toEqual([]);
    expect(await queryRows(store)).toEqual(before);
  }, 90_000);
});
