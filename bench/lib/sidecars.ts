/**
 * DMR++ sidecars (`GRANULE.h5.dmrpp`, as NSIDC publishes them beside ICESat-2 granules) for benchmark
 * granules, written by fixtures/dmrpp/make_dmrpp.py with Python's h5py, once.
 */
import { spawnSync } from "node:child_process";
import { access, copyFile, link, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../fixtures/dmrpp/make_dmrpp.py", import.meta.url));

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A python3 that imports h5py (a developer's own may lack it; Debian's has it with python3-h5py). */
function pythonWithH5py(): string | undefined {
  return ["python3", "/usr/bin/python3"].find((exe) => spawnSync(exe, ["-c", "import h5py"]).status === 0);
}

/** Writes the sidecars of `files` that are missing beside them. @throws Error when no python3 imports h5py. */
export async function writeSidecars(files: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const f of files) if (!(await exists(`${f}.dmrpp`))) missing.push(f);
  if (missing.length === 0) return;
  const python = pythonWithH5py();
  if (!python) throw new Error("no python3 imports h5py: install python3-h5py");
  const run = spawnSync(python, [SCRIPT, ...missing], { stdio: "inherit" });
  if (run.status !== 0) throw new Error("make_dmrpp.py failed");
}

/**
 * The granules `files` again in `dir` (hard links, else copies), each with its sidecar: the same bytes
 * under other URLs, so that runs over the original directory still find no sidecar.
 */
export async function granulesWithSidecars(files: readonly string[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const linked: string[] = [];
  for (const f of files) {
    const to = join(dir, basename(f));
    if (!(await exists(to))) await link(f, to).catch(() => copyFile(f, to));
    linked.push(to);
  }
  await writeSidecars(linked);
  return linked;
}
