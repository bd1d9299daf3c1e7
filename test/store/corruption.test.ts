import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata } from "hyparquet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { index, openStore } from "../../src/index.js";
import { Store } from "../../src/store/store.js";
import { verifyStore } from "../../src/store/verify.js";
import { ROOT, runCli } from "../support/cli.js";

const GREENLAND = join(ROOT, "examples/greenland.geojson");
const AOI = JSON.parse(readFileSync(GREENLAND, "utf8")).geometry;

let dir: string;
let pristine: string;
let other: string;
let files: string[];

/** A fresh copy of the two-commit store. */
function copy(name: string): string {
  const to = join(dir, name);
  cpSync(pristine, to, { recursive: true });
  return to;
}

/** Part files of a table in the store's manifest, relative paths, in part-set order. */
function parts(store: string, table: string): string[] {
  const m = JSON.parse(readFileSync(join(store, "manifest.json"), "utf8"));
  return m.parts.flatMap((p: { files: Record<string, string[]> }) => p.files[table]);
}

/** Rows a library query of the Greenland AOI gives, or the error it throws. */
async function queryRows(store: string): Promise<number> {
  let rows = 0;
  for await (const batch of (await openStore(store)).query({ aoi: AOI })) rows += batch.numRows;
  return rows;
}

