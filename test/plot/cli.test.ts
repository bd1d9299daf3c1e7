import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { writeKnownResult } from "./support.js";

describe("plot: bad input is one line naming it, exit code 2, and no picture left behind", () => {
  let dir: string;
  const at = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "geochunks-plot-cli-"));
    await writeKnownResult(at("r.parquet"), [{ lat: 70, lon: -40, value: 1 }]);
    writeFileSync(at("broken.parquet"), "not parquet at all");
    writeFileSync(at("notes.txt"), "hello");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses each bad input with its own message", async () => {
    const cases: [string[], string][] = [
      [["plot", at("nope.parquet"), "--out", at("a.png")], "nope.parquet: no such file"],
      [
        ["plot", at("r.parquet"), "--out", at("b.jpg")],
        'b.jpg: picture file has an unsupported extension ".jpg"; valid: .png, .svg, .html',
      ],
      [
        ["plot", at("r.parquet"), "--color", "nope", "--out", at("d.png")],
        'r.parquet: has no column "nope"; columns: h_li',
      ],
      [
        ["plot", at("broken.parquet"), "--out", at("e.png")],
        "broken.parquet: cannot be read as a parquet query result",
      ],
      [
        ["plot", at("notes.txt"), "--out", at("f.png")],
        "notes.txt: not a query result file; results are .parquet",
      ],
      [["plot", "--store", at("idx"), "--out", at("i.png")], "plot --store: missing --polygon AOI"],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    runs.forEach((run, i) => {
      const [args, message] = cases[i]!;
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(run.stderr, args.join(" ")).toContain(message);
      const out = args[args.indexOf("--out") + 1]!;
      expect(existsSync(out), out).toBe(false);
    });
  });
});
