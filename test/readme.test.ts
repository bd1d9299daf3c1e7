/**
 * Every command line of the README (`$ ...` in its code blocks) runs exactly as written, from the
 * repository root as the README says, after the demo granules exist; each output line the README
 * shows must appear in the real output, in order (numbers with a decimal point, which are timings,
 * are compared by shape only; lines with "..." stand for elided output). So the README cannot drift
 * from the tool.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { demoGranuleSet, writeSyntheticAtl06 } from "../fixtures/atl06/generate.js";
import { ROOT } from "./support/cli.js";

interface Example {
  command: string;
  shown: string[];
}

/** The `$ ` command lines of the README's code blocks, each with the output lines shown under it. */
function readmeExamples(text: string): Example[] {
  const examples: Example[] = [];
  let inBlock = false;
  let current: Example | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) {
      inBlock = !inBlock;
      current = undefined;
      continue;
    }
    if (!inBlock) continue;
    if (line.startsWith("$ ")) {
      current = { command: line.slice(2), shown: [] };
      examples.push(current);
    } else if (current && line.trim() !== "") current.shown.push(line);
  }
  return examples;
}

/** A line with timings masked: 4.97 and 1.5367 both become #.#. */
function shape(line: string): string {
  // Decimals vary with the machine; a written file's size, "(N bytes)", with the checkout's path
  // (references hold the granules' absolute URLs).
  return line
    .replace(/\d+\.\d+/g, "#.#")
    .replace(/\(\d+ bytes\)/g, "(# bytes)")
    .trimEnd();
}

function run(command: string): { code: number; stdout: string; stderr: string } {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
  );
  const r = spawnSync("bash", ["-c", command], {
    cwd: ROOT,
    env: { ...env, GEOCHUNKS_DEBUG: "" },
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const examples = readmeExamples(readFileSync(join(ROOT, "README.md"), "utf8"));

describe("the README's command lines", () => {
  beforeAll(async () => {
    mkdirSync(join(ROOT, ".cache/demo/granules"), { recursive: true });
    for (const opts of demoGranuleSet())
      await writeSyntheticAtl06(join(ROOT, ".cache/demo/granules"), { ...opts, reuse: true });
    rmSync(join(ROOT, "idx"), { recursive: true, force: true });
    rmSync(join(ROOT, "out"), { recursive: true, force: true });
  });

  it("has command lines to run", () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  // In order: later lines use the store and results of earlier ones.
  it.each(examples.map((e, i) => [i + 1, e.command, e] as const))("%i: %s", (_i, _command, example) => {
    const r = run(example.command);
    const errorShown = example.shown.length > 0 && example.shown.every((l) => l.startsWith("geochunks: "));
    if (errorShown) {
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual(example.shown);
      return;
    }
    expect(r.code, r.stderr).toBe(0);
    const actual = `${r.stdout}${r.stderr}`.split("\n").map(shape);
    let at = 0;
    for (const line of example.shown) {
      if (line.includes("...")) continue;
      const want = shape(line);
      const found = actual.indexOf(want, at);
      expect(
        found,
        `README line not in the output of ${example.command}:\n${line}\n--- output:\n${r.stdout}${r.stderr}`,
      ).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});
