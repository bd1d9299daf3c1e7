/**
 * A one-node SLURM cluster on loopback for tests: munged, slurmctld and slurmd (Debian's
 * slurm-wlm and munge) started in the foreground as children of the test, with every state
 * folder, socket and log under one temporary folder, and stopped by {@link SlurmCluster.stop}.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Programs the cluster needs, from Debian's slurm-wlm, slurm-client and munge packages. */
const PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo"];

/**
 * Why the cluster cannot run here, when the machine cannot provide it at all: slurmd starts job
 * steps as their user only when it runs as root, and the configuration makes root the SLURM user.
 * (CI runs as root; missing programs are not a reason to skip: {@link startSlurm} fails on them.)
 */
export function slurmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0)
    return "slurmd must run as root to start jobs (SlurmUser=root, no setuid helper), and this process is not root";
  return undefined;
}

/** Full path of an installed program (sbin folders included, which a non-login PATH may lack). */
function programPath(program: string): string | undefined {
  const path = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"]);
  return path.map((d) => join(d, program)).find((f) => existsSync(f));
}

/** A running cluster. */
export interface SlurmCluster {
  /** Folder holding the configuration, state, sockets and logs. */
  dir: string;
  /** Environment for SLURM's commands (SLURM_CONF set, no outer SLURM_* variables). */
  env: NodeJS.ProcessEnv;
  /** Runs `sbatch --parsable ARGS` and returns the job id. */
  sbatch(args: string[]): Promise<string>;
  /** Runs a SLURM command (scontrol, squeue...) and returns its stdout. */
  command(program: string, args: string[]): Promise<string>;
  /** Waits until none of `jobs` is pending or running, then returns `JobId JobState ExitCode` of each task. */
  wait(jobs: string[], timeoutMs: number): Promise<string[]>;
  /** The last lines of the daemons' logs, for failure messages. */
  logs(): string;
  /** Stops every daemon it started (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The configuration: one node (this host's short name on 127.0.0.1, `cpus` task slots), no
 * cgroups (proctrack/pgid, task/none), no accounting, a one-second scheduling loop, and
 * credentials that expire after 5 s (the minimum) so that a requeued task may start 6 s later
 * instead of the default 121 s.
 */
function slurmConf(dir: string, node: string, cpus: number, ports: [number, number]): string {
  return [
    "ClusterName=geochunks",
    `SlurmctldHost=${node}(127.0.0.1)`,
    `SlurmctldPort=${ports[0]}`,
    `SlurmdPort=${ports[1]}`,
    "SlurmUser=root",
    "SlurmdUser=root",
    "AuthType=auth/munge",
    "CredType=cred/munge",
    `AuthInfo=socket=${join(dir, "munge", "munge.sock")},cred_expire=5`,
    `StateSaveLocation=${join(dir, "state")}`,
    `SlurmdSpoolDir=${join(dir, "spool")}`,
    `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
    `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
    `SlurmctldLogFile=${join(dir, "log", "slurmctld.log")}`,
    `SlurmdLogFile=${join(dir, "log", "slurmd.log")}`,
    "ProctrackType=proctrack/pgid",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_CPU",
    "SchedulerType=sched/builtin",
    "SchedulerParameters=sched_interval=1",
    "MpiDefault=none",
    "MailProg=/bin/true",
    "ReturnToService=2",
    // CPUs may exceed the machine's: the node takes the configured count instead of draining itself.
    "SlurmdParameters=config_overrides",
    `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
    `PartitionName=test Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    "",
  ].join("\n");
}

/**
 * Starts munged, slurmctld and slurmd with everything under `dir`, and waits until the node is idle.
 * @throws Error naming the programs missing (slurm-wlm, munge not installed), or with the daemons'
 * last log lines when the node is not up within 30 s (the daemons started so far are stopped first).
 */
export async function startSlurm(dir: string, opts: { cpus: number }): Promise<SlurmCluster> {
  const missing = PROGRAMS.filter((p) => programPath(p) === undefined);
  if (missing.length > 0)
    throw new Error(`${missing.join(", ")} not installed: apt-get install slurm-wlm munge (as .ci/run does)`);
  for (const sub of ["state", "spool", "log", "munge"]) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(join(dir, "munge"), 0o700);
  const key = join(dir, "munge", "munge.key");
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const node = hostname().split(".")[0]!;
  const conf = join(dir, "slurm.conf");
  writeFileSync(conf, slurmConf(dir, node, opts.cpus, [await freePort(), await freePort()]));
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("SLURM_") && !k.startsWith("SBATCH_")),
  );
  env.SLURM_CONF = conf;
  const daemons: ChildProcess[] = [];
  const start = (program: string, args: string[]) => {
    const child = spawn(programPath(program)!, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    child.on("error", () => undefined); // a daemon that fails to start shows as the node never coming up
    child.stderr?.resume();
    daemons.push(child);
  };
  const logs = () =>
    ["munged.log", "slurmctld.log", "slurmd.log"]
      .map((f) => join(dir, "log", f))
      .filter((f) => existsSync(f))
      .map((f) => `${f}:\n${readFileSync(f, "utf8").split("\n").slice(-15).join("\n")}`)
      .join("\n");
  const command = async (program: string, args: string[]) =>
    (await run(programPath(program) ?? program, args, { env })).stdout;
  const stop = async () => {
    // Job steps outlive slurmd (slurmstepd is its own process): cancel what still runs first.
    if (daemons.every((d) => d.exitCode === null)) {
      await command("scancel", ["--user", userInfo().username]).catch(() => "");
      const until = Date.now() + 5000;
      while ((await command("squeue", ["-h"]).catch(() => "")).trim() !== "" && Date.now() < until)
        await sleep(200);
    }
    const exited = daemons.map(
      (d) =>
        new Promise<void>((resolve) =>
          d.exitCode !== null || d.signalCode !== null ? resolve() : d.once("exit", () => resolve()),
        ),
    );
    for (const d of [...daemons].reverse()) d.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const d of daemons) d.kill("SIGKILL");
    }, 5000);
    await Promise.all(exited);
    clearTimeout(timer);
  };
  try {
    // munged refuses a socket folder under a world-writable /tmp unless forced.
    start("munged", [
      "--foreground",
      "--force",
      `--key-file=${key}`,
      `--socket=${join(dir, "munge", "munge.sock")}`,
      `--pid-file=${join(dir, "munge", "munged.pid")}`,
      `--seed-file=${join(dir, "munge", "munged.seed")}`,
      `--log-file=${join(dir, "log", "munged.log")}`,
    ]);
    while (!existsSync(join(dir, "munge", "munge.sock"))) await sleep(50);
    start("slurmctld", ["-D", "-i", "-f", conf]);
    start("slurmd", ["-D", "-N", node, "-f", conf]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await command("sinfo", ["-h", "-o", "%T"]).catch(() => "");
      if (state.trim() === "idle") break;
      if (Date.now() > deadline) throw new Error(`the SLURM node did not come up within 30 s\n${logs()}`);
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    env,
    command,
    logs,
    stop,
    sbatch: async (args) => (await command("sbatch", ["--parsable", ...args])).trim().split(";")[0]!,
    async wait(jobs, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const queued = (await command("squeue", ["-h", "-o", "%i %r", "-j", jobs.join(",")]))
          .trim()
          .split("\n");
        if (queued[0] === "") break;
        // A job whose afterok dependency failed would wait forever: cancel it, it ends CANCELLED.
        const stuck = queued.filter((l) => l.endsWith(" DependencyNeverSatisfied"));
        if (stuck.length === queued.length) {
          await command(
            "scancel",
            stuck.map((l) => l.split(" ")[0]!),
          );
          continue;
        }
        if (Date.now() > deadline)
          throw new Error(`jobs ${jobs.join(", ")} still queued after ${timeoutMs} ms\n${logs()}`);
        await sleep(200);
      }
      const lines = await Promise.all(jobs.map((j) => command("scontrol", ["-o", "show", "job", j])));
      return lines
        .join("\n")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => {
          const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(l)?.[1] ?? "?";
          const task = field("ArrayTaskId");
          return `${field("ArrayJobId") !== "?" && task !== "?" ? `${field("ArrayJobId")}_${task}` : field("JobId")} ${field("JobState")} ${field("ExitCode")}`;
        })
        .sort();
    },
  };
}
