import { spawnSync } from "node:child_process";

/*
 * The Python interpreter with the Debian scientific packages the export tests read with (xarray,
 * zarr 2, fsspec; installed by .ci/run). A developer's own `python3` may be another interpreter,
 * so the system one is tried second.
 */

const CANDIDATES = ["python3", "/usr/bin/python3"];

/** The first interpreter that imports `modules`; throws naming them when none does. */
export function pythonWith(modules: readonly string[]): string {
  for (const exe of CANDIDATES) {
    const run = spawnSync(exe, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
    if (run.status === 0) return exe;
  }
  throw new Error(
    `no python3 imports ${modules.join(", ")}: install python3-xarray python3-zarr python3-fsspec`,
  );
}

/** Runs a Python script and parses the JSON it prints; throws with its stderr on failure. */
export function runPythonJson(exe: string, script: string, args: readonly string[]): unknown {
  const run = spawnSync(exe, [script, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`${script} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}
