/**
 * The command and the library as users get them: the packed tarball installed into another project
 * (and globally), run through npx, the .bin link, `npm run` and a global bin; the library imported
 * by its package name. Results equal the brute-force oracle.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../../fixtures/atl06/generate.js";
import { ROOT } from "../support/cli.js";
import { bruteForceAtl06 } from "../support/oracle.js";
import { readResultRows, toMicros } from "../support/results.js";

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
const BOX = "-46,62,-44,63.5";
const BOX_GEOJSON = {
  type: "Polygon",
  coordinates: [
    [
      [-46, 62],
      [-44, 62],
      [-44, 63.5],
      [-46, 63.5],
      [-46, 62],
    ],
  ],
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * better-sqlite3 installs a prebuilt binary when it can download one and compiles SQLite (about a
 * minute of CPU) when it cannot, as here without network. Its installer also takes a prebuilt
 * archive from a local folder: the tests hand it the binary this checkout already built, so each
 * install below runs the package's real install script without compiling SQLite twice more.
 */
const prebuilds: Record<string, string> = {};

function stageSqlitePrebuild(dir: string): void {
  const pkg = join(ROOT, "node_modules", "better-sqlite3");
  const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version as string;
  const stage = join(dir, "prebuild-stage");
  mkdirSync(join(stage, "build", "Release"), { recursive: true });
  copyFileSync(
    join(pkg, "build", "Release", "better_sqlite3.node"),
    join(stage, "build", "Release", "better_sqlite3.node"),
  );
  const folder = join(dir, "prebuilds");
  mkdirSync(folder);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync("tar", ["czf", join(folder, name), "-C", stage, "build"]);
  prebuilds.npm_config_better_sqlite3_local_prebuilds = folder;
}

