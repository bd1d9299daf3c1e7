/**
 * Query outputs on S3: the query of every row of `--count` subsetted-size synthetic ATL06 granules
 * (20,000 segments per beam, local files) through the compiled command line, written as CSV and as
 * GeoParquet (1) to a local file and (2) streamed to s3rver on loopback (`--out s3://...`). Each run
 * is timed by /usr/bin/time (wall and CPU seconds, peak RSS); for the streamed runs the server's log
 * gives when the first part and the completion arrived (seconds after the start), the parts, and the
 * most parts in flight at once. The upload of the local file afterwards (`uploadFile`, what the
 * command line did before it streamed) is timed too: the old path took the local run plus it.
 *
 *   npx tsx bench/s3-output.ts [--count 4] [--part-mib 8] [--in-flight 4]
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { uploadFile } from "../src/export/s3-output.js";
import { index } from "../src/index.js";
import { startS3Server, type TestKey } from "../test/support/s3-server.js";
import { ensureArchive } from "./lib/archive.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "4" },
    "part-mib": { type: "string", default: "8" },
    "in-flight": { type: "string", default: "4" },
  },
});
const root = fileURLToPath(new URL("../", import.meta.url));
const BIN = join(root, "dist", "cli", "bin.js");
const KEY: TestKey = { accessKeyId: "AKIABENCHOUTPUT", secretAccessKey: "bench-output-secret-0123456789" };
const EVERYWHERE = "-50,55,-40,70";

interface Timed {
  wall: number;
  cpu: number;
  rssMb: number;
}

/** Runs the command line under /usr/bin/time; rejects on a non-zero exit. */
function timedCli(args: string[], env: Record<string, string>): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M", process.execPath, BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => {
      const last = stderr.trim().split("\n").at(-1) ?? "";
      const [wall, user, sys, rssKb] = last.split(" ").map(Number);
      if (code !== 0) reject(new Error(`geochunks ${args.join(" ")}: exit ${code}: ${stderr}`));
      else resolve({ wall: wall!, cpu: user! + sys!, rssMb: rssKb! / 1024 });
    });
  });
}

async function main() {
  const files = await ensureArchive(join(root, ".cache", "bench", "granules"), {
    crossing: Number(values.count),
    far: 0,
    segmentsPerBeam: 20_000,
  });
  const work = await mkdtemp(join(tmpdir(), "geochunks-bench-s3out-"));
  const server = await startS3Server({ buckets: ["results"], keys: [KEY] });
  try {
    const store = join(work, "store");
    await index(files, { store });
    const env = {
      HOME: work,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_ENDPOINT_URL: server.endpoint,
      GEOCHUNKS_S3_PART_MIB: values["part-mib"],
      GEOCHUNKS_S3_PARTS_IN_FLIGHT: values["in-flight"],
    };
    const s3 = { endpoint: server.endpoint, credentials: KEY };
    console.log(
      `${files.length} granules; parts of ${values["part-mib"]} MiB, ${values["in-flight"]} in flight; ` +
        `node ${process.version}; load ${loadavg()[0]!.toFixed(1)} at the start`,
    );
    for (const ext of ["csv", "parquet"]) {
      const local = join(work, `all.${ext}`);
      const query = (out: string) => ["query", "--store", store, "--polygon", EVERYWHERE, "--out", out];
      const l = await timedCli(query(local), env);
      const size = (await stat(local)).size;
      const t0 = performance.now();
      await uploadFile(local, `s3://results/uploaded.${ext}`, {
        s3,
        partBytes: Number(values["part-mib"]) * 1024 * 1024,
        partsInFlight: Number(values["in-flight"]),
      });
      const upload = (performance.now() - t0) / 1000;

      const key = `/results/streamed.${ext}`;
      const arrivals: { at: number; part?: number; phase: string }[] = [];
      let inFlight = 0;
      let most = 0;
      let start = 0;
      server.onWrite((req) => {
        if (req.path !== key) return undefined;
        const part = req.params.get("partNumber");
        if (part !== null) {
          inFlight += req.phase === "before" ? 1 : -1;
          most = Math.max(most, inFlight);
        }
        arrivals.push({
          at: (performance.now() - start) / 1000,
          part: part === null ? undefined : Number(part),
          phase: req.phase,
        });
        return undefined;
      });
      start = performance.now();
      const s = await timedCli(query(`s3:/${key}`), env);
      server.onWrite(undefined);
      const firstPart = arrivals.find((a) => a.part === 1)?.at;
      const complete = arrivals.filter((a) => a.part === undefined).at(-1)?.at;
      const parts = new Set(arrivals.filter((a) => a.part !== undefined).map((a) => a.part)).size;
      console.log(
        `${ext}: ${(size / 1024 / 1024).toFixed(1)} MiB; local: ${l.wall.toFixed(2)} s wall, ${l.cpu.toFixed(2)} s CPU, ` +
          `${l.rssMb.toFixed(0)} MB peak RSS; then uploading the file ${upload.toFixed(2)} s (old path ~${(l.wall + upload).toFixed(2)} s)`,
      );
      console.log(
        `${ext} streamed: ${s.wall.toFixed(2)} s wall, ${s.cpu.toFixed(2)} s CPU, ${s.rssMb.toFixed(0)} MB peak RSS; ` +
          `${parts} parts, at most ${most} in flight; first part at ${firstPart?.toFixed(2) ?? "-"} s, completion at ${complete?.toFixed(2) ?? "-"} s; load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