describe("a corrupted store fails with an error naming the file, never a wrong answer", () => {
  let expected: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-corrupt-"));
    files = [];
    for (const opts of demoGranuleSet().slice(0, 3)) files.push(await writeSyntheticAtl06(dir, opts));
    pristine = join(dir, "pristine");
    other = join(dir, "other");
    expect((await runCli(["index", files[0]!, files[2]!, "--store", pristine])).code).toBe(0);
    expect((await runCli(["index", files[1]!, "--store", pristine])).code).toBe(0);
    expect((await runCli(["index", files[2]!, "--store", other])).code).toBe(0);
    expected = await queryRows(pristine);
    expect(expected).toBeGreaterThan(1000);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Record<string, (store: string) => string> = {
    "two chunks parts of two commits swapped": (store) => {
      const all = parts(store, "chunks");
      const [a, b] = [all[0]!, all[all.length - 1]!];
      const bytesA = readFileSync(join(store, a));
      writeFileSync(join(store, a), readFileSync(join(store, b)));
      writeFileSync(join(store, b), bytesA);
      return a;
    },
    "a chunks part replaced by another store's": (store) => {
      const a = parts(store, "chunks")[0]!;
      writeFileSync(join(store, a), readFileSync(join(other, parts(other, "chunks")[0]!)));
      return a;
    },
    "a truncated chunk_cells part": (store) => {
      const a = parts(store, "chunk_cells")[1]!;
      truncateSync(join(store, a), 100);
      return a;
    },
    "a granules part overwritten with garbage of the same size": (store) => {
      const a = parts(store, "granules")[0]!;
      const size = readFileSync(join(store, a)).length;
      writeFileSync(join(store, a), Buffer.alloc(size, 0x5a));
      return a;
    },
    "a missing arrays part": (store) => {
      const a = parts(store, "arrays")[1]!;
      rmSync(join(store, a));
      return a;
    },
  };
  let n = 0;
  for (const [name, corrupt] of Object.entries(cases)) {
    it(`${name}: query and sql name the file; verify lists it; repair and a new index restore the answers`, async () => {
      const store = copy(`case-${n++}`);
      const file = join(store, corrupt(store));
      if (file.includes("/chunk_cells/")) {
        // A query selects with each chunk row's own h3_cells and never opens chunk_cells: its
        // answer stays right; sql, which reads the table, and verify name the file.
        expect(await queryRows(store)).toBe(expected);
      } else {
        await expect(queryRows(store)).rejects.toThrow(file);
      }
      await expect((await openStore(store)).sql("SELECT count(*) FROM chunks")).rejects.toThrow(file);
      const report = await verifyStore(await Store.open(store));
      expect(report.problems.length).toBeGreaterThan(0);
      expect(report.problems[0]!.file).toBe(file);
      const repaired = await (await Store.open(store)).repair();
      expect(repaired.problems).toEqual(report.problems);
      // Granules whose rows were lost are indexed again; then the store answers as before.
      await index(files, { store });
      expect(await queryRows(store)).toBe(expected);
      expect((await verifyStore(await Store.open(store))).problems).toEqual([]);
    }, 120_000);
  }

  it("verify and compact --repair on the command line: problems on stderr, exit 1, then repaired", async () => {
    const store = copy("cli-verify");
    const file = join(store, cases["a truncated chunk_cells part"]!(store));
    const verify = await runCli(["verify", "--store", store]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(new RegExp(`^${file}: 100 bytes, the manifest records \\d+\n`));
    expect(verify.stdout).toMatch(
      /: 10 part files, 3 granules, 3 problems; geochunks compact --store .* --repair rebuilds what it can/,
    );
    const repair = await runCli(["compact", "--store", store, "--repair"]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(
      /^repaired .*: [1-9]\d* problems, 1 part sets rebuilt, 0 granules dropped\n/,
    );
    expect(await queryRows(store)).toBe(expected);
    const clean = await runCli(["verify", "--store", store]);
    expect([clean.code, clean.stderr]).toEqual([0, ""]);
  }, 120_000);

  it("the command line gives one line naming the file and exit code 2", async () => {
    const store = copy("cli");
    const file = join(store, cases["a chunks part replaced by another store's"]!(store));
    const out = join(dir, "cli.parquet");
    const q = await runCli(["query", "--store", store, "--polygon", GREENLAND, "--out", out]);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(
      new RegExp(`^geochunks: ${file}: part file is \\d+ bytes but the manifest records \\d+`),
    );
    expect(q.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.startsWith("cli.parquet"))).toEqual([]);
  }, 60_000);

  it("bytes changed inside a chunks or arrays part (size and footer intact): the query names the file, exit code 2", async () => {
    for (const table of ["chunks", "arrays"]) {
      const store = copy(`inside-${table}`);
      const file = join(store, parts(store, table)[0]!);
      const bytes = readFileSync(file);
      // Pages every selection reads (a query reads only the pages of the rows it needs): the
      // chunk rows' times (tested in every row group near the AOI), the arrays' granule ids.
      const column = table === "chunks" ? "time_start" : "granule_id";
      const { row_groups } = parquetMetadata(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
      );
      for (const group of row_groups) {
        const meta = group.columns.find((c) => c.meta_data!.path_in_schema[0] === column)!.meta_data!;
        const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
        const end = start + Number(meta.total_compressed_size);
        for (
          let i = start + Math.floor((end - start) / 3);
          i < Math.min(end, start + (end - start) / 3 + 200);
          i++
        )
          bytes[i]! ^= 0x5a;
      }
      writeFileSync(file, bytes);
      await expect(queryRows(store)).rejects.toThrow(`${file}: part file is damaged: row group`);
      const out = join(dir, `inside-${table}.parquet`);
      const q = await runCli(["query", "--store", store, "--polygon", GREENLAND, "--out", out]);
      expect(q.code).toBe(2);
      expect(q.stderr).toMatch(
        new RegExp(
          `^geochunks: ${file}: part file is damaged: row group \\d+ cannot be read \\(.+\\); run geochunks verify --store ${store}\n$`,
        ),
      );
      expect(readdirSync(dir).filter((f) => f.startsWith(`inside-${table}.parquet`))).toEqual([]);
      const report = await verifyStore(await Store.open(store));
      expect(report.problems.map((p) => p.file)).toContain(file);
    }
  }, 120_000);

  it("a store of an older version, without recorded sizes, still catches a swapped part by its granules", async () => {
    const store = copy("legacy");
    const m = JSON.parse(readFileSync(join(store, "manifest.json"), "utf8"));
    for (const p of m.parts) delete p.stats;
    writeFileSync(join(store, "manifest.json"), JSON.stringify(m));
    cases["two chunks parts of two commits swapped"]!(store);
    const report = await verifyStore(await Store.open(store));
    expect(report.problems.map((p) => p.problem)).toEqual([
      expect.stringMatching(/^holds rows of granules that are not this part set's: ATL06_/),
      expect.stringMatching(/^holds rows of granules that are not this part set's: ATL06_/),
    ]);
  });
});