/** Runs a program in `cwd` with a clean npm environment (no variables of the outer `npm test`). */
function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): Run {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
  );
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...env, ...extra, GEOCHUNKS_DEBUG: "" },
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("the packed package, installed", () => {
  let dir: string;
  let project: string;
  let tarball: string;
  let granules: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-installed-"));
    stageSqlitePrebuild(dir);
    execFileSync("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: ROOT, stdio: "pipe" });
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith(".tgz"))!);
    project = join(dir, "project");
    mkdirSync(project);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({
        name: "user-project",
        version: "1.0.0",
        private: true,
        type: "module",
        scripts: { geochunks: "geochunks" },
      }),
    );
    const install = run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball],
      project,
      prebuilds,
    );
    expect(install.code, install.stderr).toBe(0);
    mkdirSync(join(project, "granules"));
    granules = [];
    for (const opts of demoGranuleSet().slice(0, 2))
      granules.push(await writeSyntheticAtl06(join(project, "granules"), opts));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers --version and --help through npx, the .bin link and npm run", () => {
    for (const [cmd, args] of [
      ["npx", ["geochunks", "--version"]],
      [join(project, "node_modules/.bin/geochunks"), ["--version"]],
      ["npm", ["run", "--silent", "geochunks", "--", "--version"]],
    ] as const) {
      const r = run(cmd, [...args], project);
      expect(r.code, `${cmd} ${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(VERSION);
    }
    const help = run("npx", ["geochunks", "--help"], project);
    expect(help.code).toBe(0);
    for (const name of ["inspect", "cat", "index", "query", "sql", "commit", "compact", "help"])
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    const queryHelp = run("npx", ["geochunks", "help", "query"], project);
    expect(queryHelp.code).toBe(0);
    expect(queryHelp.stdout).toContain("--polygon <aoi>");
    expect(queryHelp.stdout.replace(/\s+/g, " ")).toContain(
      "--concurrency <n> granules fetched and decoded at the same time at most (1..256) (default: as many as 2 M candidate points; e.g. --concurrency 8)",
    );
    expect(run("npx", ["geochunks", "query", "--help"], project).stdout).toBe(queryHelp.stdout);
  });

  it("indexes and queries with a west/south bbox through npx, equal to the oracle", async () => {
    const index = run("npx", ["geochunks", "index", "granules/*.h5", "--store", "idx", "--quiet"], project);
    expect(index.code, index.stderr).toBe(0);
    expect(index.stdout).toMatch(/^indexed 2 added, 0 replaced, 0 unchanged granules/);
    const query = run(
      "npx",
      ["geochunks", "query", "--store", "idx", "--polygon", BOX, "--out", "out/deep/box.parquet"],
      project,
    );
    expect(query.code, query.stderr).toBe(0);
    const expected = await bruteForceAtl06(granules, BOX_GEOJSON);
    expect(expected.length).toBeGreaterThan(1000);
    expect(query.stdout.trim()).toBe(`wrote ${expected.length} rows to out/deep/box.parquet`);
    expect(await readResultRows(join(project, "out/deep/box.parquet"))).toEqual(toMicros(expected));
  });

  it("refuses an unknown command or option with a suggestion, exit 2", () => {
    const cmd = run("npx", ["geochunks", "qurey"], project);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr.trim()).toBe("geochunks: unknown command 'qurey' (did you mean query?)");
    const opt = run("npx", ["geochunks", "query", "--store", "idx", "--polgon", BOX], project);
    expect(opt.code).toBe(2);
    expect(opt.stderr.trim()).toBe("geochunks: unknown option '--polgon' (did you mean --polygon?)");
  });

  it("ends quietly with exit 0 when the reader of a pipe closes early", () => {
    const r = run(
      "bash",
      [
        "-c",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash variable, expanded by bash
        "npx geochunks sql --store idx --format csv 'SELECT * FROM range(2000000)' | head -n 2; echo status ${PIPESTATUS[0]}",
      ],
      project,
    );
    expect(r.stdout.trim().split("\n")).toEqual(["range", "0", "status 0"]);
    expect(r.stderr).toBe("");
    const cat = run(
      "bash",
      [
        "-c",
        `npx geochunks cat '${granules[0]}' /gt1l/land_ice_segments/h_li | head -n 2; echo status \${PIPESTATUS[0]}`,
      ],
      project,
    );
    expect(cat.stdout.trim().split("\n")).toHaveLength(3);
    expect(cat.stdout.trim().split("\n")[2]).toBe("status 0");
    expect(cat.stderr).toBe("");
  });

  it("is importable by its package name", () => {
    writeFileSync(
      join(project, "count.js"),
      [
        'import { createRequire } from "node:module";',
        'import { openStore } from "geochunks";',
        // DuckDB (CommonJS, so in require's cache once loaded) loads with the first SQL, not the package.
        'const duckdb = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("@duckdb"));',
        "const loadedWithPackage = duckdb();",
        'const store = await openStore("idx");',
        `const result = store.query({ aoi: "${BOX}" });`,
        "let rows = 0;",
        "for await (const batch of result) rows += batch.numRows;",
        "const loadedByQuery = duckdb();",
        'const sql = await store.sql("SELECT count(*) AS n FROM granules");',
        "console.log(JSON.stringify({ rows, granules: (await store.granules()).length, sqlGranules: Number(sql.rows[0].n), loadedWithPackage, loadedByQuery, loadedBySql: duckdb() }));",
      ].join("\n"),
    );
    const r = run("node", ["count.js"], project);
    expect(r.code, r.stderr).toBe(0);
    const {
      rows,
      granules: n,
      sqlGranules,
      loadedWithPackage,
      loadedByQuery,
      loadedBySql,
    } = JSON.parse(r.stdout);
    expect(n).toBe(2);
    expect(sqlGranules).toBe(2);
    expect({ loadedWithPackage, loadedByQuery, loadedBySql }).toEqual({
      loadedWithPackage: false,
      loadedByQuery: false,
      loadedBySql: true,
    });
    const out = run(
      "npx",
      [
        "geochunks",
        "sql",
        "--store",
        "idx",
        "--view",
        "r=out/deep/box.parquet",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM r",
      ],
      project,
    );
    expect(out.stdout.trim().split("\n")[1]).toBe(String(rows));
  });

  it("loads the plotting code only when a picture is drawn", () => {
    // Logs every d3 module the process loads (d3 is ESM: not in require's cache), whether from
    // node_modules or inside a file of the bundled library (its inputs listed in dist/chunks/inputs.json).
    writeFileSync(
      join(project, "hooks.mjs"),
      [
        'import { readFileSync } from "node:fs";',
        'const dist = new URL("./node_modules/geochunks/dist/", import.meta.url).href;',
        'const inputs = JSON.parse(readFileSync(new URL("chunks/inputs.json", dist), "utf8"));',
        "export async function load(url, context, next) {",
        "  const bundled = url.startsWith(dist) ? inputs[url.slice(dist.length)] ?? [] : [];",
        '  if (url.includes("/node_modules/d3-") || bundled.some((m) => m.includes("node_modules/d3-")))',
        '    process.stderr.write("d3 " + url + "\\n");',
        "  return next(url, context);",
        "}",
      ].join("\n"),
    );
    writeFileSync(
      join(project, "register.mjs"),
      'import { register } from "node:module"; register("./hooks.mjs", import.meta.url);',
    );
    writeFileSync(
      join(project, "plan.mjs"),
      [
        'import { plotPlan, toAoi } from "geochunks";',
        `if (process.argv[2] === "draw") console.log(JSON.stringify(await plotPlan("idx", { out: "plan.svg", aoi: toAoi("${BOX}") })));`,
      ].join("\n"),
    );
    const imported = run("node", ["--import", "./register.mjs", "plan.mjs"], project);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).not.toContain("d3 ");
    const drawn = run("node", ["--import", "./register.mjs", "plan.mjs", "draw"], project);
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(drawn.stderr).toContain("d3 ");
    expect(JSON.parse(drawn.stdout).chunks_read).toBeGreaterThan(0);
    expect(readFileSync(join(project, "plan.svg"), "utf8")).toContain("<svg");
  });

  it("works installed globally", () => {
    const prefix = join(dir, "global");
    const install = run(
      "npm",
      ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", tarball],
      dir,
      prebuilds,
    );
    expect(install.code, install.stderr).toBe(0);
    const r = run(join(prefix, "bin", "geochunks"), ["--version"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });
});
