/** Runs the Python peers (bench/peers/atl06_peer.py, atl03_peer.py) and parses their JSON answer. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The interpreter the peers run on: `PYTHON`, else the system one (Debian's python3-h5py lives there), else python3. */
export const PYTHON = process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** What a peer run prints. */
export interface PeerAnswer {
  rows: number;
  hash: string;
  /** Seconds from the first granule to the last (interpreter start-up and imports excluded). */
  seconds: number;
  granules: number;
  versions: Record<string, string>;
}

/** Runs one peer mode over a job description; `script` names the peer in bench/peers (default the ATL06 one). */
export async function runPeer(
  mode: string,
  job: Record<string, unknown>,
  script = "atl06_peer.py",
): Promise<PeerAnswer> {
  const scriptPath = fileURLToPath(new URL(`../peers/${script}`, import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), "geochunks-peer-"));
  try {
    const path = join(dir, "job.json");
    await writeFile(path, JSON.stringify(job));
    const { stdout } = await run(PYTHON, [scriptPath, mode, path], { maxBuffer: 1 << 26 });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as PeerAnswer;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why a Python module cannot be imported, or undefined when it can. */
export async function pythonMissing(modules: string[]): Promise<string | undefined> {
  try {
    await run(PYTHON, ["-c", modules.map((m) => `import ${m}`).join("; ")]);
    return undefined;
  } catch (err) {
    const text = err instanceof Error && "stderr" in err ? String(err.stderr) : String(err);
    return text.trim().split("\n").pop();
  }
}
